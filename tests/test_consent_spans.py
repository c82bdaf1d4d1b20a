"""consent_spans, the spans of time each opt-in was in force: what the ledger says at every
instant (the choice in force per the profile's own reading of the ledger), whichever path
wrote the choices (files in any order, the live API, a merge, an erasure, the demo, the
migration)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from enseigne.customers.identity import merge_customers
from enseigne.db.migrations import migrate
from enseigne.db.schema_consents import SPANS
from enseigne.demo import build_demo
from enseigne.ingest import import_file
from enseigne.ingest.live import import_records
from enseigne.privacy.consent import in_force, ledger_rows
from enseigne.privacy.gate import Reader
from enseigne.privacy.gdpr import erase_person

ADMIN = Reader("ada", "admin", None, "test")
HEADER = "customer_ref;channel;status;collected_at;source\n"
FIRST = (
    "C1;email;opt_in;2025-01-10 10:00:00;caisse\n"
    "C1;email;opt_in;2025-03-01 10:00:00;site\n"  # a confirmation: the same span
    "C1;email;opt_out;2025-06-01 10:00:00;site\n"
    "C1;email;opt_in;2026-01-01 10:00:00;caisse\n"  # a second span, still open
    "C1;sms;opt_in;2025-01-10 10:00:00;caisse\n"
    "C2;email;opt_out;2025-02-01 10:00:00;caisse\n"  # never in: no span
    "C2;email;soft_opt_in;2025-04-01 10:00:00;caisse\n"  # not an opt-in
    "C2;sms;opt_out;2025-01-10 10:00:00;caisse\n"  # the instant of C1's opt-in
    "C2;sms;opt_in;2025-02-01 09:00:00;caisse\n"
)


def spans(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT * FROM consent_spans ORDER BY ALL").fetchall()


def in_force_by_spans(con: duckdb.DuckDBPyConnection, ref: str, channel: str,
                      at: dt.datetime) -> bool:
    return con.execute(
        "SELECT count(*) FROM consent_spans WHERE customer_ref = ? AND channel = ? "
        "AND opted_from <= ? AND (opted_to IS NULL OR opted_to > ?)",
        [ref, channel, at, at]).fetchone()[0] == 1


def assert_spans_follow_the_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """At every instant a choice was made, and just before and after it, the spans say an
    opt-in was in force exactly when the ledger's choice in force is an opt-in; and the
    table is what a rebuild from the whole ledger makes."""
    assert spans(con) == con.execute(f"{SPANS.format(mine='')} ORDER BY ALL").fetchall()
    events = con.execute(
        "SELECT DISTINCT customer_ref, collected_at FROM consents").fetchall()
    second = dt.timedelta(seconds=1)
    for ref, at in events:
        for t in (at - second, at, at + second):
            ledger = in_force(ledger_rows(con, ref, t))
            for channel in ("email", "sms"):
                opted = ledger.get(channel, {}).get("status") == "opt_in"
                assert in_force_by_spans(con, ref, channel, t) == opted, (ref, channel, t)


@pytest.fixture
def consented(stores, write_csv) -> duckdb.DuckDBPyConnection:
    import_file(stores, "consents", write_csv("first.csv", HEADER + FIRST))
    return stores


def test_an_import_draws_each_opt_in_span(consented) -> None:
    assert_spans_follow_the_ledger(consented)
    assert [(ref, channel, str(start), end and str(end))
            for ref, channel, start, end in spans(consented)] == [
        ("C1", "email", "2025-01-10 10:00:00", "2025-06-01 10:00:00"),
        ("C1", "email", "2026-01-01 10:00:00", None),
        ("C1", "sms", "2025-01-10 10:00:00", None),
        ("C2", "sms", "2025-02-01 09:00:00", None),
    ]


def test_older_choices_arriving_late_redraw_the_spans(consented, write_csv) -> None:
    import_file(consented, "consents", write_csv("late.csv", HEADER + (
        # An opt-out between two stored choices splits the open SMS span.
        "C1;sms;opt_out;2025-05-01 10:00:00;site\n"
        # An opt-out after the stored opt-in closes its span.
        "C2;sms;opt_out;2025-08-01 09:00:00;site\n"
        # An opt-in before the stored opt-out: a span that the opt-out closes.
        "C2;email;opt_in;2024-12-01 10:00:00;site\n")))
    assert_spans_follow_the_ledger(consented)
    assert not in_force_by_spans(consented, "C2", "sms", dt.datetime(2026, 1, 1))
    assert in_force_by_spans(consented, "C2", "email", dt.datetime(2025, 1, 15))
    assert not in_force_by_spans(consented, "C1", "sms", dt.datetime(2025, 5, 1, 10))


def test_the_live_api_keeps_the_spans(consented) -> None:
    import_records(consented, "consents", [
        {"customer_ref": "C2", "channel": "sms", "status": "opt_out",
         "collected_at": "2026-02-01T08:00:00"},
        {"customer_ref": "C3", "channel": "email", "status": "opt_in",
         "collected_at": "2026-02-01T08:00:00"},
    ])
    assert_spans_follow_the_ledger(consented)
    assert in_force_by_spans(consented, "C3", "email", dt.datetime(2026, 3, 1))


def test_a_merge_makes_one_history_and_an_erasure_keeps_it_anonymously(
    consented, write_csv
) -> None:
    import_file(consented, "customers", write_csv("c.csv", (
        "customer_ref;first_name;last_name;email;phone\n"
        "C1;Jeanne;Dupont;jeanne@example.fr;0611223344\n"
        "C2;Jeanne;Dupont;jeanne@example.fr;0611223344\n")))
    merge_customers(consented, ADMIN, "C1", "C2")
    assert_spans_follow_the_ledger(consented)
    # C2's e-mail opt-out of February 2025 now closes C1's first span earlier.
    assert not in_force_by_spans(consented, "C1", "email", dt.datetime(2025, 3, 1))
    # Both chose at the same instant on SMS: the opt-out wins, until C2's later opt-in.
    assert not in_force_by_spans(consented, "C1", "sms", dt.datetime(2025, 1, 20))
    assert in_force_by_spans(consented, "C1", "sms", dt.datetime(2025, 3, 1))
    anonymous = erase_person(consented, ADMIN, "C1")
    assert_spans_follow_the_ledger(consented)
    assert {row[0] for row in spans(consented)} == {anonymous}


def test_the_demo_and_the_migration_draw_the_spans_of_the_stored_ledger(
    con, consented
) -> None:
    consented.execute("DROP TABLE consent_spans")
    consented.execute("DELETE FROM schema_migrations WHERE version >= 9")
    assert [m.version for m in migrate(consented)] == [9]
    assert_spans_follow_the_ledger(consented)
    build_demo(con, stores=3, customers=300, years=1)
    assert spans(con) and spans(con) == con.execute(
        f"{SPANS.format(mine='')} ORDER BY ALL").fetchall()
