"""An in-process LRU cache of computed results, invalidated when the data changes.

The dashboard's figures take seconds to compute on a large chain and change only when data
is written, so the server keeps recent results in memory. A key always includes the
**data version** of the request's snapshot, so a result computed before a write is never
served after it:

- ``data_version(cur)`` reads, in one query of well under a millisecond at 10 M ticket
  lines (``count(*)`` is answered from table metadata, ``import_log`` is tiny), the last
  import id and the row count of every table a KPI reads. Any import, and any insert or
  delete, changes it, whoever wrote (the server, or the CLI before the server started);
- ``data_changed(app)`` bumps a counter kept by the server, for the writes a count does
  not see (an update in place, such as a GDPR erasure): a route that writes KPI data calls
  it after committing. The data version includes that counter.

Stale entries are not purged on a version change: they simply stop being asked for and
fall off the end of the LRU. Concurrent requests for the same missing key compute it once
(the others wait for the first), which matters when a two-core server is asked for the same
cold dashboard by several users at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")

DEFAULT_SIZE = 64
# The tables KPIs and anomalies read; their row counts are part of the data version.
VERSIONED_TABLES = (
    "tickets", "ticket_lines", "footfall", "targets", "stores", "sellers", "customers",
    "consents", "survey_responses", "feedback",
)
# One row per table (UNION ALL does not promise an order: rows are labelled, then sorted).
_VERSION_SQL = " UNION ALL ".join(
    ["SELECT 'import_log', coalesce(max(import_id), 0)::BIGINT FROM import_log"]
    + [f"SELECT '{table}', count(*)::BIGINT FROM {table}" for table in VERSIONED_TABLES]
)

_STATE_LOCK = threading.Lock()


class ResultCache:
    """A thread-safe LRU mapping of ``maxsize`` entries, computing a missing key once."""

    def __init__(self, maxsize: int = DEFAULT_SIZE) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0
        self.server_version = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        found, value = self._lookup(key)
        if found:
            return value
        with self._lock:
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:  # a second request for the same key waits for the first
            found, value = self._lookup(key, count=False)
            if found:
                return value
            try:
                value = compute()
                self._store(key, value)
            finally:
                with self._lock:
                    self._pending.pop(key, None)
        return value

    def _lookup(self, key: Hashable, count: bool = True) -> tuple[bool, Any]:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += count
                return True, self._entries[key]
            self.misses += count
            return False, None

    def _store(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def bump(self) -> None:
        """The data changed in a way row counts do not show: forget everything."""
        with self._lock:
            self.server_version += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def app_cache(app: Any) -> ResultCache:
    """The application's result cache, created on first use."""
    with _STATE_LOCK:
        cache = getattr(app.state, "result_cache", None)
        if cache is None:
            cache = ResultCache()
            app.state.result_cache = cache
        return cache


def data_changed(app: Any) -> None:
    """Call after committing a write that changes KPI data without adding or removing rows."""
    app_cache(app).bump()


def data_version(cur: duckdb.DuckDBPyConnection, cache: ResultCache) -> tuple[int, ...]:
    """The version of the data this cursor sees: last import, row counts, server counter."""
    rows = sorted(cur.execute(_VERSION_SQL).fetchall())
    return (*(int(count) for _, count in rows), cache.server_version)
