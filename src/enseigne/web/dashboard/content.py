"""The dashboard's content for one request: figures (cached), anomalies, labels, links.

``DashboardData`` reads through the request's cursor and keeps the expensive parts (the
KPIs of every scope, the anomaly scan) in the application's result cache, keyed by the data
version, the period, like-for-like, the KPIs and the user's store scope. ``build_context``
turns them into what the page, its JSON twin and the exports show, in the reader's language.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import duckdb
from babel.dates import format_skeleton

from enseigne.metrics import KPIS, duckdb_backend
from enseigne.metrics.anomalies import detect_anomalies
from enseigne.metrics.dashboard import latest_day, network_dashboard
from enseigne.web.cache import app_cache, data_version
from enseigne.web.dashboard.query import (
    COLUMN_ORDER,
    PICKER_KINDS,
    DashboardQuery,
    navigation,
    picker_values,
    query_string,
)
from enseigne.web.formats import date as format_date
from enseigne.web.formats import locale_for
from enseigne.web.i18n import translate

T = TypeVar("T")
ANOMALY_LIMIT = 20
ANOMALY_DAYS = 28
Stores = tuple[str, ...] | None


class DashboardData:
    """The figures behind the dashboard, as this request's snapshot of the data sees them."""

    def __init__(self, app: Any, cur: duckdb.DuckDBPyConnection) -> None:
        self.cache = app_cache(app)
        self.cur = cur
        self.version = data_version(cur, self.cache)
        self._backend: Any = None

    @property
    def backend(self) -> Any:
        if self._backend is None:
            self._backend = duckdb_backend(self.cur)
        return self._backend

    def _cached(self, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        return self.cache.get_or_compute((*key, self.version), compute)

    def latest_day(self) -> dt.date | None:
        return self._cached(("latest_day",), lambda: latest_day(self.backend))

    def figures(self, query: DashboardQuery, stores: Stores) -> dict[str, Any]:
        """``network_dashboard``'s dict: shared between requests, never to be modified.
        One query per like-for-like variant: both in one query stops DuckDB 1.5.5 and
        1.5.6 at 100 million lines (every thread waits, none works)."""
        return self._cached(
            ("dashboard", query.period, query.like_for_like, query.computed_kpis, stores),
            lambda: network_dashboard(
                self.backend, query.period, like_for_like=query.like_for_like,
                stores=stores, kpis=query.computed_kpis,
            ),
        )

    def anomalies(self, query: DashboardQuery, stores: Stores) -> list[dict[str, Any]]:
        """The strongest anomalies of the ``ANOMALY_DAYS`` days up to the period's end."""
        end = query.period.end

        def scan() -> list[dict[str, Any]]:
            found = detect_anomalies(
                self.cur, end, stores=stores, days=ANOMALY_DAYS, limit=ANOMALY_LIMIT
            )
            return [a.to_dict() for a in found]

        return self._cached(("anomalies", end, stores), scan)


def collation_key(text: str | None) -> str:
    """Sort "Île-de-France" with the I's, as a French reader expects."""
    plain = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


def kpi_column(kpi_id: str, lang: str) -> dict[str, Any]:
    kpi = KPIS[kpi_id]
    return {"id": kpi.id, "label": kpi.label(lang), "definition": kpi.definition(lang),
            "unit": kpi.unit, "better": kpi.better, "change_kind": kpi.change_kind}


def build_context(
    query: DashboardQuery,
    figures: dict[str, Any],
    anomalies: list[dict[str, Any]],
    stores: Stores,
    lang: str,
    today: dt.date,
) -> dict[str, Any]:
    """The page's context and the JSON twin's body."""
    regions, store_rows = _grouped(figures, stores is not None, lang)
    names = {row["scope"]: row["name"] for row in store_rows}
    scope = {
        "restricted": stores is not None,
        "stores": list(stores) if stores is not None else None,
        "label": translate("dashboard.scope.mine" if stores is not None
                           else "dashboard.scope.network", lang),
        "store_count": len(store_rows),
    }
    exports = query_string(query)
    return {
        "error": None,
        "period": _dated(figures["period"]),
        "n1_period": _dated(figures["n1_period"]),
        "period_title": period_title(query, lang),
        "to_date": query.to_date,
        "latest_day": query.latest,
        "like_for_like": figures["like_for_like"],
        "kpis": figures["kpis"],
        "columns": [kpi_column(k, lang) for k in query.columns],
        "scope": scope,
        "network": {**figures["network"], "name": scope["label"]},
        "regions": regions,
        "stores": store_rows,
        "leaders": figures["leaders"],
        "laggards": figures["laggards"],
        "anomalies": [_anomaly(a, names, lang) for a in anomalies],
        "anomaly_days": ANOMALY_DAYS,
        "picker": picker(query, lang),
        "navigation": navigation(query, today),
        "exports": {"xlsx": f"/dashboard.xlsx?{exports}", "csv": f"/dashboard.csv?{exports}"},
    }


def _dated(period: dict[str, Any]) -> dict[str, Any]:
    """A period with date objects (the page formats them; JSON writes them ISO)."""
    return {**period, "start": dt.date.fromisoformat(period["start"]),
            "end": dt.date.fromisoformat(period["end"])}


def _grouped(
    figures: dict[str, Any], restricted: bool, lang: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Regions in reading order, and the stores in the same order (each region's stores,
    by code; the stores without a region, the web, last)."""
    total_key = "dashboard.region_total_mine" if restricted else "dashboard.region_total"
    regions = sorted(figures["regions"], key=lambda r: collation_key(r["scope"]))
    position = {r["scope"]: i for i, r in enumerate(regions)}
    stores = sorted(
        figures["stores"],
        key=lambda s: (position.get(s["region"], len(regions)), s["scope"]),
    )
    labelled = [{**r, "label": translate(total_key, lang, region=r["name"])} for r in regions]
    return labelled, stores


def _anomaly(found: dict[str, Any], names: dict[str, str], lang: str) -> dict[str, Any]:
    kpi = KPIS[found["kpi"]]
    return {**found, "date": dt.date.fromisoformat(str(found["date"])),
            "store_name": names.get(found["store_code"], found["store_code"]),
            "kpi_label": kpi.label(lang), "unit": kpi.unit}


def picker(query: DashboardQuery, lang: str) -> dict[str, Any]:
    kinds = [
        {"id": kind, "label": translate(_kind_key(kind, query.fiscal_start_month), lang)}
        for kind in PICKER_KINDS
    ]
    return {
        "kind": query.kind,
        "kinds": kinds,
        "values": picker_values(query),
        "start": query.requested.start.isoformat(),
        "end": query.requested.end.isoformat(),
        "fiscal_start_month": query.fiscal_start_month,
        "columns": [{**kpi_column(k, lang), "checked": k in query.columns} for k in COLUMN_ORDER],
    }


def _kind_key(kind: str, fiscal_start_month: int) -> str:
    if kind == "year" and fiscal_start_month != 1:
        return "dashboard.kind.fiscal_year"
    return f"dashboard.kind.{kind}"


def period_title(query: DashboardQuery, lang: str) -> str:
    """"Novembre 2026", "Semaine 47 de 2026", "T4 2026", "Exercice 2026-2027"..."""
    asked, kind = query.requested, query.kind
    start = asked.start
    if kind == "day":
        return format_skeleton("yMMMMEEEEd", start, locale=locale_for(lang))
    if kind == "week":
        year, week, _ = start.isocalendar()
        return translate("dashboard.title.week", lang, week=week, year=year)
    if kind == "month":
        text = format_skeleton("yMMMM", start, locale=locale_for(lang))
        return text[:1].upper() + text[1:]
    if kind == "quarter":
        return translate("dashboard.title.quarter", lang, q=(start.month - 1) // 3 + 1,
                         year=start.year)
    if kind == "year" and start.month != 1:
        return translate("dashboard.title.fiscal_year", lang, first=start.year,
                         last=asked.end.year)
    if kind == "year":
        return str(start.year)
    return translate("dashboard.title.range", lang, start=format_date(asked.start, lang),
                     end=format_date(asked.end, lang))
