"""Measures: the sums and counts one pass over a fact table yields, per scope.

Each family reads one fact table for one period and grain and aggregates every measure it
is asked for in one ``group_by("scope")``. The expressions are pure Ibis: they never
connect or write, so the same code runs on DuckDB and on Spark.
"""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TypeVar

import ibis
import ibis.expr.datashape as ds
import ibis.expr.datatypes as dt_
import ibis.expr.operations as ops
import ibis.expr.types as ir

from enseigne.metrics.periods import Period

R = TypeVar("R")
# The marker standing for a frame's store list in a compiled query, and the parameter that
# replaces it when it runs.
STORES_MARKER = "\x00stores"
STORES_PARAMETER = "stores"
SCOPE_TYPE = dt_.String(nullable=True)
GRAINS = ("network", "region", "store", "seller", "channel")
ROLLED_UP = ("region", "network")  # grains computed from the stores' figures
STORE_BASED = ("store", *ROLLED_UP)
WEB_CHANNELS = ("web", "app")
ACTIVE_DAYS = 365
DORMANT_DAYS = (365, 1095)


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def table_of(backend: object, name: str) -> ir.Table:
    """The backend's table, its schema read once per backend (a lookup queries the catalogue)."""
    tables = _TABLES.setdefault(backend, {})
    if name not in tables:
        tables[name] = backend.table(name)
    return tables[name]


_MEMO: ContextVar[dict | None] = ContextVar("enseigne_metrics_memo", default=None)


def shared(build: Callable[..., R]) -> Callable[..., R]:
    """Within ``one_expression()``, the same call returns the same expression object, so a
    subquery used by several grains is one CTE the engine computes once."""

    @functools.wraps(build)
    def wrapper(*args: object) -> R:
        memo = _MEMO.get()
        if memo is None:
            return build(*args)
        key = (build, *args)
        if key not in memo:
            memo[key] = build(*args)
        return memo[key]

    return wrapper


@contextmanager
def one_expression() -> Iterator[None]:
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def named_days(period: Period) -> dict[str, dt.date]:
    """The days the queries compare with, by name, all derived from the period."""
    days = dt.timedelta
    named = {
        "start": period.start,
        "end": period.end,
        "active_from": period.end - days(ACTIVE_DAYS - 1),
        "before_from": period.start - days(ACTIVE_DAYS),
        "before_to": period.start - days(1),
        "dormant_from": period.end - days(DORMANT_DAYS[1]),
        "dormant_to": period.end - days(DORMANT_DAYS[0]),
    }
    named["window_from"] = min(named["before_from"], named["dormant_from"])
    # Where a repeat buyer's counted sale may fall: in the period and in the active window
    # (a period may be longer than the window).
    named["repeat_from"] = max(named["active_from"], named["start"])
    return named


