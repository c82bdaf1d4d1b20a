"""Customers as a buy-till-you-die process (BG/NBD) with Gamma-Gamma spend, plus anonymous walk-ins.

Purchases are simulated in "warped time", where one unit holds one average day of trade, and
mapped back to calendar days through the cumulative seasonal weight: the heterogeneity and the
dropout of BG/NBD are kept while soldes, Christmas and Saturdays appear on the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enseigne.demo.baskets import Tickets, seconds_of_day, ticket_values
from enseigne.demo.world import WEB, Calendar, Stores

# BG/NBD: lambda ~ Gamma(R, scale) purchases per week; p ~ Beta(A, B) dropout after a purchase
BGNBD_R, BGNBD_SCALE = 0.9, 0.2
BETA_A, BETA_B = 0.8, 5.0
# Gamma-Gamma: the customer's mean ticket value ~ Gamma(Q, scale) euros
SPEND_Q, SPEND_SCALE = 5.0, 13.0
NEW_SHARE = 0.55  # customers recruited during the period (the others were already known)
SEGMENT_WEB_AFFINITY = np.array([0.02, 0.30, 0.85])  # store-only, omnichannel, web-first
SEGMENT_P = np.array([0.55, 0.30, 0.15])


@dataclass(frozen=True)
class Population:
    lam_week: np.ndarray
    p_dropout: np.ndarray
    mean_spend: np.ndarray
    is_new: np.ndarray
    home: np.ndarray  # physical store index
    fallback: np.ndarray  # where they shop once their home store has closed
    web_affinity: np.ndarray
    app_user: np.ndarray

    @property
    def n(self) -> int:
        return len(self.lam_week)


def _choose(rng: np.random.Generator, weight: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(weight), size=n, p=weight / weight.sum())


def make_population(
    rng: np.random.Generator, n: int, cal: Calendar, st: Stores, purchase_rate: float = 1.0
) -> Population:
    """``n`` customers; ``purchase_rate`` scales everyone's purchase frequency (lambda), so
    that a file of many occasional buyers can be drawn (the same draws, scaled)."""
    is_new = rng.random(n) < NEW_SHARE
    span = (np.minimum(st.closed, cal.n_days) - np.maximum(st.opened, 0)) / cal.n_days
    w_new = st.attract * np.clip(span, 0, 1)
    w_old = st.attract * (st.opened < 0)
    w_new[WEB] = w_old[WEB] = 0.0
    home = np.where(is_new, _choose(rng, w_new, n), _choose(rng, w_old, n))
    stable = st.attract * ((st.opened < 0) & (st.closed >= cal.n_days))
    stable[WEB] = 0.0
    segment = rng.choice(3, size=n, p=SEGMENT_P)
    return Population(
        lam_week=rng.gamma(BGNBD_R, BGNBD_SCALE * purchase_rate, n),
        p_dropout=rng.beta(BETA_A, BETA_B, n),
        mean_spend=rng.gamma(SPEND_Q, SPEND_SCALE, n),
        is_new=is_new,
        home=home,
        fallback=_choose(rng, stable, n),
        web_affinity=SEGMENT_WEB_AFFINITY[segment],
        app_user=rng.random(n) < 0.4,
    )


def _warped_bounds(cal: Calendar, st: Stores) -> tuple[np.ndarray, np.ndarray]:
    """Warped time at which each store opens and closes within the period."""
    edges = np.concatenate([[0.0], cal.cumulative()])
    return edges[np.clip(st.opened, 0, cal.n_days)], edges[np.clip(st.closed, 0, cal.n_days)]


def purchase_times(
    rng: np.random.Generator, pop: Population, cal: Calendar, st: Stores
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, warped time, is first purchase ever) of every purchase in the period."""
    u_open, u_close = _warped_bounds(cal, st)
    horizon = float(cal.n_days)
    lo, hi = u_open[pop.home], u_close[pop.home]
    t0 = np.where(pop.is_new, lo + rng.random(pop.n) * (hi - lo), 0.0)
    avail = horizon - t0
    n_pois = rng.poisson(pop.lam_week / 7.0 * avail)
    # alive for K purchases, K ~ Geometric(p); the new customer's first one is at t0
    allowed = rng.geometric(pop.p_dropout) - pop.is_new
    keep_n = np.minimum(n_pois, allowed)
    owner = np.repeat(np.arange(pop.n), n_pois)
    u = t0[owner] + rng.random(len(owner)) * avail[owner]
    order = np.lexsort((u, owner))
    owner, u = owner[order], u[order]
    first = np.concatenate([[0], np.cumsum(n_pois)[:-1]])
    rank = np.arange(len(owner)) - first[owner]
    kept = rank < keep_n[owner]
    new_idx = np.flatnonzero(pop.is_new)
    customer = np.concatenate([new_idx, owner[kept]])
    times = np.concatenate([t0[new_idx], u[kept]])
    is_first = np.concatenate([np.ones(len(new_idx), bool), np.zeros(int(kept.sum()), bool)])
    return customer, times, is_first


def _warped_to_day(cal: Calendar, u: np.ndarray) -> np.ndarray:
    day = np.searchsorted(cal.cumulative(), u, side="right")
    return np.minimum(day, cal.n_days - 1)


def identified_tickets(
    rng: np.random.Generator, pop: Population, cal: Calendar, st: Stores, remap: np.ndarray
) -> tuple[Tickets, np.ndarray]:
    """Tickets of known customers, and whether each is the customer's first purchase ever."""
    customer, u, is_first = purchase_times(rng, pop, cal, st)
    day = _warped_to_day(cal, u)
    web = rng.random(len(customer)) < pop.web_affinity[customer]
    home = pop.home[customer]
    store = np.where(day < st.closed[home], home, pop.fallback[customer])
    store = np.where(web, WEB, store)
    day = remap[store, day]
    app = pop.app_user[customer] & (rng.random(len(customer)) < 0.7)
    channel = np.where(web, np.where(app, 2, 1), 0).astype(np.int8)
    t = Tickets(
        day=day, store=store, channel=channel, customer=customer,
        value=ticket_values(rng, pop.mean_spend[customer]),
        is_return=np.zeros(len(customer), dtype=bool),
        secs=seconds_of_day(rng, channel),
    )
    return t, is_first


def anonymous_tickets(
    rng: np.random.Generator, identified: Tickets, cal: Calendar, st: Stores, remap: np.ndarray
) -> Tickets:
    """Walk-ins without a card: each store's share of anonymous tickets is its own."""
    known = np.bincount(identified.store, minlength=st.n)
    count = rng.poisson(known * st.anonymous / (1.0 - st.anonymous))
    store = np.repeat(np.arange(st.n), count)
    u_open, u_close = _warped_bounds(cal, st)
    lo, hi = u_open[store], u_close[store]
    day = remap[store, _warped_to_day(cal, lo + rng.random(len(store)) * (hi - lo))]
    app = rng.random(len(store)) < 0.35
    channel = np.where(store == WEB, np.where(app, 2, 1), 0).astype(np.int8)
    spend = rng.gamma(SPEND_Q, SPEND_SCALE * 0.9, len(store))
    return Tickets(
        day=day, store=store, channel=channel, customer=np.full(len(store), -1),
        value=ticket_values(rng, spend), is_return=np.zeros(len(store), dtype=bool),
        secs=seconds_of_day(rng, channel),
    )


def concat(a: Tickets, b: Tickets) -> Tickets:
    return Tickets(*(np.concatenate([getattr(a, f), getattr(b, f)])
                     for f in Tickets.__dataclass_fields__))
