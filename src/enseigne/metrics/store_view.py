"""One store's page: KPI cards, trends with their N-1, the revenue tree, the sellers' table,
satisfaction and the latest verbatims. Pure data over an Ibis backend, shared by the page,
its JSON twin and the exports; nothing here writes.

The trend and the revenue tree read the store's receipts and footfall once per request:
one query sums each fact table per day over the days asked for, then groups the days into
buckets (a day, an ISO week, a month, a whole period) on both sides of the comparison, so a
26-week trend with its N-1 is one query, not 52 ``compute_kpis`` calls. The KPI formulas
applied to the buckets are the catalogue's own, so a trend point equals what
``compute_kpis`` gives for the same days.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends.duckdb import Backend as DuckDBBackend

from enseigne.metrics.bound import compiled
from enseigne.metrics.catalogue import KPIS, resolve
from enseigne.metrics.compute import compute_kpis
from enseigne.metrics.dashboard import MAIN_KPIS, cell
from enseigne.metrics.measures import TICKET_MEASURES, Bound, table_of
from enseigne.metrics.periods import Period, n1_period, period_of_kind
from enseigne.metrics.satisfaction_measures import SURVEY_MEASURES

CARD_KPIS = (*MAIN_KPIS, "csat", "nps")
TREND_STEPS = ("day", "week", "month")
# The KPIs a trend can draw: those made of the receipts' and footfall's daily sums.
TREND_KPIS = (
    "revenue", "tickets", "avg_basket", "units", "upt", "avg_unit_price", "footfall",
    "conversion_rate", "identified_rate",
)
SELLER_KPIS = (
    "tickets", "revenue", "identified_rate", "contact_capture_rate", "new_customers",
    "avg_basket",
)
SATISFACTION_KPIS = ("csat", "nps")
# CA = fréquentation x transformation x indice de vente x prix moyen.
TREE_FACTORS = ("footfall", "conversion_rate", "upt", "avg_unit_price")
VERBATIMS = 10

# How far back a trend reaches from the period's end, per step.
TREND_WINDOWS = {"day": 56, "week": 26, "month": 12}

_DAILY_TICKETS = ("revenue", "sales_tickets", "units", "identified_tickets")
_MEASURES = (
    *_DAILY_TICKETS, "visitors", "counted_days", "counted_tickets", "counted_revenue",
    "counted_units",
)
_SIDES = ("value", "n1")
KPI_PREFIX = "kpi_"
# The day map's name on the cursor while a compiled bucket query runs.
DAY_MAP = "enseigne_store_view_days"
DAY_MAP_SCHEMA = {"day": "date", "bucket": "int64", "side": "string"}
# Verbatims without an end date: everything up to this.
NO_CUTOFF = dt.datetime(9999, 12, 31)


def period_json(period: Period) -> dict:
    """The period as data; its days stay dates (the API writes them ISO, pages format them)."""
    return {"kind": period.kind, "start": period.start, "end": period.end,
            "label": period.label, "days": period.days}


def kpi_info(kpi_ids: Iterable[str]) -> dict[str, dict]:
    """What a page needs to show each KPI: labels, definitions, unit, direction, change kind."""
    info = {}
    for kpi_id in dict.fromkeys(kpi_ids):
        kpi = KPIS[kpi_id]
        info[kpi_id] = {
            "label": {"fr": kpi.label("fr"), "en": kpi.label("en")},
            "definition": {"fr": kpi.definition("fr"), "en": kpi.definition("en")},
            "unit": kpi.unit, "better": kpi.better, "change_kind": kpi.change_kind,
        }
    return info


def _plain(value: object) -> int | float | None:
    """A JSON-ready number: DECIMAL sums as int (counts) or float (money); NaN as None."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value  # type: ignore[return-value]


# ---- queries: compiled once on DuckDB, literal elsewhere ---------------------------------


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


