"""Where each customer bought, kept beside the receipts (migration 6).

``customer_stores`` holds, per customer and store, the first and last receipt, and the first
and last sale (a receipt with a positive total) with the first sale's ticket (migration 7).
It answers at customer grain what would otherwise scan every receipt: which customers a
store manager sees (those who bought in one of their stores), a search result's last
purchase, the time span of a customer's receipts, whether a buyer of the period is a new
customer (their first sale anywhere in the chain falls in it). It is
derived from ``tickets`` and kept exact by every path that writes receipts: the import
(``enseigne.ingest.load``), the demo, the merge of two customers (which folds the absorbed
customer's rows into the survivor's) and the GDPR erasure (which re-keys them). A customer
and store have one row; readers still take the min and max over a customer and store's rows,
because a database merged by an earlier version may hold several.

Its index is at customer grain, like the customers' primary key: one entry per customer
and store, never one per receipt (an index over the receipts would not fit in the default
1 GB of memory at 100 million lines).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

CUSTOMER_STORES_DDL = """
CREATE TABLE customer_stores (
    customer_ref VARCHAR NOT NULL,
    store_code VARCHAR NOT NULL,
    first_visit TIMESTAMP NOT NULL,
    last_visit TIMESTAMP NOT NULL,
    last_purchase TIMESTAMP
);
"""

LAST_SALES_DDL = """
ALTER TABLE customer_stores ADD COLUMN sale_before_last TIMESTAMP;
ALTER TABLE customer_stores ADD COLUMN last_store_sale TIMESTAMP;
ALTER TABLE customer_stores ADD COLUMN last_web_sale TIMESTAMP;
"""

FIRST_PURCHASE_DDL = """
ALTER TABLE customer_stores ADD COLUMN first_purchase TIMESTAMP;
ALTER TABLE customer_stores ADD COLUMN first_purchase_ticket VARCHAR;
"""

# The first sale: the earliest, and of two at the same second the smaller ticket id (the
# order the KPIs use to tell where a customer was recruited).
_FIRST_SALE = (
    "arg_min({ticket}, ({at}, {ticket})) FILTER (WHERE {sale}) AS first_purchase_ticket"
)

# The second latest of a list of sales (NULL when it has fewer than two).
SECOND_LAST = "list_sort(list_filter({sales}, x -> x IS NOT NULL), 'DESC')[2]"

# The rows of ``source`` (receipts with the columns of ``tickets``), one per customer and
# store, in the table's column order. The sale before the last and the last sale through
# each channel (migration 8) are what a new sale needs of its predecessors in
# ``customer_sales``.
AGGREGATE = (
    "SELECT customer_ref, store_code, min(sold_at) AS first_visit, max(sold_at) AS last_visit, "
    "max(sold_at) FILTER (WHERE amount > 0) AS last_purchase, "
    "min(sold_at) FILTER (WHERE amount > 0) AS first_purchase, "
    + _FIRST_SALE.format(ticket="ticket_id", at="sold_at", sale="amount > 0")
    + ", (max(sold_at, 2) FILTER (WHERE amount > 0))[2] AS sale_before_last, "
    "max(sold_at) FILTER (WHERE amount > 0 AND channel = 'store') AS last_store_sale, "
    "max(sold_at) FILTER (WHERE amount > 0 AND channel <> 'store') AS last_web_sale"
    " FROM {source} WHERE customer_ref IS NOT NULL GROUP BY customer_ref, store_code"
)
# Rows of ``source`` (the rows of two merged customers) folded into one per customer and store.
FOLD = (
    "SELECT customer_ref, store_code, min(first_visit) AS first_visit, "
    "max(last_visit) AS last_visit, max(last_purchase) AS last_purchase, "
    "min(first_purchase) AS first_purchase, "
    + _FIRST_SALE.format(ticket="first_purchase_ticket", at="first_purchase",
                         sale="first_purchase IS NOT NULL")
    + ", " + SECOND_LAST.format(sales="flatten(list([last_purchase, sale_before_last]))")
    + " AS sale_before_last, max(last_store_sale) AS last_store_sale, "
    "max(last_web_sale) AS last_web_sale FROM {source} GROUP BY customer_ref, store_code"
)
INDEX_DDL = "CREATE INDEX customer_stores_ref ON customer_stores (customer_ref)"


def fold_customer_stores(con: duckdb.DuckDBPyConnection, refs: list[str], survivor: str) -> None:
    """The rows of ``refs`` become the survivor's, one per store (a merge of customers)."""
    marks = ", ".join("?" * len(refs))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _folded AS " + FOLD.format(source=(
            f"(SELECT * REPLACE (?::VARCHAR AS customer_ref) FROM customer_stores "
            f"WHERE customer_ref IN ({marks}))")), [survivor, *refs])
    con.execute(f"DELETE FROM customer_stores WHERE customer_ref IN ({marks})", refs)
    con.execute("INSERT INTO customer_stores SELECT * FROM _folded")
    con.execute("DROP TABLE _folded")


