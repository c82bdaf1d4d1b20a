"""Row-oriented entry into the import: records sent by a program (the live POS API) go
through exactly the pipeline a file goes through.

The records are written to a temporary Parquet file of text columns named after the
kind's canonical columns, then imported with ``strict=True``: the same typing, the same
checks, the same natural-key idempotency, and nothing loaded when any row is bad. Parquet
rather than CSV because it needs no sniffing (no delimiter, decimal mark or encoding to
guess) and keeps a value such as ``"1;2"`` whole.
"""

from __future__ import annotations

import csv
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from enseigne.ingest import KINDS, ImportSummary, StrictRefusal, UnusableFileError, import_file


@dataclass(frozen=True)
class RowError:
    """One problem of one record: ``row`` is the record's position (0-based)."""

    row: int
    column: str
    value: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.column, "value": self.value,
                "reason": self.reason}


class LiveRefusal(Exception):
    """Some records are invalid: nothing was loaded."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s); nothing loaded")
        self.errors = errors


def _text(value: Any) -> str | None:
    """A JSON value as the text a file would hold (None stays empty)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unencodable(kind: str, records: Sequence[Mapping[str, Any]]) -> list[RowError]:
    """Texts that are not valid Unicode (a lone surrogate JSON allows): no file holds one."""
    return [
        RowError(row, name, None, "not valid text (invalid Unicode)")
        for row, record in enumerate(records)
        for name in KINDS[kind].names
        if isinstance(record.get(name), str) and _bad_unicode(record[name])
    ]


def _bad_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def records_table(kind: str, records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The records as a table of text columns, one per canonical column of ``kind``."""
    names = KINDS[kind].names
    columns = {
        name: pa.array([_text(record.get(name)) for record in records], type=pa.string())
        for name in names
    }
    return pa.table(columns)


def import_records(
    con: duckdb.DuckDBPyConnection, kind: str, records: Sequence[Mapping[str, Any]],
    *, label: str = "api",
) -> ImportSummary:
    """Import ``records`` of ``kind`` (canonical column names) all or nothing.

    Raises LiveRefusal with every problem found when any record is invalid. ``con`` must
    not be inside a transaction: the import opens and commits its own.
    """
    if not records:
        raise LiveRefusal([RowError(0, "", None, "no record sent")])
    unencodable = _unencodable(kind, records)
    if unencodable:
        raise LiveRefusal(unencodable)
    with tempfile.TemporaryDirectory(prefix="enseigne-live-") as tmp:
        path = Path(tmp) / f"{label}-{kind}.parquet"
        rejects = Path(tmp) / "rejects.csv"
        pq.write_table(records_table(kind, records), path, compression="none")
        try:
            return import_file(con, kind, path, strict=True, rejects=rejects)
        except StrictRefusal as exc:
            raise LiveRefusal(_read_rejects(rejects)) from exc
        except UnusableFileError as exc:  # not expected: every canonical column is present
            raise LiveRefusal([RowError(0, "", None, str(exc))]) from exc


def _read_rejects(path: Path) -> list[RowError]:
    """The quarantine rows of a refused import; Parquet lines are 1-based row numbers."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            RowError(int(row["line"]) - 1, row["column"], row["value"] or None, row["reason"])
            for row in csv.DictReader(fh)
        ]


# --- Combining concurrent requests into one import -------------------------------------------
#
# An import costs tens of milliseconds whatever its size (about thirty statements), so one
# import per ticket would cap a server near 15 tickets/s. Requests therefore queue, and the
# thread that gets the write lock imports every queued ticket request at once (flat
# combining: no extra thread, and under load each import carries many requests). A combined
# import that is refused is re-run request by request, so one bad request fails alone.

MAX_COMBINED_ROWS = 20_000
COMBINED_KINDS = ("tickets",)  # the others go alone: their counts per request are not split

Cursor = duckdb.DuckDBPyConnection
Outcome = ImportSummary | LiveRefusal


