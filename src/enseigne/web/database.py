"""The web server's database: one read-write connection, a cursor per request, one writer.

DuckDB allows one read-write process per file, so the server owns the connection for its
lifetime. Each request reads through its own cursor (a connection sharing the database
instance, with its own transaction); writes go through :meth:`Database.writing`, which
serialises them with a lock so two requests never race on the same rows.

An erasure must rewrite the file (``enseigne.privacy.gdpr.rewrite_file``) while the server
runs: :meth:`Database.rewrite` takes the database to itself (no new cursor is handed out,
the ones in flight are waited for), changes and rewrites it, then reopens the fresh file.
Requests arriving meanwhile wait; none fails.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import duckdb

from enseigne.db.connect import catalog_statement, cursor

SECRET_KEY_SETTING = "secret_key"  # noqa: S105 - the name of the row, not a secret
MIN_SECRET_LENGTH = 32
# How long a rewrite waits for the writer and the requests in flight before giving up:
# a deadlock (a request holding a cursor and waiting for the write lock) ends as a 503.
DRAIN_SECONDS = 60.0

T = TypeVar("T")
Opener = Callable[[], duckdb.DuckDBPyConnection]


class DatabaseBusy(RuntimeError):
    """The requests in flight did not finish in time: nothing was changed."""


class RewriteFailed(RuntimeError):
    """The change was committed but the file could not be rewritten: the old file stays in
    use (with the changed values still in its freed blocks). ``result`` is the change's."""

    def __init__(self, result: object) -> None:
        super().__init__("the change was committed but the database file was not rewritten")
        self.result = result


class Database:
    def __init__(
        self, con: duckdb.DuckDBPyConnection, opener: Opener | None = None,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        """``opener`` opens the same file again (after a rewrite); without it the database
        cannot be rewritten while in use."""
        self._con = con
        self._use = catalog_statement(con)
        self._opener = opener
        self._drain_seconds = drain_seconds
        self._write_lock = threading.Lock()
        # The parent connection object is not meant for concurrent use: hand out cursors one
        # thread at a time (each cursor is then used by one request only).
        self._cursor_lock = threading.Lock()
        # Cursors handed out and not closed yet, and whether a rewrite wants them all back
        # (new ones then wait). Counted per cursor, not per thread: FastAPI may close a
        # request's cursor in another thread than the one that opened it.
        self._state = threading.Condition()
        self._open_cursors = 0
        self._paused = False
        self._maintenance = threading.Lock()

    @property
    def paused(self) -> bool:
        """True while a rewrite waits for the cursors in flight or holds the database."""
        with self._state:
            return self._paused

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A raw cursor that a rewrite does not wait for: prefer :meth:`reading`."""
        with self._cursor_lock:
            return self._new_cursor()

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        return cursor(self._con, self._use)

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._state:
            while self._paused:
                self._state.wait()
            self._open_cursors += 1
        try:
            cur = self.cursor()
            try:
                yield cur
            finally:
                cur.close()
        finally:
            with self._state:
                self._open_cursors -= 1
                self._state.notify_all()

    @contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside a transaction, committed on success, alone among writers."""
        # The lock before the cursor, as for every writer: a rewrite holds the lock while
        # it waits for the cursors, so a writer must not hold one while waiting for the lock.
        with self._write_lock, self.reading() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def rewrite(self, key: str | None, change: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``change`` with the database to itself, then copy it to a fresh file that
        replaces the old one (encrypted with ``key``) and reopen it, so that no freed block
        keeps what ``change`` removed. Returns what ``change`` returns.

        DatabaseBusy (nothing done) when the writer or the requests in flight keep the
        database longer than the drain time; ``change``'s own exception (nothing rewritten)
        when it fails; RewriteFailed when the copy fails after ``change`` committed."""
        from enseigne.privacy.gdpr import rewrite_file

        if self._opener is None:
            raise RuntimeError("this database cannot be reopened: it cannot be rewritten")
        with self._exclusive():
            cur = self._new_cursor()
            try:
                result = change(cur)
            finally:
                cur.close()
            try:
                rewrite_file(self._con, key)
            except Exception as exc:
                if _closed(self._con):  # the copy was complete, the swap failed
                    self._reopen()
                raise RewriteFailed(result) from exc
            self._reopen()
        return result

    def _reopen(self) -> None:
        if self._opener is None:
            raise RuntimeError("this database cannot be reopened")
        self._con = self._opener()
        self._use = catalog_statement(self._con)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The write lock, then no cursor out: the requests in flight finish, new ones wait."""
        deadline = time.monotonic() + self._drain_seconds
        with self._maintenance:
            if not self._write_lock.acquire(timeout=self._drain_seconds):
                raise DatabaseBusy("a write did not finish in time")
            try:
                with self._state:
                    self._paused = True
                    drained = self._state.wait_for(
                        lambda: self._open_cursors == 0, deadline - time.monotonic())
                try:
                    if not drained:
                        raise DatabaseBusy("requests in flight did not finish in time")
                    with self._cursor_lock:
                        yield
                finally:
                    with self._state:
                        self._paused = False
                        self._state.notify_all()
            finally:
                self._write_lock.release()

    def close(self) -> None:
        with self._write_lock, self._cursor_lock:
            self._con.close()


def _closed(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.execute("SELECT 1")
    except duckdb.ConnectionException:
        return True
    return False


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
