"""The demo generator: determinism, consistency, the story the data tells, exports, streaming."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from enseigne.db import connect
from enseigne.demo import (
    CANONICAL_TABLES,
    build_demo,
    export_csv,
    ticket_line_batches,
)

TODAY = dt.date(2026, 3, 15)
SMALL = {"stores": 8, "customers": 3000, "years": 2, "today": TODAY}

HEADERS = {
    "magasins.csv": "Code magasin;Nom;Région;Ville;Code postal;Surface (m²);Date d'ouverture;"
                    "Date de fermeture;Latitude;Longitude",
    "vendeurs.csv": "Code vendeur;Code magasin;Nom",
    "articles.csv": "Code article;Libellé;Famille;Sous-famille;Marque;Prix de vente TTC",
    "clients.csv": "N° client;N° carte;Prénom;Nom;E-mail;Téléphone;Date de naissance;Civilité;"
                   "Code postal;Ville;Pays;Date de création;Magasin de recrutement;Canal;Vendeur",
    "consentements.csv": "N° client;Canal;Statut;Date de collecte;Source;Code magasin",
    "tickets.csv": "N° ticket;N° ligne;Date;Code magasin;Canal;Code vendeur;N° client;"
                   "Code article;Libellé;Famille;Qté;PU TTC;Remise;Montant TTC;Taux TVA",
    "frequentation.csv": "Code magasin;Date;Heure;Entrées",
    "objectifs.csv": "Périmètre;Indicateur;Début;Fin;Objectif",
    "enquetes.csv": "N° réponse;Date de réponse;Code magasin;N° client;N° ticket;Note NPS;"
                    "Note satisfaction;Commentaire;Canal",
    "reclamations.csv": "N° réclamation;Date d'ouverture;Type;Code magasin;N° client;Canal;"
                        "Texte;Date de résolution",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    build_demo(con, **SMALL, seed=7)
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def checksums(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Order-independent content hash per table, without the load-time bookkeeping columns."""
    out = {}
    for table in (*CANONICAL_TABLES, "demo_truth"):
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()
                if r[0] not in ("updated_at", "recorded_at")]
        quoted = ", ".join(f'"{c}"' for c in cols)
        out[table] = one(con, f"SELECT sum(hash({quoted})::HUGEINT) FROM {table}")
    return out


def test_same_seed_same_content_other_seed_differs(tmp_path: Path) -> None:
    small = {**SMALL, "customers": 800, "stores": 5}
    contents = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        con = connect(tmp_path / f"{name}.duckdb")
        build_demo(con, **small, seed=seed)
        contents.append(checksums(con))
        con.close()
    assert contents[0] == contents[1]
    assert contents[0]["ticket_lines"] != contents[2]["ticket_lines"]
    assert contents[0]["customers"] != contents[2]["customers"]


def test_rebuild_replaces_previous_content(tmp_path: Path) -> None:
    con = connect(tmp_path / "twice.duckdb")
    build_demo(con, **{**SMALL, "customers": 500, "stores": 4})
    counts = build_demo(con, **{**SMALL, "customers": 300, "stores": 3})
    assert one(con, "SELECT count(*) FROM customers") == 300 == counts["customers"]
    assert counts["ticket_lines"] == one(con, "SELECT count(*) FROM ticket_lines")


def test_counts_match_arguments(demo: duckdb.DuckDBPyConnection) -> None:
    assert one(demo, "SELECT count(*) FROM stores WHERE store_code LIKE 'S%'") == 8
    assert one(demo, "SELECT count(*) FROM stores WHERE store_code = 'WEB'") == 1
    assert one(demo, "SELECT count(*) FROM customers") == 3000
    assert one(demo, "SELECT count(*) FROM demo_truth") == 3000
    assert one(demo, "SELECT min(sold_at)::DATE FROM tickets") >= dt.date(2024, 3, 16)
    assert one(demo, "SELECT max(sold_at)::DATE FROM tickets") == TODAY
    per_store = demo.execute("SELECT count(*) FROM sellers GROUP BY store_code").fetchall()
    assert all(3 <= n <= 8 for (n,) in per_store)


