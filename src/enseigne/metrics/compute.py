"""compute_kpis: KPIs for a grain and a period, with N-1, target, like-for-like and ranks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal

import ibis
import ibis.expr.types as ir
from ibis.backends.duckdb import Backend as DuckDBBackend

from enseigne.metrics.bound import run_bound
from enseigne.metrics.catalogue import Kpi, resolve
from enseigne.metrics.customer_measures import (
    CUSTOMER_MEASURES,
    customer_family,
    recruit_family,
)
from enseigne.metrics.measures import (
    GRAINS,
    ROLLED_UP,
    SCOPE_TYPE,
    STORE_BASED,
    TICKET_MEASURES,
    Frame,
    _filtered,
    footfall_family,
    one_expression,
    open_stores,
    owners,
    store_level,
    surface_family,
    ticket_family,
)
from enseigne.metrics.periods import Period, n1_period
from enseigne.metrics.satisfaction_measures import (
    SURVEY_MEASURES,
    feedback_family,
    survey_family,
)
from enseigne.metrics.targets import TARGET_GRAINS, period_targets

COMPARISONS = ("n-1", "target")

Family = Callable[[Frame, list[str]], "ir.Table | None"]

# Which family computes each measure.
FAMILY_OF: dict[str, Family] = {
    **dict.fromkeys(TICKET_MEASURES, ticket_family),
    "visitors": footfall_family,
    "surface_m2": surface_family,
    **dict.fromkeys(CUSTOMER_MEASURES, customer_family),
    "recruited": recruit_family,
    "recruited_with_contact": recruit_family,
    **dict.fromkeys(SURVEY_MEASURES, survey_family),
    "complaints_opened": feedback_family,
    "complaints_resolved": feedback_family,
    "resolution_seconds": feedback_family,
}


def _families(kpis: Sequence[Kpi]) -> dict[Family, list[str]]:
    families: dict[Family, list[str]] = {}
    for kpi in kpis:
        for measure in kpi.needs:
            needed = families.setdefault(FAMILY_OF[measure], [])
            if measure not in needed:
                needed.append(measure)
    return families


def _roll_up_sums(aggregate: ir.Table, owners: ir.Table) -> ir.Table:
    aggregate = aggregate.view()
    a = aggregate.join(owners, aggregate.scope == owners.store_code)
    measures = [c for c in aggregate.columns if c != "scope"]
    return a.group_by(a.owner.name("scope")).aggregate(**{m: a[m].sum() for m in measures})


def measure_table(frame: Frame, kpis: Sequence[Kpi]) -> ir.Table | None:
    """Each family's measures per scope, joined on the scope.

    Regions and the network are rolled up from the stores' figures: sums add up, and the
    customer rows per (store, customer) merge per (region, customer), so one scan of the
    tickets serves the three grains (and a customer still counts once per scope).
    """
    base = store_level(frame)
    to = owners(frame) if frame.grain in ROLLED_UP else None
    aggregates = []
    for family, names in _families(kpis).items():
        if family is customer_family:
            # Rolled up by the family itself: the periods' rows side by side, once.
            aggregate = customer_family(frame, tuple(names))
            if aggregate is not None:
                aggregates.append(aggregate)
            continue
        aggregate = family(base, tuple(names))
        if aggregate is not None:
            aggregates.append(aggregate if to is None else _roll_up_sums(aggregate, to))
    if not aggregates:
        return None
    scopes = ibis.union(*(a.select("scope") for a in aggregates), distinct=True)
    if frame.grain == "store":
        scopes = _trading_stores(base, scopes)
    joined = scopes
    for aggregate in aggregates:
        joined = joined.left_join(aggregate, "scope").drop("scope_right")
    return joined


def _trading_stores(frame: Frame, scopes: ir.Table) -> ir.Table:
    """The stores a store-grain table lists: those open on a day of the period, with or
    without data (0 € is a figure), and any other that sold in it. A store closed before
    the period is not listed, though its past customers still count where they belong."""
    open_now = open_stores(frame)
    listed = open_now.select(scope=open_now.store_code.cast(SCOPE_TYPE))
    t = frame.table("tickets")
    sold = _filtered(t, frame.in_days(t.sold_at, "start", "end"), frame.in_stores(t.store_code))
    sold = sold.select(scope=sold.store_code.cast(SCOPE_TYPE)).distinct()
    return ibis.union(listed, sold, distinct=True)


def kpi_table(frame: Frame, kpis: Sequence[Kpi]) -> ir.Table | None:
    """One expression: the measures per scope, then every KPI's formula over them."""
    measures = measure_table(frame, kpis)
    if measures is None:
        return None
    columns = {}
    for kpi in kpis:
        if all(m in measures.columns for m in kpi.needs):
            columns[kpi.id] = kpi.expression(measures)
        else:  # a family that does not apply at this grain (footfall of a seller)
            columns[kpi.id] = ibis.null("float64")
    return measures.select("scope", **columns)


