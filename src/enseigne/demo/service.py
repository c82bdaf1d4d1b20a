"""Footfall, satisfaction surveys, feedback and targets, all derived from the sorted tickets."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from enseigne.demo.baskets import Tickets
from enseigne.demo.reference import (
    COMMENTS,
    COMPLAINTS,
    NEGATIVE_REMARKS,
    POSITIVE_REMARKS,
    SUGGESTIONS,
)
from enseigne.demo.world import WEB, Calendar, Stores

DAY = 86_400


def footfall_table(rng: np.random.Generator, t: Tickets, cal: Calendar, st: Stores) -> pa.Table:
    """Visitors per physical store-day = sales tickets / that day's conversion rate.

    Days without a sale have no count (the counter is read when the till is closed), which
    keeps every store-day's conversion meaningful.
    """
    sales = (t.store != WEB) & ~t.is_return
    key = t.store[sales].astype(np.int64) * cal.n_days + t.day[sales]
    counts = np.bincount(key, minlength=st.n * cal.n_days)
    cell = np.flatnonzero(counts)
    store, day = cell // cal.n_days, cell % cal.n_days
    rate = st.conversion[store] * rng.lognormal(0.0, 0.1, len(cell))
    rate = np.clip(rate * np.where(cal.sale[day], 1.1, 1.0), 0.08, 0.45)
    visitors = np.maximum(np.round(counts[cell] / rate), counts[cell]).astype(np.int32)
    return pa.table({"store": store.astype(np.int32), "date": cal.days[day],
                     "visitors": visitors})


def _ticket_refs(t: Tickets, seq: np.ndarray, idx: np.ndarray, cal: Calendar) -> dict:
    sold = cal.days[t.day[idx]].astype("datetime64[s]").astype(np.int64) + t.secs[idx]
    return {"store": t.store[idx].astype(np.int32), "seq": seq[idx].astype(np.int32),
            "customer": t.customer[idx].astype(np.int64), "channel": t.channel[idx],
            "sold": sold}


def _end_s(cal: Calendar) -> int:
    return int((cal.days[-1] + 1).astype("datetime64[s]").astype(np.int64)) - 1


def _verbatims(rng: np.random.Generator, nps: np.ndarray) -> np.ndarray:
    pos = np.array(POSITIVE_REMARKS, dtype=object)[rng.integers(len(POSITIVE_REMARKS),
                                                                size=len(nps))]
    neg = np.array(NEGATIVE_REMARKS, dtype=object)[rng.integers(len(NEGATIVE_REMARKS),
                                                                size=len(nps))]
    mixed = pos + " En revanche : " + neg
    text = np.where(nps >= 9, pos, np.where(nps <= 6, neg, mixed))
    return np.where(rng.random(len(nps)) < 0.35, text, None)


def survey_table(rng: np.random.Generator, t: Tickets, seq: np.ndarray, cal: Calendar,
                 st: Stores) -> pa.Table:
    """NPS/CSAT answers to a post-purchase survey sent for ~7 % of identified sales tickets."""
    p = np.where(t.customer >= 0, 0.07, 0.005) * ~t.is_return
    idx = np.flatnonzero(rng.random(len(t.day)) < p)
    refs = _ticket_refs(t, seq, idx, cal)
    answered = refs["sold"] + rng.integers(1800, 4 * DAY, size=len(idx))
    keep = answered <= _end_s(cal)
    idx, answered = idx[keep], answered[keep]
    refs = {k: v[keep] for k, v in refs.items()}
    latent = rng.normal(st.nps_mu[refs["store"]], 1.8)
    nps = np.clip(np.round(latent), 0, 10).astype(np.int8)
    csat = np.clip(np.round(1 + latent * 0.4 + rng.normal(0, 0.6, len(idx))), 1, 5)
    order = np.argsort(answered, kind="stable")
    cols = {**refs, "answered_at": answered.astype("datetime64[s]"), "nps": nps,
            "csat": csat.astype(np.int8), "comment": _verbatims(rng, nps)}
    table = pa.table({k: v[order] for k, v in cols.items()})
    return table.append_column("n", pa.array(np.arange(1, len(order) + 1)))


def feedback_table(rng: np.random.Generator, t: Tickets, seq: np.ndarray, cal: Calendar,
                   st: Stores) -> pa.Table:
    """Complaints (more where satisfaction is low), comments and suggestions."""
    unhappy = (10.0 - st.nps_mu[t.store]) / 2.0
    p = np.stack([0.0012 * unhappy, np.full(len(t.day), 0.0006), np.full(len(t.day), 0.0005)])
    draw = rng.random(len(t.day))
    kind = np.select([draw < p[0], draw < p[0] + p[1], draw < p.sum(axis=0)], [0, 1, 2], -1)
    idx = np.flatnonzero(kind >= 0)
    kind = kind[idx]
    refs = _ticket_refs(t, seq, idx, cal)
    opened = refs["sold"] + rng.integers(600, 10 * DAY, size=len(idx))
    delay = (rng.gamma(2.0, 2.5, len(idx)) * DAY).astype(np.int64) + 3600
    resolved = opened + delay
    unresolved = (kind != 0) | (rng.random(len(idx)) < 0.1) | (resolved > _end_s(cal))
    keep = opened <= _end_s(cal)
    texts = [np.array(x, dtype=object) for x in (COMPLAINTS, COMMENTS, SUGGESTIONS)]
    text = np.array([texts[k][rng.integers(len(texts[k]))] for k in kind], dtype=object)
    cols = {**refs, "opened_at": opened.astype("datetime64[s]"),
            "kind": np.array(["complaint", "comment", "suggestion"])[kind], "text": text,
            "resolved_at": pa.array(resolved.astype("datetime64[s]"), mask=unresolved)}
    order = np.argsort(opened[keep], kind="stable")
    table = pa.table({k: (v.filter(pa.array(keep)) if isinstance(v, pa.Array) else v[keep])
                     for k, v in cols.items()}).take(pa.array(order))
    return table.append_column("n", pa.array(np.arange(1, len(order) + 1)))


TARGETS_SQL = """
INSERT INTO targets (scope, kpi, period_start, period_end, value)
WITH month_actuals AS (
    SELECT store_code AS scope, month(sold_at) AS m,
           sum(amount) AS revenue,
           count(*) FILTER (WHERE NOT is_return) AS tickets,
           count(*) FILTER (WHERE NOT is_return AND customer_ref IS NOT NULL) AS identified
    FROM tickets WHERE year(sold_at) = $last_year GROUP BY ALL
), conv AS (
    SELECT f.store_code AS scope, month(f.date) AS m,
           sum(t.n) / sum(f.visitors) AS conversion_rate
    FROM footfall f
    JOIN (SELECT store_code, sold_at::DATE AS d, count(*) AS n FROM tickets
          WHERE NOT is_return GROUP BY ALL) t ON t.store_code = f.store_code AND t.d = f.date
    WHERE year(f.date) = $last_year GROUP BY ALL
), nps AS (
    SELECT store_code AS scope,
           100.0 * (count(*) FILTER (WHERE nps >= 9) - count(*) FILTER (WHERE nps <= 6))
               / count(*) AS nps
    FROM survey_responses WHERE year(answered_at) = $last_year GROUP BY ALL
), base AS (
    SELECT a.*, c.conversion_rate, n.nps, 1 + g.growth AS up,
           make_date($year, a.m, 1) AS period_start,
           last_day(make_date($year, a.m, 1)) AS period_end
    FROM month_actuals a JOIN demo_growth g USING (scope)
    LEFT JOIN conv c USING (scope, m) LEFT JOIN nps n USING (scope)
    JOIN stores s ON s.store_code = a.scope
    WHERE a.tickets > 0 AND (s.closed_on IS NULL OR make_date($year, a.m, 1) < s.closed_on)
)
SELECT scope, kpi, period_start, period_end, value FROM base, LATERAL (VALUES
    ('revenue', revenue * up),
    ('tickets', round(tickets * (1 + (up - 1) / 2))),
    ('avg_basket', revenue * up / round(tickets * (1 + (up - 1) / 2))),
    ('conversion_rate', conversion_rate * (1 + (up - 1) / 2)),
    ('identified_rate', least(identified / tickets + 0.03, 0.95)),
    ('nps', least(nps + 3, 100))
) AS k(kpi, value)
WHERE value IS NOT NULL
UNION ALL
SELECT 'network', 'revenue', make_date($year, 1, 1), make_date($year, 12, 31),
       sum(amount) * 1.05
FROM tickets WHERE year(sold_at) = $last_year HAVING count(*) > 0
ORDER BY 1, 2, 3
"""


def insert_targets(con: duckdb.DuckDBPyConnection, rng: np.random.Generator,
                   codes: list[str], cal: Calendar) -> None:
    """This year's targets: last year's actuals plus a store-specific ambition (2-8 %)."""
    growth = pa.table({"scope": codes, "growth": rng.uniform(0.02, 0.08, len(codes))})
    con.register("demo_growth", growth)
    year = cal.today.year
    con.execute(TARGETS_SQL, {"year": year, "last_year": year - 1})
    con.unregister("demo_growth")
