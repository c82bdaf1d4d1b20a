"""Readers: turn a CSV, XLSX, Parquet or JSON-lines file into a relation of text columns
(a CSV's plain amounts may be parsed by the reader itself: reader_typed).

CSV options are sniffed from the first megabyte (encoding, delimiter, decimal mark) unless
the mapping profile fixes them. DuckDB reads UTF-8 natively and fast; cp1252 / Latin-1
files are first transcoded to a temporary UTF-8 copy (iconv when present). Measured on
2 M cp1252 lines: DuckDB's encodings extension reads them in 7.0 s; iconv transcodes them in
0.36 s and DuckDB then reads the UTF-8 copy in 0.66 s.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from enseigne.db import load_extension
from enseigne.db.connect import quote_ident, quote_literal
from enseigne.ingest.mapping import Mapping

SAMPLE_BYTES = 1 << 20
ENCODING_ALIASES = {
    "utf8": "utf-8", "utf-8-sig": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1", "latin-9": "cp1252", "iso-8859-15": "cp1252",
    "windows-1252": "cp1252", "cp-1252": "cp1252", "ansi": "cp1252",
}
DELIMITERS = (";", ",", "\t", "|")


class UnusableFileError(Exception):
    """The file cannot be imported at all; nothing was loaded from it."""


@dataclass
class Source:
    path: Path
    relation: str  # SQL FROM-clause yielding one column per header (VARCHAR unless typed)
    headers: list[str]
    format: str
    encoding: str = "utf-8"
    delimiter: str | None = None
    decimal: str = "."
    rejects_table: str | None = None
    temp_files: list[Path] = field(default_factory=list)
    readable: Path | None = None  # the UTF-8 text DuckDB reads (a transcoded copy or the file)
    typed: dict[str, str] = field(default_factory=dict)  # header -> SQL type the reader parses
    scan: subprocess.Popen[bytes] | None = None  # the search for exponents (exponent_scan)


def file_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "json"
    return "csv"


def _read_sample(path: Path) -> bytes:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise UnusableFileError(f"{path}: cannot be read ({exc})") from exc


def sniff_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) == SAMPLE_BYTES:
            return "utf-8"  # a character cut by the end of the sample
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def sniff_decimal(text: str, delimiter: str) -> str:
    if delimiter == ",":
        return "."
    commas = len(re.findall(r"(?<![\w.,])-?\d+,\d{1,3}(?![\d,.])", text))
    points = len(re.findall(r"(?<![\w.,])-?\d+\.\d{1,3}(?![\d.,])", text))
    # Grouped amounts ("1.234,50", "1,234.50") settle the question on their own.
    commas += len(re.findall(r"\d\.\d{3},\d", text))
    points += len(re.findall(r"\d,\d{3}\.\d", text))
    return "," if commas > points else "."


def _normalise_encoding(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    return ENCODING_ALIASES.get(key, key)


def _transcode(path: Path, encoding: str) -> Path:
    """A temporary UTF-8 copy of a single-byte-encoded file."""
    fd, tmp = tempfile.mkstemp(prefix="enseigne-import-", suffix=".csv")
    target = Path(tmp)
    compressed = path.name.lower().endswith(".gz")
    iconv = shutil.which("iconv")
    with open(fd, "wb") as out:
        if iconv and not compressed:
            done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
                [iconv, "-f", encoding.upper(), "-t", "UTF-8", str(path)],
                stdout=out, stderr=subprocess.DEVNULL, check=False,
            )
            if done.returncode == 0:
                return target
            out.seek(0)
            out.truncate()
        opener = gzip.open if compressed else open
        with opener(path, "rb") as src:
            while chunk := src.read(1 << 24):
                out.write(chunk.decode(encoding, errors="replace").encode("utf-8"))
    return target


def _csv_source(path: Path, mapping: Mapping, tag: str, scan: bool = False) -> Source:
    sample = _read_sample(path)
    if not sample.strip():
        raise UnusableFileError(f"{path}: the file is empty")
    encoding = _normalise_encoding(mapping.encoding) if mapping.encoding else None
    encoding = encoding or sniff_encoding(sample)
    try:
        text = sample.decode(encoding, errors="strict" if encoding != "utf-8" else "ignore")
    except (UnicodeDecodeError, LookupError) as exc:
        raise UnusableFileError(f"{path}: not readable as {encoding} ({exc})") from exc
    text = text.lstrip("\ufeff")
    first_line = text.splitlines()[0] if text else ""
    delimiter = mapping.delimiter or sniff_delimiter(first_line)
    delimiter = "\t" if delimiter.lower() in ("\\t", "tab") else delimiter
    headers = _unique(
        [h.strip() for h in next(csv.reader(io.StringIO(first_line), delimiter=delimiter))]
    )
    decimal = mapping.decimal or sniff_decimal(text, delimiter)
    source = Source(path, "", headers, "csv", encoding, delimiter, decimal)
    if scan and encoding != "utf-16":
        source.scan = exponent_scan(path)  # on another core, while the file is transcoded
    readable = path
    if encoding not in ("utf-8", "utf-16"):
        readable = _transcode(path, encoding)
        source.temp_files.append(readable)
    source.readable = readable
    source.rejects_table = f"_rejects_{tag}"
    source.relation = csv_relation(source)
    return source


# DuckDB reads CSV in buffers 16 times this size. Measured at 10 M lines: 10 MB gives
# fuller row groups than the 2 MB default (commit 0.8 s instead of 3.3 s); 32 MB buffers
# exceed the 1 GB memory limit.
MAX_LINE_BYTES = 10_000_000


def csv_relation(source: Source) -> str:
    """read_csv over the source, named as we read the headers (trimmed, made unique) so that
    lookups never miss; every column as text but the ``typed`` ones (see reader_typed)."""
    columns = ", ".join(
        f"{quote_literal(h)}: {quote_literal(source.typed.get(h, 'VARCHAR'))}"
        for h in source.headers
    )
    extra = ", encoding='utf-16'" if source.encoding == "utf-16" else ""
    if source.typed and source.decimal == ",":
        extra += ", decimal_separator=','"
    return (
        f"read_csv({quote_literal(str(source.readable))}, "
        f"delim={quote_literal(source.delimiter or ';')}, header=true, auto_detect=false, "
        f"columns={{{columns}}}, quote='\"', escape='\"', store_rejects=true, "
        f"rejects_table={quote_literal(source.rejects_table or '')}, "
        f"rejects_scan={quote_literal((source.rejects_table or '') + '_scan')}, "
        f"max_line_size={MAX_LINE_BYTES}{extra})"
    )


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for header in headers:
        name = header or "column"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


def reader_typed(source: Source, typed: dict[str, str]) -> Source:
    """The same CSV with the ``typed`` columns (header -> DECIMAL type) parsed by DuckDB's
    reader rather than in SQL: at 10 M lines the reader's parse costs 1.5 s of CPU where
    the SQL casts of the four amounts cost 6. The reader is stricter (no "1 234,50", no
    padding, no other decimal mark): a value it refuses lands in the rejects table as a
    CAST error, and the file is then staged again as text (see reader_typing_held)."""
    if not typed or source.format != "csv" or source.scan is None:
        return source
    fast = replace(source, typed=typed)
    fast.relation = csv_relation(fast)
    return fast


EXPONENT = "[0-9][eE][-+]?[0-9]"


def exponent_scan(path: Path) -> subprocess.Popen[bytes] | None:
    """Look, alongside the import, for a number written with an exponent ("1,23E+05": a
    spreadsheet's rounding of a longer number, refused by the import, that the typed
    reader would take as 123000): grep reads 1.2 GB in 1.5 s of one core. Its digits and
    letters are ASCII, the same bytes in UTF-8, Latin-1 and cp1252."""
    grep = shutil.which("grep")
    if grep is None or path.name.lower().endswith(".gz"):
        return None
    return subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
        [grep, "-q", "-E", EXPONENT, str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={"LC_ALL": "C"},
    )


def reader_typing_held(con: duckdb.DuckDBPyConnection, source: Source) -> bool:
    """The typed read can stand: the reader refused no value and no number has an exponent
    (grep exits 1 when it finds nothing)."""
    if source.scan is None or source.scan.wait() != 1:
        return False
    return not con.execute(
        f"SELECT count(*) FROM {source.rejects_table} WHERE error_type = 'CAST'"
    ).fetchone()[0]


def reread_csv(source: Source, mapping: Mapping, tag: str) -> Source:
    """The same CSV file read again with other options (e.g. another encoding).

    Its temporary copy joins ``source.temp_files`` so that open_source() removes it too.
    """
    again = _csv_source(source.path, mapping, tag)
    source.temp_files.extend(again.temp_files)
    return again


def _table_function_source(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, mapping: Mapping
) -> Source:
    literal = quote_literal(str(path))
    if fmt == "xlsx":
        load_extension(con, "excel")
        sheet = f", sheet={quote_literal(mapping.sheet)}" if mapping.sheet else ""
        call = f"read_xlsx({literal}, header=true, all_varchar=true{sheet})"
    elif fmt == "parquet":
        call = f"read_parquet({literal})"
    else:
        call = f"read_json({literal}, format='newline_delimited')"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {call}").fetchall()
    except duckdb.Error as exc:
        raise UnusableFileError(f"{path}: cannot be read as {fmt} ({brief(exc)})") from exc
    headers = [row[0] for row in described]
    casts = ", ".join(f"CAST({quote_ident(h)} AS VARCHAR) AS {quote_ident(h)}" for h in headers)
    return Source(path, f"(SELECT {casts} FROM {call})", headers, fmt)


def brief(exc: BaseException) -> str:
    """An engine error's first lines, short enough for a one-line message."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return " ".join(lines[:2])[:300]


