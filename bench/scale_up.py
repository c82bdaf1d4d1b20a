"""A chain ten times larger, made by copying a built one: ``replicate(source, target, 10)``.

The demo generator holds a chain in memory, which caps it near 10 M ticket lines on this
machine. Copy k of every store, seller, customer, receipt and line gets the suffix ``~k``
(copy 0 keeps the original keys), so the copies are distinct chains side by side: the same
seasonality and behaviour, k times the stores and customers. Regional and network targets
are summed over the copies. Everything runs inside DuckDB, on disk.
"""

from __future__ import annotations

import time
from pathlib import Path

from enseigne.db import connect, migrate

# Columns that hold a key of a copied entity, per table.
KEYS = {
    "stores": ("store_code",),
    "sellers": ("seller_code", "store_code"),
    "products": (),
    "customers": ("customer_ref", "store_code", "seller_code"),
    "consents": ("customer_ref", "store_code"),
    "tickets": ("ticket_id", "store_code", "seller_code", "customer_ref"),
    "ticket_lines": ("ticket_id",),
    "footfall": ("store_code",),
    "survey_responses": ("response_id", "store_code", "customer_ref", "ticket_id"),
    "feedback": ("feedback_id", "store_code", "customer_ref"),
    "customer_stores": ("customer_ref", "store_code", "first_purchase_ticket"),
    "customer_sales": ("customer_ref", "store_code", "ticket_id"),
    "consent_spans": ("customer_ref",),
}
# Tables with rows that are not copied as they are: targets are summed (_targets), the
# schema's versions come from migrate(), and no query reads the demo's ground truth.
NOT_COPIED = ("targets", "schema_migrations", "demo_truth")


def _copy_sql(table: str, columns: list[str], copy: int) -> str:
    keys = KEYS[table]
    suffix = f"'~{copy}'"
    select = ", ".join(
        f"{c} || {suffix} AS {c}" if c in keys and copy else c for c in columns
    )
    return f"INSERT INTO {table} SELECT {select} FROM src.{table}"


def replicate(source: Path, target: Path, copies: int) -> float:
    """Write ``copies`` copies of ``source`` into a new database ``target``; seconds taken."""
    started = time.perf_counter()
    target.unlink(missing_ok=True)
    con = connect(target, memory_limit="8GB")
    try:
        migrate(con)
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        _check_tables(con)
        for table in KEYS:
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            for copy in range(copies if KEYS[table] else 1):
                con.execute(_copy_sql(table, columns, copy))
        _targets(con, copies)
        con.execute("DETACH src")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return time.perf_counter() - started


def _check_tables(con: object) -> None:
    """Every table with rows in the source is copied: a table left out (customer_sales once
    was) would leave the copy's queries counting on an empty table, fast and wrong."""
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src'").fetchall()]
    left_out = [t for t in tables if t not in KEYS and t not in NOT_COPIED
                and con.execute(f'SELECT count(*) FROM (FROM src."{t}" LIMIT 1)').fetchone()[0]]
    if left_out:
        raise ValueError(f"replicate does not copy {', '.join(left_out)}: add to KEYS")


def _targets(con: object, copies: int) -> None:
    columns = "scope, kpi, period_start, period_end, value"
    for copy in range(copies):
        scope = "scope" if copy == 0 else f"scope || '~{copy}'"
        con.execute(
            f"INSERT INTO targets ({columns}) SELECT {scope}, kpi, period_start, period_end, "
            "value FROM src.targets WHERE scope IN (SELECT store_code FROM src.stores)"
        )
    # A region's or the network's target covers every copy of its stores.
    additive = ("revenue", "tickets", "units", "footfall", "new_customers", "complaints")
    con.execute(
        f"INSERT INTO targets ({columns}) SELECT scope, kpi, period_start, period_end, "
        f"CASE WHEN kpi IN {additive} THEN value * {copies} ELSE value END FROM src.targets "
        "WHERE scope NOT IN (SELECT store_code FROM src.stores)"
    )
