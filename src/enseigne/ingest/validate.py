"""Typed projection and row validation, compiled to one SQL pass over the staged source.

Every check is a SQL expression so that ten million lines validate in DuckDB's vectorised
engine; a row's problems are collected into ``_errors`` (NULL for a good row).
"""

from __future__ import annotations

from dataclasses import dataclass

from enseigne.db.connect import quote_literal
from enseigne.ingest.kinds import Column

# French and English spellings seen in real exports, mapped onto the canonical codes.
SYNONYMS: dict[str, dict[str, str]] = {
    "status": {
        "opt-in": "opt_in", "optin": "opt_in", "oui": "opt_in", "yes": "opt_in",
        "y": "opt_in", "o": "opt_in", "1": "opt_in", "true": "opt_in", "vrai": "opt_in",
        "opt-out": "opt_out", "optout": "opt_out", "non": "opt_out", "no": "opt_out",
        "n": "opt_out", "0": "opt_out", "false": "opt_out", "faux": "opt_out",
        "soft opt-in": "soft_opt_in", "soft-opt-in": "soft_opt_in",
    },
    "channel": {
        "magasin": "store", "boutique": "store", "pos": "store", "internet": "web",
        "site": "web", "e-commerce": "web", "ecommerce": "web", "online": "web",
        "application": "app", "appli": "app", "mobile": "app",
        "e-mail": "email", "mail": "email", "courriel": "email", "texto": "sms",
        "téléphone": "phone", "telephone": "phone", "tel": "phone", "courrier": "postal",
        "poste": "postal", "notification": "push",
    },
    "kind": {
        "réclamation": "complaint", "reclamation": "complaint", "plainte": "complaint",
        "commentaire": "comment", "avis": "comment",
    },
}

DATE_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y"]
DATETIME_FORMATS = [
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
    "%Y/%m/%d %H:%M:%S", "%d/%m/%Y",
]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$"


@dataclass(frozen=True)
class SourceFormat:
    decimal: str = "."
    date_format: str | None = None
    datetime_format: str | None = None
    excel_serials: bool = False  # XLSX date cells read as text are day counts from 1899-12-30


def _formats(formats: list[str]) -> str:
    return "[" + ", ".join(quote_literal(f) for f in formats) + "]"


def _number(t: str, sql_type: str, decimal: str) -> str:
    """Plain cast first; separators, spaces and currency signs only when it fails."""
    if decimal == ",":
        fast = f"replace({t}, ',', '.')"
        slow = f"replace(regexp_replace({t}, '[\\s\u00a0\u202f€%.]', '', 'g'), ',', '.')"
    else:
        fast = t
        slow = f"regexp_replace({t}, '[\\s\u00a0\u202f€%,]', '', 'g')"
    # Exponents are refused: "1,23E+05" is a spreadsheet's rounding of a longer number.
    return (
        f"CASE WHEN NOT (contains({t}, 'e') OR contains({t}, 'E')) THEN "
        f"coalesce(TRY_CAST({fast} AS {sql_type}), TRY_CAST({slow} AS {sql_type})) END"
    )


def _excel_serial(t: str) -> str:
    """An Excel date cell's day count (e.g. 45660.4270833) as a timestamp, to the millisecond."""
    days = f"TRY_CAST({t} AS DOUBLE)"
    return (
        f"CASE WHEN {days} BETWEEN 1 AND 2958466 THEN TIMESTAMP '1899-12-30' + "
        f"to_milliseconds(CAST(round({days} * 86400000) AS BIGINT)) END"
    )


def _date(t: str, fmt: str | None, excel: bool = False) -> str:
    parts = [f"TRY_CAST({t} AS DATE)"]
    if fmt:
        parts.insert(0, f"TRY_STRPTIME({t}, {quote_literal(fmt)})::DATE")
    parts.append(f"TRY_STRPTIME({t}, {_formats(DATE_FORMATS)})::DATE")
    parts.append(f"TRY_STRPTIME({t}, {_formats(DATETIME_FORMATS)})::DATE")
    if excel:
        parts.append(f"({_excel_serial(t)})::DATE")
    return f"coalesce({', '.join(parts)})"


def _timestamp(t: str, fmt: str | None, excel: bool = False) -> str:
    """Receipts keep the wall-clock time printed on them: a UTC offset is dropped, not applied,
    so that hour-of-day and day boundaries stay those of the store."""
    local = f"regexp_replace({t}, '\\s*(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$', '')"
    parts = [f"TRY_CAST({t} AS TIMESTAMP)"]
    if fmt:
        plain = fmt.replace("%z", "").replace("%Z", "").strip()
        parts.insert(0, f"TRY_STRPTIME({local if plain != fmt else t}, {quote_literal(plain)})")
    parts.append(f"TRY_STRPTIME({t}, {_formats(DATETIME_FORMATS)})")
    parts.append(f"TRY_CAST({local} AS TIMESTAMP)")
    if excel:
        parts.append(_excel_serial(t))
    return f"coalesce({', '.join(parts)})"


