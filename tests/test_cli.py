"""The ``enseigne`` command run as a real process: init, import exit codes, status --json."""

from __future__ import annotations

import csv
import json
import re

from enseigne.db import connect
from enseigne.db.migrations import MIGRATIONS

STORES = "store_code;name;city\nS01;Lyon Part-Dieu;Lyon\nS02;Paris Rivoli;Paris\n"
TICKETS = "ticket_id;line_no;sold_at;store_code;sku;quantity;amount\n"
GOOD = TICKETS + "T1;1;03/01/2025;S01;P1;1;9,99\nT1;2;03/01/2025;S01;P2;2;5,00\n"
ONE_BAD = GOOD + "T2;1;31/02/2025;S01;P1;1;9,99\n"


def counts(db) -> dict[str, int]:
    con = connect(db, read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("stores", "products", "ticket_lines", "tickets", "quarantine",
                          "import_log")}
    finally:
        con.close()


def test_init_twice_is_idempotent(cli, tmp_path):
    db = tmp_path / "sub" / "t.duckdb"
    first = cli("init", "--db", db)
    assert first.returncode == 0, first.stderr
    assert "1 (canonical model)" in first.stdout
    second = cli("init", "--db", db)
    assert second.returncode == 0, second.stderr
    assert "à jour" in second.stdout
    con = connect(db, read_only=True)
    applied = con.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
    assert applied == [(m.version, m.name) for m in MIGRATIONS]
    con.close()


def test_import_then_status_json(cli, write_csv, tmp_path):
    db = tmp_path / "t.duckdb"
    assert cli("import", "stores", write_csv("s.csv", STORES), "--db", db).returncode == 0
    done = cli("import", "tickets", write_csv("t.csv", ONE_BAD), "--db", db)
    assert done.returncode == 0, done.stderr
    assert "2 chargées" in done.stdout
    status = cli("status", "--json", "--db", db)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["counts"] == {
        "stores": 2, "sellers": 0, "products": 2, "customers": 0, "consents": 0, "tickets": 1,
        "ticket_lines": 2, "footfall": 0, "targets": 0, "survey_responses": 0, "feedback": 0,
        "quarantine": 1,
    }
    assert [(i["kind"], i["rows_read"], i["rows_loaded"], i["rejected"], i["duplicates"])
            for i in report["imports"]] == [("tickets", 3, 2, 1, 0), ("stores", 2, 2, 0, 0)]
    assert all(i["file"].endswith(".csv") and i["finished_at"] for i in report["imports"])


def test_status_as_a_table_in_french(cli, write_csv, tmp_path):
    db = tmp_path / "t.duckdb"
    cli("import", "stores", write_csv("s.csv", STORES), "--db", db)
    done = cli("status", "--db", db)
    assert done.returncode == 0, done.stderr
    assert "Lignes de tickets" in done.stdout
    assert "Derniers imports" in done.stdout
    assert "s.csv" in done.stdout


def test_missing_required_column_exits_2_and_loads_nothing(cli, write_csv, tmp_path):
    db = tmp_path / "t.duckdb"
    cli("import", "stores", write_csv("s.csv", STORES), "--db", db)
    path = write_csv("t.csv", "ticket_id;line_no;sold_at;store_code;sku;amount\n"
                              "T1;1;03/01/2025;S01;P1;9,99\n")
    done = cli("import", "tickets", path, "--db", db)
    assert done.returncode == 2
    assert "quantity" in done.stderr
    assert counts(db)["ticket_lines"] == 0
    assert counts(db)["import_log"] == 1


def test_empty_and_missing_files_exit_2(cli, write_csv, tmp_path):
    db = tmp_path / "t.duckdb"
    empty = cli("import", "tickets", write_csv("empty.csv", ""), "--db", db)
    assert empty.returncode == 2
    assert "empty" in empty.stderr
    missing = cli("import", "tickets", tmp_path / "absent.csv", "--db", db)
    assert missing.returncode == 2
    assert "absent.csv" in missing.stderr


def test_one_unusable_file_does_not_stop_the_others(cli, write_csv, tmp_path):
    db = tmp_path / "t.duckdb"
    cli("import", "stores", write_csv("s.csv", STORES), "--db", db)
    done = cli("import", "tickets", tmp_path / "absent.csv", write_csv("t.csv", GOOD),
               "--db", db)
    assert done.returncode == 2
    assert counts(db)["ticket_lines"] == 2


def test_unknown_kind_exits_2(cli, write_csv, tmp_path):
    done = cli("import", "invoices", write_csv("t.csv", GOOD), "--db", tmp_path / "t.duckdb")
    assert done.returncode == 2
    assert "tickets" in done.stderr


