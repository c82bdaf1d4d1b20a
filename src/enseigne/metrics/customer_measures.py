"""Customer measures: activity, frequency, repeat, retention, dormancy, reach, recruitment.

They count people, not receipts: a customer counts once at each scope where they bought
(so store values do not add up to the network's). The stores, the regions and the network
of the whole chain count each customer at their first sale in a window, on
``customer_sales`` (``sale_counts``); a subset of the chain's regions and network, sellers
and channels reduce identified sales tickets to one row per (scope, customer) and count
those rows (``customer_rows``). Recruitment is the exception: a customer is new once, in
the chain, at the store of their first ticket.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable

import ibis
import ibis.expr.types as ir

from enseigne.db.schema_customers import LEVELS
from enseigne.metrics.measures import (
    ROLLED_UP,
    SCOPE_TYPE,
    STORE_BASED,
    WEB_CHANNELS,
    Frame,
    _aggregate,
    _filtered,
    _flag,
    owners,
    scoped,
    shared,
    store_level,
)

MOBILE_PREFIXES = ("+336", "+337")
CHANNELS = ("email", "sms")
REACH_MEASURES = ("email_reachable", "sms_reachable")


@shared
def contacts(frame: Frame) -> ir.Table:
    """Per customer: a usable e-mail (the import checked its syntax) and a French mobile."""
    c = frame.table("customers")
    return c.select(
        "customer_ref",
        has_email=c.email.notnull(),
        has_mobile=ibis.or_(*(c.phone.startswith(p) for p in MOBILE_PREFIXES)).fill_null(False),
    )


@shared
def reach(frame: Frame) -> ir.Table:
    """Per customer reachable at some period's end, for each period (columns prefixed by its
    tag): a usable e-mail / mobile with the consent in force at the period's end."""
    siblings = frame.siblings()
    parts = []
    for channel, flag in zip(CHANNELS, REACH_FLAGS, strict=True):
        r = reachable(frame, channel).view()
        parts.append(r.select("customer_ref", **{
            f"{f.tag}{name}": r[f"{f.tag}in"] if name == flag else ibis.literal(0, type="int8")
            for f in siblings for name in REACH_FLAGS}))
    u = ibis.union(*parts, distinct=False)
    return u.group_by("customer_ref").aggregate(
        **{c: u[c].max() for c in u.columns if c != "customer_ref"})


@shared
def reachable(frame: Frame, channel: str) -> ir.Table:
    """The customers with a usable address on ``channel`` (e-mail or SMS) whose opt-in was
    in force at some period's end: one row per span of it (``consent_spans``), with each
    period's ``{tag}in`` (1: in force at its end). A customer's spans are disjoint, so at
    most one of them is in force at a given end."""
    k = frame.table("consent_spans")
    in_force = {}
    for f in frame.siblings():
        end = f.ts("end", after=True)
        in_force[f"{f.tag}in"] = (k.opted_from < end) & (k.opted_to.isnull() | (k.opted_to >= end))
    k = k.filter(k.channel == channel, ibis.or_(*in_force.values()))
    c = contacts(frame).view()
    c = c.filter(c.has_email if channel == "email" else c.has_mobile)
    k = k.semi_join(c, "customer_ref")
    return k.select("customer_ref", **{n: _flag(v) for n, v in in_force.items()})


def _earliest(values: Iterable[ir.TimestampValue]) -> ir.TimestampValue:
    values = list(values)
    return values[0] if len(values) == 1 else ibis.least(*values)


def _latest(values: Iterable[ir.TimestampValue]) -> ir.TimestampValue:
    values = list(values)
    return values[0] if len(values) == 1 else ibis.greatest(*values)