class _Values:
    """The store and days a query reads: literals, or (``bound``) named placeholders filled
    when the compiled query runs. ``days()`` is the bucket query's day map."""

    def __init__(
        self, values: dict[str, object], *, bound: bool, day_map: pa.Table | None = None
    ) -> None:
        self.values, self.bound, self.day_map = values, bound, day_map

    def __call__(self, name: str) -> ir.Value:
        value = self.values[name]
        dtype = dt_.timestamp if isinstance(value, dt.datetime) else (
            dt_.date if isinstance(value, dt.date) else dt_.string)
        return Bound(name, dtype).to_expr() if self.bound else ibis.literal(value, type=dtype)

    def days(self) -> ir.Table:
        if self.bound:
            return ibis.table(DAY_MAP_SCHEMA, name=DAY_MAP)
        return ibis.memtable(self.day_map)


def _run(
    backend: object, key: tuple, build: Callable[[_Values], ir.Table],
    values: dict[str, object], *, day_map: pa.Table | None = None,
) -> pa.Table:
    """Run ``build``'s query. On DuckDB its SQL is compiled once per ``key`` (building and
    compiling an Ibis expression costs 20-200 ms, more than running it on one store) and
    the values are parameters; the day map is registered on the request's own cursor."""
    if not isinstance(backend, DuckDBBackend):
        return backend.to_pyarrow(build(_Values(values, bound=False, day_map=day_map)))
    sql = compiled(("store_view", *key), lambda: build(_Values(values, bound=True)))
    cur = backend.con
    if day_map is not None:
        cur.register(DAY_MAP, day_map)
    try:
        return cur.execute(sql, values).to_arrow_table()
    finally:
        if day_map is not None:
            cur.unregister(DAY_MAP)


# ---- KPI cards, sellers, satisfaction: compute_kpis at the store's grain --------------------


def _cells(
    records: list[dict], scope: str, kpi_ids: Sequence[str], *, ranked: bool = True
) -> dict[str, dict]:
    """{kpi id: cell} for ``scope``; a KPI the store has no figure for gets an empty cell.

    ``ranked=False`` drops the ranks: ranked among one store, a rank says nothing (the
    network dashboard ranks the stores).
    """
    found = {r["kpi"]: r for r in records if r["scope"] == scope}
    empty = {"value": None, "n1": None, "target": None, "achievement": None,
             "rank": None, "rank_region": None}
    cells = {k: cell(KPIS[k], found.get(k, empty)) for k in kpi_ids}
    if not ranked:
        for figures in cells.values():
            figures.update(rank=None, rank_region=None)
    return cells


def kpi_cards(
    backend: object, store: str, period: Period, *, n1_mode: str = "weekday",
    kpis: Sequence[str] = CARD_KPIS,
) -> list[dict]:
    """The store's main KPIs with N-1 and target, one card per KPI in ``kpis`` order."""
    records = compute_kpis(
        backend, list(kpis), "store", period, compare=("n-1", "target"), stores=[store],
        n1_mode=n1_mode,
    )
    cells = _cells(records, store, kpis, ranked=False)
    return [{"kpi": kpi_id, **figures} for kpi_id, figures in cells.items()]


def sellers_table(
    backend: object, store: str, period: Period, *, n1_mode: str = "weekday"
) -> list[dict]:
    """The store's sellers who sold in the period, best identification rate first: the
    data-collection challenge. Each ``kpis[id]`` is a cell whose rank is among these sellers."""
    records = compute_kpis(
        backend, list(SELLER_KPIS), "seller", period, compare=("n-1",), stores=[store],
        n1_mode=n1_mode,
    )
    codes = sorted({r["scope"] for r in records})
    names = _seller_names(backend, codes)
    rows = [
        {"seller_code": code, "name": names.get(code), "kpis": _cells(records, code, SELLER_KPIS)}
        for code in codes
    ]

    def order(row: dict) -> tuple:
        rate = row["kpis"]["identified_rate"]["value"]
        tickets = row["kpis"]["tickets"]["value"] or 0
        return (rate is None, -(rate or 0.0), -tickets, row["seller_code"])

    return sorted(rows, key=order)


def _seller_names(backend: object, codes: Sequence[str]) -> dict[str, str | None]:
    if not codes:
        return {}
    s = table_of(backend, "sellers")
    s = s.filter(s.seller_code.isin(list(codes))).select("seller_code", "name")
    return {r["seller_code"]: r["name"] for r in backend.to_pyarrow(s).to_pylist()}


