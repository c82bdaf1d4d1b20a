"""GDPR rights: the access export, erasure (KPIs kept, bytes gone), retention, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import ENSEIGNE, STORES_CSV, cli_environment
from enseigne.db import connect, migrate
from enseigne.demo import build_demo
from enseigne.ingest import import_file
from enseigne.metrics import Period, compute_kpis, duckdb_backend
from enseigne.privacy import audit
from enseigne.privacy.gate import AccessDenied, Reader, cli_reader
from enseigne.privacy.gdpr import (
    ANON_PREFIX,
    apply_retention,
    erase_person,
    export_person,
    retention_candidates,
)

TODAY = dt.date(2026, 6, 15)
ADMIN = cli_reader("dora")
KPI_IDS = ["revenue", "tickets", "active_customers", "nps"]


@pytest.fixture
def chain(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    build_demo(con, stores=3, customers=300, years=1, seed=7, today=TODAY)
    return con


def best_customers(con: duckdb.DuckDBPyConnection, n: int) -> list[str]:
    """Customers with receipts and survey answers (the most to anonymise)."""
    rows = con.execute(
        "SELECT customer_ref FROM tickets WHERE customer_ref IN "
        "(SELECT customer_ref FROM survey_responses) GROUP BY 1 ORDER BY count(*) DESC, 1 "
        "LIMIT ?", [n]).fetchall()
    return [ref for (ref,) in rows]


def count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return con.execute(sql, params or []).fetchone()[0]


def test_export_holds_every_piece_of_data_on_the_person(chain):
    ref = best_customers(chain, 1)[0]
    data = json.loads(json.dumps(export_person(chain, ADMIN, ref)))
    assert data["customer"]["customer_ref"] == ref
    assert data["customer"]["last_name"]
    tickets = count(chain, "SELECT count(*) FROM tickets WHERE customer_ref = ?", [ref])
    lines = count(chain, "SELECT count(*) FROM sales_lines WHERE customer_ref = ?", [ref])
    assert len(data["tickets"]) == tickets > 0
    assert sum(len(t["lines"]) for t in data["tickets"]) == lines
    assert {"sku", "quantity", "amount"} <= set(data["tickets"][0]["lines"][0])
    ledger = count(chain, "SELECT count(*) FROM consents WHERE customer_ref = ?", [ref])
    assert len(data["consents"]) == ledger > 0
    answers = count(chain, "SELECT count(*) FROM survey_responses WHERE customer_ref = ?", [ref])
    assert len(data["survey_responses"]) == answers > 0
    assert [e["action"] for e in data["audit_log"]] == ["export"]
    assert audit.entries(chain, customer_ref=ref)[0]["actor"] == "dora"


def network_kpis(con: duckdb.DuckDBPyConnection, grain: str) -> list[dict]:
    period = Period(TODAY - dt.timedelta(days=180), TODAY - dt.timedelta(days=1))
    return compute_kpis(duckdb_backend(con), KPI_IDS, grain, period)


def test_erasure_keeps_every_kpi(chain):
    before = {grain: network_kpis(chain, grain) for grain in ("network", "store")}
    refs = best_customers(chain, 3)
    keys = [erase_person(chain, ADMIN, ref) for ref in refs]
    assert {grain: network_kpis(chain, grain) for grain in before} == before
    assert all(k.startswith(ANON_PREFIX) and len(k) == len(ANON_PREFIX) + 16 for k in keys)
    assert len(set(keys)) == 3


def test_erasure_detaches_and_strips_the_person(chain):
    ref = best_customers(chain, 1)[0]
    tickets = count(chain, "SELECT count(*) FROM tickets WHERE customer_ref = ?", [ref])
    export_person(chain, ADMIN, ref)
    key = erase_person(chain, ADMIN, ref)
    for table in ("customers", "tickets", "consents", "survey_responses", "feedback",
                  "customer_changes", "audit_log"):
        assert count(chain, f"SELECT count(*) FROM {table} WHERE customer_ref = ?", [ref]) == 0
    assert count(chain, "SELECT count(*) FROM tickets WHERE customer_ref = ?", [key]) == tickets
    row = chain.execute(
        "SELECT loyalty_card, first_name, last_name, email, phone, birth_date, gender, "
        "postal_code, city, created_at IS NOT NULL, store_code IS NOT NULL "
        "FROM customers WHERE customer_ref = ?", [key]).fetchall()
    assert row == [(None,) * 9 + (True, True)]
    assert count(chain, "SELECT count(*) FROM consents WHERE customer_ref = ? AND source "
                 "IS NOT NULL", [key]) == 0
    assert count(chain, "SELECT count(comment) FROM survey_responses WHERE customer_ref = ?",
                 [key]) == 0
    assert [e["action"] for e in audit.entries(chain, customer_ref=key)] == ["erase", "export"]


def test_only_the_dpo_or_an_administrator_erases_what_they_may_see(chain):
    ref = best_customers(chain, 1)[0]
    home = chain.execute("SELECT store_code FROM customers WHERE customer_ref = ?",
                         [ref]).fetchone()[0]
    for reader in (Reader("marc", "marketing", None, "web 127.0.0.1"),
                   Reader("sam", "store", (home,), "web 127.0.0.1"),
                   Reader("dora", "dpo", ("WEB-OTHER",), "web 127.0.0.1")):
        with pytest.raises(AccessDenied):
            erase_person(chain, reader, ref)
    with pytest.raises(AccessDenied):
        erase_person(chain, ADMIN, "C-UNKNOWN")
    assert count(chain, "SELECT count(*) FROM customers WHERE customer_ref = ?", [ref]) == 1
    assert erase_person(chain, Reader("dora", "dpo", None, "web 127.0.0.1"), ref)


# --- the command line and the bytes of the file ---------------------------------------

PERSON = {
    "email": "zephyrine.quatrevingt@effacement-exemple.fr",
    "phone": "+33698765432",
    "first_name": "Zéphyrinette",
    "last_name": "Quatrevingtdouze",
    "loyalty_card": "LC777123456",
    "comment": "Zéphyrinette adore le rayon thé vert",
    "text": "Colis abîmé, rappeler Mme Quatrevingtdouze",
}
SMALL_CHAIN = {
    "customers": (
        "customer_ref;loyalty_card;first_name;last_name;email;phone;birth_date;postal_code;"
        "city;created_at;store_code\n"
        f"C9;{PERSON['loyalty_card']};{PERSON['first_name']};{PERSON['last_name']};"
        f"{PERSON['email']};06 98 76 54 32;14/07/1985;69003;Lyon;03/01/2025 10:00;S01\n"
        "C2;;Paul;Martin;p.martin@exemple.fr;;;;;05/01/2025 10:00;S02\n"
    ),
    "consents": (
        "customer_ref;channel;status;collected_at;source;store_code\n"
        "C9;email;opt_in;03/01/2025 10:00;caisse;S01\n"
        "C9;sms;opt_out;04/01/2025 10:00;lien stop;\n"
    ),
    "tickets": (
        "ticket_id;line_no;sold_at;store_code;customer_ref;sku;quantity;unit_price;amount\n"
        "T1;1;03/01/2025 10:15;S01;C9;P1;2;6,45;12,90\n"
        "T1;2;03/01/2025 10:15;S01;C9;P2;1;20,00;20,00\n"
        "T2;1;04/01/2025 11:00;S02;C2;P1;1;6,45;6,45\n"
    ),
    "surveys": (
        "response_id;answered_at;store_code;customer_ref;ticket_id;nps;csat;comment\n"
        f"R1;04/01/2025 09:00;S01;C9;T1;9;5;{PERSON['comment']}\n"
    ),
    "feedback": (
        "feedback_id;opened_at;kind;store_code;customer_ref;text\n"
        f"F1;05/01/2025 09:00;complaint;S01;C9;{PERSON['text']}\n"
    ),
}


@pytest.fixture
def small_file(tmp_path: Path, write_csv) -> Path:
    """A small database holding one distinctive person, checkpointed and closed."""
    path = tmp_path / "petite.duckdb"
    con = connect(path)
    migrate(con)
    import_file(con, "stores", write_csv("stores.csv", STORES_CSV))
    for kind, text in SMALL_CHAIN.items():
        summary = import_file(con, kind, write_csv(f"{kind}.csv", text), create_missing=True)
        assert summary.rejected == 0, kind
    con.execute("CHECKPOINT")
    con.close()
    return path


def run_cli(*args: object, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run([str(ENSEIGNE), *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False, env=cli_environment(), stdin=stdin)


def file_bytes(path: Path) -> bytes:
    """The database file and anything beside it (a WAL, a half-written copy)."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def stored(path: Path) -> set[str]:
    data = file_bytes(path)
    return {name for name, value in PERSON.items() if value.encode() in data}


