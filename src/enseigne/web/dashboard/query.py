"""What the dashboard is asked for: the period, like-for-like, the KPI columns.

Query parameters arrive as text and are read here, so that a bad value is a 400 with a
message in the reader's language rather than a validation error in FastAPI's words:

- ``period``: ``2026-11-03``, ``2026-W47`` (or ``2026-S47``), ``2026-11``, ``2026-Q4`` (or
  ``2026-T4``), ``2026``, ``FY2026``, or ``2026-01-01..2026-03-31``;
- ``from`` and ``to``: a custom range (ISO dates);
- ``kind``: the picker's kind; given with a ``period`` of another kind, the period of that
  kind containing its first day (the form sends both when only the kind was changed);
- ``lfl``: like-for-like; ``kpis``: the columns (repeated, or comma-separated; ``all``).

The period computed is the one asked for, cut at the last day that has data when it runs
past it ("to date"): November on 22 November compares 1-22 November with the same days of
last year and with 22 days of target, not with a whole month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from enseigne.metrics import KPIS, Period, PeriodError, parse_period, period_of_kind
from enseigne.metrics.dashboard import DASHBOARD_KPIS, MAIN_KPIS
from enseigne.metrics.periods import fiscal_year

PICKER_KINDS = ("day", "week", "month", "quarter", "year", "custom")
DEFAULT_KIND = "month"
# The column choice, main KPIs first, then the others in catalogue order.
COLUMN_ORDER = (*MAIN_KPIS, *(k for k in KPIS if k not in MAIN_KPIS))
ALL = "all"
_TRUE = ("1", "true", "on", "yes", "oui")
_FALSE = ("", "0", "false", "off", "no", "non")


class QueryError(ValueError):
    """A parameter that cannot be read; ``key`` names its message in the catalogue."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(f"{key}: {values}")
        self.key = key
        self.values = values


@dataclass(frozen=True)
class DashboardQuery:
    kind: str  # the picker's kind
    requested: Period  # the period asked for (a whole month, week...)
    period: Period  # what is computed: ``requested`` cut at the last day with data
    like_for_like: bool = False
    columns: tuple[str, ...] = MAIN_KPIS  # KPI ids shown, in column order
    chosen_columns: bool = False  # columns given by the user (kept in links)
    fiscal_start_month: int = 1
    latest: dt.date | None = field(default=None, compare=False)

    @property
    def to_date(self) -> bool:
        return self.period != self.requested

    @property
    def computed_kpis(self) -> tuple[str, ...]:
        """The columns, plus revenue (leaders and laggards are ranked on it)."""
        return self.columns if "revenue" in self.columns else ("revenue", *self.columns)


def parse_query(
    *,
    period: str | None = None,
    kind: str | None = None,
    start: str | None = None,
    end: str | None = None,
    lfl: str | None = None,
    kpis: Sequence[str] | None = None,
    latest: dt.date | None = None,
    today: dt.date | None = None,
    fiscal_start_month: int = 1,
) -> DashboardQuery:
    """The dashboard query for these parameters (``latest``: the last day with data)."""
    kind = (kind or "").strip().lower() or None
    if kind is not None and kind not in PICKER_KINDS:
        raise QueryError("dashboard.error.kind", kind=kind)
    requested, kind = _requested(period, kind, start, end, latest or today, fiscal_start_month)
    columns = _columns(kpis)
    return DashboardQuery(
        kind=kind, requested=requested, period=_to_date(requested, latest),
        like_for_like=_flag(lfl), columns=columns or MAIN_KPIS,
        chosen_columns=bool(columns) and columns != MAIN_KPIS,
        fiscal_start_month=fiscal_start_month, latest=latest,
    )


def _requested(
    text: str | None, kind: str | None, start: str | None, end: str | None,
    anchor: dt.date | None, fiscal: int,
) -> tuple[Period, str]:
    if kind == "custom" or (kind is None and (start or end)):
        return _range(start, end), "custom"
    if text and text.strip():
        asked = _parse(text, fiscal)
        if kind is not None and kind != asked.kind:
            asked = period_of_kind(kind, asked.start, fiscal)
        return asked, asked.kind
    kind = kind or DEFAULT_KIND
    return period_of_kind(kind, anchor or dt.date.today(), fiscal), kind


