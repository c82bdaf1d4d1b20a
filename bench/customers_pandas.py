"""The customer file as an analyst would serve it with pandas: the baseline of ``bench.customers``.

The tables are read once into DataFrames (``read_tables``, timed apart); a search is then a
string-prefix filter over the customers frame (every word of a name query starts a word of
the first or last name, accents and case ignored; e-mail, phone, card and ref by prefix,
as the product's search documents it), the store manager's scope a set computed once at
reading, the result sorted by name with each customer's last purchase. A profile is the
same figures as ``customer_profile``: identity, consents in force and their history,
lifetime and trailing-365-day purchases as a whole, per store and per channel, the latest
50 tickets with their lines, the top categories, surveys and feedback.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.dashboard_pandas import read_frames
from enseigne.customers.search import normalise_text, phone_prefix

LIMIT = 20
LATEST = 50
TOP_CATEGORIES = 5
_WORDS = re.compile(r"[\s\-']+")
_PHONE_LIKE = re.compile(r"^\+?[\d\s.\-()/]+$")

READS = {
    "customers": "SELECT customer_ref, loyalty_card, first_name, last_name, email, phone, "
                 "birth_date, city, store_code, created_at FROM customers",
    "consents": "SELECT customer_ref, channel, status, collected_at, source, store_code, "
                "recorded_at FROM consents",
    "tickets": "SELECT ticket_id, sold_at, store_code, channel, seller_code, customer_ref, "
               "units, amount, discount, is_return FROM tickets",
    "lines": "SELECT l.ticket_id, l.line_no, l.sku, p.label, p.category, l.quantity, "
             "l.unit_price, l.discount, l.amount FROM ticket_lines l "
             "LEFT JOIN products p USING (sku)",
    "stores": "SELECT store_code, name FROM stores",
    "surveys": "SELECT customer_ref, answered_at, store_code, channel, nps, csat, comment "
               "FROM survey_responses",
    "feedback": "SELECT customer_ref, opened_at, kind, store_code, channel, text, resolved_at "
                "FROM feedback",
}


@dataclass
class Frames:
    tables: dict[str, pd.DataFrame]
    scope: set[str] | None  # the store manager's customers, None for the whole file


def _key(value: object) -> object:
    if not isinstance(value, str):
        return value
    return normalise_text(value).replace("-", " ").replace("'", " ")


def read_tables(path: Path, store: str | None) -> Frames:
    """Every table the two features read, as DataFrames, and the store's scope as a set."""
    tables = read_frames(path, READS)
    c = tables["customers"]
    for column in ("first_name", "last_name"):
        c[column + "_key"] = c[column].map(_key)
        c[column + "_sort"] = c[column].map(
            lambda v: normalise_text(v) if isinstance(v, str) else v)
    c["email_lower"] = c["email"].str.lower()
    c["ref_upper"] = c["customer_ref"].str.upper()
    scope = None
    if store is not None:
        t = tables["tickets"]
        scope = set(c.loc[c["store_code"] == store, "customer_ref"]) | set(
            t.loc[(t["store_code"] == store) & t["customer_ref"].notna(), "customer_ref"])
    return Frames(tables, scope)


def _name_mask(c: pd.DataFrame, text: str) -> pd.Series | None:
    words = [w for w in _WORDS.split(normalise_text(text)) if w]
    if not words or not any(ch.isalpha() for ch in text):
        return None
    mask = pd.Series(True, index=c.index)
    for word in words:
        first, last = c["first_name_key"], c["last_name_key"]
        mask &= (first.str.startswith(word) | first.str.contains(" " + word, regex=False)
                 | last.str.startswith(word) | last.str.contains(" " + word, regex=False))
    return mask.fillna(False)


def _match(c: pd.DataFrame, text: str) -> pd.Series:
    """The rows matching ``text``, by the fields the query could be (as the product does)."""
    names = _name_mask(c, text)
    mask = names if names is not None else pd.Series(False, index=c.index)
    single = not re.search(r"\s", text)
    if single and (re.search(r"[@._\d]", text) or names is None):
        mask |= c["email_lower"].str.startswith(text.lower()).fillna(False)
    if single and re.search(r"\d", text):
        mask |= c["ref_upper"].str.startswith(text.upper()).fillna(False)
    digits = re.sub(r"\s", "", text)
    if digits.isdigit():
        mask |= c["loyalty_card"].str.startswith(digits).fillna(False)
    phone = phone_prefix(text)
    if phone:
        mask |= c["phone"].str.startswith(phone).fillna(False)
    return mask


