"""A tiny migrations registry, recorded in the database itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from enseigne.db.schema import CANONICAL_DDL
from enseigne.db.schema_auth import AUTH_DDL
from enseigne.db.schema_consents import create_consent_spans
from enseigne.db.schema_customers import (
    add_first_purchases,
    create_customer_sales,
    create_customer_stores,
)
from enseigne.db.schema_privacy import (
    API_AND_MERGES_DDL,
    CONSENT_PROVENANCE_DDL,
    PRIVACY_DDL,
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _sql(script: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def apply(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(script)

    return apply


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical model", _sql(CANONICAL_DDL)),
    Migration(2, "users, tokens, sessions, settings", _sql(AUTH_DDL)),
    Migration(3, "audit log, customer changes", _sql(PRIVACY_DDL)),
    Migration(4, "API idempotency keys, customer merges", _sql(API_AND_MERGES_DDL)),
    Migration(5, "consent seller and wording version", _sql(CONSENT_PROVENANCE_DDL)),
    Migration(6, "customer stores (scope, search, profile)", create_customer_stores),
    Migration(7, "customer stores' first sale (new customers)", add_first_purchases),
    Migration(8, "customer sales and their previous sales (customer KPIs)", create_customer_sales),
    Migration(9, "consent spans (reach KPIs)", create_consent_spans),
)

LATEST = MIGRATIONS[-1].version


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[Migration]:
    """Apply the migrations this database lacks, each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    have = current_version(con)
    if have > LATEST:
        raise RuntimeError(
            f"this database is at schema version {have}, newer than this enseigne "
            f"({LATEST}): upgrade enseigne"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= have:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            migration.apply(con)
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration)
    return applied