def _parse(text: str, fiscal: int) -> Period:
    # French spellings: T4 (trimestre), S47 (semaine).
    value = text.strip().upper().replace("-T", "-Q").replace("-S", "-W")
    try:
        return parse_period(value, fiscal)
    except PeriodError as exc:
        raise QueryError("dashboard.error.period", text=text.strip()) from exc


def _range(start: str | None, end: str | None) -> Period:
    if not start or not end:
        raise QueryError("dashboard.error.range_missing")
    days = []
    for text in (start, end):
        try:
            days.append(dt.date.fromisoformat(text.strip()))
        except ValueError as exc:
            raise QueryError("dashboard.error.date", text=text.strip()) from exc
    if days[1] < days[0]:
        raise QueryError("dashboard.error.range_order")
    return Period(days[0], days[1])


def _to_date(requested: Period, latest: dt.date | None) -> Period:
    if latest is not None and requested.start <= latest < requested.end:
        return Period(requested.start, latest)
    return requested


def _flag(text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise QueryError("dashboard.error.flag", text=text)


def _columns(kpis: Sequence[str] | None) -> tuple[str, ...]:
    wanted = {k.strip() for item in kpis or () for k in item.split(",") if k.strip()}
    if ALL in wanted:
        wanted = (wanted - {ALL}) | set(DASHBOARD_KPIS)
    unknown = sorted(wanted - set(KPIS))
    if unknown:
        raise QueryError("dashboard.error.kpi", kpis=", ".join(unknown))
    return tuple(k for k in COLUMN_ORDER if k in wanted)


# --- links: previous / next period, the picker's value for each kind -------------------


def shifted(query: DashboardQuery, step: int) -> Period:
    """The period of the same kind just before (``step=-1``) or after (``+1``)."""
    asked = query.requested
    if query.kind == "custom":
        return Period(asked.start + dt.timedelta(days=step * asked.days),
                      asked.end + dt.timedelta(days=step * asked.days))
    if query.kind == "year":
        # Keeps the year's first month: a calendar year, or a fiscal year.
        return fiscal_year(asked.start.year + step, asked.start.month)
    day = asked.start - dt.timedelta(days=1) if step < 0 else asked.end + dt.timedelta(days=1)
    return period_of_kind(query.kind, day, query.fiscal_start_month)


def link(query: DashboardQuery, period: Period, kind: str | None = None) -> str:
    """``/?...`` showing ``period`` with the query's other choices."""
    params: list[tuple[str, str]] = []
    if (kind or query.kind) == "custom":
        params += [("from", period.start.isoformat()), ("to", period.end.isoformat())]
    else:
        params.append(("period", period.label))
    params += extra_params(query)
    return "/?" + urlencode(params)


def extra_params(query: DashboardQuery) -> list[tuple[str, str]]:
    """The parameters besides the period: like-for-like, chosen columns."""
    params = [("lfl", "1")] if query.like_for_like else []
    if query.chosen_columns:
        params.append(("kpis", ",".join(query.columns)))
    return params


def query_string(query: DashboardQuery) -> str:
    """This query's own parameters (for the export links)."""
    return link(query, query.requested)[2:]


def picker_values(query: DashboardQuery) -> dict[str, str]:
    """The picker's value for each kind, around the first day shown: switching the kind
    keeps the reader in the same place."""
    day = query.requested.start
    values = {
        kind: period_of_kind(kind, day, query.fiscal_start_month).label
        for kind in PICKER_KINDS if kind != "custom"
    }
    values["custom"] = f"{query.requested.start.isoformat()}..{query.requested.end.isoformat()}"
    return values


def navigation(query: DashboardQuery, today: dt.date) -> dict[str, str | None]:
    """Links to the previous and next periods; none past the last day with data."""
    before, after = shifted(query, -1), shifted(query, +1)
    return {
        "previous": link(query, before),
        "next": link(query, after) if after.start <= (query.latest or today) else None,
        "previous_label": before.label,
        "next_label": after.label,
    }