@dataclass(frozen=True)
class Frame:
    """What a family's query is about: the tables, the grain, the period, the stores.

    Days enter the expressions by name (``start``, ``active_from``...). With ``bound``
    they are placeholders filled when the query runs, so a compiled query serves every
    period (compiling costs more than running on small data); otherwise literals.
    """

    backend: object  # an Ibis backend (DuckDB or PySpark)
    grain: str
    period: Period
    stores: tuple[str, ...] | None = None  # None: every store
    # The stores are most of the chain (like-for-like): the customers' rows are grouped by
    # store first and filtered after, which costs less than testing every receipt's store.
    late_stores: bool = False
    bound: bool = False
    # The query's grains whose customers are counted on customer_sales (their first sale in
    # a window) rather than by grouping receipts by customer (customer_measures.sale_counts).
    linked: tuple[str, ...] = ()
    tag: str = ""  # prefixes the placeholders' names, so two periods share one query
    # Every (tag, period) computed in the same query, this frame's included: families that
    # scan years of history (customers) do it once for all of them (the period and its N-1).
    periods: tuple[tuple[str, Period], ...] = ()

    def table(self, name: str) -> ir.Table:
        return table_of(self.backend, name)

    def siblings(self) -> list[Frame]:
        """This frame for each period of the query (itself alone if it was made alone)."""
        periods = self.periods or ((self.tag, self.period),)
        return [replace(self, period=period, tag=tag) for tag, period in periods]

    def first_sibling(self) -> Frame:
        """The one frame that stands for all the siblings: the key of what they share."""
        return self.siblings()[0]

    def chain(self) -> Frame:
        """The same period over the whole chain: the key of subqueries that depend on
        neither the grain nor the stores (consents, contacts), so grains share them."""
        return replace(self, grain="network", stores=None)

    def values(self) -> dict[str, dt.date | dt.datetime]:
        """The placeholders' values: each named day, and its midnight and the next one."""
        values: dict[str, dt.date | dt.datetime] = {}
        for name, day in named_days(self.period).items():
            midnight = dt.datetime.combine(day, dt.time())
            values[self.tag + name] = day
            values[f"{self.tag}{name}_ts"] = midnight
            values[f"{self.tag}{name}_next_ts"] = midnight + dt.timedelta(days=1)
        if self.stores is not None:
            values[STORES_PARAMETER] = list(self.stores)
        return values

    def _value(self, key: str, dtype: dt_.DataType) -> ir.Value:
        if self.bound:
            return Bound(self.tag + key, dtype).to_expr()
        return ibis.literal(self.values()[self.tag + key], type=dtype)

    def day(self, name: str) -> ir.DateValue:
        return self._value(name, dt_.date)

    def ts(self, name: str, *, after: bool = False) -> ir.TimestampValue:
        """Midnight starting the named day (``after``: the midnight ending it)."""
        return self._value(f"{name}_next_ts" if after else f"{name}_ts", dt_.timestamp)

    def in_days(self, column: ir.TimestampValue, first: str, last: str) -> ir.BooleanValue:
        """column falls on a day of [first, last] (a range test the engines can push down)."""
        return (column >= self.ts(first)) & (column < self.ts(last, after=True))

    def in_stores(self, column: ir.StringValue) -> ir.BooleanValue | None:
        if self.stores is None:
            return None
        # Bound: a marker the compiler turns into IN (SELECT unnest($stores)), so one
        # compiled query serves every store list (a manager's stores, a like-for-like set).
        return column.isin([STORES_MARKER] if self.bound else list(self.stores))


class Bound(ops.Value):
    """A named value filled in when a compiled query runs (see ``bound.py``)."""

    name: str
    dtype: dt_.DataType
    shape = ds.scalar


def _filtered(table: ir.Table, *conditions: ir.BooleanValue | None) -> ir.Table:
    kept = [c for c in conditions if c is not None]
    return table.filter(*kept) if kept else table


def scoped(frame: Frame, table: ir.Table, *, seller: str | None = "seller_code",
           channel: str | None = "channel") -> ir.Table | None:
    """``table`` with a ``scope`` column for the frame's grain; None if the grain does not apply.

    ``table`` has a ``store_code``; rows without a scope (the web store at region grain,
    tickets without a seller at seller grain) belong to no scope and are dropped.
    """
    grain = frame.grain
    if grain == "network":
        return table.mutate(scope=ibis.literal("network", type=SCOPE_TYPE))
    if grain == "store":
        scope = table.store_code
    elif grain == "region":
        regions = frame.table("stores").select("store_code", region_of_store="region")
        table = table.left_join(regions, "store_code").drop("store_code_right")
        scope = table.region_of_store
    else:
        column = seller if grain == "seller" else channel
        if column is None:
            return None
        scope = table[column]
    # One scope type for every family, whatever the source column's nullability, so the
    # families' scopes can be united.
    return table.mutate(scope=scope.cast(SCOPE_TYPE)).filter(lambda t: t.scope.notnull())


def owners(frame: Frame) -> ir.Table:
    """store_code -> the scope it rolls up into at the frame's grain (region or network)."""
    s = frame.table("stores")
    if frame.grain == "network":
        return s.select("store_code", owner=ibis.literal("network", type=SCOPE_TYPE))
    s = s.filter(s.region.notnull())
    return s.select("store_code", owner=s.region.cast(SCOPE_TYPE))


def store_level(frame: Frame) -> Frame:
    """The frame whose store figures a store-based grain is made of, so that the store,
    region and network grains share them."""
    return replace(frame, grain="store") if frame.grain in STORE_BASED else frame


