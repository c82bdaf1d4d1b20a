"""The customer file at 1 million customers and ~10 million ticket lines: search and profile.

Database: the demo chain with 200 stores and 1,000,000 customers who buy less often than the
dashboard's (``purchase_rate`` 0.3: ~10.4 ticket lines per customer, ~10.4 M lines over 2
years), built once with ``bench.dashboard``'s helpers and cached under ``bench/.data/``. A copy
is opened read-write, as the server opens it (searches and profile views are audited).

Search: ~200 queries drawn from the file (first-name prefixes typed with or without accents,
last names, "Last Fir", e-mail prefixes, phones typed "06 12 34", loyalty cards, customer
refs), as marketing (the whole file) and as the manager of the store with most customers
(their scope), each through ``search_customers`` on a real connection after a warm-up pass.
Profile: ``customer_profile`` for 100 customers, the 20 with most tickets and 80 at random,
as marketing and as the store manager (among their customers). p50/p95 server time; then
p95 through ``enseigne serve`` (``GET /api/customers?q=`` and ``/api/customers/{ref}``) for
marketing. Baseline: ``bench.customers_pandas`` on DataFrames read once from the same file;
ratio = pandas p95 / our p95, and the two must give the same customers and figures.
Targets (issue): search p95 < 100 ms, profile p95 < 300 ms of server time.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx

from bench import Check, Result
from bench import customers_pandas as baseline
from bench.dashboard import Database, Size, database
from bench.dashboard_web import _free_port, _wait_until_up
from bench.import_csv import DATA, ENSEIGNE, ROOT

# target_warm is the dashboard benchmark's: unused here
SIZE = Size("1M", 200, 1_000_000, 1.0, purchase_rate=0.3, lines_per_customer=10.4)
TARGET_SEARCH = 0.100  # s, p95
TARGET_PROFILE = 0.300  # s, p95
SEED = 7
QUERIES = 200
PROFILES = 100
HEAVY = 20  # of the profiled customers, those with most tickets
WARM_UP = 20
BRIEF_EXAMPLES = ("elo", "le gall", "Dupont Mar", "06 12 34")


def customer_file() -> Database | str:
    """The cached 1 M-customer database (built when missing), or why it cannot be."""
    return database(SIZE)


def working_copy(source: Path, name: str) -> Path:
    """A fresh copy of ``source`` under bench/.data/run/: the benchmarks write into it."""
    target = DATA / "run" / f"{name}.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    discard(target)
    shutil.copyfile(source, target)
    return target


def discard(copy: Path) -> None:
    for path in (copy, copy.with_name(copy.name + ".wal")):
        path.unlink(missing_ok=True)


# --- the workload: queries and customers, drawn from the file ------------------------------


@dataclass(frozen=True)
class Workload:
    store: str
    queries: dict[str, list[str]]  # "marketing" / "store" -> queries
    profiles: dict[str, list[str]]  # "marketing" / "store" -> customer refs


def _national(phone: str) -> str:
    """+33612345678 -> '06 12 34' (the first three pairs, as a cashier types them)."""
    digits = "0" + phone[3:]
    return " ".join(digits[i:i + 2] for i in range(0, 6, 2))


def _query(kind: str, row: tuple, rng: random.Random) -> str | None:
    first, last, email, phone, card, ref = row
    picks: dict[str, Callable[[], str | None]] = {
        "first": lambda: first and (first[:3] if rng.random() < 0.5 else first[:3].lower()),
        "last": lambda: last and last.lower(),
        "last_first": lambda: last and first and f"{last} {first[:3]}",
        "email": lambda: email and email[: rng.randint(5, 10)],
        "phone": lambda: phone and phone.startswith("+33") and _national(phone),
        "card": lambda: card and (card if rng.random() < 0.7 else card[:10]),
        "ref": lambda: ref if rng.random() < 0.7 else ref[:-2],
    }
    return picks[kind]() or None


MIX = {"first": 40, "last": 30, "last_first": 40, "email": 30, "phone": 20, "card": 20,
       "ref": 20}


def _queries(con: duckdb.DuckDBPyConnection, where: str, params: list) -> list[str]:
    rows = con.execute(
        "SELECT first_name, last_name, email, phone, loyalty_card, customer_ref FROM customers "
        f"WHERE {where} ORDER BY hash(customer_ref || ?) LIMIT ?",
        [*params, str(SEED), 4 * QUERIES],
    ).fetchall()
    rng = random.Random(SEED)
    found: list[str] = list(BRIEF_EXAMPLES)
    kinds = [k for k, n in MIX.items() for _ in range(n)]
    for kind, row in zip(kinds[len(found):], rows, strict=False):
        found.append(_query(kind, row, rng) or row[5])
    return found[:QUERIES]


def _profiled(con: duckdb.DuckDBPyConnection, scope: str, params: list) -> list[str]:
    heavy = [r[0] for r in con.execute(
        f"SELECT customer_ref FROM tickets WHERE customer_ref IS NOT NULL AND {scope} "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?", [*params, HEAVY]).fetchall()]
    drawn = [r[0] for r in con.execute(
        f"SELECT customer_ref FROM customers WHERE {scope} AND NOT list_contains(?, customer_ref) "
        "ORDER BY hash(customer_ref || ?) LIMIT ?",
        [*params, heavy, str(SEED), PROFILES - len(heavy)]).fetchall()]
    return heavy + drawn


def workload(path: Path) -> Workload:
    con = duckdb.connect(str(path), read_only=True)
    try:
        store = con.execute(
            "SELECT store_code FROM customers WHERE store_code <> 'WEB' GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
        in_store = ("(customer_ref IN (SELECT customer_ref FROM customers WHERE store_code = ?)"
                    " OR customer_ref IN (SELECT customer_ref FROM tickets WHERE store_code = ?))")
        return Workload(
            store,
            {"marketing": _queries(con, "true", []),
             "store": _queries(con, "store_code = ?", [store])},
            {"marketing": _profiled(con, "true", []),
             "store": _profiled(con, in_store, [store, store])},
        )
    finally:
        con.close()


# --- ours -----------------------------------------------------------------------------------


def _timed(call: Callable[[Any], Any], items: Sequence[Any]) -> tuple[list[float], list[Any]]:
    times, answers = [], []
    for item in items:
        began = time.perf_counter()
        answers.append(call(item))
        times.append(time.perf_counter() - began)
    return times, answers


@dataclass
class Timings:
    seconds: list[float]
    answers: list[Any]

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.seconds, n=20, method="inclusive")[-1]

    def describe(self) -> str:
        return (f"p50 {self.p50 * 1000:6.1f} ms  p95 {self.p95 * 1000:6.1f} ms  "
                f"max {max(self.seconds) * 1000:6.1f} ms  ({len(self.seconds)} calls)")


def _readers(store: str) -> dict[str, Any]:
    from enseigne.privacy.gate import Reader

    return {"marketing": Reader("bench-marketing", "marketing", None, "bench"),
            "store": Reader("bench-store", "store", (store,), "bench")}


def measure_ours(path: Path, work: Workload, today: dt.date) -> dict[str, Timings]:
    """Search and profile timings per reader kind, on one read-write connection."""
    from enseigne.customers import customer_profile, search_customers
    from enseigne.db import connect, migrate

    con = connect(path)
    began = time.perf_counter()
    migrate(con)  # a file built before the latest migrations gets them here, timed
    _line("migrations of the working copy", f"{time.perf_counter() - began:6.1f} s")
    readers = _readers(work.store)
    out: dict[str, Timings] = {}
    try:
        for kind, reader in readers.items():
            def find(q: str, reader: Any = reader) -> list[tuple[str, Any]]:
                return [(r["customer_ref"], r["last_purchase"])
                        for r in search_customers(con, reader, q)]

            def view(ref: str, reader: Any = reader) -> dict[str, Any]:
                return customer_profile(con, reader, ref, today)

            _timed(find, work.queries[kind][:WARM_UP])
            _timed(view, work.profiles[kind][HEAVY:HEAVY + WARM_UP // 2])
            out[f"search_{kind}"] = Timings(*_timed(find, work.queries[kind]))
            out[f"profile_{kind}"] = Timings(*_timed(view, work.profiles[kind]))
    finally:
        con.close()
    return out


# --- the same through the HTTP server ---------------------------------------------------------


def measure_http(path: Path, work: Workload) -> dict[str, Timings]:
    """Marketing's search and profile through ``enseigne serve``, timed from the client."""
    from enseigne.db import connect, migrate
    from enseigne.web.users import create_token

    con = connect(path)
    migrate(con)
    token = create_token(con, f"bench-customers-{time.time_ns()}", "marketing")
    con.close()
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(  # noqa: S603
            [str(ENSEIGNE), "serve", "--db", str(path), "--host", "127.0.0.1",
             "--port", str(port)], cwd=ROOT, stdout=log, stderr=log)
        try:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers,
                              timeout=60) as client:
                _wait_until_up(client, server, "/openapi.json")

                def get(url: str, **params: Any) -> int:
                    answer = client.get(url, params=params)
                    answer.raise_for_status()
                    return answer.status_code

                queries, refs = work.queries["marketing"], work.profiles["marketing"]
                _timed(lambda q: get("/api/customers", q=q), queries[:WARM_UP])
                _timed(lambda r: get(f"/api/customers/{r}"), refs[HEAVY:HEAVY + WARM_UP // 2])
                return {"search": Timings(*_timed(lambda q: get("/api/customers", q=q), queries)),
                        "profile": Timings(*_timed(lambda r: get(f"/api/customers/{r}"), refs))}
        finally:
            server.terminate()
            server.wait(timeout=60)


# --- pandas -----------------------------------------------------------------------------------


def measure_pandas(path: Path, work: Workload, today: dt.date
                   ) -> tuple[float, dict[str, Timings]]:
    """(seconds to read the DataFrames, timings per feature and reader kind)."""
    began = time.perf_counter()
    frames = baseline.read_tables(path, work.store)
    read = time.perf_counter() - began
    views = {"marketing": baseline.Frames(frames.tables, None), "store": frames}
    out = {}
    for kind, view in views.items():
        out[f"search_{kind}"] = Timings(*_timed(
            lambda q, v=view: baseline.search(v, q), work.queries[kind]))
        out[f"profile_{kind}"] = Timings(*_timed(
            lambda r, v=view: baseline.profile(v, r, today), work.profiles[kind]))
    return read, out


def _search_mismatches(ours: Timings, theirs: Timings, queries: list[str]) -> list[str]:
    return [q for q, a, b in zip(queries, ours.answers, theirs.answers, strict=True) if a != b]


def _profile_mismatches(ours: Timings, theirs: Timings, refs: list[str]) -> list[str]:
    def figures(p: dict[str, Any]) -> tuple:
        bought = p["purchases"]
        return (bought["sales_tickets"], bought["return_tickets"],
                round(float(bought["revenue"]), 2), bought["tickets_365"], len(p["tickets"]),
                sum(len(t["lines"]) for t in p["tickets"]),
                [c["category"] for c in p["top_categories"]], len(p["consents"]["history"]),
                len(p["stores_used"]), len(p["surveys"]), len(p["feedback"]))

    return [r for r, a, b in zip(refs, ours.answers, theirs.answers, strict=True)
            if figures(a) != figures(b)]


# --- report -----------------------------------------------------------------------------------


def _line(label: str, value: str) -> None:
    print(f"  {label:<34} {value}")


def _result(name: str, ours: Timings, theirs: Timings | None, target: float,
            mismatched: list[str] | None, http: Timings | None = None) -> Result:
    checks = [Check(f"p95 < {target * 1000:.0f} ms", ours.p95 < target,
                    f"p50 {ours.p50 * 1000:.1f} ms, p95 {ours.p95 * 1000:.1f} ms")]
    if http is not None:
        checks.append(Check(f"p95 < {target * 1000:.0f} ms through HTTP", http.p95 < target,
                            f"p50 {http.p50 * 1000:.1f} ms, p95 {http.p95 * 1000:.1f} ms"))
    if mismatched is not None:
        shown = ", ".join(repr(m) for m in mismatched[:3])
        checks.append(Check("same answers as the pandas baseline", not mismatched,
                            f"{len(mismatched)} differ{': ' + shown if shown else ''}"))
    return Result(name, ours.p95, theirs.p95 if theirs else None, checks,
                  note="ours and baseline: p95 seconds per call")


def run(http: bool = True, pandas: bool = True) -> list[Result]:
    db = customer_file()
    if isinstance(db, str):
        print(f"customers: not built: {db}")
        return [Result("customers", None, None, note=db)]
    made = "cached" if db.build is None else (
        f"built in {db.build.seconds:.0f} s, peak RSS {db.build.peak_rss / 2**20:,.0f} MB")
    print(f"customers: {SIZE.customers:,} customers, {db.lines:,} ticket lines, "
          f"{SIZE.stores} stores ({made})")
    work = workload(db.path)
    today = dt.date.today()
    load_start = os.getloadavg()[0]
    copy = working_copy(db.path, "customers")
    ours = measure_ours(copy, work, today)
    discard(copy)
    for key, timings in ours.items():
        _line(f"ours {key}", timings.describe())
    web = None
    if http:
        copy = working_copy(db.path, "customers-web")
        web = measure_http(copy, work)
        discard(copy)
    for key, timings in (web or {}).items():
        _line(f"HTTP {key} (marketing)", timings.describe())
    theirs: dict[str, Timings] = {}
    if pandas:
        read, theirs = measure_pandas(db.path, work, today)
        _line("pandas read tables", f"{read:6.1f} s")
        for key, timings in theirs.items():
            _line(f"pandas {key}", timings.describe())
    _line("load average (1 min) start / end",
          f"{load_start:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(above the core count, times inflate)")
    results = []
    for key, timings in ours.items():
        kind = key.split("_")[1]
        other = theirs.get(key)
        items = work.queries[kind] if key.startswith("search") else work.profiles[kind]
        compare = _search_mismatches if key.startswith("search") else _profile_mismatches
        mismatched = compare(timings, other, items) if other else None
        target = TARGET_SEARCH if key.startswith("search") else TARGET_PROFILE
        through = (web or {}).get(key.split("_")[0]) if kind == "marketing" else None
        results.append(_result(f"customers_{key}", timings, other, target, mismatched, through))
    return results


if __name__ == "__main__":
    import sys

    from bench.__main__ import print_summary

    print_summary(run(http="--no-http" not in sys.argv, pandas="--no-pandas" not in sys.argv))
