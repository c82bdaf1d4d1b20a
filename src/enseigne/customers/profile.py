"""The 360° profile of one customer: identity, consents, reachability, purchases, RFM, voice.

``customer_profile`` opens the customer through the privacy gate (scope checked, one "read"
logged) before reading anything; the rest reads the canonical tables directly (and
``customer_stores`` for the time span of the customer's receipts). Figures
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


# The customer's receipts are read once (what the purchase figures, the stores, the channels
# and the latest tickets all come from), within the time span customer_stores gives: DuckDB
# skips the row groups outside it. Their lines are read once, by ticket id.
_RECEIPTS_SQL = """
SELECT t.ticket_id, t.sold_at, t.store_code, t.channel, t.seller_code, t.units, t.amount,
       t.discount, t.is_return, s.name AS store_name
FROM tickets t LEFT JOIN stores s USING (store_code)
WHERE t.customer_ref = ? AND t.sold_at BETWEEN ? AND ?
ORDER BY t.sold_at DESC, t.ticket_id DESC
"""
# The products are joined to the lines found, not to the line table (50 ms less at 10 M).
_LINES_SQL = """
SELECT l.ticket_id, l.line_no, l.sku, p.label, p.category, l.quantity, l.unit_price,
       l.discount, l.amount
FROM (SELECT ticket_id, line_no, sku, quantity, unit_price, discount, amount
      FROM ticket_lines WHERE ticket_id IN (SELECT unnest(?::VARCHAR[]))) l
LEFT JOIN products p USING (sku)
ORDER BY l.ticket_id, l.line_no
"""
TICKET_COLUMNS = (
    "ticket_id", "sold_at", "store_code", "channel", "seller_code", "units", "amount",
    "discount", "is_return",
)


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
    receipts = _receipts(con, customer_ref)
    purchases, stores, channels = _purchases(receipts, today)
    tickets, categories = _tickets_and_categories(con, receipts)
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


def _receipts(con: duckdb.DuckDBPyConnection, customer_ref: str) -> list[dict[str, Any]]:
    """Every receipt of the customer, newest first, with its store's name."""
    span = con.execute(
        "SELECT min(first_visit), max(last_visit) FROM customer_stores WHERE customer_ref = ?",
        [customer_ref],
    ).fetchone()
    if span is None or span[0] is None:  # no receipt at all
        return []
    return _rows(con, _RECEIPTS_SQL, [customer_ref, *span])


def _figures(receipts: list[dict[str, Any]], start: dt.datetime, end: dt.datetime
             ) -> dict[str, Any]:
    """Sales and returns, revenue net of returns, first and last sale and visit, and the
    same over the trailing 365 days [start, end)."""
    sales = [r["sold_at"] for r in receipts if r["amount"] > 0]
    recent = [r for r in receipts if start <= r["sold_at"] < end]
    return {
        "sales_tickets": len(sales),
        "return_tickets": sum(1 for r in receipts if r["amount"] < 0),
        "revenue": sum((r["amount"] for r in receipts), Decimal("0.00")),
        "first_purchase": min(sales).date() if sales else None,
        "last_purchase": max(sales).date() if sales else None,
        "last_visit": max(r["sold_at"] for r in receipts).date() if receipts else None,
        "tickets_365": sum(1 for r in recent if r["amount"] > 0),
        "revenue_365": sum((r["amount"] for r in recent), Decimal("0.00")),
    }


def _per(receipts: list[dict[str, Any]], column: str, start: dt.datetime, end: dt.datetime
         ) -> list[dict[str, Any]]:
    """The figures per store or channel, most sales first, then most revenue."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for receipt in receipts:
        groups.setdefault(receipt[column], []).append(receipt)
    rows = [{column: key, **_figures(group, start, end)} for key, group in groups.items()]
    return sorted(rows, key=lambda r: (-r["sales_tickets"], -r["revenue"], r[column]))


def _purchases(
    receipts: list[dict[str, Any]], today: dt.date
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Lifetime and trailing-365-day figures, as a whole, per store and per channel."""
    start = dt.datetime.combine(today - dt.timedelta(days=364), dt.time())
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    whole = _figures(receipts, start, end)
    purchases = {k: whole[k] for k in (
        "first_purchase", "last_purchase", "sales_tickets", "return_tickets", "revenue",
        "tickets_365", "revenue_365")}
    names = {r["store_code"]: r["store_name"] for r in receipts}
    stores = [
        {"store_code": r["store_code"], "name": names[r["store_code"]],
         **{k: r[k] for k in ("sales_tickets", "revenue", "last_visit")}}
        for r in _per(receipts, "store_code", start, end)
    ]
    channels = [
        {k: r[k] for k in ("channel", "sales_tickets", "revenue")}
        for r in _per(receipts, "channel", start, end)
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
    con: duckdb.DuckDBPyConnection, receipts: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The latest tickets (sales and returns, newest first) with their lines, and the top
    categories by net revenue. The lines are fetched once, by ticket id: one pass over the
    line table, whose ticket ids are looked up in a hash of the customer's."""
    if not receipts:
        return [], []
    lines = _rows(con, _LINES_SQL, [[r["ticket_id"] for r in receipts]])
    categories = _top_categories(lines)
    latest = [{k: r[k] for k in TICKET_COLUMNS} for r in receipts[:LATEST_TICKETS]]
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
