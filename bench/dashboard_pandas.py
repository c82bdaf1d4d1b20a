"""The network dashboard as an analyst would compute it with pandas: the baseline of
``bench.dashboard`` and an independent check of the KPI engine's values.

Written from the KPI contract (KPIS.md) alone: every KPI except the survey ones (csat, nps),
per store, for one period and its N-1 (the same days 364 days earlier), targets pro-rated
by days, the like-for-like flag and ranks in the network and in the region, for the whole
network and for the like-for-like stores. Reading the tables (``read_tables``) and computing
(``dashboard``) are timed apart: the comparison with our engine is on the computing.

Money arrives as float64 (DuckDB hands DECIMAL to pandas as double): sums agree with exact
decimals to ~1e-12 relative, far inside the 1e-6 the comparison allows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# id -> (better direction, additive over time: targets of longer periods pro-rate by days)
KPIS: dict[str, tuple[str | None, bool]] = {
    "revenue": ("up", True),
    "revenue_ht": ("up", True),
    "tickets": ("up", True),
    "avg_basket": ("up", False),
    "units": ("up", True),
    "upt": ("up", False),
    "avg_unit_price": ("up", False),
    "revenue_per_m2": ("up", False),
    "footfall": ("up", True),
    "conversion_rate": ("up", False),
    "identified_rate": ("up", False),
    "return_rate": ("down", False),
    "discount_rate": ("down", False),
    "active_customers": ("up", False),
    "new_customers": ("up", True),
    "purchase_frequency": ("up", False),
    "repeat_rate": ("up", False),
    "retention_rate": ("up", False),
    "dormant_customers": ("down", False),
    "optin_email_rate": ("up", False),
    "optin_sms_rate": ("up", False),
    "contact_capture_rate": ("up", False),
    "complaints": ("down", True),
    "complaint_resolution_days": ("down", False),
    "web_share": (None, False),
    "omnichannel_customers": ("up", False),
}
ONLINE = ("web", "app")
MOBILE_PREFIXES = ("+336", "+337")
DAY = pd.Timedelta(days=1)
N1_SHIFT = dt.timedelta(days=364)


@dataclass
class Tables:
    stores: pd.DataFrame
    tickets: pd.DataFrame
    footfall: pd.DataFrame
    targets: pd.DataFrame
    customers: pd.DataFrame
    consents: pd.DataFrame
    feedback: pd.DataFrame


READS = {
    "stores": "SELECT store_code, region, surface_m2, opened_on, closed_on FROM stores",
    "tickets": "SELECT sold_at, store_code, channel, customer_ref, units, amount, amount_ht, "
               "discount, returned_amount FROM tickets",
    "footfall": "SELECT store_code, date, visitors FROM footfall",
    "targets": "SELECT scope, kpi, period_start, period_end, value FROM targets",
    "customers": "SELECT customer_ref, email, phone FROM customers",
    "consents": "SELECT customer_ref, channel, status, collected_at FROM consents",
    "feedback": "SELECT kind, store_code, opened_at, resolved_at FROM feedback",
}


def read_frames(db: Path, reads: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Each query's result as a DataFrame, from the database opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET enable_progress_bar = false")
    try:
        return {name: con.execute(sql).df() for name, sql in reads.items()}
    finally:
        con.close()


def read_tables(db: Path) -> Tables:
    """Every table the dashboard needs, whole, into pandas (once)."""
    frames = read_frames(db, READS)
    for name, col in (("stores", "opened_on"), ("stores", "closed_on"),
                      ("footfall", "date"), ("targets", "period_start"),
                      ("targets", "period_end")):
        frames[name][col] = pd.to_datetime(frames[name][col])
    return Tables(**frames)


def _ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


def _within(ts: pd.Series, start: dt.date, end: dt.date) -> pd.Series:
    """Calendar days [start, end] of a timestamp column."""
    return (ts >= _ts(start)) & (ts < _ts(end) + DAY)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return num / den.where(den != 0)


# --- ticket and footfall KPIs ---------------------------------------------------------------


def ticket_kpis(t: Tables, start: dt.date, end: dt.date) -> pd.DataFrame:
    p = t.tickets[_within(t.tickets["sold_at"], start, end)]
    sale = p["amount"] > 0
    p = p.assign(
        sale=sale,
        identified=sale & p["customer_ref"].notna(),
        positive=p["amount"] - p["returned_amount"],  # sum of the positive lines
        online=p["amount"].where(p["channel"].isin(ONLINE), 0.0),
    )
    s = p.groupby("store_code").agg(
        revenue=("amount", "sum"), revenue_ht=("amount_ht", "sum"), tickets=("sale", "sum"),
        units=("units", "sum"), identified=("identified", "sum"),
        returned=("returned_amount", "sum"), positive=("positive", "sum"),
        discount=("discount", "sum"), online=("online", "sum"),
    )
    surface = t.stores.set_index("store_code")["surface_m2"].reindex(s.index)
    return pd.DataFrame({
        "revenue": s["revenue"], "revenue_ht": s["revenue_ht"], "tickets": s["tickets"],
        "avg_basket": _ratio(s["revenue"], s["tickets"]), "units": s["units"],
        "upt": _ratio(s["units"], s["tickets"]),
        "avg_unit_price": _ratio(s["revenue"], s["units"]),
        "revenue_per_m2": _ratio(s["revenue"], surface),
        "identified_rate": _ratio(s["identified"], s["tickets"]),
        "return_rate": _ratio(-s["returned"], s["positive"]),
        "discount_rate": _ratio(s["discount"], s["revenue"] + s["discount"]),
        "web_share": _ratio(s["online"], s["revenue"]),
    })


def footfall_kpis(t: Tables, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Footfall, and conversion over the store-days that have a count."""
    f = t.footfall[_within(t.footfall["date"], start, end)]
    visitors = f.groupby(["store_code", "date"])["visitors"].sum()
    p = t.tickets[_within(t.tickets["sold_at"], start, end) & (t.tickets["amount"] > 0)]
    sales = p.groupby(["store_code", p["sold_at"].dt.normalize().rename("date")]).size()
    counted = sales.reindex(visitors.index, fill_value=0)
    footfall = visitors.groupby(level="store_code").sum()
    return pd.DataFrame({
        "footfall": footfall,
        "conversion_rate": _ratio(counted.groupby(level="store_code").sum(), footfall),
    })


