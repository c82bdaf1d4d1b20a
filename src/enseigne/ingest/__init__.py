"""Import pipeline: readers -> mapping -> validation -> idempotent load, one transaction a file."""

from __future__ import annotations

import csv
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pyarrow as pa

from enseigne.ingest.kinds import KINDS, Kind
from enseigne.ingest.load import Checker, create_stubs, insert_rows, stored_columns
from enseigne.ingest.mapping import Mapping, MappingError, load_mapping, shipped_profiles
from enseigne.ingest.progress import Progress, watch
from enseigne.ingest.readers import (
    Source,
    UnusableFileError,
    brief,
    open_source,
    reader_typed,
    reader_typing_held,
    record_lines,
    reread_csv,
)
from enseigne.ingest.stage import (
    column_types,
    reader_types,
    reads_amounts,
    staging_sql,
    staging_table,
)

__all__ = [
    "KINDS", "ImportSummary", "Mapping", "MappingError", "StrictRefusal", "UnusableFileError",
    "import_file", "load_mapping", "shipped_profiles",
]

REJECTS_HEADER = ["file", "line", "column", "value", "reason"]


class StrictRefusal(Exception):
    """--strict: the file has bad rows, so nothing of it was loaded."""

    def __init__(self, summary: ImportSummary) -> None:
        super().__init__(
            f"{summary.file}: {summary.rejected} bad row(s); nothing loaded (--strict)"
        )
        self.summary = summary


@dataclass
class ImportSummary:
    kind: str
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    stubs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    import_id: int | None = None


