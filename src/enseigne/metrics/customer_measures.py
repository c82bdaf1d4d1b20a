"""Customer measures: activity, frequency, repeat, retention, dormancy, reach, recruitment.

They count people, not receipts, so each family first reduces identified sales tickets to
one row per (scope, customer) and then counts those rows: a customer counts once at each
scope where they bought (so store values do not add up to the network's). Recruitment is
the exception: a customer is new once, in the chain, at the store of their first ticket.
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import ibis.expr.types as ir

from enseigne.metrics.measures import (
    WEB_CHANNELS,
    Frame,
    _aggregate,
    _filtered,
    _flag,
    scoped,
    shared,
)

MOBILE_PREFIXES = ("+336", "+337")
REACH_MEASURES = ("email_reachable", "sms_reachable")


@shared
def identified_sales(frame: Frame, since: str | None) -> ir.Table:
    """Sales tickets with a customer, sold from the named day (None: ever) to the period's end."""
    t = frame.table("tickets")
    return _filtered(
        t,
        t.amount > 0,
        t.customer_ref.notnull(),
        None if since is None else t.sold_at >= frame.ts(since),
        t.sold_at < frame.ts("end", after=True),
    )


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
    """Per customer and per period of the query (columns prefixed by its tag): a usable
    e-mail / mobile with the consent in force at the period's end. The ledger is read and
    grouped once for all the periods."""
    siblings = frame.siblings()
    k = frame.table("consents")
    k = k.filter(
        k.channel.isin(("email", "sms")),
        k.collected_at < _latest(f.ts("end", after=True) for f in siblings),
    )
    # The latest choice per channel is in force; on a tie the opt-out, the careful reading.
    # One key orders both: an even key is an opt-in, so the largest key tells the state
    # (one grouping pass, cheaper than a window over the whole ledger).
    key = k.collected_at.epoch_seconds() * 2 + _flag(k.status != "opt_in")
    keys = {}
    for f in siblings:
        known = k.collected_at < f.ts("end", after=True)
        for channel in ("email", "sms"):
            keys[f"{f.tag}{channel}_key"] = key.max(where=known & (k.channel == channel))
    optins = k.group_by("customer_ref").aggregate(**keys)
    r = contacts(frame).view()
    r = r.left_join(optins, "customer_ref").drop("customer_ref_right")
    columns = {}
    for f in siblings:
        columns[f"{f.tag}email_ok"] = _flag(
            r.has_email & (r[f"{f.tag}email_key"] % 2 == 0).fill_null(False))
        columns[f"{f.tag}sms_ok"] = _flag(
            r.has_mobile & (r[f"{f.tag}sms_key"] % 2 == 0).fill_null(False))
    return r.select("customer_ref", **columns)


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

# How per-(scope, customer) rows of several scopes merge into one (a store's rows into its
# region's): counts add up, flags take the maximum.
CUSTOMER_ROLLUP = {
    "n_active": "sum", "in_period": "max", "before": "max", "dormant_window": "max",
    "in_store": "max", "on_web": "max", "email_ok": "max", "sms_ok": "max",
}


FLAGS = ("n_active", "in_period", "before", "dormant_window", "in_store", "on_web")
REACH_FLAGS = ("email_ok", "sms_ok")


