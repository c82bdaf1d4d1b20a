"""Throughput of the live POS API, ``POST /api/v1/tickets``, while the dashboard is read.

The customer file's database (``bench.customers``: 200 stores, 1 M customers, ~10 M ticket
lines), or with ``chain="small"`` a 20-store demo chain, is copied (posting writes into it)
and served by ``enseigne serve`` on 127.0.0.1. Client threads post receipts as tills do: ids
shaped as the stored ones (``S042-20261123-...``), real stores and products, 70 % of them
for a known customer, each request with an ``Idempotency-Key`` and retried with the same key
after a timeout, while another thread reads ``/api/dashboard`` (one read a second after the
previous answer; each post changes the data, so each read computes). Two phases of 60 s:
one ticket per request from 32 tills, then batches of 100 from 4 integration servers. The
tickets are counted in the database afterwards: none lost, none twice. Target (issue 4, at 1
million customers and 10 million lines since issue 7): at least 500 tickets/s for 60 s.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
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
IDENTIFIED = 0.7  # share of the tickets posted for a known customer
PHASES = {"single": (1, TILLS, dt.time(10, 1)), "batch": (BATCH, CLIENTS, dt.time(10, 2))}


@dataclass
class Phase:
    name: str
    tickets: int
    seconds: float
    errors: int
    dashboard_reads: int
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Catalogue:
    """What the posted receipts refer to: the chain's stores, products and customers."""

    stores: list[str]
    skus: list[str]
    customers: list[str]


# --- the database ---------------------------------------------------------------------------


def _small(path: Path) -> None:
    from enseigne.db import connect
    from enseigne.demo import build_demo

    con = connect(path)
    try:
        build_demo(con, stores=20, customers=5000, years=1)
    finally:
        con.close()


def _database(chain: str) -> Path | str:
    """A fresh copy of the benchmark database (or why there is none)."""
    path = DATA / "run" / f"pos-api-{chain}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    if chain == "small":
        _small(path)
        return path
    from bench.customers import customer_file, working_copy

    db = customer_file()
    if isinstance(db, str):
        return db
    return working_copy(db.path, path.stem)


def _prepare(path: Path) -> tuple[str, Catalogue, float]:
    """Migrate the copy (timed: a file built before the latest migrations gets them), make a
    network token for the tills and read what the receipts may refer to."""
    from enseigne.db import connect, migrate
    from enseigne.web.users import create_token

    con = connect(path)
    try:
        began = time.perf_counter()
        migrate(con)
        migrated = time.perf_counter() - began
        token = create_token(con, f"bench-pos-{time.time_ns()}", "network")
        def column(sql: str) -> list[str]:
            return [row[0] for row in con.execute(sql).fetchall()]

        catalogue = Catalogue(
            column("SELECT store_code FROM stores WHERE store_code <> 'WEB' ORDER BY 1"),
            column("SELECT sku FROM products ORDER BY 1"),
            column("SELECT customer_ref FROM customers ORDER BY hash(customer_ref) LIMIT 50000"),
        )
    finally:
        con.close()
    return token, catalogue, migrated


# --- the tills --------------------------------------------------------------------------------


def _tickets(phase: str, count: int, catalogue: Catalogue, rng: random.Random) -> list[dict]:
    sold = dt.datetime.combine(dt.date.today(), PHASES[phase][2])
    tickets = []
    for _ in range(count):
        store = rng.choice(catalogue.stores)
        customer = rng.choice(catalogue.customers) if rng.random() < IDENTIFIED else None
        tickets.append({
            "ticket_id": f"{store}-{sold:%Y%m%d}-{uuid.uuid4().hex[:12]}",
            "sold_at": sold.isoformat(), "store_code": store, "customer_ref": customer,
            "lines": [{"sku": rng.choice(catalogue.skus), "quantity": 1, "amount": 9.9 + k}
                      for k in range(rng.randint(1, 4))],
        })
    return tickets


def _post_until(client: httpx.Client, phase: Phase, size: int, catalogue: Catalogue,
                stop: float, out: list[int]) -> None:
    """Post ``size`` tickets a request until ``stop``; out = [tickets stored, failures]."""
    rng = random.Random()
    while time.monotonic() < stop:
        tickets = _tickets(phase.name, size, catalogue, rng)
        body = tickets[0] if size == 1 else tickets
        key = {"Idempotency-Key": uuid.uuid4().hex}
        for _ in range(5):  # a till retries the same request after a timeout
            began = time.perf_counter()
            try:
                answer = client.post("/api/v1/tickets", json=body, headers=key, timeout=TIMEOUT)
            except httpx.TimeoutException:
                continue
            phase.latencies.append(time.perf_counter() - began)
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


