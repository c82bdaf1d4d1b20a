"""The 360° profile of one customer: identity, consents, reachability, purchases, RFM, voice.

``customer_profile`` opens the customer through the privacy gate (scope checked, one "read"
logged) before reading anything; the rest reads the canonical tables directly. Figures
follow KPIS.md: a sales ticket has a positive total, revenue is net of returns, "the
trailing 365 days" end on the reference day (``today``, by default the current date).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import duckdb

from enseigne.privacy.consent import in_force, ledger_rows
from enseigne.privacy.gate import Reader, open_customer

LATEST_TICKETS = 50
LATEST_VOICES = 50
TOP_CATEGORIES = 5
BIRTHDAY_DAYS = 30
DORMANT_DAYS = (365, 1095)
MOBILE_PREFIXES = ("+336", "+337")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

IDENTITY_COLUMNS = (
    "customer_ref", "loyalty_card", "first_name", "last_name", "email", "phone", "birth_date",
    "gender", "postal_code", "city", "country", "created_at", "store_code", "store_name",
    "channel", "seller_code",
)


# One pass over the customer's tickets, grouping sets: the whole (level 3), each store
# (level 1), each channel (level 2); the whole has a row even without any ticket.
_PURCHASES_SQL = """
WITH g AS (
    SELECT grouping(store_code, channel) AS level, store_code, channel,
        count(*) FILTER (amount > 0) AS sales_tickets,
        count(*) FILTER (amount < 0) AS return_tickets,
        coalesce(sum(amount), 0) AS revenue,
        CAST(min(sold_at) FILTER (amount > 0) AS DATE) AS first_purchase,
        CAST(max(sold_at) FILTER (amount > 0) AS DATE) AS last_purchase,
        CAST(max(sold_at) AS DATE) AS last_visit,
        count(*) FILTER (amount > 0 AND sold_at >= ? AND sold_at < ?) AS tickets_365,
        coalesce(sum(amount) FILTER (sold_at >= ? AND sold_at < ?), 0) AS revenue_365
    FROM tickets WHERE customer_ref = ?
    GROUP BY GROUPING SETS ((), (store_code), (channel))
)
SELECT g.*, s.name FROM g LEFT JOIN stores s ON g.level = 1 AND s.store_code = g.store_code
ORDER BY g.level, g.sales_tickets DESC, g.revenue DESC, g.store_code, g.channel
"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def customer_profile(
    con: duckdb.DuckDBPyConnection,
    reader: Reader,
    customer_ref: str,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Everything known about the customer, as a JSON-ready dict (AccessDenied if ``reader``
    may not see them, or if they do not exist)."""
    open_customer(con, reader, customer_ref, "read", detail="profile")
    today = today or dt.date.today()
    identity = _identity(con, customer_ref)
    history = ledger_rows(con, customer_ref)
    current = in_force(history)
    purchases, stores, channels = _purchases(con, customer_ref, today)
    tickets, categories = _tickets_and_categories(con, customer_ref)
    return {
        "as_of": today,
        "customer": identity,
        "age": _age(identity["birth_date"], today),
        "consents": {"current": current, "history": history},
        "reachability": _reachability(identity, current),
        "purchases": purchases,
        "rfm": _rfm(purchases, today),
        "preferred_store": stores[0] if stores else None,
        "stores_used": stores,
        "channels_used": channels,
        "top_categories": categories,
        "tickets": tickets,
        "surveys": _surveys(con, customer_ref),
        "feedback": _feedback(con, customer_ref),
        "flags": _flags(identity["birth_date"], purchases["last_purchase"], today),
    }


def _identity(con: duckdb.DuckDBPyConnection, customer_ref: str) -> dict[str, Any]:
    columns = ", ".join(
        "s.name AS store_name" if c == "store_name" else f"c.{c}" for c in IDENTITY_COLUMNS
    )
    return _rows(
        con,
        f"SELECT {columns} FROM customers c LEFT JOIN stores s USING (store_code) "
        "WHERE c.customer_ref = ?",
        [customer_ref],
    )[0]


def _age(birth: dt.date | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _reachability(identity: dict[str, Any], current: dict[str, Any]) -> dict[str, bool]:
    """Whom marketing may contact where: a usable address and an opt-in in force."""
    email, phone = identity["email"], identity["phone"] or ""
    email_in = current.get("email", {}).get("status") == "opt_in"
    sms_in = current.get("sms", {}).get("status") == "opt_in"
    return {
        "email": bool(email and _EMAIL.match(email)) and email_in,
        "sms": phone.startswith(MOBILE_PREFIXES) and sms_in,
    }


def _purchases(
    con: duckdb.DuckDBPyConnection, customer_ref: str, today: dt.date
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Lifetime and trailing-365-day figures, per store and per channel, in one pass over
    the customer's tickets (grouping sets: the whole, each store, each channel)."""
    start = dt.datetime.combine(today - dt.timedelta(days=364), dt.time())
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    rows = _rows(con, _PURCHASES_SQL, [start, end, start, end, customer_ref])
    whole = next(r for r in rows if r["level"] == 3)  # one row even without tickets
    purchases = {k: whole[k] for k in (
        "first_purchase", "last_purchase", "sales_tickets", "return_tickets", "revenue",
        "tickets_365", "revenue_365")}
    stores = [
        {k: r[k] for k in ("store_code", "name", "sales_tickets", "revenue", "last_visit")}
        for r in rows if r["level"] == 1
    ]
    channels = [
        {k: r[k] for k in ("channel", "sales_tickets", "revenue")}
        for r in rows if r["level"] == 2
    ]
    return purchases, stores, channels