def satisfaction(
    backend: object, store: str, period: Period, *, n1_mode: str = "weekday",
    cells: dict[str, dict] | None = None,
) -> dict:
    """CSAT and NPS with N-1, the NPS answers split into promoters, passives and detractors.

    ``cells``: the csat and nps cells when the caller has them already (the KPI cards).
    """
    if cells is None or not all(k in cells for k in SATISFACTION_KPIS):
        records = compute_kpis(
            backend, list(SATISFACTION_KPIS), "store", period, compare=("n-1",),
            stores=[store], n1_mode=n1_mode,
        )
        cells = _cells(records, store, SATISFACTION_KPIS, ranked=False)
    counts = _survey_counts(backend, store, period)
    promoters, detractors = counts["promoters"], counts["detractors"]
    return {
        "kpis": {k: {f: v for f, v in cells[k].items() if f != "kpi"} for k in SATISFACTION_KPIS},
        "csat_answers": counts["csat_answers"],
        "satisfied": counts["satisfied"],
        "nps_answers": counts["nps_answers"],
        "nps_distribution": {
            "promoters": promoters,
            "passives": counts["nps_answers"] - promoters - detractors,
            "detractors": detractors,
        },
    }


def _store_answers(backend: object, value: _Values) -> ir.Table:
    """The store's survey answers, attributed as the KPIs attribute them: an answer without
    a store belongs to its ticket's store. (Probing the store's own tickets rather than
    joining every ticket keeps this a one-store read.)"""
    s = table_of(backend, "survey_responses")
    t = table_of(backend, "tickets")
    store_tickets = t.filter(t.store_code == value("store")).ticket_id
    return s.filter(
        (s.store_code == value("store"))
        | (s.store_code.isnull() & s.ticket_id.isin(store_tickets))
    )


def _survey_counts(backend: object, store: str, period: Period) -> dict[str, int]:
    def build(value: _Values) -> ir.Table:
        s = _store_answers(backend, value)
        s = s.filter(s.answered_at >= value("from_ts"), s.answered_at < value("to_ts"))
        return s.aggregate(**{name: measure(s) for name, measure in SURVEY_MEASURES.items()})

    values = {"store": store, "from_ts": _midnight(period.start),
              "to_ts": _midnight(period.end + dt.timedelta(days=1))}
    row = _run(backend, ("survey_counts",), build, values).to_pylist()[0]
    return {name: int(row[name] or 0) for name in SURVEY_MEASURES}


# ---- day sums grouped into buckets: the trend and the revenue tree --------------------------


@dataclass(frozen=True)
class Bucket:
    """A span of days of the trend (or the tree's period) and the days it is compared with."""

    label: str
    current: Period
    previous: Period

    def to_dict(self) -> dict:
        return {"label": self.label, "start": self.current.start.isoformat(),
                "end": self.current.end.isoformat(), "n1_start": self.previous.start.isoformat(),
                "n1_end": self.previous.end.isoformat()}


def _days(period: Period) -> Iterable[dt.date]:
    return (period.start + dt.timedelta(days=i) for i in range(period.days))


def _day_map(buckets: Sequence[Bucket]) -> pa.Table:
    """(day, bucket, side) for every day of every bucket; a day may serve two buckets (the
    N-1 week 52 of a year compared with both weeks 52 and 53, a trend longer than a year)."""
    rows = [
        (day, index, side)
        for index, bucket in enumerate(buckets)
        for side, span in zip(_SIDES, (bucket.current, bucket.previous), strict=True)
        for day in _days(span)
    ]
    days, indexes, sides = zip(*rows, strict=True)
    return pa.table({"day": pa.array(days, pa.date32()), "bucket": pa.array(indexes, pa.int64()),
                     "side": pa.array(sides, pa.string())})


def _scanned(day_map: pa.Table) -> dict[str, object]:
    """The store's receipts and counts are read over two ranges of days, one per side (the
    gap between N-1 and N is never scanned); the day map then keeps only its own days."""
    values: dict[str, object] = {}
    for side in _SIDES:
        days = pc.filter(day_map.column("day"), pc.equal(day_map.column("side"), side))
        first, last = pc.min(days).as_py(), pc.max(days).as_py()
        values[f"{side}_first"], values[f"{side}_last"] = first, last
        values[f"{side}_from_ts"] = _midnight(first)
        values[f"{side}_to_ts"] = _midnight(last + dt.timedelta(days=1))
    return values