def test_an_erased_person_is_gone_from_the_bytes_of_the_file(small_file: Path, tmp_path):
    # Meaningful only if the values can be seen before: small tables, uncompressed strings.
    assert stored(small_file) == set(PERSON)
    export = run_cli("gdpr", "export", "C9", "--out", tmp_path / "c9.json", "--db", small_file)
    assert export.returncode == 0, export.stderr
    assert json.loads((tmp_path / "c9.json").read_text())["customer"]["email"] == PERSON["email"]
    erased = run_cli("gdpr", "erase", "C9", "--yes", "--db", small_file)
    assert erased.returncode == 0, erased.stderr
    key = erased.stdout.strip()
    assert key.startswith(ANON_PREFIX)
    assert stored(small_file) == set()
    con = connect(small_file)
    try:
        assert con.execute("SELECT count(*), sum(amount) FROM tickets WHERE customer_ref = ?",
                           [key]).fetchone() == (1, Decimal("32.90"))
        assert [e["action"] for e in audit.entries(con)] == ["erase", "export"]
        assert {e["origin"] for e in audit.entries(con)} == {"cli"}
        # The rewritten file keeps its schema history and its sequences.
        assert migrate(con) == []
        audit.record(con, actor="t", role="admin", action="read", customer_ref=None,
                     origin="cli")
        assert [e["audit_id"] for e in audit.entries(con)] == [3, 2, 1]
    finally:
        con.close()