def search(frames: Frames, text: str) -> list[tuple[str, Any]]:
    """(customer_ref, last purchase day) of the first ``LIMIT`` matches by name."""
    c = frames.tables["customers"]
    text = text.strip()
    hits = c[_match(c, text)]
    if frames.scope is not None:
        hits = hits[hits["customer_ref"].isin(frames.scope)]
    hits = hits.sort_values(["last_name_sort", "first_name_sort", "customer_ref"],
                            na_position="last").head(LIMIT)
    t = frames.tables["tickets"]
    mine = t[t["customer_ref"].isin(hits["customer_ref"]) & (t["amount"] > 0)]
    last = mine.groupby("customer_ref")["sold_at"].max().dt.date
    return [(ref, last.get(ref)) for ref in hits["customer_ref"]]


def _purchases(t: pd.DataFrame, today: dt.date) -> dict[str, Any]:
    start = pd.Timestamp(today - dt.timedelta(days=364))
    end = pd.Timestamp(today + dt.timedelta(days=1))
    sales = t[t["amount"] > 0]
    recent = t[(t["sold_at"] >= start) & (t["sold_at"] < end)]
    return {
        "first_purchase": sales["sold_at"].min(), "last_purchase": sales["sold_at"].max(),
        "sales_tickets": len(sales), "return_tickets": int((t["amount"] < 0).sum()),
        "revenue": t["amount"].sum(), "tickets_365": int((recent["amount"] > 0).sum()),
        "revenue_365": recent["amount"].sum(),
    }


def _per(t: pd.DataFrame, column: str) -> pd.DataFrame:
    sales = t.assign(sale=t["amount"] > 0)
    return sales.groupby(column).agg(
        sales_tickets=("sale", "sum"), revenue=("amount", "sum"),
        last_visit=("sold_at", "max"),
    ).sort_values(["sales_tickets", "revenue"], ascending=False).reset_index()


def profile(frames: Frames, ref: str, today: dt.date) -> dict[str, Any]:
    """The same figures as ``customer_profile``, from the DataFrames."""
    if frames.scope is not None and ref not in frames.scope:
        raise PermissionError(ref)
    tb = frames.tables
    who = tb["customers"][tb["customers"]["customer_ref"] == ref]
    consents = tb["consents"][tb["consents"]["customer_ref"] == ref].sort_values(
        ["collected_at", "recorded_at"], ascending=False)
    tickets = tb["tickets"][tb["tickets"]["customer_ref"] == ref].sort_values(
        ["sold_at", "ticket_id"], ascending=False)
    lines = tb["lines"][tb["lines"]["ticket_id"].isin(tickets["ticket_id"])]
    categories = lines.assign(category=lines["category"].fillna("?")).groupby("category").agg(
        revenue=("amount", "sum"), units=("quantity", "sum")).reset_index()
    categories["revenue"] = categories["revenue"].round(2)  # float sums of cents
    categories = categories[categories["revenue"] > 0].sort_values(
        ["revenue", "category"], ascending=[False, True])
    latest = tickets.head(LATEST)
    by_ticket = dict(tuple(lines[lines["ticket_id"].isin(latest["ticket_id"])]
                           .sort_values(["ticket_id", "line_no"]).groupby("ticket_id")))
    stores = _per(tickets, "store_code").merge(tb["stores"], on="store_code", how="left")
    return {
        "customer": who.to_dict("records")[0],
        "consents": {"current": consents.drop_duplicates("channel").to_dict("records"),
                     "history": consents.to_dict("records")},
        "purchases": _purchases(tickets, today),
        "stores_used": stores.to_dict("records"),
        "channels_used": _per(tickets, "channel").to_dict("records"),
        "top_categories": categories.head(TOP_CATEGORIES).to_dict("records"),
        "tickets": [{**row, "lines": by_ticket[row["ticket_id"]].to_dict("records")
                     if row["ticket_id"] in by_ticket else []}
                    for row in latest.to_dict("records")],
        "surveys": tb["surveys"][tb["surveys"]["customer_ref"] == ref]
        .sort_values("answered_at", ascending=False).head(LATEST).to_dict("records"),
        "feedback": tb["feedback"][tb["feedback"]["customer_ref"] == ref]
        .sort_values("opened_at", ascending=False).head(LATEST).to_dict("records"),
    }