def _flag(condition: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(condition, 1, 0)


def _zero_if(condition: ir.BooleanValue, value: ir.Value) -> ir.Value:
    return ibis.ifelse(condition, value, 0)


# ---- tickets: one row per receipt -------------------------------------------------------

TICKET_MEASURES: dict[str, Callable[[ir.Table], ir.Value]] = {
    "revenue": lambda t: t.amount.sum(),
    "revenue_ht": lambda t: t.amount_ht.sum(),
    "sales_tickets": lambda t: _flag(t.amount > 0).sum(),
    "units": lambda t: t.units.sum(),
    "identified_tickets": lambda t: _flag((t.amount > 0) & t.customer_ref.notnull()).sum(),
    "returned_amount": lambda t: t.returned_amount.sum(),
    "sold_amount": lambda t: (t.amount - t.returned_amount).sum(),
    "discount": lambda t: t.discount.sum(),
    "web_revenue": lambda t: _zero_if(t.channel.isin(WEB_CHANNELS), t.amount).sum(),
    "surface_revenue": lambda t: _zero_if(t.has_surface, t.amount).sum(),
    "counted_tickets": lambda t: _flag((t.amount > 0) & t.counted_day).sum(),
}


@shared
def open_stores(frame: Frame) -> ir.Table:
    """Stores open on at least one day of the period (closed_on is the first day closed)."""
    s = frame.table("stores")
    return _filtered(
        s,
        s.opened_on.isnull() | (s.opened_on <= frame.day("end")),
        s.closed_on.isnull() | (s.closed_on > frame.day("start")),
        frame.in_stores(s.store_code),
    )


@shared
def ticket_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    names = list(names)
    t = frame.table("tickets")
    t = _filtered(t, frame.in_days(t.sold_at, "start", "end"), frame.in_stores(t.store_code))
    if "surface_revenue" in names:
        surfaces = open_stores(frame)
        surfaces = surfaces.filter(surfaces.surface_m2.notnull()).select(
            "store_code", has_surface=ibis.literal(True)
        )
        # view(): a shared subquery joined in several places stays one CTE.
        t = t.left_join(surfaces.view(), "store_code").drop("store_code_right")
        t = t.mutate(has_surface=t.has_surface.notnull())
    if "counted_tickets" in names:
        days = counted_days(frame).view()
        t = t.mutate(day=t.sold_at.date())
        t = t.left_join(days, ["store_code", "day"]).drop("store_code_right", "day_right")
        t = t.mutate(counted_day=t.counted_day.notnull())
    t = scoped(frame, t)
    return None if t is None else _aggregate(t, TICKET_MEASURES, names)


@shared
def counted_days(frame: Frame) -> ir.Table:
    """The store-days of the period that have a footfall count."""
    f = _footfall(frame)
    return f.select("store_code", day=f.date).distinct().mutate(counted_day=ibis.literal(True))


@shared
def _footfall(frame: Frame) -> ir.Table:
    f = frame.table("footfall")
    return _filtered(
        f,
        f.date >= frame.day("start"),
        f.date <= frame.day("end"),
        f.visitors.notnull(),
        frame.in_stores(f.store_code),
    )


@shared
def footfall_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    # Footfall is counted at the door of physical stores: at channel grain it is the store
    # channel's; sellers have none.
    f = _footfall(frame).mutate(channel=ibis.literal("store"))
    f = scoped(frame, f, seller=None)
    return None if f is None else _aggregate(f, {"visitors": lambda t: t.visitors.sum()}, names)


@shared
def surface_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    if frame.grain in ("seller", "channel"):
        return None
    s = open_stores(frame)
    s = scoped(frame, s.filter(s.surface_m2.notnull()))
    return _aggregate(s, {"surface_m2": lambda t: t.surface_m2.sum()}, names)


def _aggregate(
    table: ir.Table, measures: dict[str, Callable[[ir.Table], ir.Value]], names: Iterable[str]
) -> ir.Table:
    return table.group_by("scope").aggregate(
        **{name: measures[name](table) for name in names if name in measures}
    )
