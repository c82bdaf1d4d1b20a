"""customer_stores, where each customer bought, and customer_sales, each sale with the
customer's previous ones: always what the receipts say, whichever path wrote them (import,
receipts extended by a later file, merge, erasure, demo, migration), and a small batch's
duplicates and conflicts found as a large file's are."""

from __future__ import annotations

import duckdb
import pytest

from enseigne.customers.identity import merge_customers
from enseigne.db.migrations import migrate
from enseigne.db.schema_customers import AGGREGATE, FOLD, INDEX_DDL, SALES_LINKS
from enseigne.demo import build_demo
from enseigne.ingest import import_file, load
from enseigne.privacy.gate import Reader, customer_scope_sql, may_see
from enseigne.privacy.gdpr import erase_person

ADMIN = Reader("ada", "admin", None, "test")
HEADER = "ticket_id;line_no;sold_at;store_code;customer_ref;sku;quantity;amount\n"
FIRST = (
    "T1;1;2026-01-05 10:00;S01;C1;P1;1;30,00\n"
    "T2;1;2026-03-01 11:00;S02;C1;P1;1;20,00\n"
    "T3;1;2026-02-01 09:00;S01;C2;P1;1;15,00\n"
    "T4;1;2026-04-01 09:00;S02;;P1;1;15,00\n"
)


