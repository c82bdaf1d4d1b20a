"""The gate every read of personal data goes through: role, store scope, audit.

A store manager sees a customer recruited by one of their stores or who bought there;
other roles see every customer. Refusals do not tell whether the customer exists. Where a
customer bought is read from ``customer_stores`` (one row per customer and store, kept with
the receipts) rather than from the receipts themselves: a million customers, ten million
lines, and the scope of a store is a few milliseconds instead of a scan of every receipt.
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
    if not stores:
        return "false", []
    # One parameter per store, not a list: DuckDB prunes a plain IN with the column's
    # dictionary and zone maps, where list_contains is evaluated row by row.
    marks = ", ".join("?" * len(stores))
    return (
        f"({column} IN (SELECT customer_ref FROM customers WHERE store_code IN ({marks}))"
        f" OR {column} IN (SELECT customer_ref FROM customer_stores WHERE store_code IN "
        f"({marks})))",
        [*stores, *stores],
    )


def may_see(con: duckdb.DuckDBPyConnection, reader: Reader, customer_ref: str) -> bool:
    """What ``customer_scope_sql`` says of one customer, from two lookups by key (the
    customers' primary key, customer_stores' index) rather than the whole scope."""
    if reader.role not in READERS:
        return False
    row = con.execute(
        "SELECT store_code FROM customers WHERE customer_ref = ?", [customer_ref]
    ).fetchone()
    if row is None:
        return False
    if reader.stores is None or row[0] in reader.stores:
        return True
    bought = con.execute(
        "SELECT store_code FROM customer_stores WHERE customer_ref = ?", [customer_ref]
    ).fetchall()
    return any(store in reader.stores for (store,) in bought)


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
