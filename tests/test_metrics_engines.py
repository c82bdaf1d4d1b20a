"""Every KPI, at every grain, gives the same figures on DuckDB and on Spark over the lake."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from enseigne.db import connect
from enseigne.demo import build_demo
from enseigne.lake import export_lake
from enseigne.metrics import GRAINS, KPIS, compute_kpis, duckdb_backend, parse_period
from enseigne.metrics.backends import spark_backend

TODAY = dt.date(2026, 3, 31)
MONTH = "2026-02"  # its N-1 (shifted 364 days) and trailing years lie inside the history
FIELDS = ("value", "n1", "target", "achievement", "rank", "rank_region")

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path_factory.mktemp("engines") / "demo.duckdb"
    con = connect(path)
    build_demo(con, stores=6, customers=2000, years=2, seed=11, today=TODAY)
    yield con
    con.close()


@pytest.fixture(scope="module")
def engines(spark: Any, source: duckdb.DuckDBPyConnection, tmp_path_factory) -> dict[str, Any]:
    lake: Path = tmp_path_factory.mktemp("engines") / "lake"
    export_lake(source, lake)
    return {"duckdb": duckdb_backend(source), "spark": spark_backend(lake)}


def same(duck: object, spark: object) -> bool:
    """Counts and ranks exactly (and of the same type), floats to 1e-9 relative."""
    if isinstance(duck, float) and isinstance(spark, float):
        return math.isclose(duck, spark, rel_tol=1e-9, abs_tol=1e-12)
    return type(duck) is type(spark) and duck == spark


def differences(duck_rows: list[dict], spark_rows: list[dict]) -> list[str]:
    by_key = {(r["scope"], r["kpi"]): r for r in spark_rows}
    found = [f"{key} missing on spark" for key in
             {(r["scope"], r["kpi"]) for r in duck_rows} - set(by_key)]
    found += [f"{key} only on spark" for key in
              set(by_key) - {(r["scope"], r["kpi"]) for r in duck_rows}]
    for row in duck_rows:
        other = by_key.get((row["scope"], row["kpi"]))
        if other is None:
            continue
        found += [
            f"{row['scope']} {row['kpi']} {name}: duckdb {row[name]!r} spark {other[name]!r}"
            for name in FIELDS if not same(row[name], other[name])
        ]
    return found


@pytest.mark.parametrize("grain", GRAINS)
def test_every_kpi_is_the_same_on_both_engines(engines, grain):
    period = parse_period(MONTH)
    rows = {
        name: compute_kpis(backend, kpis=list(KPIS), grain=grain, period=period,
                           compare=("n-1", "target"))
        for name, backend in engines.items()
    }
    duck = rows["duckdb"]
    assert {r["kpi"] for r in duck} == set(KPIS)
    # Not a vacuous comparison: most figures exist, with N-1 and targets where they apply.
    assert sum(r["value"] is not None for r in duck) > len(duck) * 0.5
    assert any(r["n1"] is not None for r in duck)
    if grain in ("network", "region", "store"):
        assert any(r["target"] is not None for r in duck)
    assert differences(duck, rows["spark"]) == []