def grain_values(
    frames: Sequence[Frame], kpis: Sequence[Kpi]
) -> list[dict[str, dict[str, int | float | None]]]:
    """For each frame, {scope: {kpi id: value}}, every frame in one query.

    Frames of one period share their store-level subqueries (``shared``), so the regions
    and the network cost a regrouping, not another scan. On
    DuckDB the query is compiled once per shape and the days are parameters.
    """

    def build() -> ir.Table | None:
        with one_expression():
            parts = []
            for index, frame in enumerate(frames):
                table = kpi_table(frame, kpis)
                if table is not None:
                    parts.append(table.mutate(frame_index=ibis.literal(index, type="int32")))
            return ibis.union(*parts, distinct=False) if parts else None

    first = frames[0]
    if isinstance(first.backend, DuckDBBackend):
        shape = (
            tuple((f.tag, f.grain) for f in frames),
            tuple(k.id for k in kpis),
            first.stores is None,
            first.late_stores,
        )
        frames = [replace(f, bound=True) for f in frames]
        values = {k: v for f in frames for k, v in f.values().items()}
        table = run_bound(first.backend, shape, build, values)
    else:
        expr = build()
        table = None if expr is None else first.backend.to_pyarrow(expr)
    result: list[dict] = [{} for _ in frames]
    for row in [] if table is None else table.to_pylist():
        result[row.pop("frame_index")][row.pop("scope")] = {
            k: _plain(v) for k, v in row.items()}
    return result


def _plain(value: object) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        # Integer sums come back as HUGEINT from DuckDB: counts stay integers.
        return int(value) if value.as_tuple().exponent == 0 else float(value)
    if isinstance(value, float) and value != value:  # NaN: no value
        return None
    return value  # type: ignore[return-value]


def like_for_like_stores(backend: object, period: Period, n1: Period) -> tuple[str, ...]:
    """Stores open on every day of both periods (closed_on is the first day closed)."""
    s = backend.table("stores")
    first, last = min(period.start, n1.start), max(period.end, n1.end)
    s = s.filter(
        s.opened_on.isnull() | (s.opened_on <= first),
        s.closed_on.isnull() | (s.closed_on > last),
    )
    return tuple(sorted(backend.to_pyarrow(s.select("store_code")).column(0).to_pylist()))


def compute_kpis(
    backend: object,
    kpis: Sequence[str] | None = None,
    grain: str = "network",
    period: Period | None = None,
    compare: Sequence[str] = (),
    *,
    like_for_like: bool = False,
    n1_mode: str = "weekday",
    stores: Sequence[str] | None = None,
) -> list[dict]:
    """Long-format records, one per scope and KPI: value, n1, target, achievement, ranks.

    ``stores`` restricts every figure to those stores (a store manager's scope);
    ``like_for_like`` further to the stores open on every day of the period and its N-1.
    """
    return compute_grains(
        backend, kpis, (grain,), period, compare,
        like_for_like=like_for_like, n1_mode=n1_mode, stores=stores,
    )[grain]


def compute_grains(
    backend: object,
    kpis: Sequence[str] | None,
    grains: Sequence[str],
    period: Period | None,
    compare: Sequence[str] = (),
    *,
    like_for_like: bool = False,
    n1_mode: str = "weekday",
    stores: Sequence[str] | None = None,
) -> dict[str, list[dict]]:
    """compute_kpis for several grains at once ({grain: records}), in one query."""
    chosen, periods = _checked(kpis, grains, period, compare, n1_mode)
    scope = None if stores is None else tuple(sorted(stores))
    if like_for_like:
        scope = _like_for_like(backend, periods["c_"], n1_mode, scope)
    # Like-for-like over the whole chain keeps most of its stores (a manager's are few).
    late = like_for_like and stores is None
    return _computed(backend, chosen, grains, periods, compare, scope, late)