@pytest.mark.parametrize(("child", "column", "parent", "key"), [
    ("tickets", "store_code", "stores", "store_code"),
    ("tickets", "customer_ref", "customers", "customer_ref"),
    ("ticket_lines", "sku", "products", "sku"),
    ("ticket_lines", "ticket_id", "tickets", "ticket_id"),
    ("tickets", "seller_code", "sellers", "seller_code"),
    ("customers", "store_code", "stores", "store_code"),
    ("customers", "seller_code", "sellers", "seller_code"),
    ("consents", "customer_ref", "customers", "customer_ref"),
    ("consents", "store_code", "stores", "store_code"),
    ("footfall", "store_code", "stores", "store_code"),
    ("survey_responses", "ticket_id", "tickets", "ticket_id"),
    ("survey_responses", "customer_ref", "customers", "customer_ref"),
    ("feedback", "customer_ref", "customers", "customer_ref"),
    ("sellers", "store_code", "stores", "store_code"),
    ("demo_truth", "customer_ref", "customers", "customer_ref"),
])
def test_referential_integrity(demo: duckdb.DuckDBPyConnection, child: str, column: str,
                               parent: str, key: str) -> None:
    orphans = one(demo, f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL "
                        f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})")
    assert orphans == 0


def test_lines_roll_up_to_tickets(demo: duckdb.DuckDBPyConnection) -> None:
    assert one(demo, "SELECT count(*) - count(DISTINCT (ticket_id, line_no)) "
                     "FROM ticket_lines") == 0
    assert one(demo, "SELECT count(*) FROM ticket_lines "
                     "WHERE amount <> quantity * unit_price - discount") == 0
    mismatches = one(demo, """
        SELECT count(*) FROM tickets t JOIN (
            SELECT ticket_id, count(*) n, sum(quantity) q, sum(amount) a, sum(discount) d,
                   coalesce(sum(amount) FILTER (WHERE amount < 0), 0) r
            FROM ticket_lines GROUP BY ticket_id) l USING (ticket_id)
        WHERE t.line_count <> l.n OR t.units <> l.q OR t.amount <> l.a OR t.discount <> l.d
           OR t.returned_amount <> l.r OR t.is_return <> (l.a < 0)""")
    assert mismatches == 0
    assert one(demo, "SELECT count(*) FROM tickets") == one(
        demo, "SELECT count(DISTINCT ticket_id) FROM ticket_lines")


def test_returns_are_negative_and_rare(demo: duckdb.DuckDBPyConnection) -> None:
    share = one(demo, "SELECT avg(is_return::INT) FROM tickets")
    assert 0.02 <= share <= 0.06
    assert one(demo, "SELECT count(*) FROM ticket_lines l JOIN tickets t USING (ticket_id) "
                     "WHERE t.is_return AND (l.quantity >= 0 OR l.amount >= 0)") == 0
    assert one(demo, "SELECT count(*) FROM tickets WHERE NOT is_return AND amount <= 0") == 0


def test_seasonality(demo: duckdb.DuckDBPyConnection) -> None:
    monthly = dict(demo.execute(
        "SELECT month(sold_at), count(*) / count(DISTINCT sold_at::DATE) FROM tickets "
        "WHERE sold_at::DATE BETWEEN '2025-01-01' AND '2025-12-31' GROUP BY 1").fetchall())
    average = sum(monthly.values()) / 12
    assert monthly[1] > average and monthly[7] > average and monthly[12] > average
    by_day = dict(demo.execute(
        "SELECT isodow(sold_at), count(*) FROM tickets GROUP BY 1").fetchall())
    assert by_day[6] > by_day[2]
    hours = one(demo, "SELECT count(*) FROM tickets WHERE channel = 'store' "
                      "AND (hour(sold_at) < 9 OR hour(sold_at) >= 20)")
    assert hours == 0


def test_soldes_discount_deeper(demo: duckdb.DuckDBPyConnection) -> None:
    rates = dict(demo.execute(
        "SELECT month(sold_at) IN (1, 7), sum(l.discount) / (sum(l.amount) + sum(l.discount)) "
        "FROM ticket_lines l JOIN tickets USING (ticket_id) WHERE quantity > 0 GROUP BY 1"
    ).fetchall())
    assert rates[True] > 2 * rates[False]


def test_footfall_consistent_with_tickets(demo: duckdb.DuckDBPyConnection) -> None:
    low, high, web = demo.execute("""
        SELECT min(n / visitors), max(n / visitors), count(*) FILTER (WHERE f.store_code = 'WEB')
        FROM footfall f LEFT JOIN (
            SELECT store_code, sold_at::DATE d, count(*) FILTER (WHERE NOT is_return) n
            FROM tickets GROUP BY ALL) t ON t.store_code = f.store_code AND t.d = f.date
    """).fetchone()
    assert 0.05 <= low and high <= 0.60 and web == 0


def test_anonymous_share(demo: duckdb.DuckDBPyConnection) -> None:
    total = one(demo, "SELECT avg((customer_ref IS NULL)::INT) FROM tickets")
    assert 0.2 <= total <= 0.5
    spread = one(demo, "SELECT max(s) - min(s) FROM (SELECT avg((customer_ref IS NULL)::INT) s "
                       "FROM tickets WHERE channel = 'store' GROUP BY store_code)")
    assert spread > 0.1