def _phone(t: str) -> str:
    """French numbers to E.164 (+33…); other E.164 numbers kept; anything else NULL."""
    d = f"regexp_replace({t}, '[\\s.\\-()/\u00a0]', '', 'g')"
    return (
        f"CASE WHEN regexp_full_match({d}, '0[1-9][0-9]{{8}}') THEN '+33' || {d}[2:] "
        f"WHEN regexp_full_match({d}, '\\+330[1-9][0-9]{{8}}') THEN '+33' || {d}[5:] "
        f"WHEN regexp_full_match({d}, '0033[1-9][0-9]{{8}}') THEN '+' || {d}[3:] "
        f"WHEN regexp_full_match({d}, '33[1-9][0-9]{{8}}') THEN '+' || {d} "
        f"WHEN regexp_full_match({d}, '\\+[1-9][0-9]{{6,14}}') THEN {d} "
        f"WHEN regexp_full_match({d}, '00[1-9][0-9]{{6,14}}') THEN '+' || {d}[3:] END"
    )


def _enum(t: str, column: Column) -> str:
    low = f"lower({t})"
    synonyms = SYNONYMS.get("channel" if column.name == "channel" else column.name, {})
    whens = " ".join(
        f"WHEN {quote_literal(k)} THEN {quote_literal(v)}"
        for k, v in synonyms.items()
        if v in column.choices
    )
    value = f"CASE {low} {whens} ELSE {low} END" if whens else low
    choices = ", ".join(quote_literal(c) for c in column.choices)
    return f"CASE WHEN {value} IN ({choices}) THEN {value} END"


def typed_expression(column: Column, t: str, sql_type: str, fmt: SourceFormat) -> str:
    """SQL turning the trimmed text ``t`` into the column's stored type (NULL if invalid)."""
    match column.type:
        case "text" | "code":
            return t
        case "int":
            return f"TRY_CAST({t} AS {sql_type})"
        case "decimal" | "money" | "quantity" | "float":
            return _number(t, sql_type, fmt.decimal)
        case "rate":
            v = _number(t, "DECIMAL(18, 6)", fmt.decimal)
            return f"TRY_CAST(CASE WHEN {v} > 1 THEN {v} / 100 ELSE {v} END AS {sql_type})"
        case "date":
            return _date(t, fmt.date_format, fmt.excel_serials)
        case "timestamp":
            return _timestamp(t, fmt.datetime_format or fmt.date_format, fmt.excel_serials)
        case "email":
            low = f"lower({t})"
            return f"CASE WHEN regexp_full_match({low}, '{EMAIL_PATTERN}') THEN {low} END"
        case "phone":
            return _phone(t)
        case "enum":
            return _enum(t, column)
    raise ValueError(f"unknown column type {column.type}")


REASONS = {
    "int": "not a whole number", "decimal": "not a number", "money": "not an amount",
    "quantity": "not a quantity", "rate": "not a rate", "float": "not a number",
    "date": "not a valid date", "timestamp": "not a valid date and time",
    "email": "not a valid e-mail address", "phone": "not a valid phone number",
}


def error_checks(column: Column, t: str, v: str) -> list[tuple[str, str]]:
    """(SQL condition that makes the value bad, reason) pairs, in the order they are told."""
    checks = []
    if column.required:
        checks.append((f"{t} IS NULL", "required value missing"))
    if column.type == "enum":
        checks.append((f"{t} IS NOT NULL AND {v} IS NULL",
                       f"expected one of: {', '.join(column.choices)}"))
    elif column.type in REASONS:
        checks.append((f"{t} IS NOT NULL AND {v} IS NULL", REASONS[column.type]))
    if column.low is not None and column.high is not None:
        checks.append((f"NOT ({v} BETWEEN {column.low:g} AND {column.high:g})",
                       f"out of range {column.low:g} to {column.high:g}"))
    elif column.low is not None:
        checks.append((f"{v} < {column.low:g}", f"must be at least {column.low:g}"))
    return checks


def reason_expression(checks: list[tuple[str, str]]) -> str:
    """SQL giving the first reason whose condition holds (NULL when none does)."""
    whens = " ".join(f"WHEN {cond} THEN {quote_literal(reason)}" for cond, reason in checks)
    return f"CASE {whens} END"
