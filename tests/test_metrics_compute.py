"""compute_kpis over a demo chain: compiled queries reused across periods, several grains in
one query, store scopes and like-for-like."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from enseigne.db import connect
from enseigne.demo import build_demo
from enseigne.metrics import bound as compiled_queries
from enseigne.metrics import compute_kpis, duckdb_backend, parse_period
from enseigne.metrics.compute import compute_grains
from enseigne.metrics.dashboard import default_period, network_dashboard

TODAY = dt.date(2026, 10, 12)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path: Path = tmp_path_factory.mktemp("chain") / "chain.duckdb"
    con = connect(path)
    build_demo(con, stores=5, customers=1500, years=2, seed=7, today=TODAY)
    yield con
    con.close()


def by_key(records: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["scope"], r["kpi"]): r for r in records}


def test_a_compiled_query_serves_another_period_exactly(chain) -> None:
    backend = duckdb_backend(chain)
    compute_kpis(backend, None, "store", parse_period("2026-08"), ("n-1",))
    reused = compute_kpis(backend, None, "store", parse_period("2026-07"), ("n-1",))
    compiled_queries._SQL.clear()
    fresh = compute_kpis(backend, None, "store", parse_period("2026-07"), ("n-1",))
    assert reused == fresh
    assert {r["kpi"] for r in fresh if r["value"] is not None} >= {"revenue", "active_customers"}


def test_grains_in_one_query_equal_grains_one_by_one(chain) -> None:
    backend = duckdb_backend(chain)
    period = parse_period("2026-09")
    together = compute_grains(
        backend, None, ("store", "region", "network"), period, ("n-1", "target")
    )
    for grain, records in together.items():
        assert records == compute_kpis(backend, None, grain, period, ("n-1", "target"))


def test_network_customers_are_counted_once(chain) -> None:
    backend = duckdb_backend(chain)
    period = parse_period("2026-09")
    stores = by_key(compute_kpis(backend, ["active_customers", "revenue"], "store", period))
    network = by_key(compute_kpis(backend, ["active_customers", "revenue"], "network", period))
    store_sum = sum(
        r["value"] or 0 for (_, kpi), r in stores.items() if kpi == "active_customers"
    )
    assert network[("network", "active_customers")]["value"] < store_sum
    revenue = sum(r["value"] or 0 for (_, kpi), r in stores.items() if kpi == "revenue")
    assert network[("network", "revenue")]["value"] == pytest.approx(revenue, rel=1e-12)


def test_a_store_scope_restricts_every_figure(chain) -> None:
    backend = duckdb_backend(chain)
    period = parse_period("2026-09")
    mine = compute_kpis(backend, ["revenue", "tickets"], "network", period, stores=["S001"])
    store = compute_kpis(backend, ["revenue", "tickets"], "store", period, stores=["S001"])
    assert {r["scope"] for r in store} == {"S001"}
    assert by_key(mine)[("network", "revenue")]["value"] == by_key(store)[("S001", "revenue")][
        "value"
    ]


def test_like_for_like_leaves_out_a_store_closed_in_the_period(chain) -> None:
    backend = duckdb_backend(chain)
    period = parse_period("2026-09")

    def lfl_stores() -> set[str]:
        records = compute_kpis(backend, ["revenue"], "store", period, like_for_like=True)
        return {r["scope"] for r in records}

    before = lfl_stores()
    chain.execute("UPDATE stores SET closed_on = DATE '2026-09-15' WHERE store_code = 'S002'")
    try:
        every = {r["scope"] for r in compute_kpis(backend, ["revenue"], "store", period)}
        assert "S002" in every and "S002" in before
        assert lfl_stores() == before - {"S002"}
    finally:
        chain.execute("UPDATE stores SET closed_on = NULL WHERE store_code = 'S002'")


@pytest.mark.parametrize("stores", [None, ["S001", "S002", "S004"]])
def test_like_for_like_network_is_its_stores_network(chain, stores) -> None:
    backend = duckdb_backend(chain)
    period = parse_period("2026-09")
    grains = ("store", "region", "network")
    chain.execute("UPDATE stores SET closed_on = DATE '2026-09-15' WHERE store_code = 'S002'")
    try:
        every, comparable = (
            compute_grains(backend, None, grains, period, ("n-1", "target"),
                           like_for_like=like_for_like, stores=stores)
            for like_for_like in (False, True))
        listed = {r["scope"] for r in comparable["store"]}
        assert "S002" in {r["scope"] for r in every["store"]} and "S002" not in listed
        # A store's own figures (new customers included) do not depend on the others listed.
        mine = by_key(every["store"])
        for record in comparable["store"]:
            for field in ("value", "n1", "target"):
                assert record[field] == mine[(record["scope"], record["kpi"])][field], record
        revenue = sum(r["value"] for r in comparable["store"] if r["kpi"] == "revenue")
        network = by_key(comparable["network"])[("network", "revenue")]["value"]
        assert network == pytest.approx(revenue, rel=1e-12)
        # A new customer is new once, at their first store: the network's are its stores'.
        recruits = sum(r["value"] for r in comparable["store"] if r["kpi"] == "new_customers")
        assert by_key(comparable["network"])[("network", "new_customers")]["value"] == recruits
        # Customers count in the like-for-like network for their receipts in its stores only.
        active = chain.execute(
            "SELECT count(DISTINCT customer_ref) FROM tickets WHERE amount > 0 AND "
            "customer_ref IS NOT NULL AND sold_at >= ? AND sold_at < ? "
            "AND list_contains(?, store_code)",
            [period.end - dt.timedelta(days=364), period.end + dt.timedelta(days=1),
             sorted(listed)]).fetchone()[0]
        customers = by_key(comparable["network"])[("network", "active_customers")]["value"]
        assert customers == active
        board = network_dashboard(backend, period, like_for_like=True, stores=stores)
        assert {r["scope"] for r in board["stores"]} == listed
    finally:
        chain.execute("UPDATE stores SET closed_on = NULL WHERE store_code = 'S002'")


def test_dashboard_opens_on_the_month_to_date_of_the_last_data_day(chain) -> None:
    backend = duckdb_backend(chain)
    period = default_period(backend)
    last = chain.execute("SELECT max(sold_at)::DATE FROM tickets").fetchone()[0]
    assert (period.start, period.end) == (last.replace(day=1), last)
    board = network_dashboard(backend, period)
    assert board["network"]["kpis"]["revenue"]["value"] > 0
    assert {row["scope"] for row in board["stores"]} >= {"S001", "WEB"}
    regions = {row["scope"] for row in board["regions"]}
    assert all(row["region"] in regions for row in board["stores"] if row["region"])


def test_one_compiled_query_serves_every_store_list(chain) -> None:
    backend = duckdb_backend(chain)
    period = parse_period("2026-09")
    first = compute_kpis(backend, ["revenue"], "network", period, stores=["S001"])
    compiled = len(compiled_queries._SQL)
    second = compute_kpis(backend, ["revenue"], "network", period, stores=["S002", "S003"])
    assert len(compiled_queries._SQL) == compiled
    per_store = by_key(compute_kpis(backend, ["revenue"], "store", period))
    assert first[0]["value"] == pytest.approx(per_store[("S001", "revenue")]["value"])
    assert second[0]["value"] == pytest.approx(
        per_store[("S002", "revenue")]["value"] + per_store[("S003", "revenue")]["value"]
    )