def test_strict_refuses_a_file_with_one_bad_row(cli, write_csv, tmp_path):
    db = tmp_path / "t.duckdb"
    cli("import", "stores", write_csv("s.csv", STORES), "--db", db)
    rejects = tmp_path / "rejets.csv"
    refused = cli("import", "tickets", write_csv("bad.csv", ONE_BAD), "--db", db, "--strict",
                  "--rejects", rejects)
    assert refused.returncode == 1
    assert counts(db)["ticket_lines"] == 0
    assert counts(db)["products"] == 0
    with rejects.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["file", "line", "column", "value", "reason"]
    assert [r[1:4] for r in rows[1:]] == [["4", "sold_at", "31/02/2025"]]
    clean = cli("import", "tickets", write_csv("good.csv", GOOD), "--db", db, "--strict")
    assert clean.returncode == 0, clean.stderr
    assert counts(db)["ticket_lines"] == 2


def test_unknown_store_needs_create_missing(cli, write_csv, tmp_path):
    db = tmp_path / "t.duckdb"
    path = write_csv("t.csv", GOOD)
    rejects = tmp_path / "rejets.csv"
    first = cli("import", "tickets", path, "--db", db, "--rejects", rejects)
    assert first.returncode == 0, first.stderr
    assert counts(db)["ticket_lines"] == 0
    assert "--create-missing" in rejects.read_text(encoding="utf-8")
    second = cli("import", "tickets", path, "--db", db, "--create-missing")
    assert second.returncode == 0, second.stderr
    assert counts(db)["ticket_lines"] == 2
    con = connect(db, read_only=True)
    assert con.execute("SELECT store_code, incomplete FROM stores").fetchall() == [("S01", True)]
    con.close()


def test_shipped_mapping_profile_by_name(cli, write_csv, tmp_path):
    db = tmp_path / "t.duckdb"
    cli("import", "stores", write_csv("s.csv", STORES), "--db", db)
    pos = ("N° ticket;N° ligne;Date;Code magasin;Canal;Code vendeur;N° client;Code article;"
           "Libellé;Famille;Qté;PU TTC;Remise;Montant TTC;Taux TVA\n"
           "000123;1;03/01/2025 10:15:42;S01;Magasin;V07;C0042;3017620422003;Bœuf;Boucherie;"
           "1;24,90;;24,90;5,5\n")
    done = cli("import", "tickets", write_csv("caisse.csv", pos, encoding="cp1252"),
               "--db", db, "--mapping", "pos-fr-tickets")
    assert done.returncode == 0, done.stderr
    con = connect(db, read_only=True)
    assert con.execute("SELECT ticket_id, amount::VARCHAR, vat_rate::VARCHAR FROM ticket_lines")\
        .fetchall() == [("000123", "24.90", "0.0550")]
    assert con.execute("SELECT label FROM products").fetchall() == [("Bœuf",)]
    con.close()


def test_unknown_mapping_profile_exits_2(cli, write_csv, tmp_path):
    done = cli("import", "tickets", write_csv("t.csv", GOOD), "--db", tmp_path / "t.duckdb",
               "--mapping", "nope")
    assert done.returncode == 2
    assert "pos-fr-tickets" in done.stderr


def test_demo_builds_a_chain_and_exports_it_as_pos_files(cli, tmp_path):
    db, export = tmp_path / "demo.duckdb", tmp_path / "export"
    done = cli("demo", "--db", db, "--stores", "3", "--customers", "300", "--years", "1",
               "--seed", "5", "--export-csv", export)
    assert done.returncode == 0, done.stderr
    assert "lignes de tickets" in done.stdout
    built = counts(db)
    assert built["stores"] == 4  # three stores and the web store
    assert built["tickets"] > 0 and built["ticket_lines"] >= built["tickets"]
    assert sorted(p.name for p in export.glob("*.csv")) == [
        "articles.csv", "clients.csv", "consentements.csv", "enquetes.csv", "frequentation.csv",
        "magasins.csv", "objectifs.csv", "reclamations.csv", "tickets.csv", "vendeurs.csv"]


def test_demo_prints_logins_that_open_the_web_app(cli, tmp_path):
    from enseigne.web.users import authenticate

    db = tmp_path / "demo.duckdb"
    result = cli("demo", "--db", db, "--stores", "3", "--customers", "500", "--years", "1")
    assert result.returncode == 0, result.stderr
    logins = dict(re.findall(r"^\s+(\w+) / (\S+)\s+\(", result.stdout, re.MULTILINE))
    assert set(logins) == {"directrice", "magasin"}
    con = connect(db, read_only=True)
    try:
        assert authenticate(con, "directrice", logins["directrice"]).role == "network"
        assert authenticate(con, "magasin", logins["magasin"]).stores == ("S001",)
    finally:
        con.close()
