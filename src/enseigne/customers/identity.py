"""Identity resolution: the same person seen through a store card, a web account, a survey.

Duplicates are proposed from matching keys, each found by a self-join on that key (never
by comparing all pairs): the normalised e-mail, the E.164 phone, the name with the birth
date and postal code (strong signs), the name with the birth date alone (a medium one).
A pair's score is the chance that at least one of its signs is right, taking each as
independent: 1 - prod(1 - weight).

A merge moves everything the absorbed record owns to the survivor in one transaction.
Consent rows are re-keyed, never rewritten: the ledger keeps both origins, and the choice
in force stays the most recent explicit one per channel since it is derived from the
ledger. The survivor's empty fields are filled from the absorbed record (a value is never
overwritten), and ``customer_merges`` keeps what moved so that the merge can be explained.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from enseigne.customers.edit import record_change, transaction
from enseigne.db.connect import quote_ident
from enseigne.db.schema_consents import link_consents
from enseigne.db.schema_customers import fold_customer_stores, link_sales
from enseigne.privacy import audit
from enseigne.privacy.gate import AccessDenied, Reader, customer_scope_sql, may_see

# Which signs make a duplicate, and how much each one weighs.
WEIGHTS = {"email": 0.9, "phone": 0.85, "name_birth_postcode": 0.9, "name_birth": 0.6}
STRENGTH = {"email": "strong", "phone": "strong", "name_birth_postcode": "strong",
            "name_birth": "medium"}
MERGERS = ("admin", "marketing", "dpo")
FILLABLE = (
    "loyalty_card", "first_name", "last_name", "email", "phone", "birth_date", "gender",
    "postal_code", "city", "country", "created_at", "store_code", "channel", "seller_code",
)
# Tables that keep their own rows under the absorbed ref: the append-only audit log (it
# says who read whom, then) and the merge log itself; customer_stores is derived from the
# receipts, so it follows them without being listed among the moved rows (customer_sales too,
# and consent_spans, derived from the consents).
NOT_MOVED = (
    "customers", "audit_log", "customer_merges", "customer_stores", "customer_sales",
    "consent_spans",
)
SHOWN = ("customer_ref", "first_name", "last_name", "email", "phone", "birth_date",
         "postal_code", "city", "store_code")
MAX_LIMIT = 500


def _name(column: str) -> str:
    """Case, accents, hyphens and blanks ignored: "Lefèvre-Dupont " = "lefevre dupont"."""
    return (f"nullif(trim(regexp_replace(strip_accents(lower({column})), '[^a-z]+', ' ', 'g'))"
            ", '')")


# The match keys, as SQL over a customers row ``c`` (NULL: no key, so no match).
_EMAIL = (
    "CASE WHEN split_part(lower(trim(c.email)), '@', 2) IN ('gmail.com', 'googlemail.com') "
    # Gmail ignores dots and anything after a "+" in the local part.
    "THEN replace(split_part(split_part(lower(trim(c.email)), '@', 1), '+', 1), '.', '') "
    "|| '@gmail.com' ELSE nullif(lower(trim(c.email)), '') END"
)
_PERSON = f"{_name('c.last_name')} || '|' || {_name('c.first_name')} || '|' || c.birth_date"
KEYS = {
    "email": _EMAIL,
    "phone": "nullif(c.phone, '')",
    "name_birth_postcode": f"{_PERSON} || '|' || nullif(trim(c.postal_code), '')",
    "name_birth": _PERSON,
}


_GMAIL = "('gmail.com', 'googlemail.com')"


def _all_keys() -> tuple[str, list]:
    """One row per (customer, sign, key)."""
    parts = [
        f"SELECT c.customer_ref AS ref, '{sign}' AS sign, {expr} AS k FROM customers c "
        f"WHERE ({expr}) IS NOT NULL"
        for sign, expr in KEYS.items()
    ]
    return " UNION ALL ".join(parts), []


def _prefilter(sign: str, email: str | None) -> str:
    """A cheap condition on the stored value (the import stores e-mails trimmed and in
    lower case, phones in E.164) so that the key is computed on the few rows that may
    match; its one parameter is the target's stored value."""
    if sign == "email":
        gmail = email is not None and email.strip().lower().rsplit("@", 1)[-1] in (
            "gmail.com", "googlemail.com")
        return (f"split_part(c.email, '@', 2) IN {_GMAIL} AND ? IS NOT NULL" if gmail
                else "c.email = lower(trim(?))")
    return "c.phone = ?" if sign == "phone" else "c.birth_date = ?"


