"""The chain's fixed world: calendar, stores, sellers and catalogue, as numpy arrays.

Everything is indexed by integers (store 0 is the web store, 1..n the physical ones) and turned
into codes only in SQL (``CODE_MACROS``), so that both the database build and the streaming
benchmark generator share the same arithmetic and the same spelling of codes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from enseigne.demo.reference import (
    BRANDS,
    CATEGORIES,
    CITIES,
    COLOURS,
    FIRST_NAMES_F,
    FIRST_NAMES_M,
    FORMATS,
    LAST_NAMES,
)

WEB = 0  # store index of the e-commerce site (store_code 'WEB', channels web and app)
N_PRODUCTS = 2400
# Monday..Sunday relative volume; Sunday is the web plus the few stores open that day
WEEKDAY_FACTOR = np.array([0.75, 0.80, 1.00, 0.85, 1.05, 1.70, 0.35])
MONTH_FACTOR = np.array([0.85, 0.80, 0.90, 0.95, 0.95, 0.95, 0.90, 0.85, 1.00, 0.95, 1.05, 1.25])
HOLIDAYS = ((1, 1), (5, 1), (12, 25))  # (month, day) when stores are closed


def cents_to_decimal(cents: np.ndarray, scale: int = 2) -> pa.Array:
    """Integer units of 10^-scale -> Arrow decimal128(18, scale), without a float round trip."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the 128-bit two's complement
    return pa.Array.from_buffers(
        pa.decimal128(18, scale), len(cents), [None, pa.py_buffer(words)]
    )


@dataclass(frozen=True)
class Calendar:
    start: dt.date
    today: dt.date
    days: np.ndarray  # datetime64[D], start..today inclusive
    weight: np.ndarray  # relative ticket volume of each day (weekday x season)
    sale: np.ndarray  # bool: legal sales period (soldes), more volume and deeper discounts
    holiday: np.ndarray  # bool: public holiday, stores closed

    @property
    def n_days(self) -> int:
        return len(self.days)

    def cumulative(self) -> np.ndarray:
        """Cumulative weight scaled to n_days: the 'warped time' in which purchases are uniform."""
        cum = np.cumsum(self.weight)
        return cum * (self.n_days / cum[-1])


def make_calendar(today: dt.date, years: int) -> Calendar:
    try:
        start = today.replace(year=today.year - years) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - years, day=28) + dt.timedelta(days=1)
    days = np.arange(np.datetime64(start), np.datetime64(today) + 1, dtype="datetime64[D]")
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    dom = (days - days.astype("datetime64[M]")).astype(int) + 1
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    sale = ((month == 1) & (dom >= 8)) | ((month == 2) & (dom <= 4))
    sale |= ((month == 6) & (dom >= 25)) | ((month == 7) & (dom <= 22))
    holiday = np.zeros(len(days), dtype=bool)
    for m, d in HOLIDAYS:
        holiday |= (month == m) & (dom == d)
    weight = WEEKDAY_FACTOR[weekday] * MONTH_FACTOR[month - 1]
    weight = weight * np.where(sale, 1.6, 1.0)
    weight = weight * np.where((month == 12) & (dom <= 24), 1.0 + dom / 24.0, 1.0)
    school = ((month == 8) & (dom >= 20)) | ((month == 9) & (dom <= 15))
    weight = weight * np.where(school, 1.3, 1.0) * np.where(holiday, 0.05, 1.0)
    return Calendar(start, today, days, weight, sale, holiday)


