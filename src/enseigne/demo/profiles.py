"""The customer file: identity, contact data and the consent ledger.

Contact capture and opt-in depend on the recruiting store and seller, which is what the
data-collection challenge on the dashboard is about.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa

from enseigne.demo.baskets import Tickets
from enseigne.demo.customers import Population
from enseigne.demo.reference import (
    CITIES,
    EMAIL_DOMAIN_WEIGHTS,
    EMAIL_DOMAINS,
    FIRST_NAMES_F,
    FIRST_NAMES_M,
    LAST_NAMES,
)
from enseigne.demo.world import WEB, Calendar, Stores, draw_sellers

DAY = 86_400
CONSENT_CHANNELS = np.array(["email", "sms", "push", "postal", "phone"], dtype=object)


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ascii_name.lower().replace(" ", "-").replace("'", "")


def epoch_seconds(cal: Calendar, day: np.ndarray, secs: np.ndarray) -> np.ndarray:
    return cal.days[day].astype("datetime64[s]").astype(np.int64) + secs


def recruitment(
    rng: np.random.Generator, pop: Population, t: Tickets, sellers: np.ndarray,
    cal: Calendar, st: Stores,
) -> dict[str, np.ndarray]:
    """Where, by whom and when each customer was recruited (first contact)."""
    known = np.flatnonzero(t.customer >= 0)
    ts = epoch_seconds(cal, t.day[known], t.secs[known])
    order = np.lexsort((ts, t.customer[known]))
    cust = t.customer[known][order]
    head = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    first, cust = known[order][head], cust[head]
    start_s = int(cal.days[0].astype("datetime64[s]").astype(np.int64))
    out = {
        "store": pop.home.copy(),
        "seller": draw_sellers(rng, st, pop.home),
        "channel": np.zeros(pop.n, dtype=np.int8),
        "created": start_s - rng.integers(1, 8 * 365, size=pop.n) * DAY
        + rng.integers(9 * 3600, 19 * 3600, size=pop.n),  # known before, during opening hours
    }
    new = pop.is_new[cust]
    cust, first = cust[new], first[new]
    out["store"][cust] = t.store[first]
    out["seller"][cust] = sellers[first]
    out["channel"][cust] = t.channel[first]
    out["created"][cust] = ts[order][head][new]
    return out


def _names(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    female = rng.random(n) < 0.68
    f_idx = rng.integers(len(FIRST_NAMES_F), size=n)
    m_idx = rng.integers(len(FIRST_NAMES_M), size=n)
    first = np.where(female, np.array(FIRST_NAMES_F)[f_idx], np.array(FIRST_NAMES_M)[m_idx])
    f_slug = np.where(female, np.array([_slug(x) for x in FIRST_NAMES_F])[f_idx],
                      np.array([_slug(x) for x in FIRST_NAMES_M])[m_idx])
    l_idx = rng.integers(len(LAST_NAMES), size=n)
    return {
        "gender": np.where(female, "F", "M"), "first": first,
        "last": np.array(LAST_NAMES)[l_idx],
        "f_slug": f_slug, "l_slug": np.array([_slug(x) for x in LAST_NAMES])[l_idx],
    }


def _emails(rng: np.random.Generator, names: dict[str, np.ndarray], birth_year: np.ndarray
            ) -> np.ndarray:
    """first.last85@domain, unique: a clash gets the customer's number appended."""
    n = len(birth_year)
    sep = rng.choice(np.array([".", "", "_", "-"]), size=n, p=[0.6, 0.2, 0.1, 0.1])
    year2 = np.char.zfill((birth_year % 100).astype(str), 2)
    suffix = np.where(rng.random(n) < 0.5, year2, "")
    local = np.char.add(np.char.add(np.char.add(names["f_slug"], sep), names["l_slug"]), suffix)
    p = np.array(EMAIL_DOMAIN_WEIGHTS)
    domain = rng.choice(np.array(EMAIL_DOMAINS), size=n, p=p / p.sum())
    email = np.char.add(np.char.add(local, "@"), domain)
    _, first_seen = np.unique(email, return_index=True)
    clash = np.ones(n, dtype=bool)
    clash[first_seen] = False
    numbered = np.char.add(np.char.add(local, np.arange(1, n + 1).astype(str)), "@")
    return np.where(clash, np.char.add(numbered, domain), email)


