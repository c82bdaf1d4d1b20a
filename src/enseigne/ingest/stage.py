"""Staging: the source file, typed and checked, in a temporary table (one SQL pass)."""

from __future__ import annotations

import duckdb

from enseigne.db.connect import quote_ident, quote_literal
from enseigne.db.migrations import current_version
from enseigne.ingest.kinds import Kind
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


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """The table's column types, read once per schema version: every database at a version
    has the same tables (migrations make them), and the catalogue query costs ~10 ms, a
    sixth of a one-ticket import through the live API."""
    key = (current_version(con), table)
    if key not in _TYPES:
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main'",
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


def source_columns(kind: Kind, source: Source, mapping: Mapping) -> dict[str, str]:
    """canonical column -> SQL text expression (trimmed, NULL when empty)."""
    exprs: dict[str, str] = {}
    missing = []
    for column in kind.columns:
        name = column.name
        header = _find_header(source.headers, mapping.columns.get(name, name))
        if name in mapping.constants:
            exprs[name] = quote_literal(mapping.constants[name])
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
    typed, errors = [], []
    for column in kind.columns:
        t = quote_ident(column.name + "__t")
        v = quote_ident(column.name)
        sql_type = types.get(column.name, TEXT_TYPE)
        typed.append(f"CAST({typed_expression(column, t, sql_type, fmt)} AS {sql_type}) AS {v}")
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
        f"CREATE TEMP TABLE {table} AS SELECT {names}, "
        f"CASE WHEN {any_error} THEN list_filter([{error_list}], e -> e.reason IS NOT NULL) "
        f"END AS _errors FROM (SELECT {texts_kept}, {', '.join(typed)} "
        f"FROM (SELECT {inner} FROM {source.relation}))"
    )
