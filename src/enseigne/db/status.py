"""What the database holds: row counts per entity and the latest imports."""

from __future__ import annotations

from typing import Any

import duckdb

ENTITIES: dict[str, str] = {
    "stores": "SELECT count(*) FROM stores",
    "sellers": "SELECT count(*) FROM sellers",
    "products": "SELECT count(*) FROM products",
    "customers": "SELECT count(*) FROM customers",
    "consents": "SELECT count(*) FROM consents",
    "tickets": "SELECT count(*) FROM tickets",
    "ticket_lines": "SELECT count(*) FROM ticket_lines",
    "footfall": "SELECT count(*) FROM footfall",
    "targets": "SELECT count(*) FROM targets",
    "survey_responses": "SELECT count(*) FROM survey_responses",
    "feedback": "SELECT count(*) FROM feedback",
    "quarantine": "SELECT count(*) FROM quarantine",
}


def database_status(con: duckdb.DuckDBPyConnection, last_imports: int = 10) -> dict[str, Any]:
    """The ``status --json`` shape: ``{"counts": {...}, "incomplete": {...}, "imports": [...]}``."""
    counts = {name: con.execute(sql).fetchone()[0] for name, sql in ENTITIES.items()}
    incomplete = {
        table: con.execute(f"SELECT count(*) FROM {table} WHERE incomplete").fetchone()[0]
        for table in ("stores", "sellers", "products", "customers")
    }
    cursor = con.execute(
        "SELECT import_id, kind, file, finished_at, rows_read, rows_loaded, duplicates, "
        "rejected, stubs_created, round(seconds, 3) AS seconds FROM import_log "
        "ORDER BY import_id DESC LIMIT ?",
        [last_imports],
    )
    names = [d[0] for d in cursor.description]
    imports = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for item in imports:
        item["finished_at"] = item["finished_at"].isoformat(timespec="seconds")
    return {"counts": counts, "incomplete": incomplete, "imports": imports}
