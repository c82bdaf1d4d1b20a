"""GDPR rights on the customer file: access (export), erasure, retention.

Erasure anonymises rather than deletes: the person's receipts, survey scores and consent
events stay, detached to an anonymous key, so every KPI keeps its value; their identity,
contact data, free text and consent sources are removed. DuckDB keeps old values in the
freed blocks of its file, so an erasure ends with ``rewrite_file``: every table is copied
to a fresh file that replaces the old one, and the erased values are gone from the bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from enseigne.db.connect import (
    DatabaseKeyError,
    is_encrypted,
    key_literal,
    load_extension,
    quote_literal,
)
from enseigne.privacy import audit
from enseigne.privacy.consent import ledger_rows
from enseigne.privacy.gate import AccessDenied, Reader, may_see, open_customer

ANON_PREFIX = "ANON-"
# Erasure is the data protection officer's act (and the administrator's, on the CLI).
ERASERS = ("admin", "dpo")
# What an erased customer row keeps: nothing that identifies the person.
KEPT_CUSTOMER_COLUMNS = ("created_at", "store_code", "channel", "seller_code", "country",
                         "incomplete")
# Free text about the person, removed with them: (table, column).
FREE_TEXT = (("survey_responses", "comment"), ("feedback", "text"), ("consents", "source"))
# Tables handled on their own rather than by the generic re-keying of customer_ref.
SPECIAL_TABLES = ("customers", "audit_log")


def anonymous_key() -> str:
    return ANON_PREFIX + uuid.uuid4().hex[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [
        {name: _jsonable(v) for name, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


# --- right of access ------------------------------------------------------------------


def export_person(
    con: duckdb.DuckDBPyConnection, reader: Reader, customer_ref: str
) -> dict[str, Any]:
    """Every piece of data held on the person, JSON-ready; the export itself is logged."""
    open_customer(con, reader, customer_ref, "export")
    one = [customer_ref]
    customer = _rows(con, "SELECT * EXCLUDE (incomplete) FROM customers WHERE customer_ref = ?",
                     one)
    return {
        "customer_ref": customer_ref,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "customer": customer[0] if customer else None,
        "consents": [{k: _jsonable(v) for k, v in row.items()}
                     for row in ledger_rows(con, customer_ref)],
        "tickets": _tickets_with_lines(con, customer_ref),
        "survey_responses": _rows(
            con, "SELECT * EXCLUDE (import_id) FROM survey_responses WHERE customer_ref = ? "
            "ORDER BY answered_at", one),
        "feedback": _rows(
            con, "SELECT * EXCLUDE (import_id) FROM feedback WHERE customer_ref = ? "
            "ORDER BY opened_at", one),
        "customer_changes": _rows(
            con, "SELECT * FROM customer_changes WHERE customer_ref = ? ORDER BY changed_at", one),
        "audit_log": [{k: _jsonable(v) for k, v in row.items()}
                      for row in audit.entries(con, customer_ref=customer_ref, limit=100_000)],
    }


def _tickets_with_lines(con: duckdb.DuckDBPyConnection, customer_ref: str) -> list[dict]:
    tickets = _rows(con, "SELECT * FROM tickets WHERE customer_ref = ? ORDER BY sold_at, "
                    "ticket_id", [customer_ref])
    lines = _rows(
        con,
        "SELECT l.* EXCLUDE (import_id) FROM ticket_lines l WHERE l.ticket_id IN "
        "(SELECT ticket_id FROM tickets WHERE customer_ref = ?) ORDER BY ticket_id, line_no",
        [customer_ref],
    )
    by_ticket: dict[str, list[dict]] = {}
    for line in lines:
        by_ticket.setdefault(line.pop("ticket_id"), []).append(line)
    return [{**ticket, "lines": by_ticket.get(ticket["ticket_id"], [])} for ticket in tickets]


# --- right to erasure -----------------------------------------------------------------


def erase_person(con: duckdb.DuckDBPyConnection, reader: Reader, customer_ref: str) -> str:
    """Anonymise the person everywhere in one transaction; return their anonymous key.

    The values stay in the file's freed blocks until ``rewrite_file`` runs."""
    if reader.role not in ERASERS or not may_see(con, reader, customer_ref):
        raise AccessDenied("no access to this customer")
    return _anonymise(con, reader, [customer_ref], "erase")[customer_ref]


