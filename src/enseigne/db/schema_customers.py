"""Where each customer bought, kept beside the receipts (migration 6).

``customer_stores`` holds, per customer and store, the first and last receipt and the last
sale (a receipt with a positive total). It answers at customer grain what would otherwise
scan every receipt: which customers a store manager sees (those who bought in one of their
stores), a search result's last purchase, the time span of a customer's receipts. It is
derived from ``tickets`` and kept exact by every path that writes receipts: the import
(``enseigne.ingest.load``), the demo, the merge of two customers and the GDPR erasure (both
re-key it with the customer's other rows). A customer and store may have several rows (after
a merge): readers take the min and max over them, and the next import of that customer's
receipts folds them back into one.

Its index is at customer grain, like the customers' primary key: one entry per customer
and store, never one per receipt (an index over the receipts would not fit in the default
1 GB of memory at 100 million lines).
"""

from __future__ import annotations

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

# The rows of ``source`` (receipts with the columns of ``tickets``), one per customer and
# store; folding stored rows in with new receipts uses the same aggregates.
AGGREGATE = (
    "SELECT customer_ref, store_code, min(sold_at) AS first_visit, max(sold_at) AS last_visit, "
    "max(sold_at) FILTER (WHERE amount > 0) AS last_purchase FROM {source} "
    "WHERE customer_ref IS NOT NULL GROUP BY customer_ref, store_code"
)
INDEX_DDL = "CREATE INDEX customer_stores_ref ON customer_stores (customer_ref)"


def rebuild_customer_stores(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the table from every stored receipt (the demo, the migration, a fixture
    that writes receipts with SQL)."""
    con.execute("DELETE FROM customer_stores")
    con.execute(f"INSERT INTO customer_stores {AGGREGATE.format(source='tickets')} ORDER BY 1, 2")


def create_customer_stores(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 6: the table, filled from the receipts already stored, then its index
    (built once over the filled table rather than grown row by row)."""
    con.execute(CUSTOMER_STORES_DDL)
    rebuild_customer_stores(con)
    con.execute(INDEX_DDL)
