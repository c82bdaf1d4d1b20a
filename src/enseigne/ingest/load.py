"""Checking staged rows against each other and the database, then loading them atomically.

Natural keys keep the load idempotent: an exact duplicate (in the file or already stored)
is counted and skipped; the same key with other content is rejected (facts) or updates
the stored row (dimensions, feedback, targets).
"""

from __future__ import annotations

import duckdb

from enseigne.db.connect import quote_ident, quote_literal
from enseigne.db.schema_consents import link_consents
from enseigne.db.schema_customers import AGGREGATE as CUSTOMER_STORES
from enseigne.db.schema_customers import APPENDED, SECOND_LAST, link_sales
from enseigne.ingest.kinds import Kind
from enseigne.ingest.stage import column_types

# A batch this small (the live API's) looks its own keys up in the stored rows; a larger
# file hashes every stored row once, which costs less than looking up each of its keys.
SMALL_BATCH = 50_000
# Up to this many codes are looked up as a list of constants, which DuckDB answers from
# the table's index (a dimension's primary key, customer_stores' index) without a scan.
LOOKUP_MAX = 1000


def stored_columns(kind: Kind, types: dict[str, str]) -> list[str]:
    return [c.name for c in kind.columns if c.name in types]


def _key_match(left: str, right: str, key: tuple[str, ...]) -> str:
    return " AND ".join(
        f"{left}.{quote_ident(k)} IS NOT DISTINCT FROM {right}.{quote_ident(k)}" for k in key
    )


def _hash(alias: str, columns: list[str]) -> str:
    return "hash(" + ", ".join(f"{alias}.{quote_ident(c)}" for c in columns) + ")"


