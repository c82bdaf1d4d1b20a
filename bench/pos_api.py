"""Throughput of the live POS API, ``POST /api/v1/tickets``, while the dashboard is read.

A small demo chain is served by ``enseigne serve`` on 127.0.0.1; several client threads post
tickets (each request with an ``Idempotency-Key``, retried with the same key after a
timeout, as a till does) while another thread reads ``/api/dashboard``. Two phases: one
ticket per request, then batches. The tickets are counted in the database afterwards: none
lost, none twice. Target (issue 4): at least 500 tickets/s for 60 s.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx

from bench import Check, Result
from bench.dashboard_web import _free_port, _wait_until_up
from bench.import_csv import DATA, ENSEIGNE, ROOT

TARGET_PER_SECOND = 500
TILLS = 32  # one ticket per request: many tills post at once
CLIENTS = 4  # batches: a few integration servers
BATCH = 100
READ_EVERY = 1.0  # s between two dashboard reads (a user who keeps refreshing)
TIMEOUT = 30.0


@dataclass
class Phase:
    name: str
    tickets: int
    seconds: float
    errors: int
    dashboard_reads: int

    @property
    def rate(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


def _build(path: Path) -> str:
    """A fresh demo chain and a network token for the tills."""
    from enseigne.db import connect
    from enseigne.demo import build_demo
    from enseigne.web.users import create_token

    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = connect(path)
    try:
        build_demo(con, stores=20, customers=5000, years=1)
        return create_token(con, "bench-pos", "network")
    finally:
        con.close()


def _tickets(prefix: str, count: int, stores: int = 20) -> list[dict]:
    sold = dt.datetime.combine(dt.date.today(), dt.time(10)).isoformat()
    return [
        {"ticket_id": f"{prefix}-{uuid.uuid4().hex[:16]}", "sold_at": sold,
         "store_code": f"S{1 + n % stores:03d}",
         "lines": [{"sku": f"BENCH-{k}", "quantity": 1, "amount": 9.9 + k} for k in range(3)]}
        for n in range(count)
    ]


def _post_until(client: httpx.Client, prefix: str, size: int, stop: float, out: list[int]) -> None:
    """Post batches of ``size`` until ``stop``; out = [tickets stored, failed requests]."""
    while time.monotonic() < stop:
        tickets = _tickets(prefix, size)
        body = tickets[0] if size == 1 else tickets
        key = {"Idempotency-Key": uuid.uuid4().hex}
        for _ in range(5):  # a till retries the same request after a timeout
            try:
                answer = client.post("/api/v1/tickets", json=body, headers=key, timeout=TIMEOUT)
            except httpx.TimeoutException:
                continue
            if answer.status_code in (200, 201):
                out[0] += size
            else:
                out[1] += 1
            break


def _read_dashboard(client: httpx.Client, stop: float, out: list[int]) -> None:
    while time.monotonic() < stop:
        if client.get("/api/dashboard", timeout=120).status_code == 200:
            out[0] += 1
        time.sleep(READ_EVERY)


def _phase(url: str, token: str, name: str, size: int, seconds: float) -> Phase:
    headers = {"Authorization": f"Bearer {token}"}
    counts = [[0, 0] for _ in range(TILLS if size == 1 else CLIENTS)]
    reads = [0]
    began = time.monotonic()
    stop = began + seconds
    limits = httpx.Limits(max_connections=TILLS + 2)
    with httpx.Client(base_url=url, headers=headers, limits=limits) as client:
        threads = [threading.Thread(target=_post_until, args=(client, name, size, stop, c))
                   for c in counts]
        threads.append(threading.Thread(target=_read_dashboard, args=(client, stop, reads)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.monotonic() - began
    return Phase(name, sum(c[0] for c in counts), elapsed, sum(c[1] for c in counts), reads[0])


def _stored(db: Path, prefix: str) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT count(*), count(DISTINCT ticket_id) FROM tickets "
            "WHERE starts_with(ticket_id, ?)",
            [prefix + "-"],
        ).fetchone()
    finally:
        con.close()


def _serve(db: Path, token: str, seconds: float) -> list[Phase]:
    import subprocess

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(  # noqa: S603
            [str(ENSEIGNE), "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, stdout=log, stderr=log,
        )
        try:
            with httpx.Client(base_url=url) as probe:
                _wait_until_up(probe, server, "/openapi.json")
            return [_phase(url, token, "single", 1, seconds),
                    _phase(url, token, "batch", BATCH, seconds)]
        finally:
            server.terminate()
            server.wait(timeout=60)


def run(seconds: float = 60.0) -> list[Result]:
    db = DATA / "run" / "pos-api.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    token = _build(db)
    results = []
    for phase in _serve(db, token, seconds):
        rows, distinct = _stored(db, phase.name)
        print(f"  pos api, {phase.name}: {phase.tickets} tickets in {phase.seconds:.1f} s = "
              f"{phase.rate:.0f} tickets/s ({phase.errors} refused, {phase.dashboard_reads} "
              f"dashboard reads); stored {rows}, distinct {distinct}")
        checks = [
            Check(f"{TARGET_PER_SECOND} tickets/s for {seconds:.0f} s (dashboard read meanwhile)",
                  phase.rate >= TARGET_PER_SECOND, f"{phase.rate:.0f} tickets/s"),
            Check("no ticket lost or stored twice",
                  rows == distinct == phase.tickets and not phase.errors,
                  f"acknowledged {phase.tickets}, stored {rows}, distinct {distinct}"),
        ]
        results.append(Result(f"pos_api_{phase.name}", phase.seconds, None, checks,
                              note=f"{phase.rate:.0f} tickets/s, "
                              f"{BATCH if phase.name == 'batch' else 1} per request"))
    return results


if __name__ == "__main__":
    import sys

    from bench.__main__ import print_summary

    print_summary(run(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0))
