"""Opening the database file: one read-write connection per process, offline extensions.

With a key (``ENSEIGNE_DB_KEY``) the file is encrypted at rest by DuckDB (AES-GCM): it is
attached to an in-memory connection with its key, and every block, the WAL and the spill
files are encrypted. Writing encrypted blocks needs httpfs's OpenSSL; DuckDB's built-in
crypto module can only read them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from enseigne.settings import Settings

# The catalogue name an encrypted file is attached under (a plain file gets its stem).
ENCRYPTED_CATALOG = "enseigne"


class DatabaseLockedError(RuntimeError):
    """Another process (typically ``enseigne serve``) holds the database file."""


class DatabaseKeyError(RuntimeError):
    """The database key is missing, wrong, or given for a file that is not encrypted."""


def connect(
    path: Path | str,
    *,
    key: str | None = None,
    read_only: bool = False,
    memory_limit: str | None = "1GB",
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the database file with our session settings; ``key``
    opens (or creates) it encrypted."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | int | bool] = {"autoinstall_known_extensions": False}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    try:
        if key:
            con = _attach_encrypted(path, key, read_only, config)
        else:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLockedError(
                f"{path} is in use by another process (is `enseigne serve` running?). "
                "Stop it, or import through the running server's API, then try again."
            ) from exc
        raise
    except (duckdb.CatalogException, duckdb.InvalidInputException) as exc:
        raise _key_error(path, exc) from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    # Progress is tracked (the CLI draws it with rich) but never printed by DuckDB itself.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


def connect_configured(settings: Settings, **options: Any) -> duckdb.DuckDBPyConnection:
    """The configured database: its file, key, memory and threads."""
    return connect(
        settings.db, key=settings.db_key_value(), memory_limit=settings.memory_limit,
        threads=settings.threads, **options,
    )


def _attach_encrypted(
    path: Path, key: str, read_only: bool, config: dict[str, str | int | bool]
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config=config)
    try:
        load_extension(con, "httpfs")
        # Spill files next to the database, as for a plain file (not in the working directory).
        con.execute(f"SET temp_directory = {quote_literal(f'{path}.tmp')}")
        options = f"ENCRYPTION_KEY {key_literal(key)}" + (", READ_ONLY" if read_only else "")
        con.execute(f"ATTACH {quote_literal(str(path))} AS {ENCRYPTED_CATALOG} ({options})")
        con.execute(f"USE {ENCRYPTED_CATALOG}")
    except BaseException:
        con.close()
        raise
    return con


def _key_error(path: Path, exc: Exception) -> Exception:
    """A message saying what to do, never the key; other catalogue errors pass through."""
    text = str(exc)
    if "without a key" in text:
        return DatabaseKeyError(f"{path} is encrypted: set ENSEIGNE_DB_KEY to its key.")
    if "Wrong encryption key" in text:
        return DatabaseKeyError(f"ENSEIGNE_DB_KEY is not the key of {path}.")
    if "is not encrypted" in text:
        return DatabaseKeyError(
            f"{path} is not encrypted but ENSEIGNE_DB_KEY is set: unset it, or encrypt the "
            "file with `enseigne encrypt` (without the variable set)."
        )
    return exc


def quote_literal(value: str) -> str:
    """A SQL string literal, for the statements that take no bound parameters (ATTACH, COPY)."""
    return "'" + value.replace("'", "''") + "'"


def key_literal(key: str) -> str:
    """The key as DuckDB reads it: a BLOB literal, where only plain ASCII may appear as is
    (an accent or a backslash would be refused or read as an escape), so every other byte
    of its UTF-8 form is written as a hex escape."""
    return "'" + "".join(
        chr(b) if chr(b).isascii() and chr(b).isalnum() else f"\\x{b:02X}"
        for b in key.encode()
    ) + "'"


def catalog_statement(con: duckdb.DuckDBPyConnection) -> str | None:
    """The USE a cursor of ``con`` needs to see its tables: an encrypted file is attached
    to an in-memory connection, and a cursor starts in the in-memory catalogue."""
    wanted = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    probe = con.cursor()
    try:
        default = probe.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    finally:
        probe.close()
    return None if default == wanted else "USE " + quote_ident(str(wanted))


def cursor(
    con: duckdb.DuckDBPyConnection, use: str | bool | None = True
) -> duckdb.DuckDBPyConnection:
    """A cursor of ``con`` (its own transaction) on the same catalogue; ``use``: the
    catalogue statement when the caller already knows it, True to look it up."""
    cur = con.cursor()
    statement = catalog_statement(con) if use is True else use
    if statement:
        cur.execute(statement)
    return cur


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_encrypted(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT encrypted FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return bool(row and row[0])


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load an extension from its PyPI wheel: the machine may have no network (never INSTALL)."""
    loaded = {
        row[0]
        for row in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded"
        ).fetchall()
    }
    if name in loaded:
        return
    from duckdb_extensions import import_extension

    import_extension(name, con=con)
    con.execute(f"LOAD {name}")