@contextmanager
def open_source(
    con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping, tag: str,
    scan_exponents: bool = False,
) -> Iterator[Source]:
    """The file as a relation of text columns; temporary copies removed afterwards.
    ``scan_exponents``: start exponent_scan on a CSV, for reader_typed."""
    if not path.exists():
        raise UnusableFileError(f"{path}: no such file")
    if path.is_dir():
        raise UnusableFileError(f"{path}: is a directory, not a file")
    if path.stat().st_size == 0:
        raise UnusableFileError(f"{path}: the file is empty")
    fmt = file_format(path)
    source = (
        _csv_source(path, mapping, tag, scan_exponents)
        if fmt == "csv"
        else _table_function_source(con, path, fmt, mapping)
    )
    try:
        yield source
    finally:
        if source.scan is not None:
            source.scan.kill()
            source.scan.wait()
        for temp in source.temp_files:
            temp.unlink(missing_ok=True)


def record_lines(
    readable: Path, delimiter: str, records: set[int], unreadable: set[int],
    encoding: str = "utf-8",
) -> dict[int, int]:
    """The file line on which each record (0 = first after the header) starts.

    DuckDB gives records in file order but not their lines; blank lines and quoted values
    spanning lines shift them, so the lines of the few problem records are read here, with
    the same dialect, stopping after the last one asked for.
    """
    opener = gzip.open if readable.name.lower().endswith(".gz") else open
    found: dict[int, int] = {}
    last = max(records, default=-1)
    record, previous = -1, 0  # the header is record -1
    text_encoding = "utf-8-sig" if encoding != "utf-16" else encoding
    with opener(readable, "rt", encoding=text_encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if not row or start in unreadable:
                continue  # DuckDB skips blank lines and sets malformed ones aside
            if record in records:
                found[record] = start
            record += 1
            if record > last:
                break
    return found
