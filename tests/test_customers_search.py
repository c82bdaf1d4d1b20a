"""Customer search and the 360° profile over a hand-made customer file (real DuckDB file)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from enseigne.customers import customer_profile, search_customers
from enseigne.customers.search import phone_prefix
from enseigne.db.schema_customers import rebuild_customer_stores
from enseigne.privacy import audit
from enseigne.privacy.gate import AccessDenied, Reader

TODAY = dt.date(2026, 11, 20)
ADMIN = Reader("ada", "admin", None, "test")
MARKETING = Reader("marc", "marketing", None, "test")
MANAGER = Reader("sam", "store", ("S01",), "test")
NETWORK = Reader("nora", "network", None, "test")

CUSTOMERS = [
    # ref, card, first, last, email, phone, birth, recruiting store
    ("C001", "2990000000001", "Élodie", "Martin", "elodie.martin@example.fr", "+33612345678",
     dt.date(1990, 12, 5), "S01"),
    ("C002", "2990000000002", "Jean-Pierre", "Le Gall", "jp.legall@example.fr", "+33145678901",
     dt.date(1980, 6, 1), "S02"),
    ("C003", None, "ÉLÉONORE", "d'Arcy", None, None, None, "S02"),
    ("C004", "2990000000004", "Zoé", "Mercier", "zoe@example.fr", "+33698765432",
     dt.date(1975, 2, 28), "S02"),
    ("C005", None, "Marc", "Durand", "marc.durand@example.fr", None, None, "S01"),
]
TICKETS = [
    # ticket, sold_at, store, channel, customer, amount, lines [(sku, qty, unit, amount)]
    ("T1", "2026-11-10 15:00", "S01", "store", "C001", "100.00",
     [("A1", 1, "60.00", "60.00"), ("A2", 1, "40.00", "40.00")]),
    ("T2", "2026-06-01 11:00", "WEB", "web", "C001", "50.00", [("A1", 1, "50.00", "50.00")]),
    ("T3", "2026-06-15 10:00", "S01", "store", "C001", "-20.00", [("A2", -1, "20.00", "-20.00")]),
    # 365 days before TODAY: just outside the trailing 365 days (2025-11-21 .. 2026-11-20).
    ("T4", "2025-11-20 18:00", "S01", "store", "C001", "30.00", [("A2", 1, "30.00", "30.00")]),
    ("T5", "2025-11-21 09:00", "S02", "store", "C001", "10.00", [("A2", 1, "10.00", "10.00")]),
    ("T6", "2026-10-01 12:00", "S01", "store", "C003", "25.00", [("A1", 1, "25.00", "25.00")]),
    ("T7", "2026-10-02 12:00", "S02", "store", "C004", "80.00", [("A1", 1, "80.00", "80.00")]),
    ("T8", "2024-10-01 12:00", "S01", "store", "C005", "45.00", [("A2", 1, "45.00", "45.00")]),
]
CONSENTS = [
    ("C001", "email", "opt_in", "2025-01-01 09:00"),
    # Two choices at the same moment: the opt-out is in force.
    ("C001", "email", "opt_in", "2026-01-01 10:00"),
    ("C001", "email", "opt_out", "2026-01-01 10:00"),
    ("C001", "sms", "opt_in", "2024-05-01 08:00"),
    ("C004", "email", "opt_in", "2026-01-01 10:00"),
]


def _insert_tickets(con: duckdb.DuckDBPyConnection) -> None:
    for ticket, sold_at, store, channel, ref, amount, lines in TICKETS:
        total = Decimal(amount)
        units = sum(q for _, q, _, _ in lines)
        con.execute(
            "INSERT INTO tickets (ticket_id, sold_at, store_code, channel, customer_ref, "
            "line_count, units, amount, discount, returned_amount, is_return) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            [ticket, sold_at, store, channel, ref, len(lines), units, total,
             min(total, Decimal(0)), total < 0],
        )
        for line_no, (sku, qty, unit, line_amount) in enumerate(lines, start=1):
            con.execute(
                "INSERT INTO ticket_lines (ticket_id, line_no, sku, quantity, unit_price, "
                "discount, amount, vat_rate) VALUES (?, ?, ?, ?, ?, 0, ?, 0.2)",
                [ticket, line_no, sku, qty, unit, line_amount],
            )


@pytest.fixture
def crm(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute(
        "INSERT INTO stores (store_code, name, region, city) VALUES "
        "('S01', 'Lyon Part-Dieu', 'ARA', 'Lyon'), ('S02', 'Paris Rivoli', 'IDF', 'Paris'), "
        "('WEB', 'Boutique en ligne', NULL, NULL)"
    )
    con.execute(
        "INSERT INTO products (sku, label, category) VALUES "
        "('A1', 'Robe', 'Mode'), ('A2', 'Mug', 'Maison')"
    )
    con.executemany(
        "INSERT INTO customers (customer_ref, loyalty_card, first_name, last_name, email, "
        "phone, birth_date, store_code, city, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Lyon', "
        "'store')",
        [list(c) for c in CUSTOMERS],
    )
    con.executemany(
        "INSERT INTO consents (customer_ref, channel, status, collected_at, source) "
        "VALUES (?, ?, ?, ?, 'caisse')",
        [list(c) for c in CONSENTS],
    )
    _insert_tickets(con)
    # Receipts written with SQL rather than imported: derive where each customer bought, as
    # the import does.
    rebuild_customer_stores(con)
    con.execute(
        "INSERT INTO survey_responses (response_id, answered_at, store_code, customer_ref, "
        "nps, csat, comment) VALUES ('R1', '2026-11-11 10:00', 'S01', 'C001', 9, 5, 'Très bien')"
    )
    con.execute(
        "INSERT INTO feedback (feedback_id, opened_at, kind, store_code, customer_ref, text) "
        "VALUES ('F1', '2026-06-16 10:00', 'complaint', 'S01', 'C001', 'Retour refusé')"
    )
    return con


def refs(rows: list[dict]) -> list[str]:
    return [r["customer_ref"] for r in rows]


def searches(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return [e for e in audit.entries(con) if e["action"] == "search"]


@pytest.mark.parametrize(("text", "expected"), [
    ("elo", ["C001"]),            # accent- and case-insensitive prefix
    ("ÉLODIE", ["C001"]),
    ("ele", ["C003"]),            # ÉLÉONORE, not Élodie
    ("martin elo", ["C001"]),     # every word must start a word of the name
    ("martin zoe", []),
    ("gall", ["C002"]),           # a word inside the last name
    ("pierre", ["C002"]),         # a word after a hyphen
    ("arcy", ["C003"]),           # a word after an apostrophe
    ("tin", []),                  # prefixes only
    ("elodie.mar", ["C001"]),     # e-mail prefix
    ("ZOE@EX", ["C004"]),
    ("06 12", ["C001"]),          # French number -> E.164
    ("+33612", ["C001"]),
    ("06.12.34.56.78", ["C001"]),
    ("0033 6 98", ["C004"]),
    ("2990000000002", ["C002"]),  # loyalty card
    ("c00", ["C001", "C002", "C003", "C004", "C005"]),  # customer ref prefix
])
def test_search_matches(crm, text, expected):
    assert sorted(refs(search_customers(crm, ADMIN, text))) == expected


def test_phone_prefix_normalises_french_numbers():
    assert phone_prefix("06 12") == "+33612"
    assert phone_prefix("+33 6 12") == "+33612"
    assert phone_prefix("0033612") == "+33612"
    assert phone_prefix("6") is None
    assert phone_prefix("martin") is None


@pytest.mark.parametrize("text", ["%", "_", "\\", "' OR 1=1 --", "'; DROP TABLE customers; --"])
def test_search_text_is_data_not_sql(crm, text):
    assert search_customers(crm, ADMIN, text) == []
    assert crm.execute("SELECT count(*) FROM customers").fetchone()[0] == len(CUSTOMERS)


def test_result_rows_and_order(crm):
    rows = search_customers(crm, MARKETING, "c00", limit=2)
    assert refs(rows) == ["C003", "C005"]  # d'Arcy, Durand: by last name
    first = search_customers(crm, MARKETING, "elodie")[0]
    assert first == {
        "customer_ref": "C001", "first_name": "Élodie", "last_name": "Martin",
        "email": "elodie.martin@example.fr", "city": "Lyon", "store_code": "S01",
        "last_purchase": dt.date(2026, 11, 10),  # T3, later, is a return
    }


def test_store_manager_finds_only_customers_of_their_store(crm):
    # Recruited at S01 (C001, C005) or bought there (C003); C002 and C004 belong to S02.
    assert sorted(refs(search_customers(crm, MANAGER, "c00"))) == ["C001", "C003", "C005"]
    assert search_customers(crm, MANAGER, "zoe") == []
    assert search_customers(crm, MANAGER, "+33698") == []
    assert search_customers(crm, MANAGER, "nobody") == []
    # A customer outside the scope leaves the same trace as one who does not exist.
    details = [e["detail"] for e in searches(crm)[:3]]
    assert details == ["0 results"] * 3


def test_search_is_logged_once_without_the_query(crm):
    search_customers(crm, MARKETING, "Élodie Martin")
    search_customers(crm, MARKETING, "   ")  # nothing searched, nothing logged
    logged = searches(crm)
    assert len(logged) == 1
    entry = logged[0]
    assert (entry["actor"], entry["role"], entry["origin"]) == ("marc", "marketing", "test")
    assert entry["customer_ref"] is None and entry["detail"] == "1 results"
    assert not any("lodie" in str(value) for value in entry.values())


def test_network_role_cannot_search(crm):
    with pytest.raises(AccessDenied):
        search_customers(crm, NETWORK, "elo")
    assert searches(crm) == []


def test_profile_figures(crm):
    p = customer_profile(crm, ADMIN, "C001", today=TODAY)
    assert p["customer"]["first_name"] == "Élodie"
    assert p["customer"]["store_name"] == "Lyon Part-Dieu"
    assert p["age"] == 35
    # Sales tickets in 2025-11-21..2026-11-20: T1, T2, T5; revenue there: 100 + 50 - 20 + 10.
    assert p["rfm"] == {"recency_days": 10, "frequency": 3, "monetary": Decimal("140.00")}
    purchases = p["purchases"]
    assert purchases["first_purchase"] == dt.date(2025, 11, 20)
    assert purchases["last_purchase"] == dt.date(2026, 11, 10)
    assert (purchases["sales_tickets"], purchases["return_tickets"]) == (4, 1)
    assert purchases["revenue"] == Decimal("170.00")
    assert p["preferred_store"]["store_code"] == "S01"
    assert [(s["store_code"], s["sales_tickets"]) for s in p["stores_used"]] == [
        ("S01", 2), ("WEB", 1), ("S02", 1)]  # a tie goes to the larger revenue
    assert [(c["channel"], c["sales_tickets"]) for c in p["channels_used"]] == [
        ("store", 3), ("web", 1)]
    assert [(c["category"], c["revenue"]) for c in p["top_categories"]] == [
        ("Mode", Decimal("110.00")), ("Maison", Decimal("60.00"))]


def test_profile_tickets_consents_voice_and_flags(crm):
    p = customer_profile(crm, ADMIN, "C001", today=TODAY)
    assert [t["ticket_id"] for t in p["tickets"]] == ["T1", "T3", "T2", "T5", "T4"]
    assert [(line["sku"], line["label"], line["amount"]) for line in p["tickets"][0]["lines"]] == [
        ("A1", "Robe", Decimal("60.00")), ("A2", "Mug", Decimal("40.00"))]
    assert p["tickets"][1]["is_return"] is True
    current = p["consents"]["current"]
    assert current["email"]["status"] == "opt_out"  # the tie goes to the opt-out
    assert current["sms"]["status"] == "opt_in"
    assert len(p["consents"]["history"]) == 4
    assert p["reachability"] == {"email": False, "sms": True}
    assert [s["comment"] for s in p["surveys"]] == ["Très bien"]
    assert [(f["kind"], f["text"]) for f in p["feedback"]] == [("complaint", "Retour refusé")]
    assert p["flags"] == {
        "next_birthday": dt.date(2026, 12, 5), "birthday_soon": True, "dormant": False}


def test_profile_flags_dormant_and_reachability(crm):
    dormant = customer_profile(crm, ADMIN, "C005", today=TODAY)  # last purchase 780 days ago
    assert dormant["flags"]["dormant"] is True and dormant["rfm"]["frequency"] == 0
    zoe = customer_profile(crm, ADMIN, "C004", today=dt.date(2027, 1, 30))
    assert zoe["reachability"] == {"email": True, "sms": False}  # no SMS consent
    # Born on 28 February: 29 days ahead of 30 January is within the 30 days.
    assert zoe["flags"]["next_birthday"] == dt.date(2027, 2, 28)
    assert zoe["flags"]["birthday_soon"] is True
    later = customer_profile(crm, ADMIN, "C004", today=dt.date(2027, 1, 28))
    assert later["flags"]["birthday_soon"] is False


def test_profile_is_logged_and_scoped(crm):
    customer_profile(crm, MANAGER, "C003", today=TODAY)  # bought at S01
    reads = [e for e in audit.entries(crm) if e["action"] == "read"]
    assert [(e["actor"], e["customer_ref"]) for e in reads] == [("sam", "C003")]
    refusals = []
    for ref in ("C004", "C999"):  # outside the scope; does not exist
        with pytest.raises(AccessDenied) as refused:
            customer_profile(crm, MANAGER, ref, today=TODAY)
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1]
    with pytest.raises(AccessDenied):
        customer_profile(crm, NETWORK, "C001", today=TODAY)
    assert len([e for e in audit.entries(crm) if e["action"] == "read"]) == 1


def test_profile_of_a_customer_without_purchases(crm):
    p = customer_profile(crm, ADMIN, "C002", today=TODAY)
    assert p["tickets"] == [] and p["stores_used"] == [] and p["preferred_store"] is None
    assert p["rfm"] == {"recency_days": None, "frequency": 0, "monetary": Decimal("0")}
    assert p["purchases"]["first_purchase"] is None
    assert p["consents"] == {"current": {}, "history": []}
    assert p["reachability"] == {"email": False, "sms": False}  # +331: not a mobile
    assert p["flags"]["dormant"] is False
