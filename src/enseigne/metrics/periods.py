"""Periods (day, ISO week, month, quarter, year, fiscal year, custom) and their N-1."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

KINDS = ("day", "week", "month", "quarter", "year", "custom")

# A year back, weekday-aligned: 52 weeks.
N1_SHIFT = dt.timedelta(days=364)


class PeriodError(ValueError):
    """A period text or range that cannot be understood."""


@dataclass(frozen=True)
class Period:
    """A set of calendar days [start, end], both included."""

    start: dt.date
    end: dt.date
    kind: str = "custom"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(f"période vide : {self.start} > {self.end}")
        if self.kind not in KINDS:
            raise PeriodError(f"type de période inconnu : {self.kind}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """The canonical text of the period, the one `parse_period` reads back."""
        s = self.start
        if self.kind == "day":
            return s.isoformat()
        if self.kind == "week":
            year, week, _ = s.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{s.year}-{s.month:02d}"
        if self.kind == "quarter":
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(s.year) if s.month == 1 else f"FY{s.year}"
        return f"{s.isoformat()}..{self.end.isoformat()}"

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def month(year: int, month_no: int) -> Period:
    return Period(dt.date(year, month_no, 1), _month_end(year, month_no), "month")


def iso_week(year: int, week: int) -> Period:
    start = dt.date.fromisocalendar(year, week, 1)
    return Period(start, start + dt.timedelta(days=6), "week")


def quarter(year: int, q: int) -> Period:
    return Period(dt.date(year, 3 * q - 2, 1), _month_end(year, 3 * q), "quarter")


def fiscal_year(year: int, start_month: int = 1) -> Period:
    """The fiscal year named by the calendar year it starts in."""
    end_year = year if start_month == 1 else year + 1
    end_month = 12 if start_month == 1 else start_month - 1
    return Period(dt.date(year, start_month, 1), _month_end(end_year, end_month), "year")


_FORMS = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "day"),
    (re.compile(r"(\d{4})-W(\d{1,2})"), "week"),
    (re.compile(r"(\d{4})-Q([1-4])"), "quarter"),
    (re.compile(r"(\d{4})-(\d{2})"), "month"),
    (re.compile(r"(?:FY)?(\d{4})"), "year"),
    (re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})"), "custom"),
)


def parse_period(text: str, fiscal_start_month: int = 1) -> Period:
    """Read "2026-11-03", "2026-W47", "2026-11", "2026-Q4", "2026", "FY2026" or "A..B".

    A plain year is the calendar year; "FY2026" is the fiscal year starting in 2026.
    """
    value = text.strip().upper()
    for pattern, kind in _FORMS:
        match = pattern.fullmatch(value)
        if match:
            try:
                return _build(kind, match.groups(), value, fiscal_start_month)
            except ValueError as exc:
                raise PeriodError(f"période invalide : {text!r} ({exc})") from exc
    raise PeriodError(
        f"période illisible : {text!r} (attendu 2026-11-03, 2026-W47, 2026-11, 2026-Q4, "
        "2026, FY2026 ou 2026-01-01..2026-03-31)"
    )


def _build(kind: str, parts: tuple[str, ...], value: str, fiscal_start_month: int) -> Period:
    if kind == "custom":
        return Period(dt.date.fromisoformat(parts[0]), dt.date.fromisoformat(parts[1]))
    numbers = [int(p) for p in parts]
    if kind == "day":
        day = dt.date(*numbers)
        return Period(day, day, "day")
    if kind == "week":
        return iso_week(*numbers)
    if kind == "quarter":
        return quarter(*numbers)
    if kind == "month":
        return month(*numbers)
    return fiscal_year(numbers[0], fiscal_start_month if value.startswith("FY") else 1)


def n1_period(period: Period, mode: str = "weekday") -> Period:
    """The comparison period a year earlier.

    ``weekday``: 364 days back, so each day meets the same weekday (for ISO weeks: week N of
    the previous ISO year, and week 52 for a week 53 that year lacks). ``calendar``: the same
    calendar dates (29 February falls back to the 28th).
    """
    if mode == "calendar":
        return Period(_year_back(period.start), _year_back(period.end), period.kind)
    if mode != "weekday":
        raise PeriodError(f"comparaison N-1 inconnue : {mode} (weekday ou calendar)")
    if period.kind == "week":
        year, week, _ = period.start.isocalendar()
        last_week = dt.date(year - 1, 12, 28).isocalendar()[1]
        return iso_week(year - 1, min(week, last_week))
    return Period(period.start - N1_SHIFT, period.end - N1_SHIFT, period.kind)


def _year_back(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def period_of_kind(kind: str, day: dt.date, fiscal_start_month: int = 1) -> Period:
    """The period of a given kind that contains ``day`` (the dashboard's period picker)."""
    if kind == "day":
        return Period(day, day, "day")
    if kind == "week":
        year, week, _ = day.isocalendar()
        return iso_week(year, week)
    if kind == "month":
        return month(day.year, day.month)
    if kind == "quarter":
        return quarter(day.year, (day.month - 1) // 3 + 1)
    if kind == "year":
        start_year = day.year if day.month >= fiscal_start_month else day.year - 1
        return fiscal_year(start_year, fiscal_start_month)
    raise PeriodError(f"type de période inconnu : {kind}")


def period_from_range(start: dt.date, end: dt.date, fiscal_start_month: int = 1) -> Period:
    """The range as a period, recognised as a day, ISO week, month, quarter or year when it
    is exactly one (so that a week's N-1 is the same ISO week of last year)."""
    custom = Period(start, end)
    for kind in ("day", "week", "month", "quarter", "year"):
        candidate = period_of_kind(kind, start, fiscal_start_month)
        if candidate.start == start and candidate.end == end:
            return candidate
    return custom
