"""KPI anomalies: store-days and store-weeks far outside what the store's own history predicts.

The expected value of a KPI for store *s* on day *d* is its *usual* value, the store's own
median on the same weekday over the previous 8 weeks, times the network's movement that day:

- the same weekday, because Saturday is not Monday; the median, because one past spike or
  closure must not move the expectation (a mean would carry it for 8 weeks);
- the network movement, because soldes, Christmas, a bank holiday or a heat wave hit every
  store: a store that moves with the network is not an anomaly. It is how the other stores
  moved (value / usual), averaged with their usual volumes as weights, which is the
  movement of their total; each store's movement is first clipped within x1.5 or /1.5 of
  their plain median, so that one broken store cannot carry the network (in the 6-store
  test chain, a store at x5 for ten days otherwise put 33 false alarms on the others; 6
  with the clip). The
  store itself is left out, so that its own anomaly does not raise its expectation. The
  others are the stores of the same kind (physical, or online: most tickets on web/app),
  or of any kind when fewer than ``MIN_PEERS`` (the usual single web store), and only those
  open on the day and on all 8 reference days (like-for-like: an opening or a closure is
  not a network surge).

How far out a value is: score = log(actual / expected) / scale. Ratios, because a store's
noise grows with its size; logs, because x2 and /2 are equally far. The scale is the robust
spread (1.4826 x MAD, the sigma of a normal law, unmoved by the anomalies of the past) of
the store's own log-ratios over the ``SCALE_WEEKS`` weeks before the scanned window (8
weekly points made a noisy spread: 2.2 % of clean weeks flagged instead of 1.1 %). Sampling
noise shrinks as 1/sqrt(volume), so the spread is measured on log-ratio x sqrt(usual
tickets) and brought back to each day's volume: one figure per store, right for its Mondays
and its Saturdays. The scale has a floor (``MIN_SCALE``) so that a perfectly regular history
does not turn every wiggle into an anomaly. A value is flagged when ``|score| >=
THRESHOLD``; the band [low, high] is what would not have been flagged: expected x exp(+/-
THRESHOLD x scale).

Weeks (ISO, Monday to Sunday) follow the same method on weekly totals against the previous
8 weeks. A week is not listed when its anomalous days explain it (same store and KPI): with
those days at their expected values, the week would be inside its band.

Guards against noise and floods: a period is judged only when the store usually sells
``MIN_TICKETS`` tickets or more then; a ratio KPI only when positive (a day whose returns
exceed its sales has no meaningful basket). Zeros are handled explicitly: nothing sold or
counted where the store usually trades (closed, till or counter down) is always flagged
"below", its ratio taken as half a ticket's worth (at least ``MIN_RATIO``) instead of
log(0), and reported once (the first KPI of the list) rather than once per KPI. The list is
ranked by |score|, at most ``per_store`` per store so that one broken store does not hide
the others, and cut at ``limit``.

Measured on the 40-store demo chain, which has no anomaly (every flag is a false alarm):
0.9 % of the judged store-day values and 1.1 % of the store-week ones reach 3.5 (about 40
and 8 in 28 days), against 0.05 % for a normal law: real-looking baskets and returns have
heavy tails. Ranked and capped, they are the tail of the list, mostly below closures.

The data is read in one SQL query (store-day sums over the scanned window and the 24 weeks
before it, plus the stores' dates); the statistics are numpy arrays [store, period].
Metrics never write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

THRESHOLD = 3.5  # |score| from which a value is an anomaly, in robust sigmas
REFERENCE_WEEKS = 8  # history behind an expectation
SCALE_WEEKS = 16  # history behind a scale: 8 weekly points make a noisy spread
MIN_HISTORY = 6  # reference points needed for a median or a spread
MIN_PEERS = 2  # other stores needed for a network movement
MIN_TICKETS = 5.0  # usual sales tickets below which a period is not judged
MIN_SCALE = 0.05  # floor of the log-ratio spread: +/-17 % is never 3.5 sigmas
MIN_RATIO = 0.05  # actual / expected taken for a zero or less, so that scores stay finite
MAD_TO_SIGMA = 1.4826
PER_STORE = 3
CLIP = 1.5  # a store's movement counts within x1.5 or /1.5 of the network's median one

DEFAULT_KPIS = ("revenue", "tickets", "avg_basket", "footfall", "conversion_rate")
# KPI -> (numerator, denominator) among the store-period sums; None: additive
PARTS: dict[str, tuple[str, str | None]] = {
    "revenue": ("revenue", None),
    "tickets": ("tickets", None),
    "avg_basket": ("revenue", "tickets"),
    "footfall": ("visitors", None),
    "conversion_rate": ("counted_tickets", "visitors"),
}
DECIMALS = {"revenue": 2, "tickets": 1, "avg_basket": 2, "footfall": 1, "conversion_rate": 4}
COUNTS = ("tickets", "footfall")
PHYSICAL, ONLINE = 0, 1  # peer groups


@dataclass(frozen=True)
class Anomaly:
    """One store's KPI on one day (or ISO week) far outside its expected band."""

    store_code: str
    kpi: str
    grain: str  # "day" | "week"
    date: dt.date  # the day, or the Monday of the ISO week
    value: float
    expected: float
    low: float
    high: float
    score: float  # log(value / expected) in robust sigmas, signed
    direction: str  # "above" | "below"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: ISO date, counts as integers, figures rounded for reading."""
        out: dict[str, object] = asdict(self)
        digits = DECIMALS.get(self.kpi, 4)
        for key in ("value", "expected", "low", "high"):
            out[key] = round(float(out[key]), digits)  # type: ignore[arg-type]
        if self.kpi in COUNTS:
            out["value"] = round(self.value)
        out["score"] = round(self.score, 2)
        out["date"] = self.date.isoformat()
        return out