def feedback_kpis(t: Tables, start: dt.date, end: dt.date) -> pd.DataFrame:
    c = t.feedback[t.feedback["kind"] == "complaint"]
    opened = c[_within(c["opened_at"], start, end)].groupby("store_code").size()
    solved = c[c["resolved_at"].notna() & _within(c["resolved_at"], start, end)]
    days = (solved["resolved_at"] - solved["opened_at"]).dt.total_seconds() / 86_400
    return pd.DataFrame({
        "complaints": opened,
        "complaint_resolution_days": days.groupby(solved["store_code"]).mean(),
    })


# --- customer KPIs --------------------------------------------------------------------------


@dataclass
class Known:
    """Sales tickets of identified customers, and each customer's first one in the chain."""

    sales: pd.DataFrame
    first: pd.DataFrame


def known_sales(t: Tables) -> Known:
    sales = t.tickets.loc[
        (t.tickets["amount"] > 0) & t.tickets["customer_ref"].notna(),
        ["sold_at", "store_code", "channel", "customer_ref"],
    ]
    first = sales.sort_values("sold_at", kind="stable").drop_duplicates("customer_ref")
    return Known(sales, first)


def reachable(t: Tables, end: dt.date) -> pd.DataFrame:
    """Per customer: valid e-mail / mobile, and opted in to e-mail / SMS as of ``end``."""
    ledger = t.consents[t.consents["channel"].isin(["email", "sms"])
                        & (t.consents["collected_at"] < _ts(end) + DAY)]
    current = ledger.sort_values("collected_at", kind="stable").drop_duplicates(
        ["customer_ref", "channel"], keep="last")
    opted = (current.assign(opt_in=current["status"] == "opt_in")
             .pivot(index="customer_ref", columns="channel", values="opt_in"))
    c = t.customers.set_index("customer_ref")
    opted = opted.reindex(index=c.index, columns=["email", "sms"], fill_value=False)
    email_ok = c["email"].notna()
    mobile_ok = c["phone"].fillna("").str.startswith(MOBILE_PREFIXES)
    return pd.DataFrame({
        "contact": email_ok | mobile_ok,
        "email": email_ok & opted["email"].fillna(False).astype(bool),
        "sms": mobile_ok & opted["sms"].fillna(False).astype(bool),
    })