def _checked(
    kpis: Sequence[str] | None, grains: Sequence[str], period: Period | None,
    compare: Sequence[str], n1_mode: str,
) -> tuple[list[Kpi], dict[str, Period]]:
    """The KPIs asked for and the query's periods by tag; ValueError on a bad request."""
    unknown = [g for g in grains if g not in GRAINS]
    if unknown:
        raise ValueError(f"maille inconnue : {', '.join(unknown)} ({', '.join(GRAINS)})")
    unknown = sorted(set(compare) - set(COMPARISONS))
    if unknown:
        raise ValueError(f"comparaison inconnue : {', '.join(unknown)}")
    if period is None:
        raise ValueError("une période est requise")
    chosen = resolve(list(kpis) if kpis else None)
    n1 = n1_period(period, n1_mode)
    return chosen, {"c_": period, **({"p_": n1} if "n-1" in compare else {})}


def _like_for_like(
    backend: object, period: Period, n1_mode: str, scope: tuple[str, ...] | None
) -> tuple[str, ...]:
    lfl = like_for_like_stores(backend, period, n1_period(period, n1_mode))
    return lfl if scope is None else tuple(s for s in lfl if s in scope)


def _computed(
    backend: object,
    chosen: list[Kpi],
    grains: Sequence[str],
    periods: dict[str, Period],
    compare: Sequence[str],
    scope: tuple[str, ...] | None,
    late_stores: bool = False,
) -> dict[str, list[dict]]:
    """{grain: records} for the stores of ``scope`` (None: all), in one query."""
    paired = tuple(periods.items())
    # Customers are counted on customer_sales (each at their first sale in a window): a
    # store's always, a region's and the network's when they hold every store (their
    # pointers know nothing of a subset). Otherwise the receipts are grouped by customer,
    # and the stores share that grouping.
    pointed = STORE_BASED if scope is None else ("store",)
    rolled = [g for g in grains if g in ROLLED_UP]
    linked = () if any(g not in pointed for g in rolled) else tuple(
        g for g in grains if g in pointed)
    frames = [
        Frame(backend, g, p, scope, tag=tag, periods=paired, late_stores=late_stores,
              linked=linked)
        for tag, p in periods.items() for g in grains
    ]
    values = dict(zip(((f.tag, f.grain) for f in frames),
                      grain_values(frames, chosen), strict=True))
    regions = _regions(backend) if "store" in grains else {}
    period = periods["c_"]
    targeted = "target" in compare and any(g in TARGET_GRAINS for g in grains)
    period_goals = period_targets(backend, chosen, period, scope) if targeted else None
    result = {}
    for grain in grains:
        current = values[("c_", grain)]
        previous = values.get(("p_", grain), {})
        targets = period_goals.at(grain) if period_goals else {}
        records = [
            _record(scope_id, kpi, row, previous, targets)
            for scope_id, row in sorted(current.items(), key=lambda item: str(item[0]))
            for kpi in chosen
        ]
        _rank(records, chosen, regions if grain == "store" else {})
        result[grain] = records
    return result


def _record(
    scope: str,
    kpi: Kpi,
    values: dict,
    previous: dict,
    targets: dict,
) -> dict:
    value = values.get(kpi.id)
    target = targets.get((scope, kpi.id))
    return {
        "scope": scope,
        "kpi": kpi.id,
        "value": value,
        "n1": previous.get(scope, {}).get(kpi.id),
        "target": target,
        "achievement": value / target if value is not None and target else None,
        "rank": None,
        "rank_region": None,
    }


def _regions(backend: object) -> dict[str, str | None]:
    s = backend.table("stores").select("store_code", "region")
    return {r["store_code"]: r["region"] for r in backend.to_pyarrow(s).to_pylist()}


def _rank(records: list[dict], kpis: Sequence[Kpi], regions: dict[str, str | None]) -> None:
    """Rank 1 is the best in the KPI's better direction; equal values share a rank."""
    by_kpi: dict[str, list[dict]] = {}
    for record in records:
        if record["value"] is not None:
            by_kpi.setdefault(record["kpi"], []).append(record)
    for kpi in kpis:
        if kpi.better is None:
            continue
        rows = by_kpi.get(kpi.id, [])
        if len(rows) < 2 and rows and rows[0]["scope"] == "network":
            continue
        _assign(rows, "rank", kpi.better)
        if regions:
            by_region: dict[str | None, list[dict]] = {}
            for row in rows:
                by_region.setdefault(regions.get(row["scope"]), []).append(row)
            for region, members in by_region.items():
                if region is not None:
                    _assign(members, "rank_region", kpi.better)


def _assign(rows: list[dict], key: str, better: str) -> None:
    ordered = sorted(rows, key=lambda r: r["value"], reverse=better == "up")
    previous_value, rank = object(), 0
    for position, row in enumerate(ordered, start=1):
        if row["value"] != previous_value:
            rank, previous_value = position, row["value"]
        row[key] = rank

