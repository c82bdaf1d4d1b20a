"""The gate every read of personal data goes through: role, store scope, audit.

A store manager sees a customer recruited by one of their stores or who bought there;
other roles see every customer. Refusals do not tell whether the customer exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from enseigne.privacy import audit

# Roles that may read personal data at all; the network direction reads figures only.
READERS = ("admin", "marketing", "store", "dpo")


class AccessDenied(PermissionError):
    """The person may not see this customer (or customers at all)."""


@dataclass(frozen=True)
class Reader:
    """Who reads, with what rights, from where (a web user, a token, the command line)."""

    name: str
    role: str
    stores: tuple[str, ...] | None  # None: every store
    origin: str


def customer_scope_sql(reader: Reader, column: str = "customer_ref") -> tuple[str, list]:
    """A SQL condition (and its parameters) keeping the customers ``reader`` may see."""
    if reader.role not in READERS:
        return "false", []
    if reader.stores is None:
        return "true", []
    stores = list(reader.stores)
    return (
        f"({column} IN (SELECT customer_ref FROM customers WHERE list_contains(?, store_code))"
        f" OR {column} IN (SELECT customer_ref FROM tickets WHERE list_contains(?, store_code)"
        " AND customer_ref IS NOT NULL))",
        [stores, stores],
    )


def may_see(con: duckdb.DuckDBPyConnection, reader: Reader, customer_ref: str) -> bool:
    condition, params = customer_scope_sql(reader)
    row = con.execute(
        f"SELECT count(*) FROM customers WHERE customer_ref = ? AND {condition}",
        [customer_ref, *params],
    ).fetchone()
    return bool(row and row[0])


def open_customer(
    con: duckdb.DuckDBPyConnection,
    reader: Reader,
    customer_ref: str,
    action: str = "read",
    detail: str | None = None,
) -> None:
    """Check ``reader`` may see the customer and log the access; AccessDenied otherwise
    (also for a customer that does not exist, so that refusals reveal nothing)."""
    if not may_see(con, reader, customer_ref):
        raise AccessDenied("no access to this customer")
    audit.record(
        con, actor=reader.name, role=reader.role, action=action,
        customer_ref=customer_ref, origin=reader.origin, detail=detail,
    )


def cli_reader(name: str = "cli", stores: Sequence[str] | None = None) -> Reader:
    """The command line acts as the administrator who runs it."""
    return Reader(name, "admin", None if stores is None else tuple(stores), "cli")
