"""Progress of long imports: DuckDB reports each query's progress; we poll it from a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["Progress", "fr_int", "new_progress", "watch"]

POLL_SECONDS = 0.2


def fr_int(value: float) -> str:
    """A count the French way: 1 234 567 (narrow no-break space between thousands)."""
    return f"{value:,.0f}".replace(",", "\u202f")


def new_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), transient=False,
    )


def _estimated_rows(path: Path | None) -> int | None:
    """Rows in a text file, guessed from its size and its first 64 KiB."""
    if path is None or path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        return None
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    lines = head.count(b"\n")
    return int(size / (len(head) / lines)) if lines else None


@contextmanager
def watch(
    con: duckdb.DuckDBPyConnection, progress: Progress | None, label: str, path: Path | None
) -> Iterator[None]:
    if progress is None:
        yield
        return
    rows = _estimated_rows(path)
    task = progress.add_task(label, total=100, rate="")
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(POLL_SECONDS):
            try:
                done = con.query_progress()
            except duckdb.Error:
                continue
            if done is None or done < 0:
                continue
            elapsed = progress.tasks[task].elapsed or 0
            rate = f"{fr_int(rows * done / 100 / elapsed)} lignes/s" if rows and elapsed else ""
            progress.update(task, completed=done, rate=rate)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        progress.update(task, completed=100)
