"""The gate: who may read which customer, and the audit log it writes."""

from __future__ import annotations

import duckdb
import pytest

from enseigne.privacy import audit
from enseigne.privacy.gate import AccessDenied, Reader, customer_scope_sql, open_customer

CUSTOMERS = (
    "customer_ref;first_name;last_name;email;store_code\n"
    "C1;Élodie;Martin;elodie@example.fr;S01\n"
    "C2;Jean;Dupont;jean@example.fr;S02\n"
    "C3;Anne;Roux;;S02\n"
)
TICKETS = (
    "ticket_id;line_no;sold_at;store_code;customer_ref;sku;quantity;amount\n"
    "T1;1;2026-10-01 10:00:00;S01;C3;A;1;10,00\n"
)


@pytest.fixture
def people(stores, write_csv) -> duckdb.DuckDBPyConnection:
    from enseigne.ingest import import_file

    import_file(stores, "customers", write_csv("customers.csv", CUSTOMERS))
    import_file(stores, "tickets", write_csv("tickets.csv", TICKETS))
    return stores


def visible(con: duckdb.DuckDBPyConnection, reader: Reader) -> set[str]:
    condition, params = customer_scope_sql(reader)
    rows = con.execute(f"SELECT customer_ref FROM customers WHERE {condition}", params)
    return {r[0] for r in rows.fetchall()}


def test_a_store_manager_sees_recruits_and_buyers_of_their_store(people) -> None:
    manager = Reader("sam", "store", ("S01",), "web 127.0.0.1")
    # C1 was recruited at S01; C3 was recruited at S02 but bought at S01.
    assert visible(people, manager) == {"C1", "C3"}
    assert visible(people, Reader("marc", "marketing", None, "cli")) == {"C1", "C2", "C3"}
    assert visible(people, Reader("nora", "network", None, "cli")) == set()


def test_reads_are_logged_and_refusals_reveal_nothing(people) -> None:
    manager = Reader("sam", "store", ("S01",), "web 10.0.0.7")
    open_customer(people, manager, "C1")
    with pytest.raises(AccessDenied) as outside:
        open_customer(people, manager, "C2")
    with pytest.raises(AccessDenied) as unknown:
        open_customer(people, manager, "C999")
    assert str(outside.value) == str(unknown.value)
    logged = audit.entries(people)
    assert [(e["actor"], e["action"], e["customer_ref"], e["origin"]) for e in logged] == [
        ("sam", "read", "C1", "web 10.0.0.7")
    ]


def test_audit_refuses_unknown_actions(people) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(people, actor="x", role="admin", action="peek", customer_ref=None,
                     origin="cli")