def _rfm(purchases: dict[str, Any], today: dt.date) -> dict[str, Any]:
    last = purchases["last_purchase"]
    return {
        "recency_days": None if last is None else (today - last).days,
        "frequency": purchases["tickets_365"],
        "monetary": purchases["revenue_365"],
    }


def _flags(birth: dt.date | None, last: dt.date | None, today: dt.date) -> dict[str, Any]:
    birthday = _next_birthday(birth, today)
    recency = None if last is None else (today - last).days
    return {
        "next_birthday": birthday,
        "birthday_soon": birthday is not None and (birthday - today).days <= BIRTHDAY_DAYS,
        "dormant": recency is not None and DORMANT_DAYS[0] <= recency <= DORMANT_DAYS[1],
    }


def _next_birthday(birth: dt.date | None, today: dt.date) -> dt.date | None:
    """Today or the next anniversary; a 29 February birthday falls on 1 March otherwise."""
    if birth is None:
        return None
    for year in (today.year, today.year + 1):
        try:
            day = birth.replace(year=year)
        except ValueError:
            day = dt.date(year, 3, 1)
        if day >= today:
            return day
    raise AssertionError("unreachable: next year's anniversary is always ahead")


def _tickets_and_categories(
    con: duckdb.DuckDBPyConnection, customer_ref: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The latest tickets (sales and returns, newest first) with their lines, and the top
    categories by net revenue. The lines are fetched once, by ticket id: a lookup by
    constant ids is much cheaper than joining the line table to the tickets again."""
    tickets = _rows(
        con,
        "SELECT ticket_id, sold_at, store_code, channel, seller_code, units, amount, "
        "discount, is_return FROM tickets WHERE customer_ref = ? "
        "ORDER BY sold_at DESC, ticket_id DESC",
        [customer_ref],
    )
    if not tickets:
        return [], []
    ids = [t["ticket_id"] for t in tickets]
    lines = _rows(
        con,
        "SELECT l.ticket_id, l.line_no, l.sku, p.label, p.category, l.quantity, l.unit_price, "
        "l.discount, l.amount FROM ticket_lines l LEFT JOIN products p USING (sku) "
        f"WHERE l.ticket_id IN ({', '.join('?' * len(ids))}) ORDER BY l.ticket_id, l.line_no",
        ids,
    )
    categories = _top_categories(lines)
    latest = tickets[:LATEST_TICKETS]
    by_ticket: dict[str, list[dict[str, Any]]] = {t["ticket_id"]: [] for t in latest}
    for line in lines:
        ticket_id = line.pop("ticket_id")
        if ticket_id in by_ticket:
            by_ticket[ticket_id].append(line)
    for ticket in latest:
        ticket["lines"] = by_ticket[ticket["ticket_id"]]
    return latest, categories


def _top_categories(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Categories by net revenue (returns deducted), those with a positive total only."""
    totals: dict[str, dict[str, Any]] = {}
    for line in lines:
        name = line["category"] or "?"
        entry = totals.setdefault(name, {"category": name, "revenue": Decimal(0),
                                         "units": Decimal(0)})
        entry["revenue"] += line["amount"]
        entry["units"] += line["quantity"]
    ranked = sorted(
        (e for e in totals.values() if e["revenue"] > 0),
        key=lambda e: (-e["revenue"], e["category"]),
    )
    return ranked[:TOP_CATEGORIES]


def _surveys(con: duckdb.DuckDBPyConnection, customer_ref: str) -> list[dict[str, Any]]:
    return _rows(
        con,
        "SELECT answered_at, store_code, channel, nps, csat, comment FROM survey_responses "
        "WHERE customer_ref = ? ORDER BY answered_at DESC LIMIT ?",
        [customer_ref, LATEST_VOICES],
    )


def _feedback(con: duckdb.DuckDBPyConnection, customer_ref: str) -> list[dict[str, Any]]:
    return _rows(
        con,
        "SELECT opened_at, kind, store_code, channel, text, resolved_at FROM feedback "
        "WHERE customer_ref = ? ORDER BY opened_at DESC LIMIT ?",
        [customer_ref, LATEST_VOICES],
    )