def test_erase_without_yes_and_without_a_terminal_is_refused(small_file: Path):
    refused = run_cli("gdpr", "erase", "C9", "--db", small_file)
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert stored(small_file) == set(PERSON)
    unknown = run_cli("gdpr", "erase", "C404", "--yes", "--db", small_file)
    assert unknown.returncode == 2
    assert "introuvable" in unknown.stderr


def test_export_to_standard_output(small_file: Path):
    result = run_cli("gdpr", "export", "C9", "--db", small_file)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [t["ticket_id"] for t in data["tickets"]] == ["T1"]
    assert [line["sku"] for line in data["tickets"][0]["lines"]] == ["P1", "P2"]
    assert [c["status"] for c in data["consents"]] == ["opt_out", "opt_in"]
    assert data["feedback"][0]["text"] == PERSON["text"]


def erase_on_a_terminal(path: Path, answer: str) -> subprocess.CompletedProcess:
    """The erase command with a pseudo-terminal as standard input, answering its question."""
    main, secondary = pty.openpty()
    try:
        os.write(main, answer.encode() + b"\n")
        return run_cli("gdpr", "erase", "C9", "--db", path, stdin=secondary)
    finally:
        os.close(main)
        os.close(secondary)


def test_erase_asks_for_confirmation_on_a_terminal(small_file: Path):
    declined = erase_on_a_terminal(small_file, "n")
    assert declined.returncode == 1, declined.stderr
    assert "Effacer définitivement" in declined.stderr
    assert declined.stdout.strip() == ""
    assert stored(small_file) == set(PERSON)
    confirmed = erase_on_a_terminal(small_file, "o")
    assert confirmed.returncode == 0, confirmed.stderr
    assert confirmed.stdout.strip().startswith(ANON_PREFIX)
    assert stored(small_file) == set()


# --- retention ------------------------------------------------------------------------


def days_ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).strftime("%d/%m/%Y 12:00")