def small_batch(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """``relation`` (a table or a parenthesised query) holds at most SMALL_BATCH rows."""
    rows = con.execute(f"SELECT count(*) FROM (FROM {relation} LIMIT ?)", [SMALL_BATCH + 1])
    return rows.fetchone()[0] <= SMALL_BATCH


def few_codes(con: duckdb.DuckDBPyConnection, column: str, relation: str) -> list | None:
    """The distinct non-null codes of ``column`` in ``relation``, or None when there are
    more than LOOKUP_MAX (then a join beats a list of constants)."""
    c = quote_ident(column)
    codes = [row[0] for row in con.execute(
        f"SELECT DISTINCT {c} FROM {relation} WHERE {c} IS NOT NULL LIMIT ?", [LOOKUP_MAX + 1]
    ).fetchall()]
    return None if len(codes) > LOOKUP_MAX else codes


class Checker:
    """Finds the staged rows to skip (duplicates) or reject (conflicts, unknown stores)."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, kind: Kind, staged: str, tag: str,
        columns: list[str],
    ) -> None:
        self.con, self.kind, self.staged, self.columns = con, kind, staged, columns
        self.skip = f"_skip_{tag}"
        self.problems = f"_problems_{tag}"
        # Receipts of a small batch already stored (ticket ids), once against_stored ran.
        self.stored_ids: str | None = None
        self._tag = tag
        con.execute(f"CREATE TEMP TABLE {self.skip} (rid BIGINT, duplicate BOOLEAN)")
        con.execute(
            f"CREATE TEMP TABLE {self.problems} (rid BIGINT, line BIGINT, "
            '"column" VARCHAR, value VARCHAR, reason VARCHAR)'
        )

    def _reject(self, select_sql: str) -> None:
        """select_sql yields (rid, column, value, reason)."""
        found = self.con.execute(
            f"INSERT INTO {self.problems} (rid, \"column\", value, reason) {select_sql}"
        ).fetchone()[0]
        if not found:  # nothing new: spare the anti-join against a skip list of every row
            return
        self.con.execute(
            f"INSERT INTO {self.skip} SELECT DISTINCT rid, false FROM {self.problems} "
            f"WHERE rid NOT IN (SELECT rid FROM {self.skip})"
        )

    def invalid_rows(self) -> None:
        self.con.execute(
            f"INSERT INTO {self.problems} (rid, \"column\", value, reason) "
            "SELECT rid, e.column, e.value, e.reason FROM ("
            f"SELECT rowid AS rid, unnest(_errors) AS e FROM {self.staged} "
            "WHERE _errors IS NOT NULL)"
        )

    def in_file_duplicates(self) -> None:
        keys = ", ".join(quote_ident(k) for k in self.kind.key)
        key_hash = "hash(" + keys + ")"
        # Grouping on one 64-bit hash is several times faster than on the key columns;
        # the exact comparison below runs only on the few rows whose hash repeats.
        dupkeys = f"_dupkeys_{self._tag}"
        self.con.execute(
            f"CREATE TEMP TABLE {dupkeys} AS SELECT {key_hash} AS kh FROM {self.staged} "
            "WHERE _errors IS NULL GROUP BY kh HAVING count(*) > 1"
        )
        rows = (
            f"SELECT s.rowid AS rid, {_hash('s', self.columns)} AS h, "
            + ", ".join(f"s.{quote_ident(k)}" for k in self.kind.key)
            + f" FROM {self.staged} s WHERE s._errors IS NULL "
            f"AND {key_hash} IN (SELECT kh FROM {dupkeys})"
        )
        grouped = (
            f"SELECT *, count(DISTINCT h) OVER (PARTITION BY {keys}) AS variants, "
            f"min(rid) OVER (PARTITION BY {keys}) AS first_rid FROM ({rows})"
        )
        self.con.execute(
            f"INSERT INTO {self.skip} SELECT rid, true FROM ({grouped}) "
            "WHERE variants = 1 AND rid <> first_rid"
        )
        first_key = quote_ident(self.kind.key[0])
        self._reject(
            f"SELECT rid, {quote_literal(self.kind.key[0])}, {first_key}::VARCHAR, "
            "'same key as another line of this file with different content' "
            f"FROM ({grouped}) WHERE variants > 1"
        )
        self.con.execute(f"DROP TABLE {dupkeys}")

    def against_stored(self) -> None:
        if not self.con.execute(
            f"SELECT count(*) FROM (FROM {self.kind.table} LIMIT 1)"
        ).fetchone()[0]:
            return
        existing = f"_existing_{self._tag}"
        if self.kind.dimension:
            matches = self._dimension_matches()
        else:
            restriction = self._stored_restriction()
            if restriction is None:  # none of the batch's keys is stored
                return
            matches = self._fact_matches(restriction)
        self.con.execute(f"CREATE TEMP TABLE {existing} AS {matches}")
        self.con.execute(
            f"INSERT INTO {self.skip} SELECT rid, true FROM {existing} WHERE same "
            f"AND rid NOT IN (SELECT rid FROM {self.skip})"
        )
        if not self.kind.dimension and not self.kind.updatable and self._confirm_keys(existing):
            first = quote_ident(self.kind.key[0])
            self._reject(
                f"SELECT e.rid, {quote_literal(self.kind.key[0])}, s.{first}::VARCHAR, "
                f"'already stored with different content' FROM {existing} e "
                f"JOIN {self.staged} s ON s.rowid = e.rid "
                f"WHERE NOT e.same AND e.rid NOT IN (SELECT rid FROM {self.skip})"
            )
        self.con.execute(f"DROP TABLE {existing}")

    def _dimension_matches(self) -> str:
        return (
            f"SELECT s.rowid AS rid, {self._same_dimension()} AS same FROM {self.staged} s "
            f"JOIN {self.kind.table} t ON {_key_match('s', 't', self.kind.key)} "
            "WHERE s._errors IS NULL"
        )

    def _stored_restriction(self) -> str | None:
        """A condition on a stored row ``y`` keeping those that may share a key with a small
        batch, so that only they are hashed below (None: none can; "true": every stored row,
        for a large file).

        A receipt's lines are stored only with its ``tickets`` row, so a batch of receipts
        first looks its ids up in ``tickets`` (one column, a third of the lines' rows); in
        the usual case none is stored and the lines are not read at all. A large file of
        receipts asks only whether one of its ids is stored: a month's new receipts then
        skip hashing every stored line (2 million lines into 10 million: 0.65 s, growing
        with the database)."""
        column = quote_ident(self.kind.key[0])
        batch = f"SELECT {column} FROM {self.staged} WHERE _errors IS NULL"
        if not small_batch(self.con, f"({batch})"):
            return "true" if not self.kind.header or self._receipts_stored() else None
        if not self.kind.header:
            return f"y.{column} IN ({batch})"
        table, key = self.kind.header
        header = quote_ident(key[0])
        self.stored_ids = f"_stored_ids_{self._tag}"
        self.con.execute(
            f"CREATE TEMP TABLE {self.stored_ids} AS SELECT DISTINCT t.{header} FROM {table} t "
            f"WHERE t.{header} IN (SELECT {header} FROM {self.staged} WHERE _errors IS NULL)"
        )
        if not self.con.execute(f"SELECT count(*) FROM {self.stored_ids}").fetchone()[0]:
            return None
        return f"y.{header} IN (SELECT {header} FROM {self.stored_ids})"

    def _receipts_stored(self) -> bool:
        """Some receipt of the staged rows is already stored."""
        table, key = self.kind.header
        header = quote_ident(key[0])
        return bool(self.con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} t WHERE t.{header} IN "
            f"(SELECT {header} FROM {self.staged} WHERE _errors IS NULL) LIMIT 1)"
        ).fetchone()[0])

    def _fact_matches(self, restriction: str) -> str:
        """Stored rows with the same key, matched on 64-bit hashes of key and content: joining
        on one integer is several times faster than on text keys (7.8 s -> 3.2 s for 10 M
        re-imported ticket lines). A receipt's shared columns are compared with its row.
        ``restriction`` keeps the stored rows worth hashing."""
        own = set(column_types(self.con, self.kind.table))
        parts = [(self.kind.table, self.kind.key, [c for c in self.columns if c in own])]
        if self.kind.header:
            table, key = self.kind.header
            parts.append((table, key, [*key, *(c for c in self.columns if c not in own)]))
        staged = ", ".join(
            f"{_hash('x', list(key))} AS k{i}, {_hash('x', cols)} AS h{i}"
            for i, (_, key, cols) in enumerate(parts)
        )
        joins = " ".join(
            f"JOIN (SELECT {_hash('y', list(key))} AS k, {_hash('y', cols)} AS h "
            f"FROM {table} y WHERE {restriction}) p{i} ON s.k{i} = p{i}.k"
            for i, (table, key, cols) in enumerate(parts)
        )
        same = " AND ".join(f"s.h{i} = p{i}.h" for i in range(len(parts)))
        return (
            f"SELECT s.rid, {same} AS same FROM (SELECT rowid AS rid, {staged} "
            f"FROM {self.staged} x WHERE _errors IS NULL) s {joins}"
        )

    def _confirm_keys(self, existing: str) -> bool:
        """A different-content match could be two keys sharing a hash: keep only the rows
        whose key really is stored (few rows, so the exact join is cheap). False when no
        row differs from its stored twin (a plain re-import: nothing to reject)."""
        if not self.con.execute(f"SELECT count(*) FROM {existing} WHERE NOT same").fetchone()[0]:
            return False
        stored = self.kind.view or self.kind.table
        self.con.execute(
            f"DELETE FROM {existing} WHERE NOT same AND rid NOT IN (SELECT s.rowid FROM "
            f"{self.staged} s SEMI JOIN {stored} t ON {_key_match('s', 't', self.kind.key)} "
            f"WHERE s.rowid IN (SELECT rid FROM {existing} WHERE NOT same))"
        )
        return True

    def _same_dimension(self) -> str:
        """A dimension row re-sent with empty fields does not erase stored values."""
        checks = [
            f"(s.{quote_ident(c)} IS NULL OR s.{quote_ident(c)} IS NOT DISTINCT FROM "
            f"t.{quote_ident(c)})"
            for c in self.columns
        ]
        return "(NOT t.incomplete AND " + " AND ".join(checks) + ")"

    def unknown_stores(self) -> None:
        for column, target in self.kind.references.items():
            if target != "stores":
                continue
            c = quote_ident(column)
            self._reject(
                f"SELECT s.rowid, {quote_literal(column)}, s.{c}, "
                "'unknown store (import the stores first, or use --create-missing)' "
                f"FROM {self.staged} s WHERE s._errors IS NULL AND s.{c} IS NOT NULL "
                f"AND s.{c} NOT IN (SELECT store_code FROM stores)"
                f" AND s.rowid NOT IN (SELECT rid FROM {self.skip})"
            )

    def accepted(self) -> str:
        """SQL for the rows to load (the usual clean file skips the anti-join; a file
        already imported, where every row is skipped, is told so once, so that the stubs
        and inserts after it read nothing rather than anti-join again each)."""
        if not self.con.execute(f"SELECT count(*) FROM (FROM {self.skip} LIMIT 1)").fetchone()[0]:
            return f"(SELECT * FROM {self.staged} WHERE _errors IS NULL)"
        kept = (
            f"(SELECT * FROM {self.staged} s WHERE s._errors IS NULL AND s.rowid NOT IN "
            f"(SELECT rid FROM {self.skip}))"
        )
        if not self.con.execute(f"SELECT count(*) FROM (FROM {kept} LIMIT 1)").fetchone()[0]:
            return f"(SELECT * FROM {self.staged} WHERE false)"
        return kept

    def duplicates(self) -> int:
        return self.con.execute(f"SELECT count(*) FROM {self.skip} WHERE duplicate").fetchone()[0]

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.skip}")
        self.con.execute(f"DROP TABLE IF EXISTS {self.problems}")
        if self.stored_ids:
            self.con.execute(f"DROP TABLE IF EXISTS {self.stored_ids}")


def create_stubs(
    con: duckdb.DuckDBPyConnection, kind: Kind, accepted: str, create_missing: bool
) -> dict[str, int]:
    """Records for referenced codes the database does not know yet, flagged incomplete."""
    created: dict[str, int] = {}
    names = set(kind.names)
    small = small_batch(con, accepted)
    for column, target in kind.references.items():
        if target == "stores" and not create_missing:
            continue
        unknown = _unknown_codes(con, column, target, accepted, small)
        if unknown is None:
            continue
        c = quote_ident(column)
        extra_cols, extra_vals = _stub_details(target, names)
        sql = (
            f"INSERT INTO {target} ({c}{extra_cols}, incomplete) "
            f"SELECT {c}{extra_vals}, true FROM {accepted} a WHERE {c} IS NOT NULL "
            f"AND {unknown[0]} GROUP BY {c}"
        )
        count = con.execute(sql, unknown[1]).fetchone()[0]
        if count:
            created[target] = count
    return created


def _unknown_codes(
    con: duckdb.DuckDBPyConnection, column: str, target: str, accepted: str, small: bool
) -> tuple[str, list] | None:
    """A condition (and its parameters) keeping the accepted rows whose ``column`` code
    ``target`` does not hold; None when every code is known. The few codes of a small batch
    are looked up in the target's primary key rather than scanning it (a million
    customers: 170 ms a batch)."""
    c = quote_ident(column)
    scan = f"{c} NOT IN (SELECT {c} FROM {target})", []
    codes = few_codes(con, column, accepted) if small else None
    if codes is None:
        return scan
    known = {row[0] for row in con.execute(
        f"SELECT {c} FROM {target} WHERE {c} IN ({', '.join('?' * len(codes))})", codes
    ).fetchall()} if codes else set()
    missing = [code for code in codes if code not in known]
    return (f"list_contains(?, {c})", [missing]) if missing else None


def _stub_details(target: str, names: set[str]) -> tuple[str, str]:
    pairs: list[tuple[str, str]] = []
    if target == "stores":
        pairs.append(("name", "any_value(store_code)"))
    if target == "products" and "product_label" in names:
        pairs += [("label", "any_value(product_label)"), ("category", "any_value(category)")]
    if target == "sellers" and "store_code" in names:
        pairs.append(("store_code", "any_value(store_code)"))
    if target == "customers":
        when = next((n for n in ("sold_at", "answered_at", "opened_at", "collected_at")
                     if n in names), None)
        if when:
            pairs.append(("created_at", f"min({when})"))
    cols = "".join(f", {a}" for a, _ in pairs)
    vals = "".join(f", {b}" for _, b in pairs)
    return cols, vals


def insert_rows(
    con: duckdb.DuckDBPyConnection, kind: Kind, accepted: str, columns: list[str],
    import_id: int, stored: str | None = None,
) -> int:
    """Load the accepted rows; ``stored`` names the table of the receipts among them that
    were already stored, when the checks looked them up (``Checker.stored_ids``)."""
    if kind.dimension:
        moved = _moved_stores(con, accepted) if kind.table == "stores" else []
        count = _upsert(con, kind, accepted, columns)
        if moved:
            # Their customers' sales in the regions left and joined are linked again.
            link_sales(con, "SELECT customer_ref FROM customer_stores "
                            "WHERE list_contains(?, store_code)", [moved])
        return count
    own = column_types(con, kind.table)
    cols = ", ".join(quote_ident(c) for c in columns if c in own)
    if kind.updatable:
        con.execute(
            f"DELETE FROM {kind.table} t USING {accepted} s "
            f"WHERE {_key_match('s', 't', kind.key)}"
        )
    count = con.execute(
        f"INSERT INTO {kind.table} ({cols}, import_id) SELECT {cols}, {import_id} FROM {accepted}"
    ).fetchone()[0]
    if kind.header and count:
        roll_up_tickets(con, accepted, stored)
    if kind.table == "consents" and count:
        link_consents(con, f"SELECT customer_ref FROM {accepted}")
    return count


def _moved_stores(con: duckdb.DuckDBPyConnection, accepted: str) -> list[str]:
    """Stored stores that the accepted rows put in another region."""
    return [row[0] for row in con.execute(
        f"SELECT store_code FROM {accepted} a JOIN stores s USING (store_code) "
        "WHERE a.region IS NOT NULL AND a.region IS DISTINCT FROM s.region").fetchall()]


def _upsert(con: duckdb.DuckDBPyConnection, kind: Kind, accepted: str, columns: list[str]) -> int:
    cols = ", ".join(quote_ident(c) for c in columns)
    key = ", ".join(quote_ident(k) for k in kind.key)
    updates = ", ".join(
        f"{quote_ident(c)} = coalesce(EXCLUDED.{quote_ident(c)}, {kind.table}.{quote_ident(c)})"
        for c in columns
        if c not in kind.key
    )
    return con.execute(
        f"INSERT INTO {kind.table} ({cols}, incomplete, updated_at) "
        f"SELECT {cols}, false, current_timestamp FROM {accepted} "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}, incomplete = false, "
        "updated_at = EXCLUDED.updated_at"
    ).fetchone()[0]


ROLL_UP = (
    "SELECT ticket_id, min(sold_at) AS sold_at, any_value(store_code) AS store_code, "
    "any_value(channel) AS channel, any_value(seller_code) AS seller_code, "
    "any_value(customer_ref) AS customer_ref, {sums} FROM {lines} GROUP BY ticket_id"
)
# Each line's HT amount is rounded to 4 decimals so that sums are exact on every engine.
SUMS = (
    "count(*)::INTEGER AS line_count, sum(quantity) AS units, sum(amount) AS amount, "
    "sum((amount / (1 + vat_rate))::DECIMAL(18, 4)) AS amount_ht, "
    "coalesce(sum(discount), 0) AS discount, "
    "coalesce(sum(amount) FILTER (WHERE amount < 0), 0) AS returned_amount, "
    "sum(amount) < 0 AS is_return"
)


def roll_up_tickets(
    con: duckdb.DuckDBPyConnection, accepted: str, stored: str | None = None
) -> None:
    """One ``tickets`` row per receipt: its shared columns and the sums of all its lines;
    then where their customers bought (``customer_stores``). ``stored``: a table of the
    ticket ids among them already stored, when known (else they are looked up)."""
    new = ROLL_UP.format(sums=SUMS, lines=accepted)
    if not con.execute("SELECT count(*) FROM (FROM tickets LIMIT 1)").fetchone()[0]:
        con.execute(f"INSERT INTO tickets {new}")
        remember_customer_stores(con, "tickets")
        link_sales(con)
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE _new_tickets AS {new}")
    extends = con.execute(
        f"SELECT count(*) FROM _new_tickets n SEMI JOIN {stored or 'tickets'} t USING (ticket_id)"
    ).fetchone()[0]
    if extends:
        # Lines added to receipts already stored (a receipt split over two files): the
        # receipt keeps its stored header and its sums are taken again over all its lines.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _new_tickets AS SELECT h.ticket_id, "
            "coalesce(t.sold_at, h.sold_at) AS sold_at, coalesce(t.store_code, h.store_code) "
            "AS store_code, coalesce(t.channel, h.channel) AS channel, "
            "coalesce(t.seller_code, h.seller_code) AS seller_code, "
            "coalesce(t.customer_ref, h.customer_ref) AS customer_ref, s.* EXCLUDE (ticket_id) "
            "FROM _new_tickets h LEFT JOIN tickets t USING (ticket_id) JOIN "
            f"(SELECT ticket_id, {SUMS} FROM ticket_lines SEMI JOIN _new_tickets "
            "USING (ticket_id) GROUP BY ticket_id) s USING (ticket_id)"
        )
        con.execute("DELETE FROM tickets WHERE ticket_id IN (SELECT ticket_id FROM _new_tickets)")
    con.execute("INSERT INTO tickets SELECT * FROM _new_tickets")
    if extends:
        link_sales(con, "SELECT customer_ref FROM _new_tickets WHERE customer_ref IS NOT NULL")
    else:  # before customer_stores takes them in: it holds each pair's last sale until then
        append_sales(con, "_new_tickets")
    remember_customer_stores(con, "_new_tickets", again=bool(extends))
    con.execute("DROP TABLE _new_tickets")


def append_sales(con: duckdb.DuckDBPyConnection, receipts: str) -> None:
    """Add the sales of ``receipts`` (new receipts, just stored) to ``customer_sales``.

    A stored row never changes when a later sale comes, so each new sale only needs the
    batch's earlier sales and its customer's last sales at each store, which customer_stores
    keeps (read through its index): no scan of the receipts or of the sales, which cost the
    live API ~60 ms a request at 10 million lines. A customer with a sale at or before their
    last stored one anywhere (a late receipt: a later sale's previous ones change) is linked
    again from all their receipts, as is one with a store of several rows (merged by an
    earlier version)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sales AS SELECT t.customer_ref, t.store_code, s.region, "
        f"t.channel, t.sold_at, t.ticket_id FROM {receipts} t LEFT JOIN stores s "
        "USING (store_code) WHERE t.amount > 0 AND t.customer_ref IS NOT NULL")
    refs = few_codes(con, "customer_ref", "_sales")
    if refs == []:  # no identified sale
        con.execute("DROP TABLE _sales")
        return
    if refs is None:
        mine, params = "c.customer_ref IN (SELECT customer_ref FROM _sales)", []
    else:  # a list of constants: DuckDB reads customer_stores through its index
        mine, params = f"c.customer_ref IN ({', '.join('?' * len(refs))})", refs
    # Rows without a sale (returns only) come too: they add nothing to the last sales, and
    # a second condition on the scan kept DuckDB from reading customer_stores by its index
    # (a batch of 70 customers: 74 ms against 27).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _stored AS SELECT c.customer_ref, c.store_code, s.region, "
        "c.last_purchase, c.sale_before_last, c.last_store_sale, c.last_web_sale "
        f"FROM customer_stores c LEFT JOIN stores s USING (store_code) WHERE {mine}", params)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _late AS SELECT customer_ref FROM _sales JOIN "
        "(SELECT customer_ref, max(last_purchase) AS last FROM _stored GROUP BY 1) "
        "USING (customer_ref) WHERE sold_at <= last UNION SELECT customer_ref FROM _stored "
        "GROUP BY customer_ref, store_code HAVING count(*) > 1")
    if con.execute("SELECT count(*) FROM _late").fetchone()[0]:
        link_sales(con, "SELECT customer_ref FROM _late")
    con.execute(f"INSERT INTO customer_sales {APPENDED}")
    con.execute("DROP TABLE _sales; DROP TABLE _stored; DROP TABLE _late")