CUSTOMER_MEASURES = {
    "active": lambda c: _flag(c.n_active > 0).sum(),
    "active_tickets": lambda c: c.n_active.sum(),
    "buyers": lambda c: c.in_period.sum(),
    "repeaters": lambda c: _flag((c.in_period == 1) & (c.n_active >= 2)).sum(),
    "previously_active": lambda c: c.before.sum(),
    "retained": lambda c: _flag((c.before == 1) & (c.in_period == 1)).sum(),
    # Last ticket in the dormant window: one there, none since (active_from is the day
    # after dormant_to).
    "dormant": lambda c: _flag((c.dormant_window == 1) & (c.n_active == 0)).sum(),
    "omnichannel": lambda c: _flag((c.in_store == 1) & (c.on_web == 1)).sum(),
    "email_reachable": lambda c: _flag((c.n_active > 0) & (c.email_ok == 1)).sum(),
    "sms_reachable": lambda c: _flag((c.n_active > 0) & (c.sms_ok == 1)).sum(),
}

# Whether a customer bought in a window of a period, per (scope, customer): one bit each of
# ``window_bits``, every period's bits in one integer. One bit_or aggregate then replaces ten
# max() (the grouping of years of receipts by customer takes a third less time).
WINDOW_FLAGS = ("in_period", "before", "dormant_window", "in_store", "on_web")
# How per-(scope, customer) rows of several scopes merge into one (a store's rows into its
# region's): counts add up, flags take the maximum (the bits, their union).
CUSTOMER_ROLLUP = {"n_active": "sum", "email_ok": "max", "sms_ok": "max"}
REACH_FLAGS = ("email_ok", "sms_ok")


def _bit(period_index: int, flag: str) -> int:
    return 2 ** (period_index * len(WINDOW_FLAGS) + WINDOW_FLAGS.index(flag))


@shared
def period_rows(frame: Frame, with_reach: bool) -> ir.Table | None:
    """One row per (scope, customer) who bought there in the window of any period of the
    query, with each period's flags (columns prefixed by its tag): years of receipts are
    scanned and grouped once for the period and its N-1, not once each."""
    siblings = frame.siblings()
    late = frame.late_stores and frame.grain == "store"
    t = frame.table("tickets")
    t = _filtered(
        t,
        t.amount > 0,
        t.customer_ref.notnull(),
        t.sold_at >= _earliest(f.ts("window_from") for f in siblings),
        t.sold_at < _latest(f.ts("end", after=True) for f in siblings),
        None if late else frame.in_stores(t.store_code),
    )
    t = scoped(frame, t)
    if t is None:
        return None
    counts, bits = {}, []
    for index, f in enumerate(siblings):
        active = f.in_days(t.sold_at, "active_from", "end")
        counts[f"{f.tag}n_active"] = _flag(active).sum()
        windows = {
            "in_period": f.in_days(t.sold_at, "start", "end"),
            "before": f.in_days(t.sold_at, "before_from", "before_to"),
            "dormant_window": f.in_days(t.sold_at, "dormant_from", "dormant_to"),
            "in_store": active & (t.channel == "store"),
            "on_web": active & t.channel.isin(WEB_CHANNELS),
        }
        bits += [ibis.ifelse(inside, _bit(index, name), 0) for name, inside in windows.items()]
    window_bits = functools.reduce(operator.add, bits).bit_or()
    rows = t.group_by(["scope", "customer_ref"]).aggregate(**counts, window_bits=window_bits)
    if late:
        rows = _filtered(rows, frame.in_stores(rows.scope))
    if with_reach:
        # Joined here, once for every period and grain, rather than at each.
        reached = reach(frame.chain()).view()
        rows = rows.left_join(reached, "customer_ref").drop("customer_ref_right")
        rows = rows.mutate(
            **{c: rows[c].fill_null(0) for c in reached.columns if c != "customer_ref"})
    return rows


@shared
def scope_rows(frame: Frame, with_reach: bool) -> ir.Table | None:
    """``period_rows`` at the frame's grain, every period's flags still side by side: the
    stores' rows, merged per region or for the network, once for all periods."""
    rows = period_rows(store_level(frame), with_reach)
    if rows is None or frame.grain not in STORE_BASED:
        return rows
    if frame.grain not in ROLLED_UP:
        return rows
    # Its own view() of a table other readers share: the table then has several readers,
    # which makes it one CTE computed once (and no reader's select merges into it).
    rows = rows.view()
    to = owners(frame)
    r = rows.join(to, rows.scope == to.store_code)
    merged = {"window_bits": r.window_bits.bit_or()}
    for f in frame.siblings():
        for name, how in CUSTOMER_ROLLUP.items():
            if f.tag + name in rows.columns:
                merged[f.tag + name] = getattr(r[f.tag + name], how)()
    return r.group_by([r.owner.name("scope"), "customer_ref"]).aggregate(**merged)