@shared
def period_rows(frame: Frame, with_reach: bool) -> ir.Table | None:
    """One row per (scope, customer) who bought there in the window of any period of the
    query, with each period's flags (columns prefixed by its tag): years of receipts are
    scanned and grouped once for the period and its N-1, not once each."""
    siblings = frame.siblings()
    t = frame.table("tickets")
    t = _filtered(
        t,
        t.amount > 0,
        t.customer_ref.notnull(),
        t.sold_at >= _earliest(f.ts("window_from") for f in siblings),
        t.sold_at < _latest(f.ts("end", after=True) for f in siblings),
        frame.in_stores(t.store_code),
    )
    t = scoped(frame, t)
    if t is None:
        return None
    flags = {}
    for f in siblings:
        active = f.in_days(t.sold_at, "active_from", "end")
        flags.update({
            f"{f.tag}n_active": _flag(active).sum(),
            f"{f.tag}in_period": _flag(f.in_days(t.sold_at, "start", "end")).max(),
            f"{f.tag}before": _flag(f.in_days(t.sold_at, "before_from", "before_to")).max(),
            f"{f.tag}dormant_window": _flag(
                f.in_days(t.sold_at, "dormant_from", "dormant_to")).max(),
            f"{f.tag}in_store": _flag(active & (t.channel == "store")).max(),
            f"{f.tag}on_web": _flag(active & t.channel.isin(WEB_CHANNELS)).max(),
        })
    rows = t.group_by(["scope", "customer_ref"]).aggregate(**flags)
    if not with_reach:
        return rows
    # Joined here, once for every period and grain, rather than at each.
    reached = reach(frame.chain()).view()
    rows = rows.left_join(reached, "customer_ref").drop("customer_ref_right")
    return rows.mutate(**{c: rows[c].fill_null(0) for c in reached.columns if c != "customer_ref"})


@shared
def customer_rows(frame: Frame, with_reach: bool = False) -> ir.Table | None:
    """One row per (scope, customer) active around the frame's period, with its flags
    (and, ``with_reach``, whether they can be reached by e-mail and SMS at its end)."""
    rows = period_rows(frame.first_sibling(), with_reach)
    if rows is None:
        return None
    rows = rows.view()
    names = FLAGS + (REACH_FLAGS if with_reach else ())
    mine = rows.select("scope", "customer_ref", **{n: rows[frame.tag + n] for n in names})
    # A customer seen only in another period's window counts for nothing here.
    return mine.filter(
        (mine.n_active > 0) | (mine.in_period == 1) | (mine.before == 1)
        | (mine.dormant_window == 1)
    )


def roll_up_customers(rows: ir.Table, owners: ir.Table) -> ir.Table:
    """Rows per (store, customer) merged per (owner, customer); ``owners`` maps each
    ``store_code`` to its ``owner`` scope (its region, or the network)."""
    # view(): the store rows feed several grains' joins yet stay one CTE (computed once).
    rows = rows.view()
    r = rows.join(owners, rows.scope == owners.store_code)
    return r.group_by([r.owner.name("scope"), "customer_ref"]).aggregate(
        **{
            name: getattr(r[name], how)()
            for name, how in CUSTOMER_ROLLUP.items()
            if name in rows.columns
        }
    )


def customer_aggregate(rows: ir.Table, names: Iterable[str]) -> ir.Table:
    return _aggregate(rows, CUSTOMER_MEASURES, [n for n in names if n in CUSTOMER_MEASURES])


def customer_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    rows = customer_rows(frame, any(n in REACH_MEASURES for n in names))
    return None if rows is None else customer_aggregate(rows, names)


@shared
def recruit_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    """New customers: first sales ticket in the whole chain within the period.

    The period's buyers are few: the history is only probed for them (a semi-join) rather
    than grouped per customer, which at 10 M lines is several times cheaper.
    """
    t = identified_sales(frame, "start")
    if frame.stores is not None:
        # A store's recruit bought there in the period: only those buyers need a history.
        here = t.filter(frame.in_stores(t.store_code)).select("customer_ref")
        t = t.semi_join(here, "customer_ref")
    history = identified_sales(frame, None)
    earlier = history.filter(history.sold_at < frame.ts("start"))
    returning = earlier.semi_join(t.select("customer_ref"), "customer_ref")
    t = t.anti_join(returning.select("customer_ref").distinct(), "customer_ref")
    # The first receipt; two at the same second: the smaller ticket id, on every engine.
    first = ibis.row_number().over(
        group_by=t.customer_ref, order_by=[t.sold_at, t.ticket_id]
    )
    t = t.mutate(rn=first).filter(lambda r: r.rn == 0)
    t = scoped(frame, _filtered(t, frame.in_stores(t.store_code)))
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