def _keys_of(con: duckdb.DuckDBPyConnection, ref: str) -> tuple[str, list]:
    """The rows sharing a key with customer ``ref`` (``ref`` included), found from that
    customer's keys rather than by computing every customer's."""
    names = list(KEYS)
    row = con.execute(
        f"SELECT {', '.join(KEYS.values())}, c.email, c.phone, c.birth_date "
        "FROM customers c WHERE c.customer_ref = ?", [ref]).fetchall()[0]
    keys, (email, phone, birth) = dict(zip(names, row[:len(names)], strict=True)), row[-3:]
    stored = {"email": email, "phone": phone}
    parts, values = ["SELECT NULL AS ref, NULL AS sign, NULL AS k WHERE false"], []
    for sign, expr in KEYS.items():
        if keys[sign] is None:
            continue
        parts.append(f"SELECT c.customer_ref, '{sign}', {expr} FROM customers c "
                     f"WHERE {_prefilter(sign, email)} AND ({expr}) = ?")
        values += [stored.get(sign, birth), keys[sign]]
    return " UNION ALL ".join(parts), values


def _pairs_sql(keyed: str, scope: str) -> str:
    """Pairs sharing a key in ``keyed`` (among the rows kept by ``scope``, a condition on
    ``c.ref``), their signs and score; a name + birth date match counts as medium only
    when the postal codes do not settle it (else it is strong)."""
    weights = "MAP {" + ", ".join(f"'{s}': {w}" for s, w in WEIGHTS.items()) + "}"
    return f"""
        WITH keyed AS (SELECT * FROM ({keyed}) c WHERE {scope}),
        matches AS (
            SELECT DISTINCT a.ref AS ref_a, b.ref AS ref_b, a.sign FROM keyed a
            JOIN keyed b ON a.sign = b.sign AND a.k = b.k AND a.ref < b.ref
        ),
        signs AS (
            SELECT * FROM matches m WHERE sign <> 'name_birth' OR NOT EXISTS (
                SELECT 1 FROM matches s WHERE s.ref_a = m.ref_a AND s.ref_b = m.ref_b
                AND s.sign = 'name_birth_postcode')
        )
        SELECT ref_a, ref_b, round(1 - product(1 - {weights}[sign]), 3) AS score,
               list(sign ORDER BY {weights}[sign] DESC, sign) AS reasons
        FROM signs GROUP BY ref_a, ref_b
    """


def _people(con: duckdb.DuckDBPyConnection, refs: set[str]) -> dict[str, dict[str, Any]]:
    cursor = con.execute(
        f"SELECT {', '.join(SHOWN)} FROM customers WHERE list_contains(?, customer_ref)",
        [sorted(refs)])
    return {row[0]: dict(zip(SHOWN, row, strict=True)) for row in cursor.fetchall()}


