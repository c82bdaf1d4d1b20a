"""KPI anomalies on a demo chain with injected events: a store's spike, a closed day, a
network-wide surge, a weak week; the ranking, the caps and the JSON twin."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from enseigne.db import connect, migrate
from enseigne.demo import build_demo
from enseigne.metrics.anomalies import THRESHOLD, Anomaly, detect_anomalies

TODAY = dt.date(2026, 3, 15)  # a Sunday: the 28-day window holds four whole ISO weeks
SPIKE = ("S003", dt.date(2026, 3, 7))  # a Saturday, ~30 tickets usually
CLOSED = ("S001", dt.date(2026, 2, 28))  # a Saturday, ~25 tickets usually
SURGE = dt.date(2026, 3, 13)  # a Friday


@pytest.fixture(scope="module")
def chain_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("anomalies") / "chain.duckdb"
    con = connect(path)
    build_demo(con, stores=6, customers=3000, years=1, today=TODAY)
    con.close()
    return path


@pytest.fixture
def chain(chain_file: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh copy of the demo chain for each test to inject its own events into."""
    path = tmp_path / "chain.duckdb"
    shutil.copy(chain_file, path)
    con = connect(path)
    yield con
    con.close()


def copy_tickets(con: duckdb.DuckDBPyConnection, where: str, params: list, copies: int) -> None:
    """Add ``copies`` copies of the receipts matching ``where`` (lines and headers), numbered
    like the demo's receipts (store-YYYYMMDD-seq) after the real ones of the day."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE chosen AS SELECT ticket_id FROM tickets "
                f"WHERE {where}", params)
    for k in range(1, copies + 1):
        new_id = ("regexp_extract(ticket_id, '^(.*-)', 1) || lpad((split_part(ticket_id, '-', "
                  f"-1)::INTEGER + {k * 100_000})::VARCHAR, 6, '0')")
        for table in ("ticket_lines", "tickets"):
            con.execute(f"INSERT INTO {table} SELECT {new_id}, * EXCLUDE (ticket_id) "
                        f"FROM {table} SEMI JOIN chosen USING (ticket_id)")


def day_stats(con: duckdb.DuckDBPyConnection, store: str, day: dt.date) -> tuple[float, int]:
    row = con.execute("SELECT sum(amount)::DOUBLE, count(*) FILTER (WHERE amount > 0) "
                      "FROM tickets WHERE store_code = ? AND sold_at::DATE = ?",
                      [store, day]).fetchone()
    assert row is not None
    return row[0] or 0.0, row[1]


def find(found: list[Anomaly], store: str, day: dt.date, grain: str = "day") -> list[Anomaly]:
    return [a for a in found if a.store_code == store and a.date == day and a.grain == grain]


def assert_band(a: Anomaly) -> None:
    assert a.low < a.expected < a.high
    assert not a.low <= a.value <= a.high
    assert abs(a.score) >= THRESHOLD


def test_empty_database_has_no_anomaly(con: duckdb.DuckDBPyConnection) -> None:
    migrate(con)
    assert detect_anomalies(con, TODAY) == []


def test_a_store_spike_is_reported_above_its_band(chain: duckdb.DuckDBPyConnection) -> None:
    store, day = SPIKE
    revenue, tickets = day_stats(chain, store, day)
    copy_tickets(chain, "store_code = ? AND sold_at::DATE = ?", [store, day], copies=3)
    assert day_stats(chain, store, day) == (pytest.approx(4 * revenue), 4 * tickets)

    found = detect_anomalies(chain, TODAY, kpis=["revenue"])
    (spike,) = find(found, store, day)
    assert spike.direction == "above"
    assert spike.value == pytest.approx(4 * revenue)
    assert_band(spike)
    assert spike.value > spike.high
    # the week is raised by that day alone: listed once, as a day
    monday = day - dt.timedelta(days=day.weekday())
    assert find(found, store, monday, "week") == []


def test_a_closed_day_is_reported_once_below(chain: duckdb.DuckDBPyConnection) -> None:
    store, day = CLOSED
    delete_tickets(chain, "store_code = ? AND sold_at::DATE = ?", [store, day])
    chain.execute("DELETE FROM footfall WHERE store_code = ? AND date = ?", [store, day])

    found = detect_anomalies(chain, TODAY)
    (closed,) = find(found, store, day)  # not once for revenue, tickets and footfall
    assert closed.kpi == "revenue"
    assert closed.direction == "below"
    assert closed.value == 0
    assert_band(closed)
    assert closed.low > 0


def delete_tickets(con: duckdb.DuckDBPyConnection, where: str, params: list) -> None:
    chosen = f"SELECT ticket_id FROM tickets WHERE {where}"
    con.execute(f"DELETE FROM ticket_lines WHERE ticket_id IN ({chosen})", params)
    con.execute(f"DELETE FROM tickets WHERE ticket_id IN ({chosen})", params)


def test_a_store_without_a_network_is_judged_on_its_own_history(
    chain: duckdb.DuckDBPyConnection,
) -> None:
    delete_tickets(chain, "store_code <> 'S003'", [])
    chain.execute("DELETE FROM footfall WHERE store_code <> 'S003'")
    day = SPIKE[1]
    delete_tickets(chain, "store_code = 'S003' AND sold_at::DATE = ?", [day])

    found = detect_anomalies(chain, TODAY)
    assert {a.store_code for a in found} <= {"S003"}
    (closed,) = find(found, "S003", day)
    assert closed.direction == "below"
    assert_band(closed)


def test_days_not_loaded_yet_are_not_closures(chain: duckdb.DuckDBPyConnection) -> None:
    later = TODAY + dt.timedelta(days=3)  # the last import stops on TODAY
    assert [a for a in detect_anomalies(chain, later, limit=1000) if a.date > TODAY] == []


def test_a_network_wide_surge_is_not_an_anomaly(chain: duckdb.DuckDBPyConnection) -> None:
    monday = SURGE - dt.timedelta(days=SURGE.weekday())

    def that_week() -> set[tuple]:
        found = detect_anomalies(chain, TODAY, limit=1000, per_store=1000)
        return {(a.store_code, a.kpi, a.grain, a.date) for a in found
                if a.date == SURGE or (a.grain == "week" and a.date == monday)}

    before = that_week()
    copy_tickets(chain, "sold_at::DATE = ?", [SURGE], copies=2)  # x3 in every store
    assert that_week() <= before
    assert not any(key[3] == SURGE for key in before)
    # the same surge in one store alone is an anomaly: the test can fail
    copy_tickets(chain, "store_code = 'S003' AND sold_at::DATE = ?", [SURGE], copies=3)
    assert ("S003", "tickets", "day", SURGE) in that_week()


def test_a_weak_week_is_reported_as_a_week(chain: duckdb.DuckDBPyConnection) -> None:
    """Minus 40 % every day of a week: no single day stands out, the week does."""
    monday = dt.date(2026, 3, 9)
    week = ["S003", monday, monday + dt.timedelta(days=7)]
    chosen = ("SELECT ticket_id FROM (SELECT ticket_id, row_number() OVER (PARTITION BY "
              "sold_at::DATE ORDER BY ticket_id) AS k FROM tickets WHERE store_code = ? AND "
              "sold_at >= ? AND sold_at < ?) WHERE k % 5 IN (1, 3)")
    chain.execute(f"DELETE FROM ticket_lines WHERE ticket_id IN ({chosen})", week)
    chain.execute(f"DELETE FROM tickets WHERE ticket_id IN ({chosen})", week)

    found = detect_anomalies(chain, TODAY, kpis=["tickets"])
    (weak,) = find(found, "S003", monday, "week")
    assert weak.direction == "below"
    assert_band(weak)
    assert [a for a in found if a.store_code == "S003" and a.grain == "day"
            and monday <= a.date < week[2]] == []


def test_the_list_is_ranked_and_capped(chain: duckdb.DuckDBPyConnection) -> None:
    # a broken store: spikes on ten days; and a second store with one spike
    for offset in range(10):
        day = dt.date(2026, 2, 17) + dt.timedelta(days=offset)
        copy_tickets(chain, "store_code = 'S003' AND sold_at::DATE = ?", [day], copies=4)
    copy_tickets(chain, "store_code = 'S001' AND sold_at::DATE = ?", [CLOSED[1]], copies=3)

    everything = detect_anomalies(chain, TODAY, limit=1000, per_store=1000)
    assert sum(a.store_code == "S003" for a in everything) > 3
    found = detect_anomalies(chain, TODAY)
    assert sum(a.store_code == "S003" for a in found) == 3
    assert find(found, "S001", CLOSED[1])  # not hidden behind the broken store
    scores = [abs(a.score) for a in found]
    assert scores == sorted(scores, reverse=True)
    assert len(detect_anomalies(chain, TODAY, limit=2)) == 2
    assert detect_anomalies(chain, TODAY, limit=0) == []
    assert detect_anomalies(chain, TODAY) == found  # deterministic


def test_a_store_manager_sees_the_same_scores_for_their_store(
    chain: duckdb.DuckDBPyConnection,
) -> None:
    copy_tickets(chain, "store_code = ? AND sold_at::DATE = ?", list(SPIKE), copies=3)
    everyone = detect_anomalies(chain, TODAY, limit=1000, per_store=1000)
    mine = detect_anomalies(chain, TODAY, stores=["S003"], limit=1000, per_store=1000)
    assert mine
    assert mine == [a for a in everyone if a.store_code == "S003"]
    assert detect_anomalies(chain, TODAY, stores=["S999"]) == []


def test_json_twin(chain: duckdb.DuckDBPyConnection) -> None:
    copy_tickets(chain, "store_code = ? AND sold_at::DATE = ?", list(SPIKE), copies=3)
    (spike,) = find(detect_anomalies(chain, TODAY, kpis=["tickets"]), *SPIKE)
    out = json.loads(json.dumps(spike.to_dict()))
    assert out["store_code"] == "S003"
    assert out["kpi"] == "tickets"
    assert out["grain"] == "day"
    assert out["date"] == "2026-03-07"
    assert out["value"] == spike.value
    assert isinstance(out["value"], int)
    assert out["direction"] == "above"
    assert out["low"] < out["expected"] < out["high"] < out["value"]


def test_only_known_kpis_and_positive_windows(chain: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="nps"):
        detect_anomalies(chain, TODAY, kpis=["revenue", "nps"])
    with pytest.raises(ValueError):
        detect_anomalies(chain, TODAY, days=0)