def rebuild_customer_stores(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the table from every stored receipt (the migration, a fixture that writes
    receipts with SQL). The table is made again, as it stands, rather than emptied: DuckDB
    pays ~16 µs per row deleted from an indexed table when the transaction commits (2.3
    million rows at 10 million ticket lines: 38 s, against 5 s for the whole rebuild)."""
    table = con.execute(
        "SELECT sql FROM duckdb_tables() WHERE table_name = 'customer_stores' "
        "AND schema_name = 'main' AND database_name = current_database()").fetchone()[0]
    indexes = [row[0] for row in con.execute(
        "SELECT sql FROM duckdb_indexes() WHERE table_name = 'customer_stores' "
        "AND schema_name = 'main' AND database_name = current_database()").fetchall()]
    # The columns the table has at this version (a migration before the latest rebuilds it).
    columns = ", ".join(row[0] for row in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'customer_stores' "
        "AND schema_name = 'main' AND database_name = current_database() "
        "ORDER BY column_index").fetchall())
    con.execute("DROP TABLE customer_stores")
    con.execute(table)
    con.execute(f"INSERT INTO customer_stores SELECT {columns} "
                f"FROM ({AGGREGATE.format(source='tickets')}) ORDER BY 1, 2")
    for index in indexes:
        con.execute(index)


def create_customer_stores(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 6: the table and its index (filled by migration 7, which follows)."""
    con.execute(CUSTOMER_STORES_DDL)
    con.execute(INDEX_DDL)


def add_first_purchases(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 7: each customer and store's first sale, so that telling new customers
    from returning ones reads this table rather than every receipt before the period."""
    con.execute(FIRST_PURCHASE_DDL)
    rebuild_customer_stores(con)


# --- customer_sales: each identified sale and the customer's sales before it ---------------
#
# Counting customers (active, buyers, retained...) groups years of receipts by customer: at
# 100 million ticket lines, 29 million receipts into 6 million (store, customer) rows, most
# of the dashboard's time. With each sale's previous sales beside it, a customer is counted
# once by a test on one row (their first sale in the window: the one whose previous sale is
# before it), and a store's counts are filtered counts of its sales. The previous sales are
# kept at three levels: the same store, the same region, the whole chain; a region's count
# is then the sum of its stores' counts on the region's pointers (a customer's first sale in
# the region's window is at one of its stores). Only earlier sales are kept, so that a later
# sale never changes a stored row.

# Level -> (prefix of its pointer columns, the columns its sales are partitioned by besides
# the customer).
LEVELS = {
    "store": ("", "store_code"), "region": ("region_", "region"), "network": ("network_", None),
}
POINTERS = ("previous_sale", "sale_before_previous", "previous_same_channel")

CUSTOMER_SALES_DDL = (
    "CREATE TABLE customer_sales (customer_ref VARCHAR NOT NULL, store_code VARCHAR NOT NULL, "
    "channel VARCHAR NOT NULL, sold_at TIMESTAMP NOT NULL, ticket_id VARCHAR NOT NULL, "
    + ", ".join(f"{prefix}{p} TIMESTAMP" for prefix, _ in LEVELS.values() for p in POINTERS)
    + ")"
)


def _pointers(level: str) -> str:
    """The level's pointer columns over the window named after it."""
    prefix = LEVELS[level][0]

    def last(condition: str) -> str:
        return f"max(sold_at) FILTER (WHERE {condition}) OVER {level}_earlier"

    store, web = last("channel = 'store'"), last("channel <> 'store'")
    return (
        f"lag(sold_at) OVER {level} AS {prefix}previous_sale, "
        f"lag(sold_at, 2) OVER {level} AS {prefix}sale_before_previous, "
        f"CASE WHEN channel = 'store' THEN {store} ELSE {web} END AS {prefix}previous_same_channel"
    )


def _partition(level: str) -> str:
    column = LEVELS[level][1]
    return "customer_ref" if column is None else f"customer_ref, {column}"


def _windows(*levels: str) -> str:
    return "WINDOW " + ", ".join(
        f"{level} AS (PARTITION BY {_partition(level)} ORDER BY sold_at, ticket_id), "
        f"{level}_earlier AS ({level} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
        for level in levels)


SALE_COLUMNS = "customer_ref, store_code, channel, sold_at, ticket_id"
POINTER_COLUMNS = ", ".join(f"{prefix}{p}" for prefix, _ in LEVELS.values() for p in POINTERS)

# Sales receipts of ``customers`` (``{mine}``: a condition on t.customer_ref, or nothing),
# each with the same customer's previous sales in (sold_at, ticket_id) order at its store, in
# its store's region and in the chain. The web store has no region: its sales' region
# pointers link them to each other only, and no region counts them.
SALES_LINKS = (
    f"SELECT {SALE_COLUMNS}, " + ", ".join(_pointers(level) for level in LEVELS)
    + " FROM (SELECT t.customer_ref, t.store_code, t.channel, t.sold_at, t.ticket_id, s.region "
    "FROM tickets t LEFT JOIN stores s USING (store_code) "
    "WHERE t.amount > 0 AND t.customer_ref IS NOT NULL{mine}) " + _windows(*LEVELS)
)

# The stored past of a level, from ``_stored`` (customer_stores rows of the customers of new
# sales, with their store's region): per partition, the last sale, the one before, and the
# last through each channel.
_SEEDS = {
    "store": "SELECT customer_ref, store_code, region, last_purchase, sale_before_last, "
             "last_store_sale, last_web_sale FROM _stored",
    **{level: (
        f"SELECT customer_ref, NULL, {'region' if column else 'NULL'}, max(last_purchase), "
        # The sale before the last of all the rows: the second of their last sales or the
        # sale before the last of the row of the last sale (a list of two, not of them all).
        "greatest(max(last_purchase, 2)[2], max(sale_before_last)), "
        "max(last_store_sale), max(last_web_sale) FROM _stored "
        f"GROUP BY customer_ref{', region' if column else ''}"
    ) for level, (_, column) in LEVELS.items() if level != "store"},
}
_FRESH = "customer_ref NOT IN (SELECT customer_ref FROM _late)"


def _matching(level: str, a: str, b: str) -> str:
    """Rows ``a`` and ``b`` in the same partition of ``level`` (the web store's sales have
    no region: NULL matches NULL, as in the partitions)."""
    column = LEVELS[level][1]
    return f"{a}.customer_ref = {b}.customer_ref" + (
        f" AND {a}.{column} IS NOT DISTINCT FROM {b}.{column}" if column else "")


def _appended_pointers(level: str) -> str:
    """A fresh new sale's pointers at ``level``: from the earlier new sales of its partition
    (``n``: a window over the new sales alone, as DuckDB pays per partition and seed rows in
    the window cost 3 times more), else from the level's stored past (``p_{level}``)."""
    prefix, p = LEVELS[level][0], f"p_{level}"
    return (
        f"coalesce(n.{prefix}previous_sale, {p}.last_purchase) AS {prefix}previous_sale, "
        f"coalesce(n.{prefix}sale_before_previous, CASE WHEN n.{prefix}previous_sale IS NULL "
        f"THEN {p}.sale_before_last ELSE {p}.last_purchase END) AS {prefix}sale_before_previous, "
        f"greatest(n.{prefix}previous_same_channel, CASE WHEN n.channel = 'store' "
        f"THEN {p}.last_store_sale ELSE {p}.last_web_sale END) AS {prefix}previous_same_channel"
    )


# New sales (``_sales``: customer_ref, store_code, region, channel, sold_at, ticket_id) of the
# customers not in ``_late``, with their pointers at each level after the stored sales: the
# windows of every level in one pass, each level's stored past joined to it (three passes
# joined back on the ticket id took 0.4 s more for 2 million lines). Every partition of the
# customers' is summed up, needed or not: filtering them first cost as much as it saved.
APPENDED = (
    "SELECT " + ", ".join(f"n.{c}" for c in SALE_COLUMNS.split(", ")) + ", "
    + ", ".join(_appended_pointers(level) for level in LEVELS)
    + " FROM (SELECT customer_ref, store_code, region, channel, sold_at, ticket_id, "
    + ", ".join(_pointers(level) for level in LEVELS)
    + f" FROM _sales WHERE {_FRESH} {_windows(*LEVELS)}) n "
    + " ".join(
        f"LEFT JOIN ({_SEEDS[level]}) AS p_{level}(customer_ref, store_code, region, "
        "last_purchase, sale_before_last, last_store_sale, last_web_sale) "
        f"ON {_matching(level, 'n', f'p_{level}')}"
        for level in LEVELS)
)


def link_sales(
    con: duckdb.DuckDBPyConnection, customers: str | None = None, params: Sequence = ()
) -> None:
    """Make the ``customer_sales`` rows of ``customers`` (a subquery yielding customer
    refs, with its ``params``; None: every customer) again from their receipts. Stored by
    date, so that a query on recent months skips the older ones."""
    redraw(con, "customer_sales", SALES_LINKS, "sold_at", customers, params, "t.customer_ref")


def redraw(
    con: duckdb.DuckDBPyConnection, table: str, derived: str, order: str,
    customers: str | None, params: Sequence = (), column: str = "customer_ref",
) -> None:
    """Make the rows of the derived ``table`` for ``customers`` (a subquery yielding
    customer refs, with its ``params``; None: every customer) again: ``derived`` is the
    query that makes them, with ``{mine}`` where a condition on ``column`` goes."""
    if customers is None:
        mine, params = "", ()
        con.execute(f"DELETE FROM {table}")
    else:
        mine = f" AND {column} IN ({customers})"
        con.execute(f"DELETE FROM {table} WHERE customer_ref IN ({customers})", params)
    con.execute(f"INSERT INTO {table} {derived.format(mine=mine)} ORDER BY {order}", params)


def create_customer_sales(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 8: each sale with the customer's previous sales at its store, and in
    customer_stores each pair's last sales, from which a new sale takes its previous ones."""
    con.execute(LAST_SALES_DDL)
    rebuild_customer_stores(con)
    con.execute(CUSTOMER_SALES_DDL)
    link_sales(con)