@dataclass(frozen=True)
class _Panel:
    """Store x period arrays (a period is a day, or an ISO week when step is 7)."""

    start: dt.date  # first day of period 0
    step: int  # days per period
    codes: list[str]
    sums: dict[str, np.ndarray]  # [store, period]: revenue, tickets, visitors, counted_tickets
    observed: np.ndarray  # [store, period] bool: the store existed and data was loaded
    counts_footfall: np.ndarray  # [store] bool
    group: np.ndarray  # [store] kind: PHYSICAL or ONLINE (most of its tickets on web/app)


def detect_anomalies(
    con: duckdb.DuckDBPyConnection,
    end: dt.date,
    *,
    kpis: Sequence[str] = DEFAULT_KPIS,
    stores: Sequence[str] | None = None,
    days: int = 28,
    limit: int = 20,
    per_store: int = PER_STORE,
) -> list[Anomaly]:
    """The strongest anomalies of the ``days`` days up to ``end`` (and of the ISO weeks ending
    in them), ranked by |score|, at most ``per_store`` per store and ``limit`` in all.

    ``stores`` restricts the stores listed; the network movement still comes from all stores.
    """
    chosen = list(dict.fromkeys(kpis))
    unknown = [k for k in chosen if k not in PARTS]
    if unknown:
        raise ValueError(f"no anomaly detection for KPI {', '.join(unknown)}")
    if days < 1 or limit < 0 or per_store < 1:
        raise ValueError("days and per_store must be positive, limit not negative")
    first = end - dt.timedelta(days=days - 1)
    span_start = first - dt.timedelta(days=first.weekday() + 7 * (REFERENCE_WEEKS + SCALE_WEEKS))
    daily = _load_daily(con, span_start, first, end)
    if daily is None or limit == 0:
        return []
    n_days = (end - span_start).days + 1
    found = _scan(daily, chosen, n_days - days)
    weekly = _weekly(daily)
    first_week = (n_days - days) // 7  # first week whose Sunday is in the window
    found += _unexplained(_scan(weekly, chosen, first_week), found, daily)
    if stores is not None:
        wanted = set(stores)
        found = [a for a in found if a.store_code in wanted]
    return _rank(found, chosen, limit, per_store)


_DAILY_SQL = """
WITH t AS (
    SELECT store_code, sold_at::DATE - $start::DATE AS d,
           -- cents: doubles holding whole numbers add up exactly in any order, and 3x
           -- faster than a DECIMAL sum
           sum((amount * 100)::DOUBLE) AS cents,
           count(*) FILTER (WHERE amount > 0) AS tickets
    FROM tickets
    WHERE sold_at >= $start::TIMESTAMP AND sold_at < $stop::TIMESTAMP
    GROUP BY ALL
), f AS (
    SELECT store_code, date - $start::DATE AS d, sum(visitors)::DOUBLE AS visitors
    FROM footfall WHERE date >= $start::DATE AND date < $stop::DATE
    GROUP BY ALL
)
SELECT store_code, d::INTEGER AS d, t.d IS NOT NULL AS sold, f.d IS NOT NULL AS counted,
       coalesce(cents, 0) / 100 AS revenue, coalesce(tickets, 0)::DOUBLE AS tickets,
       coalesce(visitors, 0) AS visitors
FROM t FULL JOIN f USING (store_code, d)
"""
# a store is online when most of its recent sales tickets are web or app ones
_STORES_SQL = """
SELECT store_code, opened_on - $start::DATE AS opened, closed_on - $start::DATE AS closed,
       coalesce(online, false) AS online
FROM stores LEFT JOIN (
    SELECT store_code, avg((channel <> 'store')::INTEGER) > 0.5 AS online
    FROM tickets
    WHERE sold_at >= $recent::TIMESTAMP AND sold_at < $stop::TIMESTAMP AND amount > 0
    GROUP BY ALL
) USING (store_code)
"""


