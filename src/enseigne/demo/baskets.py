"""From tickets (who, where, when, how much) to ticket lines: shared by build and stream.

A ticket arrives with its gross value (Gamma-Gamma spend); lines pick products whose price
is close to value / line count, so that the realised basket follows the customer's spend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from enseigne.demo.world import WEB, Calendar, Catalog, cents_to_decimal

# Opening hours 9-20h, busiest late morning and after work; the web peaks in the evening.
STORE_HOURS = np.arange(9, 20)
STORE_HOUR_WEIGHT = np.array([3, 6, 9, 10, 8, 7, 8, 10, 12, 13, 9], dtype=float)
WEB_HOUR_WEIGHT = np.array(
    [2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 7, 7, 7, 8, 9, 11, 12, 10, 5], dtype=float
)
GG_SHAPE = 3.0  # Gamma-Gamma: shape of a ticket's value around the customer's mean spend
SALE_DISCOUNTS = np.array([0.0, 0.3, 0.4, 0.5])
SALE_DISCOUNT_P = np.array([0.35, 0.30, 0.20, 0.15])
RETURN_SHARE = 0.04


@dataclass
class Tickets:
    """One row per ticket, in any order; ``finish`` sorts them and numbers them per store-day."""

    day: np.ndarray
    store: np.ndarray
    channel: np.ndarray  # 0 store, 1 web, 2 app
    customer: np.ndarray  # -1: anonymous
    value: np.ndarray  # gross value in euros the basket aims at
    is_return: np.ndarray
    secs: np.ndarray  # second of the day

    def take(self, order: np.ndarray) -> Tickets:
        return Tickets(*(getattr(self, f)[order] for f in self.__dataclass_fields__))


def ticket_values(rng: np.random.Generator, mean_spend: np.ndarray) -> np.ndarray:
    """Gamma-Gamma: a ticket's value ~ Gamma(p, mean/p) around the customer's mean spend."""
    return rng.gamma(GG_SHAPE, mean_spend / GG_SHAPE)


def seconds_of_day(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    n = len(channel)
    store_hour = rng.choice(STORE_HOURS, size=n, p=STORE_HOUR_WEIGHT / STORE_HOUR_WEIGHT.sum())
    web_hour = rng.choice(24, size=n, p=WEB_HOUR_WEIGHT / WEB_HOUR_WEIGHT.sum())
    hour = np.where(channel == 0, store_hour, web_hour)
    return hour * 3600 + rng.integers(0, 3600, size=n)


def _sequence(day: np.ndarray, store: np.ndarray) -> np.ndarray:
    """1-based rank of each ticket within its (store, day), tickets being sorted already."""
    key = day.astype(np.int64) * 1_000_000 + store
    new = np.ones(len(key), dtype=bool)
    new[1:] = key[1:] != key[:-1]
    start = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    return np.arange(len(key)) - start[group] + 1


def line_counts(rng: np.random.Generator, t: Tickets) -> np.ndarray:
    """Bigger baskets hold more lines; web baskets a few more; returns one or two lines."""
    base = 1 + rng.poisson(t.value / 50.0 + np.where(t.channel > 0, 0.4, 0.0))
    returned = 1 + (rng.random(len(t.value)) < 0.2)
    return np.where(t.is_return, returned, base)


def build_lines(
    rng: np.random.Generator, cal: Calendar, catalog: Catalog, t: Tickets,
    sellers: np.ndarray, n_lines: np.ndarray,
) -> tuple[pa.Table, Tickets, np.ndarray, np.ndarray]:
    """Tickets -> Arrow numeric line columns (see LINES_SQL), plus the tickets sorted by
    day, store and time with their sellers and per store-day sequence numbers."""
    order = np.lexsort((t.secs, t.store, t.day))
    t, sellers, n_lines = t.take(order), sellers[order], n_lines[order]
    seq = _sequence(t.day, t.store)
    owner = np.repeat(np.arange(len(t.day)), n_lines)
    first = np.concatenate([[0], np.cumsum(n_lines)[:-1]])
    line_no = np.arange(len(owner)) - first[owner] + 1
    product, qty, unit, amount = _pick_products(rng, cal, catalog, t, owner, n_lines)
    sold_at = (cal.days[t.day].astype("datetime64[s]") + t.secs.astype("timedelta64[s]"))[owner]
    table = pa.table({
        "store": t.store[owner].astype(np.int32),
        "seller": sellers[owner].astype(np.int16),
        "customer": t.customer[owner].astype(np.int64),
        "channel": t.channel[owner].astype(np.int8),
        "sold_at": pa.array(sold_at),
        "seq": seq[owner].astype(np.int32),
        "line_no": line_no.astype(np.int32),
        "product": product.astype(np.int32),
        "quantity": cents_to_decimal(qty * 1000, 3),
        "unit_price": cents_to_decimal(catalog.price_cents[product]),
        "discount": cents_to_decimal(qty * unit - amount),
        "amount": cents_to_decimal(amount),
        "vat_bp": catalog.vat_bp[product],
    })
    return table, t, sellers, seq


def _pick_products(
    rng: np.random.Generator, cal: Calendar, catalog: Catalog, t: Tickets,
    owner: np.ndarray, n_lines: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Products near the target line price, quantities, and discounted amounts in cents."""
    n = len(owner)
    target = (t.value / n_lines)[owner] * rng.lognormal(0.0, 0.35, n) * 100
    sorted_prices = catalog.price_cents[catalog.by_price]
    pos = np.searchsorted(sorted_prices, target) + rng.integers(-60, 61, size=n)
    product = catalog.by_price[np.clip(pos, 0, catalog.n - 1)]
    unit = catalog.price_cents[product]
    qty = np.where((unit < 2000) & (rng.random(n) < 0.25), 2, 1)
    qty = np.where(t.is_return[owner], -1, qty)
    sale = cal.sale[t.day][owner]
    rate = np.where(
        sale, rng.choice(SALE_DISCOUNTS, size=n, p=SALE_DISCOUNT_P),
        np.where(rng.random(n) < 0.08, rng.choice([0.1, 0.2], size=n), 0.0),
    )
    amount = np.round(qty * unit * (1.0 - rate)).astype(np.int64)
    return product, qty.astype(np.int64), unit, amount


def draw_returns(rng: np.random.Generator, n: int, eligible: np.ndarray) -> np.ndarray:
    """~4 % of tickets are returns; a customer's first purchase never is."""
    return eligible & (rng.random(n) < RETURN_SHARE / max(eligible.mean(), 1e-9))


LINES_SQL = """
SELECT
    demo_ticket(store, sold_at, seq) AS ticket_id,
    line_no,
    sold_at::TIMESTAMP AS sold_at,
    demo_store(store) AS store_code,
    demo_channel(channel) AS channel,
    demo_seller(store, seller) AS seller_code,
    demo_customer(customer) AS customer_ref,
    demo_sku(product) AS sku,
    quantity,
    unit_price,
    discount,
    amount,
    (vat_bp / 10000)::DECIMAL(6, 4) AS vat_rate
FROM {source}
"""


def channel_of(rng: np.random.Generator, store: np.ndarray, app_share: float) -> np.ndarray:
    """Store tickets are channel store; web-store tickets split between web and app."""
    return np.where(store == WEB, 1 + (rng.random(len(store)) < app_share), 0).astype(np.int8)