def as_stored(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The table as its readers see it: min and max over the rows of a customer and store."""
    return con.execute(
        f"{FOLD.format(source='customer_stores')} ORDER BY ALL").fetchall()


def from_receipts(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(f"{AGGREGATE.format(source='tickets')} ORDER BY ALL").fetchall()


def sales_as_stored(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT * FROM customer_sales ORDER BY ALL").fetchall()


def sales_from_receipts(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(f"{SALES_LINKS.format(mine='')} ORDER BY ALL").fetchall()


@pytest.fixture
def bought(stores, write_csv) -> duckdb.DuckDBPyConnection:
    import_file(stores, "tickets", write_csv("first.csv", HEADER + FIRST))
    return stores


def test_an_import_records_where_each_customer_bought(bought, write_csv) -> None:
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)
    assert [row[:2] for row in as_stored(bought)] == [("C1", "S01"), ("C1", "S02"), ("C2", "S01")]
    import_file(bought, "tickets", write_csv("later.csv", HEADER + (
        "T5;1;2026-05-01 10:00;S02;C2;P1;1;12,00\n"
        "T6;1;2026-06-01 10:00;S01;C1;P1;-1;-30,00\n"
        # Older receipts arriving late: an earlier first sale, and one at the same second
        # as the stored first sale with a smaller ticket id (which then comes first).
        "T0;1;2025-12-01 10:00;S01;C1;P1;1;5,00\n"
        "T03;1;2026-02-01 09:00;S01;C2;P1;1;8,00\n")))
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)
    assert bought.execute(
        "SELECT first_purchase_ticket FROM customer_stores WHERE customer_ref = 'C2' "
        "AND store_code = 'S01'").fetchone()[0] == "T03"
    # One row per customer and store: a later file folds into the stored rows.
    assert bought.execute("SELECT count(*) FROM customer_stores").fetchone()[0] == 4
    manager = Reader("sam", "store", ("S02",), "test")
    assert may_see(bought, manager, "C2")


def test_a_receipt_extended_into_a_return_no_longer_counts_as_a_purchase(bought, write_csv):
    # T2 gets a second line from another file: its total turns negative.
    import_file(bought, "tickets", write_csv("more.csv", HEADER + (
        "T2;2;2026-03-01 11:00;S02;C1;P1;-2;-50,00\n")))
    assert bought.execute("SELECT amount FROM tickets WHERE ticket_id = 'T2'").fetchone()[0] < 0
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)
    c1_s02 = [row for row in as_stored(bought) if row[:2] == ("C1", "S02")]
    assert c1_s02[0][4] is None  # no sale left in that store


def test_a_merge_and_an_erasure_carry_the_rows_with_the_receipts(bought, write_csv) -> None:
    import_file(bought, "customers", write_csv("c.csv", (
        "customer_ref;first_name;last_name;email;store_code\n"
        "C1;Jeanne;Dupont;jeanne@example.fr;S01\nC2;Jeanne;Dupont;jeanne@example.fr;S01\n")))
    merge_customers(bought, ADMIN, "C1", "C2")
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)
    assert {row[0] for row in as_stored(bought)} == {"C1"}
    # Both customers bought in S01: the merge leaves one row per store.
    assert bought.execute("SELECT count(*) FROM customer_stores").fetchone()[0] == 2
    anonymous = erase_person(bought, ADMIN, "C1")
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)
    assert {row[0] for row in as_stored(bought)} == {anonymous}
    import_file(bought, "tickets", write_csv("next.csv", HEADER + (
        f"T7;1;2026-07-01 10:00;S01;{anonymous};P1;1;10,00\n")))
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)
    assert bought.execute("SELECT count(*) FROM customer_stores").fetchone()[0] == 2


def test_the_store_scope_is_the_same_from_customer_stores_as_from_the_receipts(bought):
    for stores in (("S01",), ("S02",), ("S01", "S02"), ()):
        reader = Reader("sam", "store", stores, "test")
        condition, params = customer_scope_sql(reader)
        scoped = {r[0] for r in bought.execute(
            f"SELECT customer_ref FROM customers WHERE {condition}", params).fetchall()}
        direct = {r[0] for r in bought.execute(
            "SELECT customer_ref FROM customers WHERE list_contains(?, store_code) OR "
            "customer_ref IN (SELECT customer_ref FROM tickets WHERE list_contains(?, store_code))",
            [list(stores), list(stores)]).fetchall()}
        assert scoped == direct
        assert {ref for ref in ("C1", "C2") if may_see(bought, reader, ref)} == direct


def test_the_migrations_fill_the_table_from_the_receipts_already_stored(bought) -> None:
    bought.execute("DROP TABLE customer_stores")
    bought.execute("DROP TABLE customer_sales")
    bought.execute("DROP TABLE consent_spans")
    bought.execute("DELETE FROM schema_migrations WHERE version >= 6")
    assert [m.version for m in migrate(bought)] == [6, 7, 8, 9]
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)


def test_a_database_at_version_6_gets_each_customer_and_store_first_sale(bought) -> None:
    bought.execute("DROP INDEX customer_stores_ref")  # DuckDB drops no column under an index
    for column in ("last_web_sale", "last_store_sale", "sale_before_last",
                   "first_purchase_ticket", "first_purchase"):
        bought.execute(f"ALTER TABLE customer_stores DROP COLUMN {column}")
    bought.execute(INDEX_DDL)
    bought.execute("DROP TABLE customer_sales")
    bought.execute("DROP TABLE consent_spans")
    bought.execute("DELETE FROM schema_migrations WHERE version >= 7")
    assert [m.version for m in migrate(bought)] == [7, 8, 9]
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)
    firsts = bought.execute("SELECT customer_ref, store_code, first_purchase, "
                            "first_purchase_ticket FROM customer_stores ORDER BY 1, 2").fetchall()
    assert [(ref, store, str(at), ticket) for ref, store, at, ticket in firsts] == [
        ("C1", "S01", "2026-01-05 10:00:00", "T1"), ("C1", "S02", "2026-03-01 11:00:00", "T2"),
        ("C2", "S01", "2026-02-01 09:00:00", "T3")]


def test_the_demo_derives_the_table_from_its_receipts(con) -> None:
    build_demo(con, stores=3, customers=300, years=1)
    assert as_stored(con) == from_receipts(con)
    assert sales_as_stored(con) == sales_from_receipts(con)
    assert con.execute("SELECT count(*) FROM customer_stores").fetchone()[0] == len(
        from_receipts(con))


@pytest.mark.parametrize("small_batch", [load.SMALL_BATCH, 0])
def test_small_and_large_batches_find_the_same_duplicates_and_conflicts(
    bought, write_csv, monkeypatch, small_batch
) -> None:
    """A batch up to SMALL_BATCH rows looks its own keys up; a larger one hashes every stored
    row: both skip a receipt already stored and refuse one stored with other content."""
    monkeypatch.setattr(load, "SMALL_BATCH", small_batch)
    summary = import_file(bought, "tickets", write_csv("again.csv", HEADER + (
        "T1;1;2026-01-05 10:00;S01;C1;P1;1;30,00\n"      # stored as is: a duplicate
        "T3;1;2026-02-01 09:00;S01;C2;P1;1;99,00\n"      # stored with another amount
        "T8;1;2026-08-01 09:00;S01;C2;P1;1;10,00\n")))   # new
    assert (summary.rows_loaded, summary.duplicates, summary.rejected) == (1, 1, 1)
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)


@pytest.mark.parametrize("small_batch", [load.SMALL_BATCH, 0])
def test_a_file_of_new_receipts_loads_whole_and_again_adds_nothing(
    bought, write_csv, monkeypatch, small_batch
) -> None:
    """A large file none of whose receipts is stored is not compared with the stored lines;
    the same file again, whose receipts all are, is all duplicates."""
    monkeypatch.setattr(load, "SMALL_BATCH", small_batch)
    rows = HEADER + (
        "T20;1;2026-09-01 10:00;S01;C1;P1;1;30,00\n"
        "T20;2;2026-09-01 10:00;S01;C1;P2;2;12,00\n"
        "T21;1;2026-09-02 10:00;S02;C2;P1;1;30,00\n"
        "T21;1;2026-09-02 10:00;S02;C2;P1;1;30,00\n")  # the same line twice in the file
    first = import_file(bought, "tickets", write_csv("september.csv", rows))
    again = import_file(bought, "tickets", write_csv("september.csv", rows))
    assert (first.rows_loaded, first.duplicates, first.rejected) == (3, 1, 0)
    assert (again.rows_loaded, again.duplicates, again.rejected) == (0, 4, 0)
    assert as_stored(bought) == from_receipts(bought)
    assert sales_as_stored(bought) == sales_from_receipts(bought)


CHANNEL_HEADER = "ticket_id;line_no;sold_at;store_code;channel;customer_ref;sku;quantity;amount\n"


def test_sales_through_both_channels_take_their_previous_sales_file_after_file(
    stores, write_csv
) -> None:
    """Each file's sales follow the stored ones (taken from the last stored sale) or come
    late (the customer linked again): the table is what all the receipts give either way."""
    files = [
        "T10;1;2026-01-01 10:00;S01;store;C1;P1;1;10,00\n"
        "T11;1;2026-01-02 10:00;S01;web;C1;P1;1;10,00\n"
        "T12;1;2026-01-03 10:00;S01;store;C1;P1;1;10,00\n",
        # two sales at the same second: the ticket id orders them
        "T13;1;2026-02-01 10:00;S01;web;C1;P1;1;10,00\n"
        "T15;1;2026-02-02 10:00;S01;store;C1;P1;1;10,00\n"
        "T14;1;2026-02-02 10:00;S01;store;C1;P1;1;10,00\n",
        "T16;1;2026-03-01 10:00;S01;app;C1;P1;1;10,00\n",
        "T09;1;2026-01-15 10:00;S01;store;C1;P1;1;10,00\n",  # late
        "T17;1;2026-03-01 10:00;S01;web;C1;P1;1;10,00\n",    # at the second of the last one
    ]
    for number, rows in enumerate(files):
        import_file(stores, "tickets", write_csv(f"f{number}.csv", CHANNEL_HEADER + rows))
        assert sales_as_stored(stores) == sales_from_receipts(stores), number
        if number == 2:
            previous = stores.execute(
                "SELECT previous_sale, sale_before_previous, previous_same_channel "
                "FROM customer_sales WHERE ticket_id = 'T16'").fetchone()
            assert [str(at) for at in previous] == [
                "2026-02-02 10:00:00", "2026-02-02 10:00:00", "2026-02-01 10:00:00"]


def test_sales_at_several_stores_link_across_the_region_and_the_chain(stores, write_csv):
    """A customer's sales at two stores: the region's and the chain's pointers follow them
    from file to file, a store's file arriving after a later one's links the customer again,
    and a store moved to another region takes its customers' sales with it."""
    files = [
        "T20;1;2026-01-01 10:00;S01;store;C1;P1;1;10,00\n"
        "T21;1;2026-01-02 10:00;S02;store;C1;P1;1;10,00\n",
        "T22;1;2026-02-01 10:00;S02;web;C1;P1;1;10,00\n",
        # S01's file after S02's: after S01's last sale, before the chain's
        "T24;1;2026-01-20 10:00;S01;store;C1;P1;1;10,00\n",
        "T23;1;2026-02-03 10:00;S01;store;C1;P1;1;10,00\n",
        # a store of no region (created by the import): its sales link to each other
        "T25;1;2026-02-04 10:00;WEB;web;C1;P1;1;10,00\n",
        "T26;1;2026-02-05 10:00;WEB;web;C1;P1;1;10,00\n",
    ]
    for number, rows in enumerate(files):
        import_file(stores, "tickets", write_csv(f"g{number}.csv", CHANNEL_HEADER + rows),
                    create_missing=True)
        assert sales_as_stored(stores) == sales_from_receipts(stores), number
    chained = stores.execute(
        "SELECT network_previous_sale, region_previous_sale, previous_sale "
        "FROM customer_sales WHERE ticket_id = 'T23'").fetchone()
    assert [str(at) for at in chained] == [
        "2026-02-01 10:00:00", "2026-01-20 10:00:00", "2026-01-20 10:00:00"]
    import_file(stores, "stores", write_csv("moved.csv", (
        "store_code;name;region\nS02;Paris Rivoli;Auvergne-Rhône-Alpes\n")))
    assert sales_as_stored(stores) == sales_from_receipts(stores)
    assert stores.execute(
        "SELECT region_previous_sale FROM customer_sales WHERE ticket_id = 'T23'"
    ).fetchone()[0].isoformat() == "2026-02-01T10:00:00"