def _load_daily(
    con: duckdb.DuckDBPyConnection, start: dt.date, recent: dt.date, end: dt.date
) -> _Panel | None:
    """Store-day sums from ``start`` to ``end``, in one scan of tickets and footfall; the
    kind of each store (physical or online) from its tickets since ``recent``."""
    stop = end + dt.timedelta(days=1)
    rows = con.execute(_DAILY_SQL, {"start": start, "stop": stop}).to_arrow_table()
    sold = rows.column("sold").to_numpy()
    if not sold.any():
        return None
    known = con.execute(_STORES_SQL, {"start": start, "recent": recent, "stop": stop}).fetchall()
    encoded = rows.column("store_code").combine_chunks().dictionary_encode()
    seen = encoded.dictionary.to_pylist()
    codes = sorted(set(seen) | {r[0] for r in known})
    position = {code: i for i, code in enumerate(codes)}
    store = np.array([position[c] for c in seen], dtype=np.int64)[encoded.indices.to_numpy()]
    day, counted = rows.column("d").to_numpy(), rows.column("counted").to_numpy()
    shape = (len(codes), (end - start).days + 1)
    sums = {}
    for name in ("revenue", "tickets", "visitors"):
        sums[name] = np.zeros(shape)
        sums[name][store, day] = rows.column(name).to_numpy()
    sums["counted_tickets"] = np.zeros(shape)  # the tickets of days with a footfall count
    sums["counted_tickets"][store[counted], day[counted]] = rows.column("tickets").to_numpy()[
        counted]
    counts_footfall = np.zeros(len(codes), dtype=bool)
    counts_footfall[store[counted]] = True
    kind = np.full(len(codes), PHYSICAL)
    kind[[position[r[0]] for r in known if r[3]]] = ONLINE
    observed = _observed(shape, store[sold], day[sold], position, known)
    return _Panel(start, 1, codes, sums, observed, counts_footfall, kind)


def _observed(
    shape: tuple[int, int], store: np.ndarray, day: np.ndarray, position: dict[str, int],
    known: list[tuple],
) -> np.ndarray:
    """[store, day]: inside the loaded data and the store's life (opened_on, closed_on).

    A store without an opening date starts with its first sale in the span; days before the
    network's first sale or after its last one were not loaded, they are not zeros.
    """
    days = np.arange(shape[1])
    opened = np.full(shape[0], shape[1], dtype=np.int64)
    np.minimum.at(opened, store, day)
    closed = np.full(shape[0], shape[1], dtype=np.int64)
    for code, open_day, close_day, _ in known:
        if open_day is not None:
            opened[position[code]] = open_day
        if close_day is not None:
            closed[position[code]] = close_day
    loaded = (days >= day.min()) & (days <= day.max())
    return loaded & (days >= opened[:, None]) & (days < closed[:, None])


def _weekly(daily: _Panel) -> _Panel:
    """ISO-week totals of the complete weeks (the daily panel starts on a Monday)."""
    n_weeks = daily.observed.shape[1] // 7
    cut = n_weeks * 7

    def fold(a: np.ndarray) -> np.ndarray:
        return a[:, :cut].reshape(a.shape[0], n_weeks, 7)

    sums = {name: fold(a).sum(axis=2) for name, a in daily.sums.items()}
    observed = fold(daily.observed).all(axis=2)
    return _Panel(daily.start, 7, daily.codes, sums, observed, daily.counts_footfall,
                  daily.group)


def _history(a: np.ndarray, lag: int, count: int, fill: float | bool = np.nan) -> np.ndarray:
    """[store, period, count]: a at period - lag * k for k = count..1 (oldest first)."""
    pad = np.full((a.shape[0], lag * count), fill, dtype=a.dtype)
    windows = sliding_window_view(np.concatenate([pad, a], axis=1), lag * count + 1, axis=1)
    return windows[:, : a.shape[1], ::lag][..., :-1]