def _anonymise(
    con: duckdb.DuckDBPyConnection, reader: Reader, refs: list[str], action: str
) -> dict[str, str]:
    """Replace each of ``refs`` by a fresh anonymous key and strip what identifies them."""
    keys = {ref: anonymous_key() for ref in refs}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE erase_map (ref VARCHAR, anon VARCHAR)")
        con.execute("INSERT INTO erase_map SELECT unnest(?), unnest(?)",
                    [list(keys), list(keys.values())])
        _scrub_traces(con)
        _replace_customers(con)
        for table in _tables_keyed_by_customer(con):
            _rekey(con, table)
        for table, column in FREE_TEXT:
            con.execute(f"UPDATE {table} SET {column} = NULL "
                        "WHERE customer_ref IN (SELECT anon FROM erase_map)")
        _rekey(con, "audit_log")
        for column in ("survivor_ref", "absorbed_ref"):  # a merge's log names both people
            con.execute(
                f"UPDATE customer_merges SET {column} = m.anon FROM erase_map m "
                f"WHERE customer_merges.{column} = m.ref"
            )
        audit.record_each(con, actor=reader.name, role=reader.role, action=action,
                          customer_refs=list(keys.values()), origin=reader.origin)
        con.execute("DROP TABLE erase_map")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return keys


def _replace_customers(con: duckdb.DuckDBPyConnection) -> None:
    """The customer row under its new key, with the non-identifying columns only."""
    kept = ", ".join(KEPT_CUSTOMER_COLUMNS)
    con.execute(
        f"INSERT INTO customers (customer_ref, {kept}) "
        f"SELECT m.anon, {', '.join('c.' + k for k in KEPT_CUSTOMER_COLUMNS)} "
        "FROM customers c JOIN erase_map m ON c.customer_ref = m.ref"
    )
    con.execute("DELETE FROM customers WHERE customer_ref IN (SELECT ref FROM erase_map)")


def _tables_keyed_by_customer(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table with a customer_ref column (tickets, consents, surveys, feedback, changes
    and any table added later), so that no row keeps pointing at the erased person."""
    rows = con.execute(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "WHERE c.column_name = 'customer_ref' AND t.table_type = 'BASE TABLE' "
        "AND c.table_catalog = current_database() AND c.table_schema = 'main' "
        "ORDER BY 1"
    ).fetchall()
    return [name for (name,) in rows if name not in SPECIAL_TABLES]


def _rekey(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(
        f'UPDATE "{table}" SET customer_ref = m.anon FROM erase_map m '
        f'WHERE "{table}".customer_ref = m.ref'
    )


def _scrub_traces(con: duckdb.DuckDBPyConnection) -> None:
    """Contact values the person's data left outside their rows: rejected import values
    and audit details (a search for their e-mail, say). Names alone are too common to
    scrub; a full name or a distinctive value is."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE erase_values AS "
        "SELECT DISTINCT lower(v) AS v FROM (SELECT unnest([c.email, c.phone, c.loyalty_card, "
        "c.customer_ref, concat_ws(' ', c.first_name, c.last_name), "
        "concat_ws(' ', c.last_name, c.first_name)]) AS v "
        "FROM customers c JOIN erase_map m ON c.customer_ref = m.ref) WHERE length(v) >= 5"
    )
    con.execute("UPDATE quarantine SET value = NULL "
                "WHERE lower(value) IN (SELECT v FROM erase_values)")
    con.execute(
        "UPDATE audit_log SET detail = '[effacé]' WHERE detail IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM erase_values e WHERE contains(lower(audit_log.detail), e.v))"
    )
    con.execute("DROP TABLE erase_values")


# --- retention ------------------------------------------------------------------------