@dataclass(frozen=True)
class Stores:
    """Per-store arrays, index 0 = web. Day indexes are relative to the calendar start."""

    city: np.ndarray
    fmt: np.ndarray
    surface: np.ndarray
    opened: np.ndarray  # first open day index (negative: before the period)
    closed: np.ndarray  # first closed day index (n_days: still open)
    sunday: np.ndarray  # bool: open on Sundays
    attract: np.ndarray  # relative traffic
    conversion: np.ndarray  # tickets / visitors
    anonymous: np.ndarray  # share of tickets without a customer
    capture: np.ndarray  # probability to capture a valid e-mail at recruitment
    optin: np.ndarray  # probability that a captured contact opts in
    nps_mu: np.ndarray  # mean of the latent 0-10 recommendation score
    seller_start: np.ndarray  # first global seller index of each store (len n+2)
    seller_quality: np.ndarray  # per global seller: multiplier on capture
    seller_weight: np.ndarray  # per global seller: share of the store's tickets

    @property
    def n(self) -> int:
        return len(self.city)

    def open_matrix(self, cal: Calendar) -> np.ndarray:
        """bool [store, day]: the store trades that day."""
        day = np.arange(cal.n_days)
        is_open = (day >= self.opened[:, None]) & (day < self.closed[:, None])
        sunday = ((cal.days.astype(int) + 3) % 7) == 6
        is_open &= ~(sunday & ~self.sunday[:, None])
        is_open[1:] &= ~cal.holiday
        return is_open

    def remap_closed(self, cal: Calendar) -> np.ndarray:
        """int [store, day]: the open day a purchase wanted on a closed day moves to.

        Shoppers facing a closed door come the day before (Saturday for Sunday), or the next
        open day at the very start of the period.
        """
        is_open = self.open_matrix(cal)
        idx = np.where(is_open, np.arange(cal.n_days), -1)
        prev = np.maximum.accumulate(idx, axis=1)
        nxt_src = np.where(is_open, np.arange(cal.n_days), cal.n_days)[:, ::-1]
        nxt = np.minimum.accumulate(nxt_src, axis=1)[:, ::-1]
        out = np.where(prev >= 0, prev, nxt)
        return np.minimum(out, cal.n_days - 1)


def _pick(rng: np.random.Generator, values: np.ndarray, k: int) -> np.ndarray:
    return rng.choice(values, size=min(k, len(values)), replace=False)


def make_stores(rng: np.random.Generator, n: int, cal: Calendar) -> Stores:
    """Physical stores spread over French cities, plus the web store at index 0."""
    total = n + 1
    city = np.concatenate([[0], np.arange(n) % len(CITIES)])
    size = np.array([c[5] for c in CITIES])[city]
    fmt = rng.choice(len(FORMATS), size=total, p=[0.4, 0.4, 0.2])
    lo = np.array([f[1] for f in FORMATS])[fmt]
    hi = np.array([f[2] for f in FORMATS])[fmt]
    surface = np.round(lo + rng.random(total) * (hi - lo), -1)
    opened = -rng.integers(200, 6000, size=total)
    closed = np.full(total, cal.n_days)
    if n >= 5:  # two openings and one closure, so that like-for-like differs from total
        late = _pick(rng, np.arange(2, total), 3)
        opened[late[0]] = int(cal.n_days * 0.30)
        opened[late[1]] = int(cal.n_days * 0.55)
        closed[late[2]] = int(cal.n_days * 0.65)
    sunday = rng.random(total) < 0.15
    sunday[WEB] = True
    attract = size * (surface / 500.0) ** 0.6 * rng.lognormal(0, 0.25, total)
    attract[WEB] = attract[1:].sum() * 0.12 if n else 1.0
    stores = _store_quality(rng, total)
    sellers = _sellers(rng, total)
    return Stores(city, fmt, surface, opened, closed, sunday, attract, *stores, *sellers)


