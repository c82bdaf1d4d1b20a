"""Customer counts come from ``customer_sales`` (each customer counted at their first sale
in a window, on the pointers of the store, the region or the chain) or from grouping the
receipts by customer. Both readings must give the same figures at every grain, for every
kind of period, for every store or a few, and like-for-like."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from enseigne.db import connect, migrate
from enseigne.db.schema_customers import link_sales, rebuild_customer_stores
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
    # Two stores of one region that share customers: a third of S001's receipts at S002.
    con.execute("UPDATE stores SET region = (SELECT region FROM stores WHERE store_code = "
                "'S001') WHERE store_code = 'S002'")
    con.execute("UPDATE tickets SET store_code = 'S002' "
                "WHERE store_code = 'S001' AND hash(ticket_id) % 3 = 0")
    rebuild_customer_stores(con)
    link_sales(con)
    return con


def by_scope(backend: object, table: object) -> dict[str, dict]:
    return {row.pop("scope"): row for row in backend.to_pyarrow(table).to_pylist()}


PERIODS = ["2026-10", "2026-W40", "2026-Q2", "2025", "2024", "2024-06-01..2026-09-30"]


@pytest.mark.parametrize("spec", PERIODS)
def test_counts_from_the_sales_equal_the_grouped_receipts(chain, spec) -> None:
    backend = duckdb_backend(chain)
    codes = [r[0] for r in chain.execute(
        "SELECT store_code FROM stores ORDER BY 1").fetchall()]
    period = parse_period(spec)
    paired = (("c_", period), ("p_", n1_period(period, "weekday")))
    names = tuple(CUSTOMER_MEASURES)
    seen = {}
    for stores, late in ((None, False), (tuple(codes[:2]), False), (tuple(codes[1:]), True)):
        # A region's or the chain's pointers hold for every store only.
        grains = ("store", "region", "network") if stores is None else ("store",)
        for grain in grains:
            for tag, p in paired:
                frame = Frame(backend, grain, p, stores, tag=tag, periods=paired,
                              late_stores=late, linked=grains)
                with one_expression():
                    counted = by_scope(backend, customer_family(frame, names))
                    grouped = by_scope(
                        backend, _aggregate(customer_rows(frame, True), CUSTOMER_MEASURES, names))
                assert counted == grouped, (spec, grain, tag, stores)
                seen[grain] = seen.get(grain, 0) + sum(
                    row["active"] + row["dormant"] for row in counted.values())
    assert all(seen.values()) and set(seen) == {"store", "region", "network"}


def test_a_store_has_customers_of_both_channels(chain) -> None:
    both = chain.execute(
        "SELECT count(*) FROM (SELECT customer_ref, store_code FROM customer_sales "
        "GROUP BY ALL HAVING count(DISTINCT channel = 'store') = 2)").fetchone()[0]
    assert both > 50
