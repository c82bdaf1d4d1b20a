"""Rectification of a customer record (GDPR article 16), validated like the file import.

Values are checked by DuckDB with the import's own SQL expressions (e-mail syntax, French
phone numbers to E.164, the date formats the import reads), so a value the import would
refuse is refused here too. Every accepted change goes through the privacy gate (audit
action ``change``) and leaves one row in ``customer_changes`` naming the fields, never
their values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from enseigne.db.connect import quote_ident
from enseigne.ingest.kinds import KINDS, Column
from enseigne.ingest.validate import (
    SourceFormat,
    error_checks,
    reason_expression,
    typed_expression,
)
from enseigne.privacy.gate import Reader, open_customer

EDITABLE = (
    "first_name", "last_name", "email", "phone", "birth_date", "gender",
    "postal_code", "city", "country", "loyalty_card",
)
MAX_LENGTH = 200
_COLUMNS: dict[str, Column] = {c.name: c for c in KINDS["customers"].columns}
_SQL_TYPES = {"date": "DATE"}


class InvalidField(ValueError):
    """A value the import would refuse; ``field`` names the column, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether an explicit transaction is open: outside one, each statement runs in a
    transaction of its own, so two statements see two different ids. (A BEGIN inside a
    transaction would fail and abort the caller's transaction.)"""
    first = con.execute("SELECT txid_current()").fetchall()[0][0]
    return con.execute("SELECT txid_current()").fetchall()[0][0] == first


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """A transaction of our own, or the caller's when one is already open (the web app's
    writer opens one per request), so that every step commits or none does."""
    if in_transaction(con):
        yield
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _clean_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if len(value) > MAX_LENGTH:
        raise InvalidField(field, f"longer than {MAX_LENGTH} characters")
    return value


def validate_changes(con: duckdb.DuckDBPyConnection, changes: dict[str, Any]) -> dict[str, Any]:
    """The typed values of ``changes`` (an empty text clears the field); InvalidField else."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidField(unknown[0], "not an editable field")
    fields = [f for f in EDITABLE if f in changes]
    if not fields:
        return {}
    texts = [_clean_text(f, changes[f]) for f in fields]
    # The import's trimming: surrounding blanks dropped, an empty value is no value.
    source = ", ".join(
        f"nullif(trim(?::VARCHAR, ' \t\u00a0'), '') AS {quote_ident(f)}" for f in fields)
    selects = []
    for f in fields:
        column, t = _COLUMNS[f], quote_ident(f)
        typed = typed_expression(column, t, _SQL_TYPES.get(column.type, "VARCHAR"),
                                 SourceFormat())
        selects.append(f"({typed}) AS {quote_ident('v_' + f)}")
        checks = error_checks(column, t, f"({typed})")
        reason = reason_expression(checks) if checks else "NULL"
        selects.append(f"{reason} AS {quote_ident('e_' + f)}")
    row = con.execute(f"SELECT {', '.join(selects)} FROM (SELECT {source})", texts).fetchall()[0]
    typed_values: dict[str, Any] = {}
    for i, f in enumerate(fields):
        value, error = row[2 * i], row[2 * i + 1]
        if error is not None:
            raise InvalidField(f, error)
        typed_values[f] = value
    return typed_values


def _current(con: duckdb.DuckDBPyConnection, customer_ref: str) -> dict[str, Any]:
    cursor = con.execute(
        f"SELECT {', '.join(EDITABLE)} FROM customers WHERE customer_ref = ?", [customer_ref])
    # The gate has just seen the row, so there is one.
    return dict(zip(EDITABLE, cursor.fetchall()[0], strict=True))


def rectify(
    con: duckdb.DuckDBPyConnection,
    reader: Reader,
    customer_ref: str,
    changes: dict[str, Any],
    reason: str | None = None,
) -> list[str]:
    """Apply ``changes`` ({field: new value}) to the record; return the fields that changed.

    AccessDenied outside the reader's scope (or for an unknown ref), InvalidField for a
    value the import would refuse; nothing is written in either case."""
    values = validate_changes(con, changes)
    if reason is not None:
        reason = _clean_text("reason", reason.strip()) or None
    with transaction(con):
        open_customer(con, reader, customer_ref, action="change",
                      detail=", ".join(values) or None)
        current = _current(con, customer_ref)
        changed = [f for f, v in values.items() if current[f] != v]
        if changed:
            assignments = ", ".join(f"{quote_ident(f)} = ?" for f in changed)
            con.execute(
                f"UPDATE customers SET {assignments}, updated_at = current_timestamp "
                "WHERE customer_ref = ?",
                [*(values[f] for f in changed), customer_ref],
            )
            record_change(con, customer_ref, reader.name, changed, reason)
    return changed


def record_change(
    con: duckdb.DuckDBPyConnection, customer_ref: str, actor: str, fields: list[str],
    reason: str | None,
) -> None:
    """One row of the change log: which fields, by whom, why — no value."""
    con.execute(
        "INSERT INTO customer_changes (customer_ref, actor, fields, reason) VALUES (?, ?, ?, ?)",
        [customer_ref, actor, fields, reason],
    )
