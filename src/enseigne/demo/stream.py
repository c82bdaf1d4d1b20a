"""Ticket lines at benchmark scale (100 M lines), streamed in bounded memory.

Same world (calendar, stores, catalogue), same baskets and the same SQL spelling of codes as
``build_demo``; what differs is the customer process: holding every purchase of 10 M
customers at once would grow with the number of lines, so each ticket draws its customer in
proportion to the BG/NBD purchase rate instead (no dropout), and Gamma-Gamma spend is kept.
Batches hold whole days, so ticket numbers per store-day never straddle two batches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from enseigne.demo import baskets
from enseigne.demo.customers import BGNBD_R, BGNBD_SCALE, SPEND_Q, SPEND_SCALE
from enseigne.demo.world import (
    Calendar,
    Catalog,
    Stores,
    code_macros,
    draw_sellers,
    make_calendar,
    make_catalog,
    make_stores,
)

LINE_SCHEMA = pa.schema([
    ("ticket_id", pa.string()), ("line_no", pa.int32()), ("sold_at", pa.timestamp("us")),
    ("store_code", pa.string()), ("channel", pa.string()), ("seller_code", pa.string()),
    ("customer_ref", pa.string()), ("sku", pa.string()),
    ("quantity", pa.decimal128(18, 3)), ("unit_price", pa.decimal128(18, 2)),
    ("discount", pa.decimal128(18, 2)), ("amount", pa.decimal128(18, 2)),
    ("vat_rate", pa.decimal128(6, 4)),
])


class _Shoppers:
    """Per-customer purchase rate (as a cumulative sum, to draw by rate) and mean spend."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.cum_rate = np.cumsum(rng.gamma(BGNBD_R, BGNBD_SCALE, n))
        self.mean_spend = rng.gamma(SPEND_Q, SPEND_SCALE, n).astype(np.float32)

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        pos = np.searchsorted(self.cum_rate, rng.random(k) * self.cum_rate[-1], side="right")
        return np.minimum(pos, len(self.cum_rate) - 1)


def _day_batches(budget: np.ndarray, batch_lines: int) -> Iterator[np.ndarray]:
    """Consecutive whole days holding at most batch_lines lines (at least one day)."""
    start, acc = 0, 0
    for day, lines in enumerate(budget):
        if acc and acc + lines > batch_lines:
            yield np.arange(start, day)
            start, acc = day, 0
        acc += int(lines)
    if start < len(budget):
        yield np.arange(start, len(budget))


def _pool(rng: np.random.Generator, shoppers: _Shoppers, total: int) -> baskets.Tickets:
    """Enough candidate tickets (customer, value, return flag) to fill ``total`` lines."""
    k = total // 2 + 64
    customer = shoppers.draw(rng, k)
    t = baskets.Tickets(
        day=np.zeros(k, dtype=np.int64), store=np.zeros(k, dtype=np.int64),
        channel=np.zeros(k, dtype=np.int8), customer=customer,
        value=baskets.ticket_values(rng, shoppers.mean_spend[customer].astype(float)),
        is_return=rng.random(k) < baskets.RETURN_SHARE, secs=np.zeros(k, dtype=np.int64),
    )
    return t


def _cut_into_days(
    rng: np.random.Generator, shoppers: _Shoppers, days: np.ndarray, budget: np.ndarray
) -> tuple[baskets.Tickets, np.ndarray]:
    """Lay candidate tickets' lines end to end and cut them at day boundaries (exact totals).

    A ticket straddling midnight becomes two tickets, one each side.
    """
    total = int(budget.sum())
    t = _pool(rng, shoppers, total)
    n_lines = baskets.line_counts(rng, t)
    while n_lines.sum() < total:  # rare: top the pool up
        more = _pool(rng, shoppers, total)
        t = baskets.Tickets(*(np.concatenate([getattr(t, f), getattr(more, f)])
                              for f in baskets.Tickets.__dataclass_fields__))
        n_lines = np.concatenate([n_lines, baskets.line_counts(rng, more)])
    pos = np.arange(total)
    ticket = np.searchsorted(np.cumsum(n_lines), pos, side="right")
    day = np.searchsorted(np.cumsum(budget), pos, side="right")
    head = np.r_[True, (ticket[1:] != ticket[:-1]) | (day[1:] != day[:-1])]
    starts = np.flatnonzero(head)
    out = t.take(ticket[starts])
    out.day = days[day[starts]]
    return out, np.diff(np.r_[starts, total])


