"""The web server's database: one read-write connection, a cursor per request, one writer.

DuckDB allows one read-write process per file, so the server owns the connection for its
lifetime. Each request reads through its own cursor (a connection sharing the database
instance, with its own transaction); writes go through :meth:`Database.writing`, which
serialises them with a lock so two requests never race on the same rows.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

SECRET_KEY_SETTING = "secret_key"  # noqa: S105 - the name of the row, not a secret
MIN_SECRET_LENGTH = 32


class Database:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._write_lock = threading.Lock()
        # The parent connection object is not meant for concurrent use: hand out cursors one
        # thread at a time (each cursor is then used by one request only).
        self._cursor_lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._cursor_lock:
            return self._con.cursor()

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside a transaction, committed on success, alone among writers."""
        with self._write_lock, self.reading() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self) -> None:
        with self._write_lock, self._cursor_lock:
            self._con.close()


def resolve_secret_key(db: Database, configured: str | None) -> str:
    """The configured key, else the one generated at first start and kept in the database.

    Keeping it in the database (rather than in the code or a generated file next to it)
    means sessions survive restarts and no two installations share a key.
    """
    if configured:
        if len(configured) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"ENSEIGNE_SECRET_KEY is too short: use at least {MIN_SECRET_LENGTH} random "
                "characters (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return configured
    with db.writing() as cur:
        row = cur.execute(
            "SELECT value FROM app_settings WHERE name = ?", [SECRET_KEY_SETTING]
        ).fetchone()
        if row:
            return str(row[0])
        key = secrets.token_urlsafe(48)
        cur.execute(
            "INSERT INTO app_settings (name, value) VALUES (?, ?)", [SECRET_KEY_SETTING, key]
        )
        return key