def _phase(url: str, token: str, name: str, catalogue: Catalogue, seconds: float) -> Phase:
    size, posters, _ = PHASES[name]
    phase = Phase(name, 0, 0.0, 0, 0)
    counts = [[0, 0] for _ in range(posters)]
    reads = [0]
    began = time.monotonic()
    stop = began + seconds
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers,
                      limits=httpx.Limits(max_connections=TILLS + 2)) as client:
        threads = [threading.Thread(target=_post_until,
                                    args=(client, phase, size, catalogue, stop, c))
                   for c in counts]
        threads.append(threading.Thread(target=_read_dashboard, args=(client, stop, reads)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    phase.seconds = time.monotonic() - began
    phase.tickets = sum(c[0] for c in counts)
    phase.errors = sum(c[1] for c in counts)
    phase.dashboard_reads = reads[0]
    return phase


def _stored(db: Path, name: str) -> tuple[int, int]:
    """(tickets, distinct ticket ids) the phase left in the database."""
    sold = dt.datetime.combine(dt.date.today(), PHASES[name][2])
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT count(*), count(DISTINCT ticket_id) FROM tickets WHERE sold_at = ?", [sold]
        ).fetchone()
    finally:
        con.close()


def _serve(db: Path, token: str, catalogue: Catalogue, seconds: float) -> list[Phase]:
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
            return [_phase(url, token, name, catalogue, seconds) for name in PHASES]
        finally:
            server.terminate()
            server.wait(timeout=60)


def _milliseconds(values: list[float], q: float) -> str:
    if not values:
        return "-"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[int(q) - 1] * 1000:.0f} ms"


def run(seconds: float = 60.0, chain: str = "1M") -> list[Result]:
    db = _database(chain)
    if isinstance(db, str):
        print(f"pos api: no database: {db}")
        return [Result("pos_api", None, None, note=db)]
    token, catalogue, migrated = _prepare(db)
    lines = duckdb.connect(str(db), read_only=True)
    print(f"pos api ({chain}): {lines.execute('SELECT count(*) FROM ticket_lines').fetchone()[0]:,}"
          f" ticket lines, {lines.execute('SELECT count(*) FROM customers').fetchone()[0]:,} "
          f"customers; migrations of the copy {migrated:.1f} s")
    lines.close()
    load_start = os.getloadavg()[0]
    phases = _serve(db, token, catalogue, seconds)
    print(f"  load average (1 min) start / end: {load_start:.1f} / {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    counted = {phase.name: _stored(db, phase.name) for phase in phases}
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    results = []
    for phase in phases:
        rows, distinct = counted[phase.name]
        per_request = PHASES[phase.name][0]
        print(f"  pos api, {phase.name}: {phase.tickets} tickets in {phase.seconds:.1f} s = "
              f"{phase.rate:.0f} tickets/s ({phase.errors} refused; request p50 "
              f"{_milliseconds(phase.latencies, 50)}, p95 {_milliseconds(phase.latencies, 95)});"
              f" {phase.dashboard_reads} dashboard reads "
              f"({phase.dashboard_reads / phase.seconds:.2f}/s); stored {rows}, distinct "
              f"{distinct}: lost {phase.tickets - distinct}, duplicated {rows - distinct}")
        checks = [
            Check(f"{TARGET_PER_SECOND} tickets/s for {seconds:.0f} s (dashboard read meanwhile)",
                  phase.rate >= TARGET_PER_SECOND, f"{phase.rate:.0f} tickets/s"),
            Check("no ticket lost or stored twice",
                  rows == distinct == phase.tickets and not phase.errors,
                  f"acknowledged {phase.tickets}, stored {rows}, distinct {distinct}"),
        ]
        results.append(Result(f"pos_api_{phase.name}", phase.seconds, None, checks,
                              note=f"{phase.rate:.0f} tickets/s, {per_request} per request, "
                              f"{phase.dashboard_reads} dashboard reads"))
    return results


if __name__ == "__main__":
    import sys

    from bench.__main__ import print_summary

    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    print_summary(run(float(arguments[0]) if arguments else 60.0,
                      "small" if "--small" in sys.argv else "1M"))