def customer_rows(frame: Frame, with_reach: bool = False) -> ir.Table | None:
    """One row per (scope, customer) active around the frame's period, with its flags
    (and, ``with_reach``, whether they can be reached by e-mail and SMS at its end)."""
    rows = scope_rows(frame.first_sibling(), with_reach)
    if rows is None:
        return None
    rows = rows.view()
    index = [f.tag for f in frame.siblings()].index(frame.tag)
    counts = ("n_active", *(REACH_FLAGS if with_reach else ()))
    mine = rows.select(
        "scope", "customer_ref",
        **{n: rows[frame.tag + n] for n in counts},
        **{n: rows.window_bits // _bit(index, n) % 2 for n in WINDOW_FLAGS},
    )
    # A customer seen only in another period's window counts for nothing here.
    return mine.filter(
        (mine.n_active > 0) | (mine.in_period == 1) | (mine.before == 1)
        | (mine.dormant_window == 1)
    )


def customer_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    names = tuple(n for n in names if n in CUSTOMER_MEASURES)
    if frame.grain in frame.linked:
        return linked_family(frame, names)
    rows = customer_rows(frame, any(n in REACH_MEASURES for n in names))
    return None if rows is None else _aggregate(rows, CUSTOMER_MEASURES, names)


def linked_family(frame: Frame, names: tuple[str, ...]) -> ir.Table:
    """The frame's customer counts from ``sale_counts``: a store's as they are, a region's
    and the network's as the sums of their stores' counts on their own pointers."""
    reach_wanted = any(n in REACH_MEASURES for n in names)
    counts = sale_counts(store_level(frame).first_sibling(), reach_wanted)
    # Each reader takes its own view(): the counts are then one CTE, computed once for every
    # period and grain.
    counts = counts.view()
    prefix = f"{frame.tag}{frame.grain}_"
    wanted = {*names, "dormant_window", "previously_active", "active"}
    if frame.grain != "store":
        to = owners(frame)
        r = counts.join(to, counts.scope == to.store_code)
        counts = r.group_by(r.owner.name("scope")).aggregate(
            **{prefix + n: r[prefix + n].sum() for n in wanted})
    # A scope none of whose customers falls in this period's windows has no figures (as a
    # store without a receipt of the period has none); the dormant, before and active
    # windows cover them all.
    mine = counts.filter(
        counts[prefix + "dormant_window"] + counts[prefix + "previously_active"]
        + counts[prefix + "active"] > 0)
    return mine.select("scope", **{n: mine[prefix + n] for n in names})


def _first_in(f: Frame, s: ir.Table, first: str, last: str,
              previous: ir.TimestampValue) -> ir.BooleanValue:
    """A sale on a day of [first, last] that is the customer's first there (at its store,
    region or in the chain; through its channel with the channel's ``previous``): one such
    sale per customer who bought."""
    return f.in_days(s.sold_at, first, last) & (previous.isnull() | (previous < f.ts(first)))


def _counted(s: ir.Table, columns: dict[str, ir.BooleanValue]) -> ir.Table:
    """Per store, how many sales meet each condition of ``columns``.

    sum(CASE) rather than count(*) FILTER: half the time in DuckDB (22 counts over 29
    million sales at 100 million lines: 1.1 s against 2.1 s)."""
    return s.group_by("scope").aggregate(**{n: _flag(c).sum() for n, c in columns.items()})


def _sale_conditions(f: Frame, s: ir.Table, level: str) -> dict[str, ir.BooleanValue]:
    """Each count of CUSTOMER_MEASURES as the sales it counts (``customer_sales``), one
    per customer of the level's scope (on the level's pointers); the dormant and
    omnichannel counts are sums and differences of them."""
    prefix = LEVELS[level][0]
    p, pp = s[prefix + "previous_sale"], s[prefix + "sale_before_previous"]
    same = s[prefix + "previous_same_channel"]
    active = f.in_days(s.sold_at, "active_from", "end")
    # Repeat: bought in the period and twice in the active window. Counted at the first sale
    # of the period preceded by one in the window, or else at the period's second sale.
    a, since = f.ts("active_from"), f.ts("repeat_from")
    repeat = (s.sold_at >= since) & (s.sold_at < f.ts("end", after=True)) & (
        ((p >= a) & (p < since)) | ((p >= since) & (pp.isnull() | (pp < a))))
    in_store = s.channel == "store"
    return {
        "active": _first_in(f, s, "active_from", "end", p),
        "active_tickets": active,
        "buyers": _first_in(f, s, "start", "end", p),
        "repeaters": repeat,
        "previously_active": _first_in(f, s, "before_from", "before_to", p),
        "retained": f.in_days(s.sold_at, "start", "end") & f.in_days(p, "before_from", "before_to"),
        # Bought in the dormant window, minus those who bought again since (in the active
        # window, which starts the day after it).
        "dormant_window": _first_in(f, s, "dormant_from", "dormant_to", p),
        "dormant_back": active & f.in_days(p, "dormant_from", "dormant_to"),
        # Both channels: first in the window through the store, plus through the web, minus
        # those first in it at all (every channel is the store or the web).
        "first_in_store": in_store & _first_in(f, s, "active_from", "end", same),
        "first_on_web": ~in_store & _first_in(f, s, "active_from", "end", same),
    }


@shared
def sale_counts(frame: Frame, with_reach: bool) -> ir.Table:
    """Per store, the customer counts of every period and of every level the query counts
    on ``customer_sales`` (``frame.linked``; columns named ``{tag}{level}_{count}``): each
    customer counted on their first sale in a window rather than by grouping receipts."""
    siblings = frame.siblings()
    late = frame.late_stores
    s = frame.table("customer_sales")
    s = _filtered(
        s,
        s.sold_at >= _earliest(f.ts("window_from") for f in siblings),
        s.sold_at < _latest(f.ts("end", after=True) for f in siblings),
        None if late else frame.in_stores(s.store_code),
    )
    s = s.mutate(scope=s.store_code.cast(SCOPE_TYPE))
    conditions = {
        f"{f.tag}{level}_{name}": condition
        for f in siblings for level in frame.linked
        for name, condition in _sale_conditions(f, s, level).items()
    }
    # Each sale is tested for the windows of its span only: a period's dormant window three
    # years back, its other windows from a year before it (a quarter of the tests of every
    # window on every sale, at 100 million lines), in one pass over the sales per span.
    parts = []
    for f in siblings:
        mine = {n: c for n, c in conditions.items() if n.startswith(f.tag)}
        for first, last, dormant in (("before_from", "end", False),
                                     ("dormant_from", "dormant_to", True)):
            part = _counted(s.filter(f.in_days(s.sold_at, first, last)), {
                n: c for n, c in mine.items() if n.endswith("_dormant_window") == dormant})
            parts.append(part.select("scope", **{
                n: part[n] if n in part.columns else ibis.literal(0, type="int64")
                for n in conditions}))
    rows = ibis.union(*parts, distinct=False)
    rows = rows.group_by("scope").aggregate(**{n: rows[n].sum() for n in conditions})
    if late:
        rows = _filtered(rows, frame.in_stores(rows.scope))
    measures = {}
    for f in siblings:
        for level in frame.linked:
            t = f"{f.tag}{level}_"
            measures[t + "dormant"] = rows[t + "dormant_window"] - rows[t + "dormant_back"]
            measures[t + "omnichannel"] = (
                rows[t + "first_in_store"] + rows[t + "first_on_web"] - rows[t + "active"])
    rows = rows.mutate(**measures)
    if not with_reach:
        return rows
    # Reach: each customer active at a scope (their first sale in its window) joined once
    # with whether they can be reached at each period's end.
    flags = {n.removesuffix("active") + "first": _flag(c)
             for n, c in conditions.items() if n.endswith("_active")}
    # A customer's first sale in a window of the chain or of a region is their first at its
    # store too (a previous sale in the chain is at least as recent as one at the store): the
    # finest level's first sales are the only rows to read.
    finest = next(level for level in LEVELS if level in frame.linked)
    previous = s[LEVELS[finest][0] + "previous_sale"]
    parts = []
    for f in siblings:
        # One pass per period over its own active window: plain range tests, which DuckDB
        # evaluates in the scan. One filter for both periods (their span, then either's
        # test) was evaluated on every sale of the two years: 1.5 s against 0.3 s at 100
        # million lines. A sale in both windows comes once per period, with that period's
        # flags only, so the sums are the same.
        first = f.in_days(s.sold_at, "active_from", "end") & (
            previous.isnull() | (previous < f.ts("active_from")))
        parts.append(s.filter(first).select("scope", "customer_ref", **{
            n: v if n.startswith(f.tag) else ibis.literal(0, type=v.type())
            for n, v in flags.items()}))
    a = ibis.union(*parts, distinct=False)
    # Joined once per channel with the customers reachable through it at some period's end
    # (the others add nothing): two joins on the spans in force cost less than one with a
    # table of both channels' flags per customer, which groups the spans by customer first.
    for channel, measure in zip(CHANNELS, REACH_MEASURES, strict=True):
        r = a.view().join(reachable(frame.chain(), channel).view(), "customer_ref")
        sums = {f"{f.tag}{level}_{measure}": (r[f"{f.tag}{level}_first"] * r[f"{f.tag}in"]).sum()
                for f in siblings for level in frame.linked}
        reached = r.group_by("scope").aggregate(**sums)
        rows = rows.left_join(reached, "scope").drop("scope_right")
        rows = rows.mutate(**{c: rows[c].fill_null(0) for c in sums})
    return rows


@shared
def recruit_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    """New customers: first sales ticket in the whole chain within the period.

    ``customer_stores`` keeps each customer and store's first sale, so a buyer of the
    period is new when none of their stores saw an earlier one: a probe of that table
    (one row per customer and store) rather than of every receipt before the period.
    """
    c = frame.table("customer_stores")
    c = c.filter(c.first_purchase.notnull())
    firsts = c.filter(frame.in_days(c.first_purchase, "start", "end"))
    if frame.stores is not None and not frame.late_stores:
        # A store's recruit had a first sale there in the period: only those need a history
        # (for most of the chain, like-for-like, filtering the stores at the end costs less).
        here = firsts.filter(frame.in_stores(firsts.store_code)).select("customer_ref")
        firsts = firsts.semi_join(here, "customer_ref")
    earlier = c.filter(c.first_purchase < frame.ts("start"))
    earlier = earlier.semi_join(firsts.select("customer_ref"), "customer_ref")
    firsts = firsts.anti_join(earlier.select("customer_ref"), "customer_ref")
    # A first sale in two stores in the period: the earlier; at the same second the
    # smaller ticket id, on every engine.
    first = ibis.row_number().over(
        group_by=firsts.customer_ref, order_by=[firsts.first_purchase, firsts.first_purchase_ticket]
    )
    t = firsts.mutate(rn=first).filter(lambda r: r.rn == 0)
    t = _filtered(t, frame.in_stores(t.store_code))
    if frame.grain in ("seller", "channel"):
        # Who sold it and through which channel: the first ticket's own columns.
        k = frame.table("tickets")
        k = k.filter(frame.in_days(k.sold_at, "start", "end"))
        t = t.join(k.select(first_purchase_ticket="ticket_id", seller_code="seller_code",
                            channel="channel"), "first_purchase_ticket")
    t = scoped(frame, t)
    if t is None:
        return None
    if "recruited_with_contact" in names:
        t = t.left_join(contacts(frame.chain().first_sibling()).view(), "customer_ref")
        t = t.drop("customer_ref_right")
    measures = {
        "recruited": lambda r: r.count(),
        "recruited_with_contact": lambda r: _flag(
            (r.has_email | r.has_mobile).fill_null(False)
        ).sum(),
    }
    return _aggregate(t, measures, names)
