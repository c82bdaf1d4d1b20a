"""The JSON shape of ``GET /api/dashboard``, for OpenAPI (the page renders the same data)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Number = int | float | None
Verdict = Literal["good", "bad"] | None


class Cell(BaseModel):
    """A KPI for one scope. Rates are fractions (0.25 = 25 %)."""

    value: Number
    n1: Number = Field(description="The same days a year earlier (364 days back)")
    change: Number = Field(
        description="Against N-1: relative (0.1 = +10 %) for amounts and counts, a "
        "difference for rates (0.012 = +1.2 points), see the column's change_kind")
    change_verdict: Verdict = Field(description="good / bad in the KPI's better direction")
    target: Number
    achievement: Number = Field(description="value / target")
    target_verdict: Verdict
    rank: int | None = Field(description="1 = best among the scopes of the same level")
    rank_region: int | None = Field(description="Stores: rank within their region")


class PeriodOut(BaseModel):
    kind: str
    start: dt.date
    end: dt.date
    label: str
    days: int


class Column(BaseModel):
    id: str
    label: str
    definition: str
    unit: str
    better: Literal["up", "down"] | None
    change_kind: Literal["percent", "points", "number"]


class Scope(BaseModel):
    restricted: bool = Field(description="True for a store manager: totals are over their "
                             "stores only")
    stores: list[str] | None
    label: str
    store_count: int


class NetworkRow(BaseModel):
    scope: str
    name: str
    kpis: dict[str, Cell]


class RegionRow(NetworkRow):
    label: str
    stores: list[str]


class StoreRow(NetworkRow):
    region: str | None


class Ranked(BaseModel):
    scope: str
    name: str
    region: str | None
    basis: Literal["target", "n1"] = Field(description="Revenue against target, else N-1")
    score: float = Field(description="achievement - 1, or the change against N-1")
    revenue: Number


class AnomalyOut(BaseModel):
    store_code: str
    store_name: str
    kpi: str
    kpi_label: str
    unit: str
    grain: Literal["day", "week"]
    date: dt.date = Field(description="The day, or the Monday of the ISO week")
    value: int | float
    expected: float
    low: float
    high: float
    score: float = Field(description="Distance from the expected value, in robust sigmas")
    direction: Literal["above", "below"]


class KindOption(BaseModel):
    id: str
    label: str


class ColumnChoice(Column):
    checked: bool


class Picker(BaseModel):
    kind: str
    kinds: list[KindOption]
    values: dict[str, str]
    start: dt.date
    end: dt.date
    fiscal_start_month: int
    columns: list[ColumnChoice] = Field(description="The KPI columns one can choose")


class Navigation(BaseModel):
    previous: str
    next: str | None
    previous_label: str
    next_label: str


class Exports(BaseModel):
    xlsx: str
    csv: str


class Dashboard(BaseModel):
    """Stores x KPIs with N-1 and target, regional subtotals, the network total, leaders,
    laggards and anomalies. A store manager's network total and regions cover their
    stores only."""

    error: str | None = None
    period: PeriodOut = Field(description="The days computed (cut at the last day with data)")
    n1_period: PeriodOut
    period_title: str
    to_date: bool = Field(description="The period asked for runs past the last day with "
                          "data and was cut there")
    latest_day: dt.date | None
    like_for_like: bool
    kpis: list[str] = Field(description="KPIs computed")
    columns: list[Column] = Field(description="KPIs shown, in order")
    scope: Scope
    network: NetworkRow
    regions: list[RegionRow]
    stores: list[StoreRow]
    leaders: list[Ranked]
    laggards: list[Ranked]
    anomalies: list[AnomalyOut]
    anomaly_days: int
    picker: Picker
    navigation: Navigation
    exports: Exports