def _median(stack: np.ndarray, minimum: int = MIN_HISTORY) -> np.ndarray:
    """Median over the last axis ignoring NaN; NaN with fewer than ``minimum`` values."""
    if stack.shape[-1] == 0:
        return np.full(stack.shape[:-1], np.nan)
    ordered = np.sort(stack, axis=-1)  # NaN sort last
    n = (~np.isnan(ordered)).sum(axis=-1)
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)
    hi = np.take_along_axis(ordered, np.maximum(n // 2, 0)[..., None], axis=-1)
    return np.where(n >= minimum, (lo[..., 0] + hi[..., 0]) / 2, np.nan)


def _value(panel: _Panel, kpi: str) -> np.ndarray:
    """[store, period] the KPI's value; NaN where it is not judged: store closed or not
    counting visitors, and ratios that are not positive (no ticket, returns above sales)."""
    num, den = PARTS[kpi]
    usable = panel.observed.copy()
    if "visitors" in (num, den):
        usable &= panel.counts_footfall[:, None]
    if den is None:
        return np.where(usable, panel.sums[num], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = panel.sums[num] / panel.sums[den]
    return np.where(usable & (ratio > 0), ratio, np.nan)


def _network_factor(
    panel: _Panel, movement: np.ndarray, weight: np.ndarray, peers: np.ndarray
) -> np.ndarray:
    """[store, period]: how the other stores moved (value / usual), on average weighted by
    their usual volume: the network total's movement, the store itself left out.

    The others are the peers of the same kind, or of any kind when fewer than ``MIN_PEERS``
    of its kind are peers that period; 1 (no network movement) when fewer still.
    """
    movement = np.where(peers, movement, np.nan)
    weight = np.where(np.isnan(movement), 0.0, np.nan_to_num(weight))
    factor = np.full(movement.shape, np.nan)
    for kind in (PHYSICAL, ONLINE):
        mine = panel.group == kind
        factor[mine] = _others_mean(movement[mine], weight[mine])
    factor = np.where(np.isnan(factor), _others_mean(movement, weight), factor)
    return np.where(np.isnan(factor), 1.0, factor)


def _others_mean(movement: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """[store, period]: for each store, the weighted mean of the other stores' movements,
    each first clipped to ``CLIP`` around their plain median, so that one broken store cannot
    carry the network even when it is the biggest; NaN with fewer than ``MIN_PEERS`` others.
    """
    centre = _median(np.where(weight > 0, movement, np.nan).T, 1)
    with np.errstate(invalid="ignore"):
        clipped = np.clip(movement, centre / CLIP, centre * CLIP)
    part = np.where(weight > 0, weight * clipped, 0.0)
    others = (weight > 0).sum(axis=0) - (weight > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (part.sum(axis=0) - part) / (weight.sum(axis=0) - weight)
    return np.where(others >= MIN_PEERS, mean, np.nan)


def _usual(value: np.ndarray, lag: int, begin: int) -> np.ndarray:
    """[store, period from ``begin``]: the store's own median of the reference periods."""
    return _median(_history(value, lag, REFERENCE_WEEKS)[:, begin:])


def _scan(panel: _Panel, kpis: list[str], first: int) -> list[Anomaly]:
    """Anomalies of the periods from ``first`` to the panel's end, every store and KPI.

    Arrays start at ``begin``: the periods whose log-ratios give the scale, then the scanned
    ones; the periods before are only reference periods.
    """
    lag = 7 if panel.step == 1 else 1
    begin = max(first - SCALE_WEEKS * lag, 0)
    tickets = _usual(_value(panel, "tickets"), lag, begin)
    # the network: stores open on the day and on its reference days (like-for-like)
    peers = (panel.observed & _history(panel.observed, lag, REFERENCE_WEEKS, False).all(-1))
    peers = peers[:, begin:]
    volume = np.where(np.nan_to_num(tickets) >= MIN_TICKETS, tickets, np.nan)
    nothing_sold = (panel.observed & (panel.sums["tickets"] == 0))[:, first:]
    closure_reported = np.zeros_like(nothing_sold)
    found: list[Anomaly] = []
    for kpi in kpis:
        value = _value(panel, kpi)
        usual = tickets if kpi == "tickets" else _usual(value, lag, begin)
        value = value[:, begin:]
        with np.errstate(divide="ignore", invalid="ignore"):
            movement = np.where(usual > 0, value / usual, np.nan)
        expected = usual * _network_factor(panel, movement, tickets, peers)
        score, scale = _scores(value, expected, volume, first - begin, lag)
        flagged = np.nan_to_num(np.abs(score)) >= THRESHOLD
        flagged &= ~(nothing_sold & closure_reported)
        closure_reported |= flagged & nothing_sold
        for s, t in zip(*np.nonzero(flagged), strict=True):
            cell = (s, first - begin + t)
            found.append(_anomaly(panel, kpi, (s, first + t), float(value[cell]),
                                  float(expected[cell]), float(score[s, t]),
                                  float(scale[s, t])))
    return found


def _scores(
    value: np.ndarray, expected: np.ndarray, volume: np.ndarray, first: int, lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """(score, scale) of the periods from ``first``; NaN where not judged.

    ``volume`` is the store's usual sales tickets (NaN below the minimum). The scale comes
    from the store's log-ratios before ``first``, their spread measured per unit of volume.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        # nothing at all is worth half a ticket: a zero is less telling where 5 tickets
        # were expected than where 50 were
        ratio = np.maximum(value / expected, np.maximum(0.5 / volume, MIN_RATIO))
    judged = (expected > 0) & np.isfinite(value) & np.isfinite(volume)
    log_ratio = np.where(judged, np.log(ratio), np.nan)
    root = np.sqrt(volume)
    past = (log_ratio * root)[:, :first]
    deviation = np.abs(past - _median(past, MIN_HISTORY * lag)[:, None])
    spread = MAD_TO_SIGMA * _median(deviation, MIN_HISTORY * lag)
    scale = np.maximum(spread[:, None] / root[:, first:], MIN_SCALE)
    score = log_ratio[:, first:] / scale
    # nothing sold or counted where the store trades (closed, till or counter down) is always
    # reported; only additive KPIs reach zero here (ratios must be positive to be judged)
    zero = judged[:, first:] & (value[:, first:] <= 0)
    return np.where(zero, np.minimum(score, -THRESHOLD), score), scale


def _anomaly(
    panel: _Panel, kpi: str, cell: tuple[int, int], value: float, expected: float,
    score: float, scale: float,
) -> Anomaly:
    s, t = cell
    width = THRESHOLD * scale
    return Anomaly(
        store_code=panel.codes[s], kpi=kpi, grain="day" if panel.step == 1 else "week",
        date=panel.start + dt.timedelta(days=int(t) * panel.step),
        value=value, expected=expected, low=expected * float(np.exp(-width)),
        high=expected * float(np.exp(width)), score=score,
        direction="above" if score > 0 else "below",
    )


def _unexplained(weeks: list[Anomaly], days: list[Anomaly], daily: _Panel) -> list[Anomaly]:
    """The weeks still outside their band once their anomalous days (same store and KPI) are
    put back at their expected values: a day that explains its week is listed once."""
    flagged: dict[tuple[str, str, dt.date], list[Anomaly]] = {}
    for d in days:
        monday = d.date - dt.timedelta(days=d.date.weekday())
        flagged.setdefault((d.store_code, d.kpi, monday), []).append(d)
    return [w for w in weeks if not _explained(w, flagged.get((w.store_code, w.kpi, w.date),
                                                               []), daily)]


def _explained(week: Anomaly, days: list[Anomaly], daily: _Panel) -> bool:
    if not days:
        return False
    den = PARTS[week.kpi][1]
    s = daily.codes.index(week.store_code)
    first = (week.date - daily.start).days

    def weight(t: int, length: int = 1) -> float:  # a ratio's excess counts per unit of den
        return 1.0 if den is None else float(daily.sums[den][s, t:t + length].sum())

    excess = sum(weight((d.date - daily.start).days) * (d.value - d.expected) for d in days)
    without = max((week.value - excess / weight(first, 7)) / week.expected, MIN_RATIO)
    scale = np.log(week.high / week.expected) / THRESHOLD
    return bool(abs(np.log(without)) < THRESHOLD * scale)


def _rank(found: list[Anomaly], kpis: list[str], limit: int, per_store: int) -> list[Anomaly]:
    """By |score|, then store, KPI, grain and date so that ties always come out alike."""
    order = sorted(found, key=lambda a: (-abs(a.score), a.store_code, kpis.index(a.kpi),
                                         a.grain, a.date))
    taken: dict[str, int] = {}
    out = []
    for a in order:
        if taken.get(a.store_code, 0) < per_store:
            taken[a.store_code] = taken.get(a.store_code, 0) + 1
            out.append(a)
        if len(out) == limit:
            break
    return out
