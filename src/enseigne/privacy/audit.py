"""The audit log: who read, exported, changed or erased which customer, when, from where.

Append-only by construction: this module only inserts, and nothing else in the product
writes to ``audit_log``.
"""

from __future__ import annotations

from typing import Any

import duckdb

ACTIONS = ("read", "search", "export", "change", "erase", "merge", "retention")


def record(
    con: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    role: str,
    action: str,
    customer_ref: str | None,
    origin: str,
    detail: str | None = None,
) -> None:
    """Log one access to personal data (origin: "cli", "web 127.0.0.1", "api 10.0.0.2"...)."""
    record_each(con, actor=actor, role=role, action=action, customer_refs=[customer_ref],
                origin=origin, detail=detail)


def record_each(
    con: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    role: str,
    action: str,
    customer_refs: list[str | None],
    origin: str,
    detail: str | None = None,
) -> None:
    """Log the same access to each of several customers, in one statement (a retention of
    20,000 customers spent 7 s inserting their entries one by one)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not customer_refs:
        return
    con.execute(
        "INSERT INTO audit_log (actor, role, action, customer_ref, detail, origin) "
        "SELECT ?, ?, ?, unnest(?::VARCHAR[]), ?, ?",
        [actor, role, action, customer_refs, detail, origin],
    )


def entries(
    con: duckdb.DuckDBPyConnection,
    *,
    customer_ref: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The latest entries, newest first (for the DPO), optionally for one customer."""
    where, params = ("WHERE customer_ref = ?", [customer_ref]) if customer_ref else ("", [])
    cursor = con.execute(
        f"SELECT audit_id, recorded_at, actor, role, action, customer_ref, detail, origin "
        f"FROM audit_log {where} ORDER BY audit_id DESC LIMIT ?",
        [*params, limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
