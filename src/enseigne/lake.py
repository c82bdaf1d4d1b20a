"""The Parquet lake: the canonical tables exported for engines beyond one machine (Spark).

Layout: ``DIR/<table>/`` per canonical table, plus ``DIR/_lake.json`` (the manifest).
``tickets`` and ``ticket_lines`` are Hive-partitioned by the receipt's month
(``DIR/tickets/month=2026-11/data_0.parquet``) so that a month's receipts and lines sit
together; the ``month`` column exists only in the directory names.

Types are kept exactly: DECIMAL stays DECIMAL (money must not become DOUBLE), DATE stays
DATE, and TIMESTAMP is written as a Parquet timestamp *not adjusted to UTC*, which Spark
reads as TIMESTAMP_NTZ: the same wall-clock values whatever the reader's time zone.

An export is staged in a hidden sibling directory and renamed into place only once every
table and the manifest are written, so an interrupted export leaves the previous lake as it
was; readers refuse a directory without a manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from enseigne.db.connect import cursor as new_cursor
from enseigne.db.connect import quote_literal
from enseigne.db.migrations import current_version

__all__ = [
    "LAKE_TABLES",
    "MANIFEST",
    "PARTITION_COLUMN",
    "LakeError",
    "check_target",
    "export_lake",
    "lake_size",
    "read_manifest",
]

Progress = Callable[[str, float], None]

LAKE_TABLES = (
    "stores", "sellers", "products", "customers", "consents", "tickets", "ticket_lines",
    "footfall", "targets", "survey_responses", "feedback", "customer_stores", "customer_sales",
    "consent_spans",
)
MANIFEST = "_lake.json"
LAKE_FORMAT = "enseigne-lake"
LAKE_FORMAT_VERSION = 4  # 2: customer_stores, 3: customer_sales, 4: consent_spans
PARTITION_COLUMN = "month"

# The month a receipt belongs to, on the receipt's own wall clock (sold_at has no zone).
_MONTH = "strftime(t.sold_at, '%Y-%m')"
# Lines take their month from their receipt; a LEFT JOIN so that no line is ever dropped.
PARTITIONED = {
    "tickets": f"SELECT t.*, {_MONTH} AS {PARTITION_COLUMN} FROM tickets t",
    "ticket_lines": (
        f"SELECT l.*, {_MONTH} AS {PARTITION_COLUMN} "
        "FROM ticket_lines l LEFT JOIN tickets t USING (ticket_id)"
    ),
}
PARQUET = "FORMAT parquet, COMPRESSION zstd"


class LakeError(ValueError):
    """The directory given is not a complete lake, or cannot be replaced safely."""


def _no_progress(_table: str, _fraction: float) -> None:
    """Default progress callback: the library itself never prints."""


def export_lake(
    con: duckdb.DuckDBPyConnection, directory: Path | str, progress: Progress | None = None
) -> dict[str, int]:
    """Write every canonical table as Parquet under ``directory``; return rows per table.

    ``progress(table, fraction_done)`` is called before each table and once at the end.
    An existing lake in ``directory`` is replaced only when the new one is complete; a
    directory that holds anything but a lake is refused rather than overwritten.
    """
    target = Path(directory).resolve()
    check_target(target)
    report = progress or _no_progress
    staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        tables = _write_tables(con, staging, report)
        _write_manifest(con, staging, tables)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report(MANIFEST, 1.0)
    return {table: entry["rows"] for table, entry in tables.items()}


def check_target(directory: Path | str) -> None:
    """LakeError unless ``directory`` is absent, empty or a previous lake (safe to replace)."""
    target = Path(directory).resolve()
    if not target.exists():
        return
    if not target.is_dir():
        raise LakeError(f"{target} exists and is not a directory")
    if any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise LakeError(
            f"{target} is not empty and holds no {MANIFEST}: refusing to replace it "
            "(choose an empty or new directory, or a previous lake)"
        )


def _write_tables(
    con: duckdb.DuckDBPyConnection, staging: Path, report: Progress
) -> dict[str, dict[str, Any]]:
    """COPY every table inside one read transaction: the lake is one consistent snapshot.

    Each table's entry records its rows and its columns with their DuckDB types, so that a
    reader can declare the schema instead of inferring it from the files.
    """
    cursor = new_cursor(con)
    cursor.execute("BEGIN TRANSACTION")
    try:
        tables = {}
        for index, table in enumerate(LAKE_TABLES):
            report(table, index / len(LAKE_TABLES))
            rows = _copy_table(cursor, table, staging / table)
            columns = cursor.execute(f"DESCRIBE {table}").fetchall()
            tables[table] = {
                "rows": rows,
                "columns": [[name, kind] for name, kind, *_ in columns],
                "partitioned_by": [PARTITION_COLUMN] if table in PARTITIONED else [],
            }
        return tables
    finally:
        cursor.execute("ROLLBACK")
        cursor.close()


def _copy_table(cursor: duckdb.DuckDBPyConnection, table: str, folder: Path) -> int:
    folder.mkdir()
    if table not in PARTITIONED:
        return _copy(cursor, f"SELECT * FROM {table}", folder / "data_0.parquet", "")
    rows = _copy(cursor, PARTITIONED[table], folder, f", PARTITION_BY ({PARTITION_COLUMN})")
    row = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()
    expected = row[0] if row else 0
    if rows != expected:
        # A receipt stored twice would copy its lines twice: refuse rather than inflate.
        raise LakeError(f"{table}: {rows} rows written, {expected} in the database")
    if rows == 0:
        # A partitioned COPY of nothing writes no file, and a reader then cannot know the
        # columns: one empty file carries the schema.
        _copy(cursor, f"SELECT * FROM {table}", folder / "data_0.parquet", "")
    return rows


def _copy(cursor: duckdb.DuckDBPyConnection, query: str, path: Path, options: str) -> int:
    target = quote_literal(str(path))
    row = cursor.execute(f"COPY ({query}) TO {target} ({PARQUET}{options})").fetchone()
    return int(row[0]) if row else 0


def _write_manifest(
    con: duckdb.DuckDBPyConnection, staging: Path, tables: dict[str, dict[str, Any]]
) -> None:
    manifest = {
        "format": LAKE_FORMAT,
        "format_version": LAKE_FORMAT_VERSION,
        "schema_version": current_version(con),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tables": tables,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (staging / MANIFEST).write_text(text, encoding="utf-8")


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename the finished lake into place; the old one is deleted only afterwards.

    Two renames, not one: POSIX cannot atomically exchange directories. Between them the
    target is briefly absent (a reader fails clearly), never half written.
    """
    if not target.exists():
        staging.rename(target)
        return
    retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def read_manifest(directory: Path | str) -> dict[str, Any]:
    """The manifest of a complete lake; LakeError when ``directory`` is not one."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LakeError(
            f"{Path(directory)} is not a complete lake (no {MANIFEST}): "
            "export one with `enseigne lake export`"
        ) from exc
    if manifest.get("format") != LAKE_FORMAT:
        raise LakeError(f"{path} is not an enseigne lake manifest")
    if manifest.get("format_version", 0) > LAKE_FORMAT_VERSION:
        raise LakeError(f"{path} was written by a newer enseigne: upgrade enseigne")
    if manifest.get("format_version", 0) < LAKE_FORMAT_VERSION:
        # Older versions lack customer_stores, customer_sales or consent_spans, which the
        # customer KPIs read.
        raise LakeError(
            f"{path} was written by an older enseigne: export it again with "
            "`enseigne lake export`"
        )
    return manifest


def lake_size(directory: Path | str) -> int:
    """Bytes on disk of the lake's files."""
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())
