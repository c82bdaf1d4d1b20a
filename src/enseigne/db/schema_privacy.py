"""The audit log and the change log of customer records (migration 3).

``audit_log`` is append-only: the product has no path that updates or deletes its rows
(the GDPR erasure replaces the customer_ref of an erased person by their anonymous key).
``customer_changes`` records which fields of a customer record changed, by whom, when and
why; it keeps no old or new value, so it holds no personal data of its own.
"""

from __future__ import annotations

PRIVACY_DDL = """
CREATE SEQUENCE audit_id_seq START 1;

CREATE TABLE audit_log (
    audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    customer_ref VARCHAR,
    detail VARCHAR,
    origin VARCHAR NOT NULL
);

CREATE TABLE customer_changes (
    customer_ref VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor VARCHAR NOT NULL,
    fields VARCHAR[] NOT NULL,
    reason VARCHAR
);
"""

# Migration 4: the live API's idempotency keys and the log of customer merges.
API_AND_MERGES_DDL = """
CREATE TABLE idempotency_keys (
    key VARCHAR NOT NULL,
    client VARCHAR NOT NULL,
    endpoint VARCHAR NOT NULL,
    request_hash VARCHAR NOT NULL,
    status INTEGER NOT NULL,
    response VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (client, key)
);

CREATE TABLE customer_merges (
    merged_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor VARCHAR NOT NULL,
    survivor_ref VARCHAR NOT NULL,
    absorbed_ref VARCHAR NOT NULL,
    score DOUBLE,
    reasons VARCHAR[],
    moved JSON
);
"""


# Migration 5: where and on what wording a consent was collected. "Who" is the seller at
# the till (the store says where, the web shop has no seller); the wording version lets a
# DPO show exactly which text the person agreed to.
CONSENT_PROVENANCE_DDL = """
ALTER TABLE consents ADD COLUMN seller_code VARCHAR;
ALTER TABLE consents ADD COLUMN wording_version VARCHAR;
"""