def _store_quality(rng: np.random.Generator, total: int) -> tuple[np.ndarray, ...]:
    """Conversion and data-collection performance, with clear leaders and laggards."""
    conversion = rng.uniform(0.15, 0.27, total)
    anonymous = rng.uniform(0.27, 0.42, total)
    capture = rng.uniform(0.55, 0.82, total)
    physical = np.arange(1, total)
    k = max(1, len(physical) // 10)
    leaders, laggards = (_pick(rng, physical, 2 * k).reshape(2, -1) if k * 2 <= len(physical)
                         else (physical[:0], physical[:0]))
    conversion[leaders], conversion[laggards] = 0.32, 0.11
    anonymous[leaders], anonymous[laggards] = 0.2, 0.5
    capture[leaders], capture[laggards] = 0.93, 0.35
    anonymous[WEB], capture[WEB] = 0.08, 0.97
    optin = rng.uniform(0.5, 0.85, total)
    nps_mu = rng.uniform(7.0, 9.0, total)
    nps_mu[laggards] = 6.2
    return conversion, anonymous, capture, optin, nps_mu


def _sellers(rng: np.random.Generator, total: int) -> tuple[np.ndarray, ...]:
    """3 to 8 sellers per physical store (none on the web), unequal in sales and collection."""
    count = rng.integers(3, 9, size=total)
    count[WEB] = 0
    start = np.concatenate([[0], np.cumsum(count)])
    quality = np.clip(rng.lognormal(0, 0.3, start[-1]), 0.4, 1.6)
    weight = rng.gamma(4.0, 1.0, start[-1])
    owner = np.repeat(np.arange(total), count)
    weight = weight / np.bincount(owner, weight, minlength=total)[owner]
    return start, quality, weight


def draw_sellers(rng: np.random.Generator, stores: Stores, store: np.ndarray) -> np.ndarray:
    """Seller number within its store (1-based) for each ticket; 0 where there is none."""
    cum = np.cumsum(stores.seller_weight)
    lo = stores.seller_start[store]
    hi = stores.seller_start[store + 1]
    base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    target = base + rng.random(len(store)) * np.where(hi > lo, 1.0, 0.0)
    pos = np.minimum(np.searchsorted(cum, target, side="right"), np.maximum(hi - 1, 0))
    return np.where(hi > lo, pos - lo + 1, 0)


@dataclass(frozen=True)
class Catalog:
    category: np.ndarray  # index into CATEGORIES
    sub: np.ndarray  # (subcategory name, label) per product, python objects
    brand: np.ndarray
    label: np.ndarray
    price_cents: np.ndarray
    vat_bp: np.ndarray  # VAT rate in basis points (2000 = 20 %)
    by_price: np.ndarray  # product indexes sorted by price

    @property
    def n(self) -> int:
        return len(self.price_cents)


def make_catalog(rng: np.random.Generator, n: int = N_PRODUCTS) -> Catalog:
    names = list(CATEGORIES)
    shares = np.array([CATEGORIES[c][1] for c in names])
    category = np.sort(rng.choice(len(names), size=n, p=shares / shares.sum()))
    sub, brand, label, price, vat = [], [], [], [], []
    for cat in category:  # a few thousand products: a plain loop reads best
        vat_rate, _, subs = CATEGORIES[names[cat]]
        name, low, high, nouns = subs[rng.integers(len(subs))]
        sub.append(name)
        brand.append(BRANDS[names[cat]][rng.integers(len(BRANDS[names[cat]]))])
        colour = COLOURS[rng.integers(len(COLOURS))]
        label.append(f"{nouns[rng.integers(len(nouns))]} {colour}")
        euros = np.exp(rng.uniform(np.log(low), np.log(high)))
        price.append(round(euros) * 100 - int(rng.choice([1, 5, 0], p=[0.7, 0.2, 0.1])))
        vat.append(round(vat_rate * 10000))
    price_cents = np.maximum(np.array(price, dtype=np.int64), 99)
    return Catalog(category, np.array(sub, dtype=object), np.array(brand, dtype=object),
                   np.array(label, dtype=object), price_cents, np.array(vat, dtype=np.int64),
                   np.argsort(price_cents, kind="stable"))


def seller_names(rng: np.random.Generator, n: int) -> list[str]:
    """'Camille M.': how sellers appear on French receipts."""
    first = np.array(FIRST_NAMES_F + FIRST_NAMES_M, dtype=object)
    last = np.array(LAST_NAMES, dtype=object)
    f = first[rng.integers(len(first), size=n)]
    ln = last[rng.integers(len(last), size=n)]
    return [f"{a} {b[0]}." for a, b in zip(f, ln, strict=True)]


def code_macros(n_stores: int, n_customers: int) -> str:
    """SQL macros spelling codes from indexes; widths grow with the chain's size."""
    sw = max(3, len(str(n_stores)))
    cw = max(7, len(str(n_customers)))
    return f"""
CREATE OR REPLACE TEMP MACRO demo_store(i) AS
    CASE WHEN i = 0 THEN 'WEB' ELSE 'S' || lpad(i::VARCHAR, {sw}, '0') END;
CREATE OR REPLACE TEMP MACRO demo_seller(i, k) AS
    CASE WHEN k > 0 THEN demo_store(i) || '-V' || lpad(k::VARCHAR, 2, '0') END;
CREATE OR REPLACE TEMP MACRO demo_customer(c) AS
    CASE WHEN c >= 0 THEN 'C' || lpad((c + 1)::VARCHAR, {cw}, '0') END;
CREATE OR REPLACE TEMP MACRO demo_sku(p) AS 'A' || (100001 + p)::VARCHAR;
CREATE OR REPLACE TEMP MACRO demo_channel(k) AS ['store', 'web', 'app'][k + 1];
CREATE OR REPLACE TEMP MACRO demo_ticket(i, ts, seq) AS
    demo_store(i) || '-' || strftime(ts, '%Y%m%d') || '-' || lpad(seq::VARCHAR, 6, '0');
"""