def retention_cutoff(as_of: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier (28 February for a 29 February)."""
    try:
        return as_of.replace(year=as_of.year - years)
    except ValueError:
        return as_of.replace(year=as_of.year - years, day=28)


def retention_candidates(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, years: int = 3
) -> list[dict[str, Any]]:
    """Customers whose last contact is older than ``years`` before ``as_of``, oldest first.

    The last contact is the later of their last purchase and their enrolment (created_at);
    an e-mail open is not a contact, and the file holds no clicks. Customers with neither
    date, and those already anonymised, are not listed."""
    cutoff = retention_cutoff(as_of, years)
    return _rows(
        con,
        "WITH sales AS (SELECT customer_ref, max(sold_at) AS last_purchase FROM tickets "
        "WHERE amount > 0 AND customer_ref IS NOT NULL GROUP BY customer_ref), "
        "contact AS (SELECT c.customer_ref, c.created_at, s.last_purchase, "
        "greatest(s.last_purchase, c.created_at) AS last_contact "
        "FROM customers c LEFT JOIN sales s USING (customer_ref) "
        "WHERE NOT starts_with(c.customer_ref, ?)) "
        "SELECT customer_ref, last_contact, last_purchase, created_at FROM contact "
        "WHERE last_contact < ? ORDER BY last_contact, customer_ref",
        [ANON_PREFIX, dt.datetime.combine(cutoff, dt.time())],
    )


def apply_retention(
    con: duckdb.DuckDBPyConnection, reader: Reader, as_of: dt.date, years: int = 3
) -> list[str]:
    """Anonymise every retention candidate in one transaction; return their anonymous keys
    (the caller then rewrites the file once, not once per person)."""
    if reader.role not in ERASERS:
        raise AccessDenied("retention is applied by an administrator or the DPO")
    refs = [row["customer_ref"] for row in retention_candidates(con, as_of, years)]
    if not refs:
        return []
    return list(_anonymise(con, reader, refs, "retention").values())


# --- physical removal -----------------------------------------------------------------


def database_file(con: duckdb.DuckDBPyConnection) -> Path:
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        raise ValueError("an in-memory database has no file to rewrite")
    return Path(row[0])


def rewrite_file(
    con: duckdb.DuckDBPyConnection, key: str | None, *, decrypt: bool = False
) -> Path:
    """Copy every table, view and sequence to a fresh file, close ``con`` and put the fresh
    file in place of the old one, so that no freed block keeps an erased value.

    The fresh file is encrypted with ``key``; an encrypted file is rewritten in clear only
    when asked explicitly (``decrypt``), never by omission of its key. Needs exclusive
    access to the file: the caller's connection holds the lock until the copy is complete."""
    if key is None and not decrypt and is_encrypted(con):
        raise DatabaseKeyError("the database is encrypted: rewrite it with its key")
    path = database_file(con)
    fresh = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.rewrite")
    source = str(con.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
    try:
        options = ""
        if key:
            load_extension(con, "httpfs")  # the only crypto module that writes
            options = f" (ENCRYPTION_KEY {key_literal(key)})"
        con.execute(f"ATTACH {quote_literal(str(fresh))} AS enseigne_fresh{options}")
        con.execute(f'COPY FROM DATABASE "{source}" TO enseigne_fresh')
        _check_copy(con, source)
        con.execute("DETACH enseigne_fresh")
    except Exception:
        # A server keeps ``con`` after a failure: a copy left attached would stop the next.
        con.execute("DETACH DATABASE IF EXISTS enseigne_fresh")
        fresh.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(fresh, path)
    # A checkpointed close leaves no WAL; one left over would be replayed into the new file.
    Path(f"{path}.wal").unlink(missing_ok=True)
    return path


def _check_copy(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Same tables with the same row counts on both sides, or the old file stays."""
    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary",
        [source],
    ).fetchall()]
    for table in tables:
        counts = [_count(con, f'"{db}".main."{table}"') for db in (source, "enseigne_fresh")]
        if counts[0] != counts[1]:
            raise RuntimeError(f"rewrite of {table}: {counts[1]} rows copied of {counts[0]}")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0
