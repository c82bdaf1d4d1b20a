"""Staging: the source file, typed and checked, in a temporary table (one SQL pass)."""

from __future__ import annotations

import duckdb

from enseigne.db.connect import quote_ident, quote_literal
from enseigne.db.migrations import current_version
from enseigne.ingest.kinds import Column, Kind
from enseigne.ingest.mapping import Mapping
from enseigne.ingest.readers import Source, UnusableFileError
from enseigne.ingest.validate import (
    SourceFormat,
    error_checks,
    reason_expression,
    typed_expression,
)

TEXT_TYPE = "VARCHAR"
NUMERIC = {"int", "decimal", "money", "quantity", "rate", "float"}


_TYPES: dict[tuple[int, str], dict[str, str]] = {}

# Staged rows live in an in-memory database of their own, compressed like a database file:
# 10 M staged ticket lines take 0.8 GB there against 2.3 GB in a TEMP table, which under the
# default 1 GB limit spilled to disk and was read back by every check and insert after it.
STAGING_CATALOG = "_enseigne_staging"


def staging_table(con: duckdb.DuckDBPyConnection, tag: str) -> str:
    """A fresh name for the staged rows of one import, in the compressed staging database."""
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {STAGING_CATALOG} (COMPRESS)")
    return f"{STAGING_CATALOG}._staged_{tag}"


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """The table's column types, read once per schema version: every database at a version
    has the same tables (migrations make them), and the catalogue query costs ~10 ms, a
    sixth of a one-ticket import through the live API. Only this database's own tables are
    read (information_schema also lists the staging database's and the temporary ones)."""
    key = (current_version(con), table)
    if key not in _TYPES:
        rows = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
            "AND schema_name = 'main' AND database_name = current_database() "
            "ORDER BY column_index",
            [table],
        ).fetchall()
        _TYPES[key] = dict(rows)
    return dict(_TYPES[key])


def _find_header(headers: list[str], wanted: str) -> str | None:
    folded = wanted.strip().casefold()
    return next((h for h in headers if h.strip().casefold() == folded), None)


def _trimmed(column: str, numeric: bool) -> str:
    """NULL for empty; trim() only on the rare padded value (trimming all costs 2x the read).

    Numbers are not trimmed at all: their casts ignore surrounding spaces."""
    if numeric:
        return f"nullif({column}, '')"
    return (
        f"CASE WHEN {column} LIKE ' %' OR {column} LIKE '% ' OR {column} LIKE '%\t' "
        f"OR {column} LIKE '%\u00a0' "
        f"THEN nullif(trim({column}, ' \t\u00a0'), '') ELSE nullif({column}, '') END"
    )


# Amounts the CSV reader may parse itself; a range check's message quotes the value as
# written, which the reader's parse would lose, so columns with one stay text.
READER_TYPED = {"decimal", "money", "quantity"}


def _reader_typed(column: Column) -> bool:
    return column.type in READER_TYPED and column.low is None and column.high is None


def reads_amounts(kind: Kind) -> bool:
    """The kind has amounts a CSV reader may parse (see reader_types)."""
    return any(_reader_typed(c) for c in kind.columns)


def reader_types(
    kind: Kind, source: Source, mapping: Mapping, types: dict[str, str]
) -> dict[str, str]:
    """header -> stored DECIMAL type, for the amount columns the CSV reader can parse (each
    header read by one canonical column only)."""
    uses: dict[str, list[str]] = {}
    for column in kind.columns:
        header = _find_header(source.headers, mapping.columns.get(column.name, column.name))
        if header is not None and column.name not in mapping.constants:
            uses.setdefault(header, []).append(column.name)
    by_name = {c.name: c for c in kind.columns}
    typed = {}
    for header, names in uses.items():
        column = by_name[names[0]]
        sql_type = types.get(column.name, "")
        if len(names) == 1 and _reader_typed(column) and sql_type.startswith("DECIMAL"):
            typed[header] = sql_type
    return typed


def source_columns(kind: Kind, source: Source, mapping: Mapping) -> dict[str, str]:
    """canonical column -> SQL text expression (trimmed, NULL when empty); a column the
    reader typed is taken as it is."""
    exprs: dict[str, str] = {}
    missing = []
    for column in kind.columns:
        name = column.name
        header = _find_header(source.headers, mapping.columns.get(name, name))
        if name in mapping.constants:
            exprs[name] = quote_literal(mapping.constants[name])
        elif header is not None and header in source.typed:
            exprs[name] = quote_ident(header)
        elif header is not None:
            exprs[name] = _trimmed(quote_ident(header), column.type in NUMERIC)
        elif column.default is not None:
            exprs[name] = quote_literal(column.default)
        elif column.required:
            missing.append(mapping.columns.get(name, name))
        else:
            exprs[name] = "NULL::VARCHAR"
        if column.default is not None and name in exprs and header is not None:
            exprs[name] = f"coalesce({exprs[name]}, {quote_literal(column.default)})"
    if missing:
        raise UnusableFileError(
            f"{source.path}: required column(s) {', '.join(missing)} not found "
            f"(columns in the file: {', '.join(source.headers) or 'none'})"
        )
    return exprs


def staging_sql(
    kind: Kind, source: Source, mapping: Mapping, types: dict[str, str], table: str
) -> str:
    fmt = SourceFormat(
        source.decimal, mapping.date_format, mapping.datetime_format,
        excel_serials=source.format == "xlsx",
    )
    texts = source_columns(kind, source, mapping)
    inner = ", ".join(f"{texts[c.name]} AS {quote_ident(c.name + '__t')}" for c in kind.columns)
    read_typed = {
        c.name for c in kind.columns if c.name not in mapping.constants
        and _find_header(source.headers, mapping.columns.get(c.name, c.name)) in source.typed
    }
    typed, errors = [], []
    for column in kind.columns:
        t = quote_ident(column.name + "__t")
        v = quote_ident(column.name)
        sql_type = types.get(column.name, TEXT_TYPE)
        value = t if column.name in read_typed else typed_expression(column, t, sql_type, fmt)
        typed.append(f"CAST({value} AS {sql_type}) AS {v}")
        checks = error_checks(column, t, v)
        if checks:
            errors.append((column.name, t, checks))
    for column, condition, reason in kind.row_rules:
        # NULL when a side is missing: only a rule both values contradict rejects the row
        errors.append((column, quote_ident(column + "__t"), [(f"NOT ({condition})", reason)]))
    error_list = ", ".join(
        f"{{'column': {quote_literal(n)}, 'value': nullif(trim({t}::VARCHAR), ''), "
        f"'reason': {reason_expression(checks)}}}"
        for n, t, checks in errors
    )
    # Plain conditions for the test every row takes; reasons only for the rare bad row
    # (building them for every row cost 3 s of 7.5 s at 10 M lines).
    any_error = " OR ".join(f"({cond})" for _, _, checks in errors for cond, _ in checks)
    any_error = any_error or "false"
    names = ", ".join(quote_ident(c.name) for c in kind.columns)
    texts_kept = ", ".join(quote_ident(c.name + "__t") for c in kind.columns)
    return (
        f"CREATE TABLE {table} AS SELECT {names}, "
        f"CASE WHEN {any_error} THEN list_filter([{error_list}], e -> e.reason IS NOT NULL) "
        f"END AS _errors FROM (SELECT {texts_kept}, {', '.join(typed)} "
        f"FROM (SELECT {inner} FROM {source.relation}))"
    )
