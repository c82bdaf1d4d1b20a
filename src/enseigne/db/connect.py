"""Opening the database file: one read-write connection per process, offline extensions."""

from __future__ import annotations

from pathlib import Path

import duckdb


class DatabaseLockedError(RuntimeError):
    """Another process (typically ``enseigne serve``) holds the database file."""


def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    memory_limit: str | None = "1GB",
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the database file with our session settings."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | int | bool] = {"autoinstall_known_extensions": False}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLockedError(
                f"{path} is in use by another process (is `enseigne serve` running?). "
                "Stop it, or import through the running server's API, then try again."
            ) from exc
        raise
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    # Progress is tracked (the CLI draws it with rich) but never printed by DuckDB itself.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


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