def import_file(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path | str,
    *,
    mapping: Mapping | None = None,
    rejects: Path | None = None,
    strict: bool = False,
    create_missing: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one file of ``kind``; bad rows go to the quarantine, good rows are loaded."""
    started = time.perf_counter()
    spec = KINDS[kind]
    path = Path(path)
    mapping = mapping or Mapping()
    tag = uuid.uuid4().hex[:10]
    summary = ImportSummary(kind, str(path))
    try:
        with open_source(con, path, mapping, tag, reads_amounts(spec)) as source:
            types = column_types(con, spec.view or spec.table)
            staged, source = _stage(con, spec, source, mapping, types, tag, progress)
            columns = stored_columns(spec, types)
            checker = Checker(con, spec, staged, tag, columns)
            try:
                _check(checker, source, progress, create_missing)
                summary.rows_read = _count(con, staged) + _malformed_count(con, source)
                summary.duplicates = checker.duplicates()
                summary.rejected = _rejected_count(con, checker) + _malformed_count(con, source)
                if strict and summary.rejected:
                    _write_rejects(con, checker, source, rejects)
                    raise StrictRefusal(summary)
                _load(con, spec, checker, source, summary, columns, create_missing, progress,
                      started)
                _write_rejects(con, checker, source, rejects)
            finally:
                checker.drop()
                con.execute(f"DROP TABLE IF EXISTS {staged}")
                _drop_rejects(con, source)
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


def _drop_rejects(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    if source.rejects_table:
        con.execute(f"DROP TABLE IF EXISTS {source.rejects_table}")
        con.execute(f"DROP TABLE IF EXISTS {source.rejects_table}_scan")


def _stage(
    con: duckdb.DuckDBPyConnection, spec: Kind, source: Source, mapping: Mapping,
    types: dict[str, str], tag: str, progress: Progress | None,
) -> tuple[str, Source]:
    staged = staging_table(con, tag)
    fast = reader_typed(source, reader_types(spec, source, mapping, types))
    _run_staging(con, spec, fast, mapping, types, staged, progress)
    if fast is not source and not reader_typing_held(con, fast):
        # A value only the SQL casts read ("1 234,50 €"), or an exponent to refuse: the
        # whole file is staged again as text.
        con.execute(f"DROP TABLE {staged}")
        _drop_rejects(con, source)
        _run_staging(con, spec, source, mapping, types, staged, progress)
    if _invalid_encoding(con, source) and not mapping.encoding:
        # The first megabyte looked like UTF-8 but a later line is not: read it as cp1252.
        # The staged relation was read as UTF-8, so the file itself must be read again.
        con.execute(f"DROP TABLE {staged}")
        _drop_rejects(con, source)
        mapping = replace(mapping, encoding="cp1252")
        source = reread_csv(source, mapping, tag + "b")
        return _stage(con, spec, source, mapping, types, tag + "b", progress)
    return staged, source


def _run_staging(
    con: duckdb.DuckDBPyConnection, spec: Kind, source: Source, mapping: Mapping,
    types: dict[str, str], staged: str, progress: Progress | None,
) -> None:
    sql = staging_sql(spec, source, mapping, types, staged)
    try:
        with watch(con, progress, f"Lecture de {source.path.name}", source.path):
            con.execute(sql)
    except duckdb.Error as exc:
        raise UnusableFileError(f"{source.path}: cannot be read ({brief(exc)})") from exc


def _invalid_encoding(con: duckdb.DuckDBPyConnection, source: Source) -> bool:
    if not source.rejects_table:
        return False
    return bool(con.execute(
        f"SELECT count(*) FROM {source.rejects_table} WHERE error_type = 'INVALID ENCODING'"
    ).fetchone()[0])


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _malformed_count(con: duckdb.DuckDBPyConnection, source: Source) -> int:
    if not source.rejects_table:
        return 0
    return con.execute(
        f"SELECT count(DISTINCT line) FROM {source.rejects_table}"
    ).fetchone()[0]


def _problem_rows(checker: Checker, source: Source) -> str:
    """SQL for every rejected row as (line, column, value, reason): the checks' findings and
    the lines the CSV reader could not split (one row per line, though DuckDB reports such a
    line once per surplus field)."""
    rows = f'SELECT line, "column", value, reason FROM {checker.problems}'
    if not source.rejects_table:
        return f"({rows})"
    last = "coalesce(column_idx, 0)"
    return (
        f"({rows} UNION ALL SELECT line, arg_max(column_name, {last}), any_value(csv_line), "
        f"arg_max(error_message, {last}) FROM {source.rejects_table} GROUP BY line)"
    )


def _rejected_count(con: duckdb.DuckDBPyConnection, checker: Checker) -> int:
    return con.execute(f"SELECT count(DISTINCT rid) FROM {checker.problems}").fetchone()[0]


def _check(
    checker: Checker, source: Source, progress: Progress | None, create_missing: bool
) -> None:
    with watch(checker.con, progress, "Contrôle des lignes", None):
        checker.invalid_rows()
        checker.in_file_duplicates()
        checker.against_stored()
        if not create_missing:  # otherwise _load() creates them as incomplete stubs
            checker.unknown_stores()
    _number_lines(checker, source)


def _values(con: duckdb.DuckDBPyConnection, sql: str) -> set[int]:
    return {row[0] for row in con.execute(sql).fetchall()}


def _number_lines(checker: Checker, source: Source) -> None:
    """File line of each problem row (staged rows are in file order)."""
    con = checker.con
    if source.format != "csv":
        first = 1 if source.format in ("parquet", "json") else 2  # XLSX has a header row
        con.execute(f"UPDATE {checker.problems} SET line = rid + {first}")
        return
    rids = _values(con, f"SELECT DISTINCT rid FROM {checker.problems}")
    if not rids:
        return
    unreadable = _values(con, f"SELECT line FROM {source.rejects_table}")
    lines = record_lines(
        source.readable or source.path, source.delimiter or ";", rids, unreadable, source.encoding
    )
    found = pa.table({"rid": list(lines), "line": list(lines.values())})
    con.register("_record_lines", found)
    con.execute(
        f"UPDATE {checker.problems} p SET line = r.line FROM _record_lines r WHERE p.rid = r.rid"
    )
    con.unregister("_record_lines")


def _load(
    con: duckdb.DuckDBPyConnection, spec: Kind, checker: Checker, source: Source,
    summary: ImportSummary, columns: list[str], create_missing: bool,
    progress: Progress | None, started: float,
) -> None:
    accepted = checker.accepted()
    con.execute("BEGIN TRANSACTION")
    try:
        import_id = con.execute("SELECT nextval('import_id_seq')").fetchone()[0]
        summary.import_id = import_id
        with watch(con, progress, "Chargement", None):
            summary.stubs = create_stubs(con, spec, accepted, create_missing)
            summary.rows_loaded = insert_rows(
                con, spec, accepted, columns, import_id, checker.stored_ids
            )
        summary.seconds = time.perf_counter() - started
        _record(con, spec, checker, source, summary)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _record(
    con: duckdb.DuckDBPyConnection, spec: Kind, checker: Checker, source: Source,
    summary: ImportSummary,
) -> None:
    file = str(source.path)
    con.execute(
        "INSERT INTO quarantine (import_id, kind, file, line, \"column\", value, reason) "
        f"SELECT ?, ?, ?, * FROM {_problem_rows(checker, source)}",
        [summary.import_id, spec.name, file],
    )
    con.execute(
        "INSERT INTO import_log VALUES (?, ?, ?, ?, current_timestamp - to_microseconds(?), "
        "current_timestamp, ?, ?, ?, ?, ?, ?)",
        [
            summary.import_id, spec.name, file, source.path.stat().st_size,
            int(summary.seconds * 1e6), summary.rows_read, summary.rows_loaded,
            summary.duplicates, summary.rejected, sum(summary.stubs.values()), summary.seconds,
        ],
    )


def _write_rejects(
    con: duckdb.DuckDBPyConnection, checker: Checker, source: Source, rejects: Path | None
) -> None:
    if rejects is None:
        return
    rows = con.execute(f"SELECT * FROM {_problem_rows(checker, source)} ORDER BY line").fetchall()
    new_file = not rejects.exists() or rejects.stat().st_size == 0
    with rejects.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        if new_file:
            writer.writerow(REJECTS_HEADER)
        writer.writerows([str(source.path), *row] for row in rows)