def remember_customer_stores(
    con: duckdb.DuckDBPyConnection, receipts: str, *, again: bool = False
) -> None:
    """Fold the stores where the customers of ``receipts`` (just added to ``tickets``)
    bought into ``customer_stores``: a customer and store's row takes the new receipts in,
    or is added. With ``again`` (receipts extended by new lines: a total may have changed
    sign) their rows are taken again from ``tickets``."""
    if not con.execute("SELECT count(*) FROM (FROM customer_stores LIMIT 1)").fetchone()[0]:
        # The first receipts of the database (a first import): nothing to fold. Rows go in
        # in index order: DuckDB then builds the index at commit 4 times faster (2.3
        # million rows at 10 million ticket lines: 2 s against 6.6 s on a slow machine).
        con.execute(f"INSERT INTO customer_stores {CUSTOMER_STORES.format(source=receipts)} "
                    "ORDER BY customer_ref, store_code")
        return
    refs = few_codes(con, "customer_ref", receipts)
    if refs == []:
        return
    if refs is None:
        mine, params = f"customer_ref IN (SELECT customer_ref FROM {receipts})", []
    else:  # a list of constants: DuckDB reads customer_stores through its index
        mine, params = f"customer_ref IN ({', '.join('?' * len(refs))})", refs
    source = f"(SELECT * FROM tickets WHERE {mine})" if again else receipts
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _customer_stores AS {CUSTOMER_STORES.format(source=source)}",
        params if again else [],
    )
    # Updated in place rather than deleted and inserted again: DuckDB pays ~40 µs per row
    # deleted from an indexed table when the transaction commits (a monthly file of 300,000
    # known customers: 26 s), while updating columns outside the index costs next to nothing.
    pair = "c.customer_ref = f.customer_ref AND c.store_code = f.store_code"
    con.execute(
        f"UPDATE customer_stores c SET {TAKEN_AGAIN if again else TAKEN_IN} "
        f"FROM _customer_stores f WHERE {pair} AND c.{mine}", params,
    )
    con.execute(
        "INSERT INTO customer_stores SELECT * FROM _customer_stores f WHERE NOT EXISTS "
        f"(SELECT 1 FROM customer_stores c WHERE {pair} AND c.{mine})", params,
    )
    con.execute("DROP TABLE _customer_stores")


