"""The network dashboard's content: stores x KPIs with N-1 and target, regional subtotals,
the network total, leaders and laggards, anomalies. Pure data, shared by the page, its JSON
twin and the exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from enseigne.metrics.catalogue import CATALOGUE, KPIS, Kpi
from enseigne.metrics.compute import compute_grains
from enseigne.metrics.measures import STORE_BASED
from enseigne.metrics.periods import Period, n1_period, period_of_kind

# Every KPI but the survey ones, which have too few answers per store and month to rank.
DASHBOARD_KPIS = tuple(k.id for k in CATALOGUE if k.id not in ("csat", "nps"))
# The columns shown first; the others are one click away.
MAIN_KPIS = (
    "revenue", "tickets", "avg_basket", "upt", "footfall", "conversion_rate",
    "identified_rate", "revenue_per_m2", "new_customers", "contact_capture_rate",
)
LEADERS = 5


def latest_day(backend: object) -> dt.date | None:
    """The last day that has a ticket: where a chain that just imported its history lands."""
    t = backend.table("tickets")
    last = backend.to_pyarrow(t.sold_at.max().name("last").as_table()).column(0)[0].as_py()
    return None if last is None else last.date()


def default_period(backend: object, today: dt.date | None = None) -> Period:
    """The latest month that has data, up to its last day with data (month to date), so
    that N-1 and targets compare the same days; this month when the database is empty."""
    last = latest_day(backend)
    month = period_of_kind("month", last or today or dt.date.today())
    if last is None or last >= month.end:
        return month
    return Period(month.start, last)


def cell(kpi: Kpi, record: dict) -> dict:
    """A KPI's figures for one scope, with changes and their verdicts (good / bad)."""
    change = kpi.change(record["value"], record["n1"])
    gap = kpi.change(record["value"], record["target"])
    return {
        "value": record["value"],
        "n1": record["n1"],
        "change": change,
        "change_verdict": kpi.verdict(change),
        "target": record["target"],
        "achievement": record["achievement"],
        "target_verdict": kpi.verdict(gap),
        "rank": record["rank"],
        "rank_region": record["rank_region"],
    }


def _rows(records: list[dict]) -> dict[str, dict[str, dict]]:
    rows: dict[str, dict[str, dict]] = {}
    for record in records:
        rows.setdefault(record["scope"], {})[record["kpi"]] = cell(KPIS[record["kpi"]], record)
    return rows


def network_dashboard(
    backend: object,
    period: Period,
    *,
    like_for_like: bool = False,
    stores: Sequence[str] | None = None,
    kpis: Sequence[str] = DASHBOARD_KPIS,
    n1_mode: str = "weekday",
) -> dict:
    """Everything the dashboard shows, JSON-ready (dates as ISO strings)."""
    grains = compute_grains(
        backend, kpis, STORE_BASED, period, ("n-1", "target"),
        like_for_like=like_for_like, stores=stores, n1_mode=n1_mode,
    )
    by_store, by_region, network = (_rows(grains[g]) for g in STORE_BASED)
    info = _store_info(backend)
    store_rows = [
        {"scope": code, "name": info.get(code, {}).get("name", code),
         "region": info.get(code, {}).get("region"), "kpis": values}
        for code, values in sorted(by_store.items())
    ]
    region_rows = [
        {"scope": region, "name": region, "kpis": values,
         "stores": [r["scope"] for r in store_rows if r["region"] == region]}
        for region, values in sorted(by_region.items())
    ]
    leaders, laggards = leaders_and_laggards(store_rows)
    return {
        "period": _period_json(period),
        "n1_period": _period_json(n1_period(period, n1_mode)),
        "like_for_like": like_for_like,
        "kpis": list(kpis),
        "main_kpis": [k for k in MAIN_KPIS if k in kpis],
        "network": {"scope": "network", "kpis": network.get("network", {})},
        "regions": region_rows,
        "stores": store_rows,
        "leaders": leaders,
        "laggards": laggards,
    }


def leaders_and_laggards(store_rows: list[dict], count: int = LEADERS) -> tuple[list, list]:
    """Stores ranked on revenue against target, or against N-1 where no target is set."""
    scored = []
    for row in store_rows:
        revenue = row["kpis"].get("revenue")
        if not revenue:
            continue
        if revenue["achievement"] is not None:
            basis, score = "target", revenue["achievement"] - 1
        elif revenue["change"] is not None:
            basis, score = "n1", revenue["change"]
        else:
            continue
        scored.append({"scope": row["scope"], "name": row["name"], "region": row["region"],
                       "basis": basis, "score": score, "revenue": revenue["value"]})
    scored.sort(key=lambda s: (-s["score"], s["scope"]))
    top = scored[:count]
    bottom = [s for s in reversed(scored[-count:]) if s not in top]
    return top, bottom


def _store_info(backend: object) -> dict[str, dict]:
    s = backend.table("stores").select("store_code", "name", "region")
    return {r["store_code"]: r for r in backend.to_pyarrow(s).to_pylist()}


def _period_json(period: Period) -> dict:
    return {"kind": period.kind, "start": period.start.isoformat(),
            "end": period.end.isoformat(), "label": period.label, "days": period.days}
