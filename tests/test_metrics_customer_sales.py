"""A store's customer counts come from ``customer_sales`` (each customer counted at their
first sale in a window); a region's and the network's from grouping the receipts by
customer. Both readings must give a store the same figures, for every kind of period, for
every store or a few, and like-for-like."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from enseigne.db import connect, migrate
from enseigne.db.schema_customers import link_sales
from enseigne.demo import build_demo
from enseigne.metrics import duckdb_backend, parse_period
from enseigne.metrics.customer_measures import (
    CUSTOMER_MEASURES,
    customer_family,
    customer_rows,
)
from enseigne.metrics.measures import Frame, _aggregate, one_expression
from enseigne.metrics.periods import n1_period

TODAY = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    path: Path = tmp_path_factory.mktemp("chain") / "chain.duckdb"
    con = connect(path)
    migrate(con)
    build_demo(con, stores=4, customers=1500, years=3, seed=5, today=TODAY)
    # Web orders credited to the stores themselves (click and collect), so that a store has
    # customers of both channels; the sales are then linked again from the receipts.
    con.execute("UPDATE tickets SET channel = 'web' WHERE hash(ticket_id) % 4 = 0")
    link_sales(con)
    return con


def by_store(backend: object, table: object) -> dict[str, dict]:
    return {row.pop("scope"): row for row in backend.to_pyarrow(table).to_pylist()}


PERIODS = ["2026-10", "2026-W40", "2026-Q2", "2025", "2024", "2024-06-01..2026-09-30"]


@pytest.mark.parametrize("spec", PERIODS)
def test_store_counts_from_the_sales_equal_the_grouped_receipts(chain, spec) -> None:
    backend = duckdb_backend(chain)
    codes = [r[0] for r in chain.execute(
        "SELECT store_code FROM stores ORDER BY 1").fetchall()]
    period = parse_period(spec)
    paired = (("c_", period), ("p_", n1_period(period, "weekday")))
    names = tuple(CUSTOMER_MEASURES)
    seen = 0
    for stores, late in ((None, False), (tuple(codes[:2]), False), (tuple(codes[1:]), True)):
        for tag, p in paired:
            frame = Frame(backend, "store", p, stores, tag=tag, periods=paired, late_stores=late,
                          linked=True)
            with one_expression():
                counted = by_store(backend, customer_family(frame, names))
                grouped = by_store(
                    backend, _aggregate(customer_rows(frame, True), CUSTOMER_MEASURES, names))
            assert counted == grouped, (spec, tag, stores)
            seen += sum(row["active"] + row["dormant"] for row in counted.values())
    assert seen  # the periods have customers to count


def test_a_store_has_customers_of_both_channels(chain) -> None:
    both = chain.execute(
        "SELECT count(*) FROM (SELECT customer_ref, store_code FROM customer_sales "
        "GROUP BY ALL HAVING count(DISTINCT channel = 'store') = 2)").fetchone()[0]
    assert both > 50