@pytest.fixture
def ageing_file(tmp_path: Path, write_csv) -> Path:
    """Customers whose last contact is a purchase or an enrolment, old or recent."""
    path = tmp_path / "anciens.duckdb"
    con = connect(path)
    migrate(con)
    import_file(con, "stores", write_csv("stores.csv", STORES_CSV))
    import_file(con, "customers", write_csv("customers.csv", (
        "customer_ref;last_name;email;created_at;store_code\n"
        f"OLD;Ancien;old@exemple.fr;{days_ago(4 * 365)};S01\n"
        f"OLDBUY;Acheteur;oldbuy@exemple.fr;{days_ago(6 * 365)};S01\n"
        f"BACK;Revenu;back@exemple.fr;{days_ago(6 * 365)};S01\n"
        f"NEW;Nouveau;new@exemple.fr;{days_ago(30)};S02\n"
    )))
    import_file(con, "tickets", write_csv("tickets.csv", (
        "ticket_id;line_no;sold_at;store_code;customer_ref;sku;quantity;amount\n"
        f"T1;1;{days_ago(5 * 365 + 30)};S01;OLDBUY;P1;1;10,00\n"
        f"T2;1;{days_ago(5 * 365)};S01;BACK;P1;1;10,00\n"
        f"T3;1;{days_ago(40)};S01;BACK;P1;1;10,00\n"
        f"T4;1;{days_ago(10)};S01;OLD;P1;-1;-10,00\n"
    )), create_missing=True)
    con.close()
    return path


def refs(path: Path) -> list[str]:
    con = connect(path, read_only=True)
    try:
        return [r for (r,) in con.execute("SELECT customer_ref FROM customers ORDER BY 1")
                .fetchall()]
    finally:
        con.close()


def test_retention_lists_only_people_past_the_limit(ageing_file: Path):
    con = connect(ageing_file, read_only=True)
    try:
        # A return is not a contact; a recent purchase is, however old the enrolment.
        listed = [r["customer_ref"] for r in retention_candidates(con, dt.date.today(), 3)]
        assert listed == ["OLDBUY", "OLD"]
        assert [r["customer_ref"] for r in retention_candidates(con, dt.date.today(), 5)] \
            == ["OLDBUY"]
    finally:
        con.close()
    before = refs(ageing_file)
    dry = run_cli("gdpr", "retention", "--dry-run", "--db", ageing_file)
    assert dry.returncode == 0, dry.stderr
    assert "OLD " in dry.stdout and "OLDBUY" in dry.stdout
    assert "BACK" not in dry.stdout and "NEW" not in dry.stdout
    assert "2 client(s)" in dry.stdout and "aucune modification" in dry.stdout
    assert refs(ageing_file) == before


def test_retention_anonymises_them_in_one_go(ageing_file: Path):
    done = run_cli("gdpr", "retention", "--db", ageing_file)
    assert done.returncode == 0, done.stderr
    assert "2 client(s) anonymisé(s)" in done.stdout
    left = refs(ageing_file)
    assert [r for r in left if not r.startswith(ANON_PREFIX)] == ["BACK", "NEW"]
    assert len(left) == 4
    assert b"oldbuy@exemple.fr" not in file_bytes(ageing_file)
    con = connect(ageing_file)
    try:
        assert {e["action"] for e in audit.entries(con)} == {"retention"}
        # One entry per person anonymised, under their new key.
        assert sorted(e["customer_ref"] for e in audit.entries(con)) == sorted(
            r for r in left if r.startswith(ANON_PREFIX))
        assert retention_candidates(con, dt.date.today(), 3) == []
        assert apply_retention(con, ADMIN, dt.date.today(), 3) == []
    finally:
        con.close()


def test_docs_cover_every_gdpr_command_and_the_retention_setting():
    from enseigne.cli import gdpr_app

    text = (Path(__file__).parents[1] / "docs" / "gdpr.md").read_text(encoding="utf-8")
    for command in gdpr_app.registered_commands:
        assert f"enseigne gdpr {command.name} " in text
    assert "ENSEIGNE_RETENTION_YEARS" in text


def test_erasure_renames_the_person_in_the_merge_log(tmp_path) -> None:
    from enseigne.db import connect, migrate
    from enseigne.privacy.gate import cli_reader
    from enseigne.privacy.gdpr import erase_person

    con = connect(tmp_path / "m.duckdb")
    migrate(con)
    con.execute("INSERT INTO customers (customer_ref, email) VALUES ('K1', 'k1@example.fr')")
    con.execute(
        "INSERT INTO customer_merges (actor, survivor_ref, absorbed_ref) "
        "VALUES ('dora', 'K1', 'K0')"
    )
    anon = erase_person(con, cli_reader("dora"), "K1")
    assert con.execute("SELECT survivor_ref, absorbed_ref FROM customer_merges").fetchall() == [
        (anon, "K0")
    ]
    con.close()