def customer_table(
    rng: np.random.Generator, pop: Population, rec: dict[str, np.ndarray],
    cal: Calendar, st: Stores,
) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """The customers rows (codes spelled in SQL) and the contact flags the ledger needs."""
    n = pop.n
    names = _names(rng, n)
    age_days = np.clip(rng.normal(42, 14, n), 18, 88) * 365.25
    birth = cal.days[-1] - age_days.astype("timedelta64[D]")
    birth_year = birth.astype("datetime64[Y]").astype(int) + 1970
    global_seller = st.seller_start[rec["store"]] + rec["seller"] - 1
    quality = np.where(rec["seller"] > 0, st.seller_quality[np.maximum(global_seller, 0)], 1.0)
    capture = np.clip(st.capture[rec["store"]] * quality, 0.02, 0.98)
    has_email = rng.random(n) < capture
    has_phone = rng.random(n) < capture * 0.8
    local = rng.random(n) < 0.75
    city = np.where(local & (rec["store"] != WEB), st.city[rec["store"]],
                    rng.integers(len(CITIES), size=n))
    postal = np.array([c[1] for c in CITIES])[city]
    paris = np.array([c[0] for c in CITIES])[city] == "Paris"
    arrondissement = np.char.zfill(rng.integers(1, 21, size=n).astype(str), 2)
    postal = np.where(paris, np.char.add("750", arrondissement), postal)
    mobile = np.char.add(rng.choice(np.array(["+336", "+337"]), size=n, p=[0.8, 0.2]),
                         np.char.zfill(rng.integers(0, 100_000_000, size=n).astype(str), 8))
    has_card = ~((rec["channel"] > 0) & (rng.random(n) < 0.6))
    table = pa.table({
        "customer": np.arange(n, dtype=np.int64),
        "loyalty_card": pa.array(np.char.add("2990", np.char.zfill(
            np.arange(1, n + 1).astype(str), 9)), mask=~has_card),
        "first_name": names["first"], "last_name": names["last"],
        "email": pa.array(_emails(rng, names, birth_year), mask=~has_email),
        "phone": pa.array(mobile, mask=~has_phone),
        "birth_date": pa.array(birth, mask=rng.random(n) < 0.12),
        "gender": names["gender"], "postal_code": postal,
        "city": np.array([c[0] for c in CITIES])[city],
        "created_at": pa.array(rec["created"].astype("datetime64[s]")),
        "store": rec["store"].astype(np.int32), "channel": rec["channel"],
        "seller": rec["seller"].astype(np.int16),
    })
    flags = {"email": has_email, "phone": has_phone, "quality": quality}
    return table, flags


def consent_table(
    rng: np.random.Generator, pop: Population, rec: dict[str, np.ndarray],
    flags: dict[str, np.ndarray], cal: Calendar, st: Stores,
) -> pa.Table:
    """Append-only ledger: opt-in/out at recruitment, then some later changes of mind."""
    n = pop.n
    base = np.clip(st.optin[rec["store"]] * np.sqrt(flags["quality"]), 0.05, 0.95)
    wants = [  # (channel code, who is asked, probability of opt-in)
        (0, flags["email"], base),
        (1, flags["phone"], base * 0.8),
        (2, pop.app_user & (pop.web_affinity > 0.1), np.full(n, 0.6)),
        (3, rng.random(n) < 0.35, np.full(n, 0.7)),
        (4, flags["phone"] & (rng.random(n) < 0.1), np.full(n, 0.2)),
    ]
    cust = np.concatenate([np.flatnonzero(asked) for _, asked, _ in wants])
    channel = np.concatenate([np.full(int(asked.sum()), c) for c, asked, _ in wants])
    p_in = np.concatenate([p[asked] for _, asked, p in wants])
    opt_in = rng.random(len(cust)) < p_in
    at = rec["created"][cust] + rng.integers(0, 120, size=len(cust))
    end_s = int((cal.days[-1] + 1).astype("datetime64[s]").astype(np.int64)) - 1
    change = rng.random(len(cust)) < np.where(opt_in, 0.12, 0.05)
    later = at[change] + (rng.random(int(change.sum())) * (end_s - at[change])).astype(np.int64)
    source_first = np.array(["caisse", "site web", "application"], dtype=object)
    source_later = np.where(opt_in[change], "lien de désinscription", "espace client")
    rows = {
        "customer": np.concatenate([cust, cust[change]]).astype(np.int64),
        "channel": CONSENT_CHANNELS[np.concatenate([channel, channel[change]])],
        "status": np.where(np.concatenate([opt_in, ~opt_in[change]]), "opt_in", "opt_out"),
        "collected_at": np.concatenate([at, later]).astype("datetime64[s]"),
        "source": np.concatenate([source_first[rec["channel"][cust]], source_later]),
        "store": np.concatenate([rec["store"][cust], np.full(int(change.sum()), -1)]),
    }
    order = np.lexsort((rows["channel"].astype(str), rows["customer"], rows["collected_at"]))
    return pa.table({k: v[order] for k, v in rows.items()})