def _daily_sales(backend: object, value: _Values) -> ir.Table:
    t = table_of(backend, "tickets")
    in_days = ibis.or_(*(
        (t.sold_at >= value(f"{side}_from_ts")) & (t.sold_at < value(f"{side}_to_ts"))
        for side in _SIDES
    ))
    t = t.filter(t.store_code == value("store"), in_days)
    t = t.mutate(day=t.sold_at.date())
    return t.group_by("day").aggregate(**{n: TICKET_MEASURES[n](t) for n in _DAILY_TICKETS})


def _daily_counts(backend: object, value: _Values) -> ir.Table:
    """Visitors per day; only days that have a count have a row (hourly counts add up)."""
    f = table_of(backend, "footfall")
    in_days = ibis.or_(*(
        f.date.between(value(f"{side}_first"), value(f"{side}_last")) for side in _SIDES
    ))
    f = f.filter(f.store_code == value("store"), f.visitors.notnull(), in_days)
    return f.group_by(day=f.date).aggregate(visitors=f.visitors.sum())


def _bucket_table(backend: object, value: _Values, kpis: Sequence[str]) -> ir.Table:
    """Per (bucket, side): the day sums added up, then the catalogue's KPI formulas."""
    j = value.days().left_join(_daily_sales(backend, value), "day").drop("day_right")
    j = j.left_join(_daily_counts(backend, value), "day").drop("day_right")
    counted = j.visitors.notnull()
    sums = j.group_by(["bucket", "side"]).aggregate(
        **{n: j[n].sum() for n in (*_DAILY_TICKETS, "visitors")},
        counted_days=ibis.ifelse(counted, 1, 0).sum(),
        counted_tickets=ibis.ifelse(counted, j.sales_tickets, 0).sum(),
        counted_revenue=ibis.ifelse(counted, j.revenue, 0).sum(),
        counted_units=ibis.ifelse(counted, j.units, 0).sum(),
    )
    sums = sums.mutate(**{n: sums[n].fill_null(0) for n in _MEASURES})
    # KPI columns get a prefix: "revenue" is both a measure and a KPI.
    formulas = {KPI_PREFIX + k.id: k.expression(sums) for k in resolve(list(kpis))} if kpis else {}
    return sums.select("bucket", "side", *_MEASURES, **formulas)


def bucket_figures(
    backend: object, store: str, buckets: Sequence[Bucket], kpis: Sequence[str] = TREND_KPIS
) -> dict[tuple[int, str], dict]:
    """{(bucket index, "value" | "n1"): measures and KPIs (``kpi_<id>``), in one query.

    Measures are sums (0 when nothing happened); ``counted_*`` are taken on the store-days
    that have a footfall count, as the conversion rate is.
    """
    day_map = _day_map(buckets)
    values = {"store": store, **_scanned(day_map)}
    table = _run(backend, ("buckets", tuple(kpis)),
                 lambda value: _bucket_table(backend, value, kpis), values, day_map=day_map)
    return {
        (row.pop("bucket"), row.pop("side")): {k: _plain(v) for k, v in row.items()}
        for row in table.to_pylist()
    }


# ---- trend --------------------------------------------------------------------------------


def trend_buckets(start: dt.date, end: dt.date, step: str = "day") -> list[Bucket]:
    """The days, ISO weeks or months from ``start`` to ``end`` (the first and last cut to the
    range), each with its N-1: 364 days earlier, the same ISO week of last year for a week.
    A cut bucket is compared with the same days of its full N-1 bucket."""
    if step not in TREND_STEPS:
        raise ValueError(f"pas inconnu : {step} ({', '.join(TREND_STEPS)})")
    if end < start:
        raise ValueError(f"tendance vide : {start} > {end}")
    buckets, day = [], start
    while day <= end:
        full = period_of_kind(step, day)
        current = Period(max(full.start, start), min(full.end, end))
        previous_full = n1_period(full)
        offset = current.start - full.start
        previous = Period(previous_full.start + offset,
                          previous_full.start + offset + dt.timedelta(days=current.days - 1))
        buckets.append(Bucket(full.label, current, previous))
        day = full.end + dt.timedelta(days=1)
    return buckets


