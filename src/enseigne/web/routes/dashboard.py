"""The network dashboard (Tableau de bord Réseau): ``/``, its JSON twin ``/api/dashboard``
and the table's exports ``/dashboard.xlsx`` and ``/dashboard.csv`` (also under ``/api``).

All of them take the same query parameters and build the same context: the KPIs of the
user's stores (a store manager sees theirs only, totals included) from
``network_dashboard`` (``compute_kpis`` at the store, region and network grains), cached per
data version (``enseigne.web.cache``). A parameter that cannot be read answers 400: the
page with its period picker and the message, or ``{"detail": ...}`` under ``/api``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import Response

from enseigne.web.dashboard import export
from enseigne.web.dashboard.content import DashboardData, build_context, picker
from enseigne.web.dashboard.query import QueryError, parse_query
from enseigne.web.dashboard.schema import Dashboard
from enseigne.web.deps import CurrentUser, DbCursor, is_api, scope_stores
from enseigne.web.i18n import request_lang, translate
from enseigne.web.pages import page
from enseigne.web.templating import render
from enseigne.web.users import User
from enseigne.web.xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE

router = APIRouter()


@dataclass(frozen=True)
class DashboardParams:
    period: str | None
    kind: str | None
    start: str | None
    end: str | None
    lfl: str | None
    kpis: list[str] | None


def dashboard_params(
    period: Annotated[str | None, Query(
        description="2026-11-03, 2026-W47, 2026-11, 2026-Q4, 2026, FY2026 (fiscal year) or "
        "2026-01-01..2026-03-31; default: the latest month with data, to date",
        examples=["2026-11"])] = None,
    kind: Annotated[str | None, Query(
        description="day, week, month, quarter, year or custom: with a period of another "
        "kind, the period of this kind containing its first day")] = None,
    start: Annotated[str | None, Query(
        alias="from", description="First day of a custom range (ISO date)")] = None,
    end: Annotated[str | None, Query(
        alias="to", description="Last day of a custom range (ISO date)")] = None,
    lfl: Annotated[str | None, Query(
        description="1: like-for-like, only the stores open on every day of the period and "
        "of its N-1")] = None,
    kpis: Annotated[list[str] | None, Query(
        description="KPI ids shown (repeated or comma-separated; `all`); default: the main "
        "ones")] = None,
) -> DashboardParams:
    return DashboardParams(period, kind, start, end, lfl, kpis)


Params = Annotated[DashboardParams, Depends(dashboard_params)]


def this_request(request: Request) -> Request:
    return request


# ``@page`` adds its own Request parameter to the HTML endpoint, and FastAPI fills only one
# parameter annotated Request: the view gets its own through a dependency.
PageRequest = Annotated[Request, Depends(this_request)]


def dashboard_context(
    request: Request, user: User, cur: Any, params: DashboardParams, lang: str
) -> dict[str, Any]:
    """The page's context for these parameters (QueryError when one cannot be read)."""
    data = DashboardData(request.app, cur)
    today = dt.date.today()
    query = parse_query(
        period=params.period, kind=params.kind, start=params.start, end=params.end,
        lfl=params.lfl, kpis=params.kpis, latest=data.latest_day(), today=today,
        fiscal_start_month=request.app.state.settings.fiscal_start_month,
    )
    stores = scope_stores(user)
    return build_context(
        query, data.figures(query, stores), data.anomalies(query, stores), stores, lang, today
    )


def _message(exc: QueryError, lang: str) -> str:
    return translate(exc.key, lang, **exc.values)


def _bad_request(
    request: Request, cur: Any, params: DashboardParams, exc: QueryError, lang: str
) -> Response:
    """The page with its picker (on the default period) and what was wrong."""
    message = _message(exc, lang)
    if is_api(request):
        raise HTTPException(400, message)
    data = DashboardData(request.app, cur)
    fallback = parse_query(
        latest=data.latest_day(), today=dt.date.today(),
        fiscal_start_month=request.app.state.settings.fiscal_start_month,
    )
    form = picker(fallback, lang)
    # The reader's own text stays in the field, to be corrected.
    if params.kind in form["values"]:
        form["kind"] = params.kind
    if params.period and form["kind"] != "custom":
        form["values"] = {**form["values"], form["kind"]: params.period}
    return render(request, "dashboard.html",
                  {"error": message, "picker": form, "like_for_like": False}, status_code=400)


BAD_QUERY = {400: {"description": "Unreadable period or parameters"}}


@page(router, "/", api="/api/dashboard", template="dashboard.html", response_model=Dashboard,
      errors={400: "Unreadable period or parameters"},
      summary="Network dashboard: stores x KPIs against N-1 and target, regional subtotals, "
      "network total, leaders, laggards and anomalies")
def dashboard(
    request: PageRequest, user: CurrentUser, cur: DbCursor, params: Params
) -> dict[str, Any] | Response:
    lang = request_lang(request)
    try:
        return dashboard_context(request, user, cur, params, lang)
    except QueryError as exc:
        return _bad_request(request, cur, params, exc, lang)


def _download(content: bytes, media_type: str, name: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _export_context(request: Request, user: User, cur: Any, params: DashboardParams,
                    lang: str) -> dict[str, Any]:
    try:
        return dashboard_context(request, user, cur, params, lang)
    except QueryError as exc:
        raise HTTPException(400, _message(exc, lang)) from exc


XLSX_DOC = {"summary": "The dashboard table as an XLSX workbook (same parameters as "
            "/api/dashboard; headers in French, or English with ?lang=en)",
            "response_class": Response,
            "responses": {200: {"content": {XLSX_MEDIA_TYPE: {}}}, **BAD_QUERY}}
CSV_DOC = {"summary": "The dashboard table as CSV: `;` and decimal comma in French, `,` and "
           "`.` with ?lang=en; UTF-8 with BOM; rates in percent",
           "response_class": Response,
           "responses": {200: {"content": {"text/csv": {}}}, **BAD_QUERY}}


@router.get("/api/dashboard.xlsx", **XLSX_DOC)
@router.get("/dashboard.xlsx", include_in_schema=False)
def dashboard_xlsx(request: Request, user: CurrentUser, cur: DbCursor, params: Params) -> Response:
    lang = request_lang(request)
    context = _export_context(request, user, cur, params, lang)
    return _download(export.xlsx_bytes(context, lang), XLSX_MEDIA_TYPE,
                     export.filename(context, lang, "xlsx"))


@router.get("/api/dashboard.csv", **CSV_DOC)
@router.get("/dashboard.csv", include_in_schema=False)
def dashboard_csv(request: Request, user: CurrentUser, cur: DbCursor, params: Params) -> Response:
    lang = request_lang(request)
    context = _export_context(request, user, cur, params, lang)
    return _download(export.csv_bytes(context, lang), "text/csv; charset=utf-8",
                     export.filename(context, lang, "csv"))
