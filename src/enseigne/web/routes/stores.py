"""Stores the user may see (``/stores``, the dashboard's store picker) and one store's page:
KPI cards, trend with N-1, revenue tree, sellers, satisfaction, verbatims."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from enseigne.metrics import Period, PeriodError, duckdb_backend, parse_period
from enseigne.metrics.dashboard import default_period
from enseigne.metrics.store_view import TREND_KPIS, kpi_trend, store_overview, trend_window
from enseigne.web.deps import CurrentUser, DbCursor, require_store_access, store_filter_sql
from enseigne.web.pages import page

router = APIRouter()

STORE_COLUMNS = ("store_code", "name", "region", "city", "surface_m2", "opened_on", "closed_on")

Step = Literal["day", "week", "month"]
PeriodText = Annotated[str | None, Query(
    description="2026-11-03, 2026-W47, 2026-11, 2026-Q4, 2026, FY2026 or "
    "2026-01-01..2026-03-31; default: the latest month with data (to date)",
)]
StepParam = Annotated[Step, Query(
    description="The trend's step: day (last 56 days), week (26 ISO weeks) or month (12 months)"
)]


def _fiscal_start_month(request: Request) -> int:
    return request.app.state.settings.fiscal_start_month


FiscalStart = Annotated[int, Depends(_fiscal_start_month)]


def _rows(cur: Any, sql: str, params: list[object]) -> list[dict[str, Any]]:
    cursor = cur.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@page(router, "/stores", template="stores.html",
      summary="The stores the user may see, by region then name")
def stores(user: CurrentUser, cur: DbCursor) -> dict[str, Any]:
    where, params = store_filter_sql(user)
    rows = _rows(
        cur,
        f"SELECT {', '.join(STORE_COLUMNS)} FROM stores WHERE {where} "
        "ORDER BY region NULLS LAST, name, store_code",
        params,
    )
    return {"stores": rows}


def _store_row(user: Any, cur: Any, code: str) -> dict[str, Any]:
    """The store's description: 403 outside the user's stores (checked first, so a store
    manager cannot probe which codes exist), 404 for an unknown code."""
    require_store_access(user, code)
    rows = _rows(
        cur, f"SELECT {', '.join(STORE_COLUMNS)} FROM stores WHERE store_code = ?", [code]
    )
    if not rows:
        raise HTTPException(404, f"no store {code}")
    return rows[0]


def _period(backend: object, text: str | None, fiscal_start_month: int) -> Period:
    if not text:
        return default_period(backend)
    try:
        return parse_period(text, fiscal_start_month)
    except PeriodError as exc:
        raise HTTPException(400, str(exc)) from exc


STORE_ERRORS = {400: "Unreadable period", 403: "A store outside the user's scope",
                404: "No such store"}


@page(router, "/stores/{code}", template="store.html", errors=STORE_ERRORS,
      summary="One store: KPI cards with N-1 and target, trend with N-1 (series for `step`), "
      "revenue tree (footfall x conversion x UPT x average price, LMDI), sellers' "
      "data-collection table, satisfaction and NPS, latest verbatims")
def store(
    code: str, user: CurrentUser, cur: DbCursor, fiscal_start_month: FiscalStart,
    period: PeriodText = None, step: StepParam = "day",
) -> dict[str, Any]:
    info = _store_row(user, cur, code)
    backend = duckdb_backend(cur)
    chosen = _period(backend, period, fiscal_start_month)
    return {"store": info, **store_overview(backend, code, chosen, step=step)}


@router.get(
    "/api/stores/{code}/trend",
    summary="One store's KPIs per day, ISO week or month with each point's N-1 (the store "
    "page's chart when its step changes)",
    responses={code: {"description": text} for code, text in STORE_ERRORS.items()},
)
def store_trend(
    code: str, user: CurrentUser, cur: DbCursor, fiscal_start_month: FiscalStart,
    period: PeriodText = None, step: StepParam = "day",
    kpi: Annotated[list[str] | None, Query(
        description=f"KPIs to return (repeatable; default all of {', '.join(TREND_KPIS)})"
    )] = None,
) -> dict[str, Any]:
    _store_row(user, cur, code)
    if kpi and not set(kpi) <= set(TREND_KPIS):
        raise HTTPException(400, f"trend KPIs: {', '.join(TREND_KPIS)}")
    backend = duckdb_backend(cur)
    end = _period(backend, period, fiscal_start_month).end
    start, end = trend_window(end, step)
    return kpi_trend(backend, code, kpi, start, end, step)
