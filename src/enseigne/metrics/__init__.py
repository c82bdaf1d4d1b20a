"""KPIs: one catalogue, pure Ibis expressions, the same code on DuckDB and Spark."""

from enseigne.metrics.backends import duckdb_backend
from enseigne.metrics.catalogue import CATALOGUE, KPIS, Kpi, UnknownKpiError, resolve
from enseigne.metrics.compute import COMPARISONS, compute_kpis, kpi_table, like_for_like_stores
from enseigne.metrics.measures import GRAINS
from enseigne.metrics.periods import (
    Period,
    PeriodError,
    n1_period,
    parse_period,
    period_of_kind,
)

__all__ = [
    "CATALOGUE",
    "COMPARISONS",
    "GRAINS",
    "KPIS",
    "Kpi",
    "Period",
    "PeriodError",
    "UnknownKpiError",
    "compute_kpis",
    "duckdb_backend",
    "kpi_table",
    "like_for_like_stores",
    "n1_period",
    "parse_period",
    "period_of_kind",
    "resolve",
]
