"""build_demo: simulate the chain in numpy, then load it through Arrow in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import duckdb
import numpy as np
import pyarrow as pa

from enseigne.db.migrations import migrate
from enseigne.db.schema_consents import SPANS as CONSENT_SPANS
from enseigne.db.schema_customers import AGGREGATE as CUSTOMER_STORES
from enseigne.db.schema_customers import SALES_LINKS
from enseigne.demo import baskets, profiles, service
from enseigne.demo import customers as model
from enseigne.demo.reference import CATEGORIES, CITIES, FORMATS
from enseigne.demo.world import (
    WEB,
    Calendar,
    Catalog,
    Stores,
    code_macros,
    draw_sellers,
    make_calendar,
    make_catalog,
    make_stores,
    seller_names,
)
from enseigne.ingest.load import ROLL_UP, SUMS

Progress = Callable[[str, float], None]
CANONICAL_TABLES = (
    "stores", "sellers", "products", "customers", "consents", "tickets", "ticket_lines",
    "footfall", "targets", "survey_responses", "feedback",
)


def _no_progress(_stage: str, _fraction: float) -> None:
    """Default progress callback: the library itself never prints."""


def build_demo(
    con: duckdb.DuckDBPyConnection,
    *,
    stores: int = 40,
    customers: int = 60_000,
    years: int = 2,
    seed: int = 42,
    today: dt.date | None = None,
    progress: Progress | None = None,
    purchase_rate: float = 1.0,
) -> dict[str, int]:
    """Replace the database content with a deterministic demo chain; return rows per table.

    ``stores`` counts the physical stores (codes S001...), the web store ``WEB`` comes on top;
    data covers ``years`` years ending on ``today`` (default: yesterday). ``purchase_rate``
    scales how often customers buy (1: ~21 ticket lines per customer over 2 years).
    """
    if stores < 1 or customers < 1 or years < 1 or purchase_rate <= 0:
        raise ValueError("stores, customers, years and purchase_rate must be positive")
    report = progress or _no_progress
    today = today or dt.date.today() - dt.timedelta(days=1)
    migrate(con)
    rng = np.random.default_rng(seed)
    cal = make_calendar(today, years)
    st = make_stores(rng, stores, cal)
    catalog = make_catalog(rng)
    report("clients", 0.05)
    pop = model.make_population(rng, customers, cal, st, purchase_rate)
    report("tickets", 0.2)
    t, sellers, n_lines = _simulate_tickets(rng, pop, cal, st)
    lines, t_sorted, _, seq = baskets.build_lines(rng, cal, catalog, t, sellers, n_lines)
    report("fichier clients", 0.4)
    rec = profiles.recruitment(rng, pop, t, sellers, cal, st)
    cust_table, flags = profiles.customer_table(rng, pop, rec, cal, st)
    frames = {
        "lines": lines, "customers": cust_table,
        "consents": profiles.consent_table(rng, pop, rec, flags, cal, st),
        "footfall": service.footfall_table(rng, t_sorted, cal, st),
        "surveys": service.survey_table(rng, t_sorted, seq, cal, st),
        "feedback": service.feedback_table(rng, t_sorted, seq, cal, st),
        "truth": pa.table({"customer": np.arange(pop.n), "lam": pop.lam_week,
                           "p": pop.p_dropout, "spend": pop.mean_spend}),
        **_dimension_frames(rng, cal, st, catalog),
    }
    report("écriture", 0.55)
    _load(con, frames, rng, st, cal, stores, customers, report)
    report("terminé", 1.0)
    return {name: _count(con, name) for name in (*CANONICAL_TABLES, "demo_truth")}


def _simulate_tickets(
    rng: np.random.Generator, pop: model.Population, cal: Calendar, st: Stores
) -> tuple[baskets.Tickets, np.ndarray, np.ndarray]:
    """Identified (BG/NBD) and anonymous tickets, with returns, sellers and line counts."""
    remap = st.remap_closed(cal)
    known, is_first = model.identified_tickets(rng, pop, cal, st, remap)
    anonymous = model.anonymous_tickets(rng, known, cal, st, remap)
    t = model.concat(known, anonymous)
    eligible = np.concatenate([~is_first, np.ones(len(anonymous.day), dtype=bool)])
    t = replace(t, is_return=baskets.draw_returns(rng, len(t.day), eligible))
    sellers = draw_sellers(rng, st, t.store)
    return t, sellers, baskets.line_counts(rng, t)


def _dimension_frames(
    rng: np.random.Generator, cal: Calendar, st: Stores, catalog: Catalog
) -> dict[str, pa.Table]:
    city = [CITIES[c] for c in st.city]
    seen: dict[str, int] = {}
    names = []
    for i, (c, f) in enumerate(zip(city, st.fmt, strict=True)):
        label = "Boutique en ligne" if i == WEB else f"{c[0]} {FORMATS[f][0]}"
        seen[label] = seen.get(label, 0) + 1
        names.append(label if seen[label] == 1 else f"{label} {seen[label]}")
    physical = np.arange(st.n) != WEB
    opened = cal.days[0] + np.where(physical, st.opened, -5 * 365)
    jitter = rng.normal(0, 0.015, (st.n, 2))
    stores = pa.table({
        "i": np.arange(st.n), "name": names,
        "region": pa.array([c[2] for c in city], mask=~physical),
        "city": pa.array([c[0] for c in city], mask=~physical),
        "postal_code": pa.array([c[1] for c in city], mask=~physical),
        "surface": pa.array(st.surface, mask=~physical), "opened_on": opened,
        "closed_on": pa.array(cal.days[0] + np.minimum(st.closed, cal.n_days - 1),
                              mask=st.closed >= cal.n_days),
        "lat": pa.array(np.array([c[3] for c in city]) + jitter[:, 0], mask=~physical),
        "lon": pa.array(np.array([c[4] for c in city]) + jitter[:, 1], mask=~physical),
    })
    count = np.diff(st.seller_start)
    owner = np.repeat(np.arange(st.n), count)
    number = np.arange(len(owner)) - st.seller_start[owner] + 1
    sellers = pa.table({"store": owner, "k": number, "name": seller_names(rng, len(owner))})
    cats = np.array(list(CATEGORIES), dtype=object)
    products = pa.table({
        "p": np.arange(catalog.n), "label": catalog.label, "category": cats[catalog.category],
        "subcategory": catalog.sub, "brand": catalog.brand,
        "price": baskets.cents_to_decimal(catalog.price_cents),
    })
    return {"stores": stores, "sellers": sellers, "products": products}


INSERTS = {
    "stores": """INSERT INTO stores (store_code, name, region, city, postal_code, surface_m2,
        opened_on, closed_on, latitude, longitude)
        SELECT demo_store(i), name, region, city, postal_code, surface, opened_on, closed_on,
               round(lat, 5), round(lon, 5) FROM demo_raw_stores""",
    "sellers": """INSERT INTO sellers (seller_code, store_code, name)
        SELECT demo_seller(store, k), demo_store(store), name FROM demo_raw_sellers""",
    "products": """INSERT INTO products (sku, label, category, subcategory, brand, unit_price)
        SELECT demo_sku(p), label, category, subcategory, brand, price FROM demo_raw_products""",
    "customers": """INSERT INTO customers (customer_ref, loyalty_card, first_name, last_name,
        email, phone, birth_date, gender, postal_code, city, country, created_at, store_code,
        channel, seller_code)
        SELECT demo_customer(customer), loyalty_card, first_name, last_name, email, phone,
               birth_date, gender, postal_code, city, 'FR', created_at, demo_store(store),
               demo_channel(channel), demo_seller(store, seller) FROM demo_raw_customers""",
    "consents": """INSERT INTO consents (customer_ref, channel, status, collected_at, source,
        store_code)
        SELECT demo_customer(customer), channel, status, collected_at, source,
               CASE WHEN store >= 0 THEN demo_store(store) END FROM demo_raw_consents""",
    "lines": "CREATE OR REPLACE TEMP TABLE demo_lines AS "
             + baskets.LINES_SQL.format(source="demo_raw_lines"),
    "ticket_lines": "INSERT INTO ticket_lines (ticket_id, line_no, sku, quantity, unit_price, "
                    "discount, amount, vat_rate) SELECT ticket_id, line_no, sku, quantity, "
                    "unit_price, discount, amount, vat_rate FROM demo_lines",
    # the same roll-up as the import's, so that a demo and its re-import are identical
    "tickets": f"INSERT INTO tickets {ROLL_UP.format(sums=SUMS, lines='demo_lines')} ORDER BY 2, 1",
    "drop_lines": "DROP TABLE demo_lines",
    # derived from the receipts, as the import keeps it (see enseigne.db.schema_customers)
    "customer_stores": f"INSERT INTO customer_stores {CUSTOMER_STORES.format(source='tickets')} "
                       "ORDER BY 1, 2",
    "customer_sales": f"INSERT INTO customer_sales {SALES_LINKS.format(mine='')} ORDER BY sold_at",
    # derived from the consents, as the import keeps it (see enseigne.db.schema_consents)
    "consent_spans": f"INSERT INTO consent_spans {CONSENT_SPANS.format(mine='')} ORDER BY 1",
    "footfall": """INSERT INTO footfall (store_code, date, hour, visitors)
        SELECT demo_store(store), date, NULL, visitors FROM demo_raw_footfall""",
    "surveys": """INSERT INTO survey_responses (response_id, answered_at, store_code,
        customer_ref, ticket_id, nps, csat, comment, channel)
        SELECT 'R' || lpad(n::VARCHAR, 7, '0'), answered_at,
               demo_store(store), demo_customer(customer),
               demo_ticket(store, make_timestamp(sold * 1000000), seq), nps, csat, comment,
               demo_channel(channel) FROM demo_raw_surveys""",
    "feedback": """INSERT INTO feedback (feedback_id, opened_at, kind, store_code, customer_ref,
        channel, text, resolved_at)
        SELECT 'F' || lpad(n::VARCHAR, 7, '0'), opened_at, kind,
               demo_store(store), demo_customer(customer), demo_channel(channel), text,
               resolved_at FROM demo_raw_feedback""",
    "truth": """CREATE OR REPLACE TABLE demo_truth AS
        SELECT demo_customer(customer) AS customer_ref, lam AS "lambda", p AS p_dropout,
               spend AS mean_spend FROM demo_raw_truth""",
}


def _load(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pa.Table], rng: np.random.Generator,
    st: Stores, cal: Calendar, n_stores: int, n_customers: int, report: Progress,
) -> None:
    """Delete the previous content and insert everything in one transaction."""
    con.execute(code_macros(n_stores, n_customers))
    for name, table in frames.items():
        con.register(f"demo_raw_{name}", table)
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (*CANONICAL_TABLES, "customer_stores", "customer_sales", "consent_spans"):
            con.execute(f"DELETE FROM {table}")
        for i, (name, sql) in enumerate(INSERTS.items()):
            con.execute(sql)
            report(f"écriture {name}", 0.55 + 0.4 * (i + 1) / len(INSERTS))
        codes = [row[0] for row in con.execute(
            "SELECT store_code FROM stores ORDER BY store_code").fetchall()]
        service.insert_targets(con, rng, codes, cal)
        con.execute("COMMENT ON TABLE demo_truth IS 'Demo generator truth: lambda = purchases "
                    "per week while alive (in average-season weeks), p_dropout = probability "
                    "to churn after each purchase, mean_spend = mean gross ticket value in euros'")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in frames:
            con.unregister(f"demo_raw_{name}")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0