def duplicate_candidates(
    con: duckdb.DuckDBPyConnection,
    reader: Reader,
    customer_ref: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Likely duplicates among the customers ``reader`` may see, best score first:
    [{ref_a, ref_b, score, reasons: [sign...], strength, a: {...}, b: {...}}].

    With ``customer_ref``, only the pairs including that customer (AccessDenied if the
    reader may not see them). The listing shows people, so it is logged."""
    if customer_ref is not None and not may_see(con, reader, customer_ref):
        raise AccessDenied("no access to this customer")
    scope, params = customer_scope_sql(reader, "c.ref")
    keyed, values = _all_keys() if customer_ref is None else _keys_of(con, customer_ref)
    rows = con.execute(
        f"{_pairs_sql(keyed, scope)} ORDER BY score DESC, ref_a, ref_b LIMIT ?",
        [*values, *params, max(1, min(limit, MAX_LIMIT))],
    ).fetchall()
    audit.record(con, actor=reader.name, role=reader.role, action="search",
                 customer_ref=customer_ref, origin=reader.origin,
                 detail=f"duplicate candidates: {len(rows)}")
    people = _people(con, {r for row in rows for r in row[:2]})
    return [
        {"ref_a": a, "ref_b": b, "score": score, "reasons": reasons,
         "strength": "strong" if any(STRENGTH[r] == "strong" for r in reasons) else "medium",
         "a": people.get(a), "b": people.get(b)}
        for a, b, score, reasons in rows
    ]


def pair_match(
    con: duckdb.DuckDBPyConnection, ref_a: str, ref_b: str
) -> tuple[float, list[str]]:
    """The score and signs of one pair (0 and none when nothing matches)."""
    keyed, _ = _all_keys()
    rows = con.execute(_pairs_sql(keyed, "list_contains(?, c.ref)"), [[ref_a, ref_b]]).fetchall()
    return (rows[0][2], list(rows[0][3])) if rows else (0.0, [])


def _tables_to_move(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table with a customer_ref column (tickets, consents, surveys, feedback, the
    change log, and any table added later), so that nothing keeps the absorbed ref."""
    rows = con.execute(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "WHERE c.column_name = 'customer_ref' AND t.table_type = 'BASE TABLE' "
        "AND c.table_catalog = current_database() AND c.table_schema = 'main' ORDER BY 1"
    ).fetchall()
    return [name for (name,) in rows if name not in NOT_MOVED]


def _fill_empty_fields(con: duckdb.DuckDBPyConnection, survivor: str, absorbed: str) -> list[str]:
    """Copy the absorbed record's values into the survivor's empty fields only."""
    cursor = con.execute(
        f"SELECT {', '.join(FILLABLE)} FROM customers WHERE customer_ref = ? "
        f"UNION ALL SELECT {', '.join(FILLABLE)} FROM customers WHERE customer_ref = ?",
        [survivor, absorbed])
    kept, other = cursor.fetchall()
    filled = [f for f, mine, theirs in zip(FILLABLE, kept, other, strict=True)
              if mine is None and theirs is not None]
    if filled:
        assignments = ", ".join(f"{quote_ident(f)} = a.{quote_ident(f)}" for f in filled)
        con.execute(
            f"UPDATE customers SET {assignments}, updated_at = current_timestamp "
            "FROM (SELECT * FROM customers WHERE customer_ref = ?) a "
            "WHERE customers.customer_ref = ?",
            [absorbed, survivor])
    return filled


def _move_rows(con: duckdb.DuckDBPyConnection, survivor: str, absorbed: str) -> dict[str, int]:
    moved = {}
    for table in _tables_to_move(con):
        count = con.execute(
            f"UPDATE {quote_ident(table)} SET customer_ref = ? WHERE customer_ref = ?",
            [survivor, absorbed]).fetchall()[0][0]
        moved[table] = int(count)
    return moved


def merge_customers(
    con: duckdb.DuckDBPyConnection, reader: Reader, survivor_ref: str, absorbed_ref: str
) -> dict[str, Any]:
    """Merge ``absorbed_ref`` into ``survivor_ref`` in one transaction; return the
    explanation kept in ``customer_merges`` (score, reasons, moved rows, filled fields).

    AccessDenied unless the reader's role may merge and may see both customers."""
    if survivor_ref == absorbed_ref:
        raise ValueError("a customer cannot be merged with themselves")
    if reader.role not in MERGERS or not (
        may_see(con, reader, survivor_ref) and may_see(con, reader, absorbed_ref)
    ):
        raise AccessDenied("no access to this customer")
    with transaction(con):
        score, reasons = pair_match(con, survivor_ref, absorbed_ref)
        filled = _fill_empty_fields(con, survivor_ref, absorbed_ref)
        # The absorbed row goes before the re-keying so that its key is free of rows.
        con.execute("DELETE FROM customers WHERE customer_ref = ?", [absorbed_ref])
        moved = _move_rows(con, survivor_ref, absorbed_ref)
        fold_customer_stores(con, [survivor_ref, absorbed_ref], survivor_ref)
        # Their sales interleave at a store they share: linked again, as one customer's.
        link_sales(con, "SELECT unnest(?::VARCHAR[])", [[survivor_ref, absorbed_ref]])
        # Their choices on a channel make one history: its spans are drawn again.
        link_consents(con, "SELECT unnest(?::VARCHAR[])", [[survivor_ref, absorbed_ref]])
        if filled:
            record_change(con, survivor_ref, reader.name, filled, f"merge of {absorbed_ref}")
        explanation = {"rows": moved, "filled": filled}
        con.execute(
            "INSERT INTO customer_merges (actor, survivor_ref, absorbed_ref, score, reasons, "
            "moved) VALUES (?, ?, ?, ?, ?, ?)",
            [reader.name, survivor_ref, absorbed_ref, score, reasons, json.dumps(explanation)])
        for ref, other in ((survivor_ref, absorbed_ref), (absorbed_ref, survivor_ref)):
            audit.record(con, actor=reader.name, role=reader.role, action="merge",
                         customer_ref=ref, origin=reader.origin,
                         detail=f"survivor {survivor_ref}, absorbed {absorbed_ref}"
                         if ref == survivor_ref else f"absorbed into {other}")
    return {"survivor_ref": survivor_ref, "absorbed_ref": absorbed_ref, "score": score,
            "reasons": reasons, "moved": explanation}


def merges(con: duckdb.DuckDBPyConnection, reader: Reader, customer_ref: str) -> list[dict]:
    """The merges that made this customer (newest first): who, when, why, what moved."""
    if not may_see(con, reader, customer_ref):
        raise AccessDenied("no access to this customer")
    cursor = con.execute(
        "SELECT merged_at, actor, survivor_ref, absorbed_ref, score, reasons, moved "
        "FROM customer_merges WHERE survivor_ref = ? ORDER BY merged_at DESC", [customer_ref])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["moved"] = json.loads(row["moved"]) if row["moved"] else None
    return rows