# A stored row (c) and the new receipts' row for the same customer and store (f): the new
# receipts taken in, or (receipts extended) the row taken again from all of them.
_EARLIER_SALE = (
    "f.first_purchase IS NOT NULL AND (c.first_purchase IS NULL OR "
    "(f.first_purchase, f.first_purchase_ticket) < (c.first_purchase, c.first_purchase_ticket))"
)
TAKEN_IN = (
    "sale_before_last = " + SECOND_LAST.format(sales=(
        "[c.last_purchase, c.sale_before_last, f.last_purchase, f.sale_before_last]")) + ", "
    "last_store_sale = greatest(c.last_store_sale, f.last_store_sale), "
    "last_web_sale = greatest(c.last_web_sale, f.last_web_sale), "
    "first_visit = least(c.first_visit, f.first_visit), "
    "last_visit = greatest(c.last_visit, f.last_visit), "
    "last_purchase = greatest(c.last_purchase, f.last_purchase), "
    f"first_purchase = CASE WHEN {_EARLIER_SALE} THEN f.first_purchase ELSE c.first_purchase END, "
    f"first_purchase_ticket = CASE WHEN {_EARLIER_SALE} THEN f.first_purchase_ticket "
    "ELSE c.first_purchase_ticket END"
)
TAKEN_AGAIN = (
    "sale_before_last = f.sale_before_last, last_store_sale = f.last_store_sale, "
    "last_web_sale = f.last_web_sale, "
    "first_visit = f.first_visit, last_visit = f.last_visit, last_purchase = f.last_purchase, "
    "first_purchase = f.first_purchase, first_purchase_ticket = f.first_purchase_ticket"
)
