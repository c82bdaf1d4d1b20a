"""Server time of the dashboard page's JSON, ``GET /api/dashboard?period=YYYY-MM``.

A copy of the benchmark database is served by ``enseigne serve`` on 127.0.0.1 (the server
migrates its file and the token is written into it, so the cached database stays as built);
the client authenticates with a token from ``enseigne tokens create``. Timed from the client
over loopback: the first request (cold server), then ``runs`` other months once each (the
server computes: the target is on their median), then the first month again ``runs`` times
(the server's per-data-version cache answers).
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.import_csv import DATA, ENSEIGNE, ROOT

ROUTE = ROOT / "src" / "enseigne" / "web" / "routes" / "dashboard.py"
TOKEN = re.compile(r"\bens_[A-Za-z0-9_\-]{20,}")
START_TIMEOUT = 180.0  # s: the server opens and migrates a 10 M-line database first
REQUEST_TIMEOUT = 120.0


def unavailable() -> str | None:
    """Why the page cannot be timed yet, or None when it can."""
    source = ROUTE.read_text(encoding="utf-8") if ROUTE.exists() else ""
    if "period" not in source or "placeholder" in source.lower():
        return f"{ROUTE.relative_to(ROOT)} is still a placeholder (no ?period=)"
    for command in (["serve", "--help"], ["tokens", "create", "--help"]):
        probe = subprocess.run(  # noqa: S603
            [str(ENSEIGNE), *command], cwd=ROOT, capture_output=True, check=False
        )
        if probe.returncode != 0:
            return f"`enseigne {' '.join(command[:-1])}` is not available yet"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(db: Path) -> str:
    done = subprocess.run(  # noqa: S603
        [str(ENSEIGNE), "tokens", "create", "bench-dashboard", "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    found = TOKEN.search(done.stdout + done.stderr)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"enseigne tokens create failed: {done.stdout}{done.stderr}")
    return found.group(0)


def _wait_until_up(client: httpx.Client, server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"enseigne serve exited with {server.returncode}")
        try:
            client.get(url, timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.5)
    raise RuntimeError(f"enseigne serve did not answer within {START_TIMEOUT:.0f} s")


def _timed_get(client: httpx.Client, url: str) -> float:
    began = time.perf_counter()
    response = client.get(url, timeout=REQUEST_TIMEOUT)
    seconds = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: HTTP {response.status_code} {response.text[:300]}")
    if '"revenue"' not in response.text:  # the page's KPIs, not an empty shell
        raise RuntimeError(f"GET {url}: no KPI in the answer: {response.text[:300]}")
    return seconds


def months_before(month: str, count: int) -> list[str]:
    """The ``count`` months before 'YYYY-MM', latest first."""
    year, number = map(int, month.split("-"))
    index = year * 12 + number - 1
    return [f"{(index - k) // 12}-{(index - k) % 12 + 1:02d}" for k in range(1, count + 1)]


@dataclass(frozen=True)
class PageTimes:
    cold: float  # first request of the server: nothing cached, nothing warm
    uncached: float  # median over other months, each asked once: the server computes
    cached: float  # median of the same month asked again: the server's cache answers


def _serve_and_time(db: Path, month: str, runs: int) -> PageTimes:
    token = _token(db)
    port = _free_port()
    url = "/api/dashboard?period={}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(  # noqa: S603
            [str(ENSEIGNE), "serve", "--db", str(db), "--host", "127.0.0.1",
             "--port", str(port)], cwd=ROOT, stdout=log, stderr=log,
        )
        try:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
                _wait_until_up(client, server, "/api/dashboard")
                cold = _timed_get(client, url.format(month))
                other = [_timed_get(client, url.format(m)) for m in months_before(month, runs)]
                again = [_timed_get(client, url.format(month)) for _ in range(runs)]
        except Exception:
            log.seek(0)
            print("    " + "\n    ".join(log.read().decode("utf-8", "replace").splitlines()[-15:]))
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)
    return PageTimes(cold, statistics.median(other), statistics.median(again))


def page_seconds(db: Path, month: str, runs: int) -> float | None:
    """Median server time of the page's JSON when the server computes it (warm process,
    months not asked before); None (and why) when not measurable."""
    reason = unavailable()
    if reason:
        print(f"  page /api/dashboard: TODO, not timed: {reason}")
        return None
    copy = DATA / "run" / "dashboard-web.duckdb"
    files = (copy, copy.with_name(copy.name + ".wal"))
    for stale in files:
        stale.unlink(missing_ok=True)
    shutil.copyfile(db, copy)
    try:
        times = _serve_and_time(copy, month, runs)
    except RuntimeError as exc:
        print(f"  page /api/dashboard: failed: {exc}")
        return None
    finally:
        for done in files:
            done.unlink(missing_ok=True)
    print(f"  {'page GET /api/dashboard?period=':<34} first {times.cold:6.3f} s   "
          f"uncached {times.uncached:6.3f} s (median of {runs} other months)   "
          f"cached {times.cached:6.3f} s (median of {runs})")
    return times.uncached
