"""Reading the consent ledger: the choice in force per channel, and its full history.

The ledger is append-only (rows are never updated by the product); the current consent on
a channel is derived: its latest row collected up to the given moment. Statuses are
``opt_in``, ``opt_out`` and ``soft_opt_in`` (the CNIL "soft opt-in": e-mail to an existing
customer about similar products, until they object).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from enseigne.privacy.gate import Reader, open_customer

# On a tie (two choices collected at the same moment), the most careful reading wins,
# as in the reach measures: an opt-out before a soft opt-in before an opt-in.
CAUTION_ORDER = "CASE status WHEN 'opt_out' THEN 0 WHEN 'soft_opt_in' THEN 1 ELSE 2 END"
HISTORY_COLUMNS = (
    "channel", "status", "collected_at", "source", "store_code", "seller_code",
    "wording_version", "recorded_at",
)


def _as_of_bound(as_of: dt.date | dt.datetime | None) -> tuple[str, list[Any]]:
    """A condition on collected_at: a day includes all of it, a moment is inclusive."""
    if as_of is None:
        return "true", []
    if isinstance(as_of, dt.datetime):
        return "collected_at <= ?", [as_of]
    return "collected_at < ?", [dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())]


def ledger_rows(
    con: duckdb.DuckDBPyConnection, customer_ref: str, as_of: dt.date | dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Every ledger row of the customer, newest first (no gate: for privacy modules only)."""
    bound, params = _as_of_bound(as_of)
    cursor = con.execute(
        f"SELECT {', '.join(HISTORY_COLUMNS)} FROM consents "
        f"WHERE customer_ref = ? AND {bound} "
        f"ORDER BY collected_at DESC, {CAUTION_ORDER}, recorded_at DESC, channel",
        [customer_ref, *params],
    )
    return [dict(zip(HISTORY_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def in_force(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The first row per channel of a history ordered as ``ledger_rows`` orders it."""
    current: dict[str, dict[str, Any]] = {}
    for row in rows:
        current.setdefault(row["channel"], row)
    return current


def current_consents(
    con: duckdb.DuckDBPyConnection,
    reader: Reader,
    customer_ref: str,
    as_of: dt.date | dt.datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """The consent in force per channel (``{"email": {"status": ..., ...}}``) at ``as_of``
    (a day counts whole; default: now). Checked and logged by the gate."""
    open_customer(con, reader, customer_ref, "read", detail="consents")
    return in_force(ledger_rows(con, customer_ref, as_of))


def consent_history(
    con: duckdb.DuckDBPyConnection, reader: Reader, customer_ref: str
) -> list[dict[str, Any]]:
    """Every ledger row of the customer, newest first. Checked and logged by the gate."""
    open_customer(con, reader, customer_ref, "read", detail="consent history")
    return ledger_rows(con, customer_ref)