@dataclass(eq=False)
class Job:
    """One request's records and what to do under the lock before and after importing.

    ``prepare(cur)`` returns an early answer (a replayed response, say) or None to import;
    ``finish(cur, outcome)`` turns the import's outcome into the request's answer.
    """

    kind: str
    records: list[dict[str, Any]]
    prepare: Callable[[Cursor], Any]
    finish: Callable[[Cursor, Outcome], Any]
    answer: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class CombiningWriter:
    """Runs jobs under ``lock`` with a cursor from ``cursor()``, combining ticket jobs."""

    def __init__(
        self, lock: threading.Lock, cursor: Callable[[], AbstractContextManager[Cursor]]
    ) -> None:
        self._lock, self._cursor = lock, cursor
        self._queue: deque[Job] = deque()
        self._queue_lock = threading.Lock()

    def submit(self, job: Job) -> Any:
        """The job's answer, once it has run (maybe in another request's thread)."""
        with self._queue_lock:
            self._queue.append(job)
        while not job.done.is_set():
            with self._lock:
                if not job.done.is_set():
                    with self._cursor() as cur:
                        self._run(cur, self._take())
        if job.error is not None:
            raise job.error
        return job.answer

    def pending(self) -> int:
        """Jobs queued and not yet taken."""
        with self._queue_lock:
            return len(self._queue)

    def _take(self) -> list[Job]:
        """The oldest job, and the jobs of its kind queued after it when it combines."""
        with self._queue_lock:
            first = self._queue.popleft()
            taken, rows = [first], len(first.records)
            if first.kind not in COMBINED_KINDS:
                return taken
            for job in list(self._queue):
                if job.kind == first.kind and rows + len(job.records) <= MAX_COMBINED_ROWS:
                    self._queue.remove(job)
                    taken.append(job)
                    rows += len(job.records)
            return taken

    def _run(self, cur: Cursor, jobs: list[Job]) -> None:
        try:
            ready = [job for job in jobs if not _prepared(cur, job)]
            outcomes = list(zip(ready, _import_together(cur, ready), strict=True))
            # What each request writes after the import (its audit entries, the answer kept
            # for its Idempotency-Key) commits once for the batch: a commit costs more
            # than the rows, and 32 tills posting at once would pay it 32 times.
            cur.execute("BEGIN TRANSACTION")
            try:
                for job, outcome in outcomes:
                    _finish(cur, job, outcome)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        except BaseException as exc:  # never leave a waiting request hanging
            for job in jobs:
                if not job.done.is_set():
                    job.error = exc
                    job.done.set()
            raise


def _prepared(cur: Cursor, job: Job) -> bool:
    """Run ``prepare``; True when the job is answered without importing."""
    try:
        early = job.prepare(cur)
    except Exception as exc:
        job.error = exc
        job.done.set()
        return True
    if early is not None:
        job.answer = early
        job.done.set()
        return True
    return False


def _finish(cur: Cursor, job: Job, outcome: Outcome) -> None:
    try:
        job.answer = job.finish(cur, outcome)
    except Exception as exc:
        job.error = exc
    job.done.set()


def _import_together(cur: Cursor, jobs: list[Job]) -> Iterator[Outcome]:
    if not jobs:
        return
    if len(jobs) == 1:
        yield _import_one(cur, jobs[0].kind, jobs[0].records)
        return
    records = [record for job in jobs for record in job.records]
    combined = _import_one(cur, jobs[0].kind, records)
    if isinstance(combined, LiveRefusal):  # find the culprits: each request alone
        for job in jobs:
            yield _import_one(cur, job.kind, job.records)
        return
    yield from _split(cur, jobs, combined)


def _import_one(cur: Cursor, kind: str, records: list[dict[str, Any]]) -> Outcome:
    try:
        return import_records(cur, kind, records)
    except LiveRefusal as refusal:
        return refusal


def _split(cur: Cursor, jobs: list[Job], summary: ImportSummary) -> Iterator[ImportSummary]:
    """Each request's share of a combined ticket import: its lines this import stored."""
    loaded = dict(cur.execute(
        "SELECT ticket_id, count(*) FROM ticket_lines WHERE import_id = ? GROUP BY ticket_id",
        [summary.import_id],
    ).fetchall())
    for job in jobs:
        ids = {str(record["ticket_id"]).strip() for record in job.records}
        mine = sum(loaded.pop(i, 0) for i in ids)  # pop: a ticket sent twice counts once
        yield replace(summary, rows_read=len(job.records), rows_loaded=mine,
                      duplicates=len(job.records) - mine)