def _place(rng: np.random.Generator, t: baskets.Tickets, st: Stores, open_w: np.ndarray
           ) -> baskets.Tickets:
    """Store (by traffic among stores open that day), channel, anonymity and time of day."""
    for d in np.unique(t.day):  # one draw per day of the batch, vectorised over tickets
        sel = np.flatnonzero(t.day == d)
        cum = np.cumsum(open_w[:, d])
        t.store[sel] = np.searchsorted(cum, rng.random(len(sel)) * cum[-1], side="right")
    t.store = np.minimum(t.store, st.n - 1)
    t.channel = baskets.channel_of(rng, t.store, 0.35)
    t.customer = np.where(rng.random(len(t.day)) < st.anonymous[t.store], -1, t.customer)
    t.secs = baskets.seconds_of_day(rng, t.channel)
    return t


def ticket_line_batches(
    *, stores: int = 1000, customers: int = 10_000_000, lines: int = 100_000_000,
    seed: int = 42, batch_lines: int = 2_000_000, years: int = 2,
    today: dt.date | None = None,
) -> Iterator[pa.Table]:
    """Yield Arrow tables of ticket lines as the `tickets` import reads them (each line with
    its receipt's time, store, channel, seller and customer), ``lines`` rows in all."""
    rng = np.random.default_rng(seed)
    cal = make_calendar(today or dt.date.today() - dt.timedelta(days=1), years)
    st = make_stores(rng, stores, cal)
    catalog = make_catalog(rng)
    shoppers = _Shoppers(rng, customers)
    budget = rng.multinomial(lines, cal.weight / cal.weight.sum())
    open_w = st.attract[:, None] * st.open_matrix(cal)
    con = duckdb.connect(config={"memory_limit": "256MB", "threads": 2})
    try:
        con.execute(code_macros(stores, customers))
        for days in _day_batches(budget, batch_lines):
            yield _batch(con, rng, cal, st, catalog, shoppers, days, budget[days], open_w)
    finally:
        con.close()


def _batch(
    con: duckdb.DuckDBPyConnection, rng: np.random.Generator, cal: Calendar, st: Stores,
    catalog: Catalog, shoppers: _Shoppers, days: np.ndarray, budget: np.ndarray,
    open_w: np.ndarray,
) -> pa.Table:
    t, n_lines = _cut_into_days(rng, shoppers, days, budget)
    t = _place(rng, t, st, open_w)
    sellers = draw_sellers(rng, st, t.store)
    raw, *_ = baskets.build_lines(rng, cal, catalog, t, sellers, n_lines)
    del t, sellers, n_lines  # free the ticket arrays before DuckDB spells the codes
    con.register("demo_raw_batch", raw)
    try:
        out = con.execute(baskets.LINES_SQL.format(source="demo_raw_batch")).to_arrow_table()
    finally:
        con.unregister("demo_raw_batch")
    return out.cast(LINE_SCHEMA)


def write_ticket_lines_parquet(path: Path, **kwargs: object) -> int:
    """Stream ``ticket_line_batches(**kwargs)`` into one Parquet file; return lines written."""
    written = 0
    with pq.ParquetWriter(str(path), LINE_SCHEMA, compression="zstd") as writer:
        for batch in ticket_line_batches(**kwargs):  # type: ignore[arg-type]
            writer.write_table(batch, row_group_size=1_000_000)
            written += batch.num_rows
    return written
