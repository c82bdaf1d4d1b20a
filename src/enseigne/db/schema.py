"""The canonical model (migration 1).

Money is DECIMAL(18,2): float sums differ in the last bits between runs and engines.
``tickets`` holds one row per receipt with its header (when, where, who) and the sums of
its lines, so that store, customer and network KPIs scan receipts, not lines; the lines
keep what only lines know (SKU, quantity, price, discount, VAT) for product analyses.
Fact tables carry no primary key (an index over 100 M rows costs more than it gives):
the import keeps them unique by natural key with an anti-join.
"""

from __future__ import annotations

CANONICAL_DDL = """
CREATE TABLE stores (
    store_code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    region VARCHAR,
    city VARCHAR,
    postal_code VARCHAR,
    surface_m2 DECIMAL(10, 2),
    opened_on DATE,
    closed_on DATE,
    latitude DOUBLE,
    longitude DOUBLE,
    incomplete BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE sellers (
    seller_code VARCHAR PRIMARY KEY,
    store_code VARCHAR,
    name VARCHAR,
    incomplete BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE products (
    sku VARCHAR PRIMARY KEY,
    label VARCHAR,
    category VARCHAR,
    subcategory VARCHAR,
    brand VARCHAR,
    unit_price DECIMAL(18, 2),
    incomplete BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE customers (
    customer_ref VARCHAR PRIMARY KEY,
    loyalty_card VARCHAR,
    first_name VARCHAR,
    last_name VARCHAR,
    email VARCHAR,
    phone VARCHAR,
    birth_date DATE,
    gender VARCHAR,
    postal_code VARCHAR,
    city VARCHAR,
    country VARCHAR,
    created_at TIMESTAMP,
    store_code VARCHAR,
    channel VARCHAR,
    seller_code VARCHAR,
    incomplete BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE consents (
    customer_ref VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    collected_at TIMESTAMP NOT NULL,
    source VARCHAR,
    store_code VARCHAR,
    import_id INTEGER,
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE tickets (
    ticket_id VARCHAR NOT NULL,
    sold_at TIMESTAMP NOT NULL,
    store_code VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    seller_code VARCHAR,
    customer_ref VARCHAR,
    line_count INTEGER NOT NULL,
    units DECIMAL(18, 3) NOT NULL,
    amount DECIMAL(18, 2) NOT NULL,
    amount_ht DECIMAL(18, 4),
    discount DECIMAL(18, 2) NOT NULL,
    returned_amount DECIMAL(18, 2) NOT NULL,
    is_return BOOLEAN NOT NULL
);

CREATE TABLE ticket_lines (
    ticket_id VARCHAR NOT NULL,
    line_no INTEGER NOT NULL,
    sku VARCHAR NOT NULL,
    quantity DECIMAL(18, 3) NOT NULL,
    unit_price DECIMAL(18, 2),
    discount DECIMAL(18, 2),
    amount DECIMAL(18, 2) NOT NULL,
    vat_rate DECIMAL(6, 4),
    import_id INTEGER
);

-- Lines as a POS export shows them: each with its receipt's shared columns.
CREATE VIEW sales_lines AS
SELECT l.*, t.sold_at, t.store_code, t.channel, t.seller_code, t.customer_ref
FROM ticket_lines l JOIN tickets t USING (ticket_id);

CREATE TABLE footfall (
    store_code VARCHAR NOT NULL,
    date DATE NOT NULL,
    hour TINYINT,
    visitors INTEGER NOT NULL,
    import_id INTEGER
);

CREATE TABLE targets (
    scope VARCHAR NOT NULL,
    kpi VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    value DECIMAL(18, 4) NOT NULL,
    import_id INTEGER
);

CREATE TABLE survey_responses (
    response_id VARCHAR NOT NULL,
    answered_at TIMESTAMP NOT NULL,
    store_code VARCHAR,
    customer_ref VARCHAR,
    ticket_id VARCHAR,
    nps TINYINT,
    csat TINYINT,
    comment VARCHAR,
    channel VARCHAR,
    import_id INTEGER
);

CREATE TABLE feedback (
    feedback_id VARCHAR NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    kind VARCHAR NOT NULL,
    store_code VARCHAR,
    customer_ref VARCHAR,
    channel VARCHAR,
    text VARCHAR,
    resolved_at TIMESTAMP,
    import_id INTEGER
);

CREATE SEQUENCE import_id_seq START 1;

CREATE TABLE import_log (
    import_id INTEGER PRIMARY KEY,
    kind VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    file_bytes BIGINT,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    stubs_created BIGINT NOT NULL,
    seconds DOUBLE NOT NULL
);

CREATE TABLE quarantine (
    import_id INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    line BIGINT,
    "column" VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
"""