def test_customers_and_consents(demo: duckdb.DuckDBPyConnection) -> None:
    assert one(demo, "SELECT count(*) FROM customers WHERE email IS NOT NULL AND NOT "
                     r"regexp_matches(email, '^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$')") == 0
    assert one(demo, "SELECT count(*) FROM customers WHERE phone IS NOT NULL AND NOT "
                     r"regexp_matches(phone, '^\+33[67]\d{8}$')") == 0
    assert one(demo, "SELECT count(DISTINCT email) = count(email) FROM customers")
    assert one(demo, "SELECT count(*) FROM consents WHERE channel NOT IN "
                     "('email', 'sms', 'push', 'postal', 'phone') "
                     "OR status NOT IN ('opt_in', 'opt_out')") == 0
    changed = one(demo, "SELECT count(*) FROM (SELECT customer_ref, channel FROM consents "
                        "GROUP BY ALL HAVING count(DISTINCT status) = 2)")
    assert changed > 0
    early = one(demo, "SELECT count(*) FROM customers c JOIN tickets t USING (customer_ref) "
                      "WHERE t.sold_at < c.created_at")
    assert early == 0
    omni = one(demo, "SELECT count(*) FROM (SELECT customer_ref FROM tickets "
                     "WHERE customer_ref IS NOT NULL GROUP BY 1 "
                     "HAVING count(DISTINCT channel = 'store') = 2)")
    assert omni > 0


def test_surveys_feedback_targets(demo: duckdb.DuckDBPyConnection) -> None:
    assert one(demo, "SELECT count(*) FROM survey_responses WHERE nps NOT BETWEEN 0 AND 10 "
                     "OR csat NOT BETWEEN 1 AND 5") == 0
    assert one(demo, "SELECT count(*) FROM survey_responses") > 100
    assert one(demo, "SELECT count(*) FROM feedback WHERE resolved_at <= opened_at") == 0
    kinds = {r[0] for r in demo.execute("SELECT DISTINCT kind FROM feedback").fetchall()}
    assert kinds <= {"complaint", "comment", "suggestion"} and "complaint" in kinds
    kpis = {r[0] for r in demo.execute(
        "SELECT DISTINCT kpi FROM targets WHERE scope <> 'network'").fetchall()}
    assert kpis == {"revenue", "tickets", "avg_basket", "conversion_rate", "identified_rate",
                    "nps"}
    assert one(demo, "SELECT count(*) FROM targets WHERE scope = 'network' AND kpi = 'revenue' "
                     "AND year(period_start) = 2026") == 1


def test_export_csv(demo: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    paths = export_csv(demo, tmp_path / "export")
    assert sorted(p.name for p in paths) == sorted(HEADERS)
    for path in paths:
        raw = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")  # every file holds accents (headers at least): not UTF-8
        with path.open(encoding="cp1252", newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
        assert ";".join(rows[0]) == HEADERS[path.name]
        assert all(len(r) == len(rows[0]) for r in rows)
    with (tmp_path / "export" / "tickets.csv").open(encoding="cp1252", newline="") as f:
        lines = list(csv.DictReader(f, delimiter=";"))
    assert len(lines) == one(demo, "SELECT count(*) FROM ticket_lines")
    assert any("," in r["Montant TTC"] for r in lines)
    assert all("." not in r["Montant TTC"] for r in lines)
    assert {r["Taux TVA"] for r in lines} <= {"20", "5,5"}
    assert dt.datetime.strptime(lines[0]["Date"], "%d/%m/%Y %H:%M:%S")
    assert {r["Canal"] for r in lines} <= {"store", "web", "app"}


def test_ticket_line_batches_bounded_and_unique() -> None:
    seen: set[tuple[str, int]] = set()
    total = 0
    batches = list(ticket_line_batches(stores=20, customers=50_000, lines=600_000,
                                       batch_lines=200_000, seed=3, today=TODAY))
    assert len(batches) >= 3
    for batch in batches:
        assert isinstance(batch, pa.Table)
        assert batch.num_rows <= 200_000 + 5_000  # whole days: at most one day over
        assert batch.schema.names == [
            "ticket_id", "line_no", "sold_at", "store_code", "channel", "seller_code",
            "customer_ref", "sku", "quantity", "unit_price", "discount", "amount", "vat_rate"]
        assert batch.schema.field("amount").type == pa.decimal128(18, 2)
        assert batch.schema.field("quantity").type == pa.decimal128(18, 3)
        keys = zip(batch["ticket_id"].to_pylist(), batch["line_no"].to_pylist(), strict=True)
        for key in keys:
            assert key not in seen
            seen.add(key)
        total += batch.num_rows
    assert total == 600_000