def _pairs(year: pd.DataFrame, start: dt.date) -> pd.DataFrame:
    """One row per (store, customer) over the trailing year: tickets, channels, bought in
    the period."""
    return year.assign(
        in_store=year["channel"] == "store",
        online=year["channel"].isin(ONLINE),
        in_period=year["sold_at"] >= _ts(start),
    ).groupby(["store_code", "customer_ref"]).agg(
        n=("sold_at", "size"), in_store=("in_store", "any"), online=("online", "any"),
        in_period=("in_period", "any"),
    )


def customer_kpis(t: Tables, k: Known, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Each customer counts at every store where they have a sales ticket in the window."""
    stop = _ts(end) + DAY
    s = k.sales
    pairs = _pairs(s[(s["sold_at"] >= stop - 365 * DAY) & (s["sold_at"] < stop)], start)
    by_store = pairs.groupby(level="store_code")
    active = by_store.size()
    buyers = pairs[pairs["in_period"]]
    before = s[(s["sold_at"] >= _ts(start) - 365 * DAY) & (s["sold_at"] < _ts(start))]
    before = before.groupby(["store_code", "customer_ref"]).size().index.to_frame(index=False)
    before["kept"] = pd.MultiIndex.from_frame(before).isin(buyers.index)
    last = s[s["sold_at"] < stop].groupby(["store_code", "customer_ref"])["sold_at"].max()
    idle = (_ts(end) - last.dt.normalize()).dt.days
    reach = reachable(t, end)
    flags = reach.reindex(pairs.index.get_level_values("customer_ref"), fill_value=False)
    flags.index = pairs.index
    new = k.first[_within(k.first["sold_at"], start, end)]
    captured = reach["contact"].reindex(new["customer_ref"], fill_value=False).to_numpy()
    return pd.DataFrame({
        "active_customers": active,
        "new_customers": new.groupby("store_code").size(),
        "purchase_frequency": _ratio(by_store["n"].sum(), active),
        "repeat_rate": (buyers["n"] >= 2).groupby(level="store_code").mean(),
        "retention_rate": before.groupby("store_code")["kept"].mean(),
        "dormant_customers": idle.between(365, 1095).groupby(level="store_code").sum(),
        "optin_email_rate": flags["email"].groupby(level="store_code").mean(),
        "optin_sms_rate": flags["sms"].groupby(level="store_code").mean(),
        "contact_capture_rate": pd.Series(captured, index=new.index, dtype=bool)
        .groupby(new["store_code"]).mean(),
        "omnichannel_customers": (pairs["in_store"] & pairs["online"])
        .groupby(level="store_code").mean(),
    })


# --- one period, N-1, targets, ranks --------------------------------------------------------


def open_stores(stores: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    """Stores open on at least one day of [start, end]."""
    return (stores["opened_on"].isna() | (stores["opened_on"] <= _ts(end))) & (
        stores["closed_on"].isna() | (stores["closed_on"] > _ts(start)))


def period_kpis(t: Tables, k: Known, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Stores open in the period x KPIs; sums and counts are 0 where nothing happened."""
    scopes = t.stores.loc[open_stores(t.stores, start, end), "store_code"]
    wide = pd.concat([ticket_kpis(t, start, end), footfall_kpis(t, start, end),
                      customer_kpis(t, k, start, end), feedback_kpis(t, start, end)], axis=1)
    wide = wide.reindex(index=pd.Index(scopes, name="scope"), columns=list(KPIS))
    for kpi in ("revenue", "revenue_ht", "tickets", "units", "new_customers",
                "active_customers", "dormant_customers", "complaints"):
        wide[kpi] = wide[kpi].fillna(0)
    return wide


def prorated_targets(targets: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    """(scope, kpi) -> target over [start, end]: additive KPIs take value x overlap / length
    of each target, summed; ratios take the overlap-weighted mean."""
    s, e = _ts(start), _ts(end)
    tg = targets[(targets["period_start"] <= e) & (targets["period_end"] >= s)
                 & targets["kpi"].isin(list(KPIS))]
    overlap = (tg["period_end"].clip(upper=e) - tg["period_start"].clip(lower=s)).dt.days + 1
    length = (tg["period_end"] - tg["period_start"]).dt.days + 1
    additive = tg["kpi"].map(lambda kpi: KPIS[kpi][1])
    tg = tg.assign(
        part=np.where(additive, tg["value"] * overlap / length, tg["value"] * overlap),
        weight=np.where(additive, 1.0, overlap),
        additive=additive,
    )
    g = tg.groupby(["scope", "kpi"]).agg(part=("part", "sum"), weight=("weight", "sum"),
                                          additive=("additive", "first"))
    return g["part"].where(g["additive"], g["part"] / g["weight"])


def ranked(long: pd.DataFrame, region: pd.Series) -> pd.DataFrame:
    """rank (1 = best in the KPI's better direction, ties share the best rank) among the
    rows given, and within each region."""
    better = long["kpi"].map(lambda kpi: KPIS[kpi][0])
    key = long["value"].astype(float).where(better.notna())
    key = key.where(better != "up", -key)
    rank = key.groupby(long["kpi"]).rank(method="min")
    reg = long["scope"].map(region)
    rank_region = key.groupby([long["kpi"], reg]).rank(method="min").where(reg.notna())
    return long.assign(rank=rank, rank_region=rank_region)


def dashboard(t: Tables, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Long table: scope, kpi, value, n1, target, achievement, lfl, rank, rank_region (all
    stores open in the period) and rank_lfl, rank_region_lfl (like-for-like stores only)."""
    k = known_sales(t)
    now = period_kpis(t, k, start, end)
    n1_start, n1_end = start - N1_SHIFT, end - N1_SHIFT
    before = period_kpis(t, k, n1_start, n1_end).reindex(now.index)
    long = now.reset_index().melt(id_vars="scope", var_name="kpi")
    long["n1"] = before.reset_index().melt(id_vars="scope")["value"].to_numpy()
    target = prorated_targets(t.targets, start, end)
    long["target"] = pd.MultiIndex.from_frame(long[["scope", "kpi"]]).map(
        lambda key: target.get(key, np.nan))
    long["achievement"] = _ratio(long["value"], long["target"])
    stores = t.stores.set_index("store_code")
    lfl = (stores["opened_on"].isna() | (stores["opened_on"] <= _ts(n1_start))) & (
        stores["closed_on"].isna() | (stores["closed_on"] > _ts(end)))
    long["lfl"] = long["scope"].map(lfl).astype(bool)
    long = ranked(long, stores["region"])
    lfl_ranks = ranked(long[long["lfl"]], stores["region"])
    long["rank_lfl"] = lfl_ranks["rank"]
    long["rank_region_lfl"] = lfl_ranks["rank_region"]
    return long


def main(argv: list[str]) -> int:
    """``python -m bench.dashboard_pandas DB START END OUT.parquet``: prints the timings
    (wall and CPU seconds) as JSON on its last line."""
    import json
    import time

    db, start, end, out = Path(argv[0]), *map(dt.date.fromisoformat, argv[1:3]), Path(argv[3])
    wall, cpu = time.perf_counter(), time.process_time()
    tables = read_tables(db)
    read = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    wall, cpu = time.perf_counter(), time.process_time()
    result = dashboard(tables, start, end)
    compute = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    result.to_parquet(out)
    print(json.dumps({"read": read, "compute": compute, "rows": len(result)}))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