def trend_window(end: dt.date, step: str) -> tuple[dt.date, dt.date]:
    """The range a trend of ``step`` shows when it ends on ``end`` (see TREND_WINDOWS)."""
    size = TREND_WINDOWS[step]
    if step == "day":
        return end - dt.timedelta(days=size - 1), end
    if step == "week":
        return period_of_kind("week", end).start - dt.timedelta(weeks=size - 1), end
    month = end.year * 12 + end.month - 1 - (size - 1)
    return dt.date(month // 12, month % 12 + 1, 1), end


def kpi_trend(
    backend: object, store: str, kpi_ids: Sequence[str] | None, start: dt.date, end: dt.date,
    step: str = "day",
) -> dict:
    """The store's KPIs per day, week or month from ``start`` to ``end``, with each point's N-1.

    ``series[kpi]`` holds two lists aligned with ``buckets``: ``value`` and ``n1``.
    """
    chosen = list(kpi_ids or TREND_KPIS)
    unsupported = [k for k in chosen if k not in TREND_KPIS]
    if unsupported:
        raise ValueError(
            f"indicateur sans tendance : {', '.join(unsupported)} ({', '.join(TREND_KPIS)})"
        )
    buckets = trend_buckets(start, end, step)
    figures = bucket_figures(backend, store, buckets, chosen)
    return {
        "step": step,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "kpis": chosen,
        "buckets": [b.to_dict() for b in buckets],
        "series": {
            kpi: {side: [figures[i, side][KPI_PREFIX + kpi] for i in range(len(buckets))]
                  for side in _SIDES}
            for kpi in chosen
        },
    }


# ---- revenue tree -------------------------------------------------------------------------


def log_mean(a: float, b: float) -> float:
    """The logarithmic mean L(a, b) = (a - b) / (ln a - ln b), L(a, a) = a (a, b > 0)."""
    return a if a == b else (a - b) / (math.log(a) - math.log(b))


def lmdi(
    previous: Sequence[float], current: Sequence[float]
) -> list[float] | None:
    """Each factor's share of the change of their product, in the product's unit.

    LMDI (logarithmic mean Divisia index): factor i contributes L(P1, P0) x ln(x1_i / x0_i).
    The shares add up exactly to P1 - P0 since the logs of the ratios add up to ln(P1 / P0).
    None when a factor is not positive on both sides (no logarithm).
    """
    if any(x is None or x <= 0 for x in (*previous, *current)):
        return None
    p0, p1 = math.prod(previous), math.prod(current)
    weight = log_mean(p1, p0)
    return [weight * math.log(x1 / x0) for x0, x1 in zip(previous, current, strict=True)]


def _tree_factors(m: dict) -> list[float | None]:
    """Footfall, conversion, UPT and average price on the counted days: their product is
    the revenue of those days exactly (None where a denominator is 0)."""
    visitors, tickets = m["visitors"], m["counted_tickets"]
    units, revenue = float(m["counted_units"]), float(m["counted_revenue"])
    return [
        float(visitors) if visitors else None,
        tickets / visitors if visitors else None,
        units / tickets if tickets else None,
        revenue / units if units else None,
    ]


def _change(value: float | None, previous: float | None) -> float | None:
    return None if value is None or not previous else value / previous - 1


def _amounts(value: float, previous: float) -> dict:
    return {"value": value, "n1": previous, "change": value - previous}


def revenue_tree(
    backend: object, store: str, period: Period, *, n1_mode: str = "weekday"
) -> dict:
    """The change in revenue against N-1 split into footfall, conversion, UPT and price.

    CA = fréquentation x transformation x indice de vente x prix moyen holds exactly on the
    store-days that have a footfall count, all four taken from the same receipts: the tree is
    drawn on those days (``basis``); revenue on days without a count is the ``residual``
    line, so that contributions + residual = the revenue change of the whole period.
    """
    previous = n1_period(period, n1_mode)
    figures = bucket_figures(backend, store, [Bucket(period.label, period, previous)], ())
    now, before = figures[0, "value"], figures[0, "n1"]
    x1, x0 = _tree_factors(now), _tree_factors(before)
    shares = lmdi(x0, x1)  # type: ignore[arg-type]
    counted = _amounts(float(now["counted_revenue"]), float(before["counted_revenue"]))
    total = _amounts(float(now["revenue"]), float(before["revenue"]))
    residual = _amounts(total["value"] - counted["value"], total["n1"] - counted["n1"])
    return {
        "period": period_json(period),
        "n1_period": period_json(previous),
        "basis": "counted_days",
        "counted_days": {"value": now["counted_days"], "n1": before["counted_days"]},
        "decomposable": shares is not None,
        "revenue": counted,
        "factors": [
            {"factor": name, "value": v1, "n1": v0, "change": _change(v1, v0),
             "contribution": None if shares is None else shares[i]}
            for i, (name, v0, v1) in enumerate(zip(TREE_FACTORS, x0, x1, strict=True))
        ],
        "residual": residual if residual["value"] or residual["n1"] else None,
        "total": total,
    }


# ---- verbatims ----------------------------------------------------------------------------


def latest_verbatims(
    backend: object, store: str, limit: int = VERBATIMS, until: dt.date | None = None
) -> dict:
    """The store's latest survey comments and feedback texts, up to ``until`` (included).

    Customers' words, never who they are: no customer reference, name or e-mail is read.
    """
    cutoff = _midnight(until + dt.timedelta(days=1)) if until else NO_CUTOFF
    values = {"store": store, "cutoff_ts": cutoff}
    surveys = _run(backend, ("survey_comments", limit),
                   lambda value: _survey_comments(backend, value, limit), values)
    feedback = _run(backend, ("feedback_texts", limit),
                    lambda value: _feedback_texts(backend, value, limit), values)
    return {"surveys": surveys.to_pylist(), "feedback": _with_status(feedback.to_pylist(), cutoff)}


def _survey_comments(backend: object, value: _Values, limit: int) -> ir.Table:
    s = _store_answers(backend, value)
    s = s.filter(s.comment.strip().length() > 0, s.answered_at < value("cutoff_ts"))
    s = s.order_by([ibis.desc("answered_at"), "response_id"]).limit(limit)
    return s.select("answered_at", "nps", "csat", "comment", "channel")


def _feedback_texts(backend: object, value: _Values, limit: int) -> ir.Table:
    f = table_of(backend, "feedback")
    f = f.filter(f.store_code == value("store"), f.text.strip().length() > 0,
                 f.opened_at < value("cutoff_ts"))
    f = f.order_by([ibis.desc("opened_at"), "feedback_id"]).limit(limit)
    return f.select("opened_at", "kind", "channel", "text", "resolved_at")


def _with_status(rows: list[dict], cutoff: dt.datetime) -> list[dict]:
    """Complaints are open or resolved as of the cutoff; other kinds have no status."""
    for row in rows:
        resolved = row["resolved_at"]
        if resolved is not None and resolved >= cutoff:
            row["resolved_at"] = resolved = None  # not yet resolved on the page's last day
        row["status"] = "resolved" if resolved else ("open" if row["kind"] == "complaint" else None)
    return rows


# ---- the whole page -----------------------------------------------------------------------


def store_overview(
    backend: object, store: str, period: Period, *, step: str = "day",
    n1_mode: str = "weekday",
) -> dict:
    """Everything the store page shows (the trend for ``step``), ready for the JSON encoder:
    numbers, strings, dates and timestamps."""
    start, end = trend_window(period.end, step)
    cards = kpi_cards(backend, store, period, n1_mode=n1_mode)
    cells = {card["kpi"]: card for card in cards}
    return {
        "period": period_json(period),
        "n1_period": period_json(n1_period(period, n1_mode)),
        "cards": cards,
        "trend": kpi_trend(backend, store, TREND_KPIS, start, end, step),
        "revenue_tree": revenue_tree(backend, store, period, n1_mode=n1_mode),
        "sellers": sellers_table(backend, store, period, n1_mode=n1_mode),
        "satisfaction": satisfaction(backend, store, period, n1_mode=n1_mode, cells=cells),
        "verbatims": latest_verbatims(backend, store, until=period.end),
        "kpis": kpi_info((*CARD_KPIS, *TREND_KPIS, *TREE_FACTORS, *SELLER_KPIS)),
    }
