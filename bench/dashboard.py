"""Network dashboard: every store, every KPI but the survey ones, one month, N-1 and targets.

The database is the demo chain at benchmark size (``--size 10M``, the default: 200 stores,
475,000 customers, 2 years, ~10 M ticket lines), built once with ``build_demo`` and cached
under ``bench/.data/`` (rebuilt when missing or when GENERATOR_VERSION changes). The period
is the latest full month with data.

Ours: ``compute_kpis(duckdb_backend(con), grain="store", compare=("n-1", "target"))`` on a
read-only connection, without and with like-for-like (the dashboard needs both), in a child
process: the first call of each (cold) and the median of 5 more (warm), peak RSS.
Baseline: ``bench.dashboard_pandas`` in its own child process, its read time apart from its
compute time; the ratio is pandas compute / our warm pair of calls. The two results are then
compared per store, KPI and field (value, n1, target, achievement, ranks; relative tolerance
1e-6): the baseline was written from KPIS.md alone, so a mismatch is a finding.
Page: ``GET /api/dashboard?period=YYYY-MM`` on ``enseigne serve`` (see ``bench.dashboard_web``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from bench import Check, Result
from bench.import_csv import DATA, MB, Run, _measured

GENERATOR_VERSION = 1  # bump when the database content changes: the cache is keyed on it
SEED = 42
YEARS = 2
SURVEY_KPIS = ("csat", "nps")
WARM_RUNS = 5
TOLERANCE = 1e-6
TARGET_RATIO = 5.0
TARGET_PAGE = 1.5  # s of server time for the page's JSON at 10 M lines
FIELDS = ("value", "n1", "target", "achievement", "rank", "rank_region")
BYTES_PER_LINE = 300  # build_demo peak RSS per ticket line: 3.1 GB measured at 10.1 M lines


@dataclass(frozen=True)
class Size:
    label: str
    stores: int
    customers: int  # ticket lines grow with customers: ~21 lines per customer over 2 years
    target_warm: float
    purchase_rate: float = 1.0  # build_demo's: 0.3 gives ~10.4 lines per customer
    lines_per_customer: float = 21.0


SIZES = {
    "10M": Size("10M", 200, 475_000, 1.0),
    "100M": Size("100M", 1000, 4_750_000, 5.0),
}


@dataclass(frozen=True)
class Database:
    size: Size
    path: Path
    lines: int
    build: Run | None  # None when the cached file was reused


# --- the benchmark database -----------------------------------------------------------------


def db_path(size: Size) -> Path:
    rate = "" if size.purchase_rate == 1 else f"-r{size.purchase_rate:g}"
    tag = f"{size.stores}st-{size.customers}c{rate}-{YEARS}y-s{SEED}-v{GENERATOR_VERSION}"
    return DATA / f"dashboard-{tag}.duckdb"


def build(path: Path, stores: int, customers: int, purchase_rate: float = 1.0) -> None:
    """Child process: build the demo chain into a fresh file, moved into place when done."""
    from enseigne.db import connect
    from enseigne.demo import build_demo

    part = path.with_name(path.name + ".part")
    for stale in (part, part.with_name(part.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = connect(part)
    build_demo(con, stores=stores, customers=customers, years=YEARS, seed=SEED,
               purchase_rate=purchase_rate)
    con.execute("CHECKPOINT")
    con.close()
    part.replace(path)


def _available_memory() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def database(size: Size) -> Database | str:
    """The cached benchmark database, built when missing; a reason string when it cannot be."""
    path = db_path(size)
    if not path.exists():
        lines = int(size.customers * size.lines_per_customer)
        need, have = lines * BYTES_PER_LINE, _available_memory()
        if need > have:
            # build_demo holds a chain in memory: a larger one is ten copies of the 10 M one.
            return _replicated(size, path)
        DATA.mkdir(parents=True, exist_ok=True)
        run = _measured([sys.executable, "-m", "bench.dashboard", "build", str(path),
                         str(size.stores), str(size.customers), str(size.purchase_rate)])
        if run.returncode != 0:
            return "build failed:\n" + run.output[-2000:]
    else:
        run = None
        migrated(path)
    con = duckdb.connect(str(path), read_only=True)
    lines = con.execute("SELECT count(*) FROM ticket_lines").fetchone()[0]
    con.close()
    return Database(size, path, int(lines), run)


def migrated(path: Path) -> None:
    """Bring a cached database built by an older enseigne to the current schema (the
    derived tables a migration adds are filled from its receipts), once."""
    from enseigne.db.migrations import LATEST, current_version, migrate

    con = duckdb.connect(str(path))
    try:
        if current_version(con) < LATEST:
            started = time.perf_counter()
            migrate(con)
            con.execute("CHECKPOINT")
            print(f"  {path.name}: schema brought to version {LATEST} in "
                  f"{time.perf_counter() - started:.0f} s")
    finally:
        con.close()


def _replicated(size: Size, path: Path) -> Database | str:
    from bench.scale_up import replicate

    base = database(SIZES["10M"])
    if isinstance(base, str):
        return base
    copies = round(size.customers / base.size.customers)
    print(f"dashboard {size.label}: {copies} copies of the 10M chain into {path.name}")
    seconds = replicate(base.path, path, copies)
    print(f"  built in {seconds:.0f} s")
    migrated(path)
    con = duckdb.connect(str(path), read_only=True)
    lines = con.execute("SELECT count(*) FROM ticket_lines").fetchone()[0]
    con.close()
    return Database(size, path, int(lines), None)


def latest_full_month(path: Path) -> str:
    """'YYYY-MM' of the last month whose every day is covered by the data."""
    con = duckdb.connect(str(path), read_only=True)
    row = con.execute(
        "SELECT CASE WHEN d = last_day(d) THEN strftime(d, '%Y-%m') "
        "ELSE strftime(d - INTERVAL 1 MONTH, '%Y-%m') END "
        "FROM (SELECT max(sold_at)::DATE AS d FROM tickets)"
    ).fetchone()
    con.close()
    return str(row[0])


# --- ours, in a child process ---------------------------------------------------------------


def dashboard_kpis() -> list[str]:
    from enseigne.metrics import KPIS

    return [k for k in KPIS if k not in SURVEY_KPIS]


def _timed(fn: Callable[..., list[dict]], *args: object, **kwargs: object
           ) -> tuple[tuple[float, float], list[dict]]:
    """((wall, CPU) seconds, result): CPU time (all threads of this process) is what the
    call costs whatever else the shared machine runs; wall time is what a user waits."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - wall, time.process_time() - cpu), out


def _medians(runs: list[tuple[float, float]]) -> dict[str, float]:
    return {"wall": statistics.median(r[0] for r in runs),
            "cpu": statistics.median(r[1] for r in runs)}


def _sum(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return a[0] + b[0], a[1] + b[1]


def measure_ours(path: Path, month: str, out: Path) -> dict[str, object]:
    """Child process: cold then warm timings of both calls; rows written to ``out``."""
    from enseigne.db import connect
    from enseigne.metrics import compute_kpis, duckdb_backend, parse_period

    con = connect(path, read_only=True)
    backend = duckdb_backend(con)
    args = {"kpis": dashboard_kpis(), "grain": "store", "period": parse_period(month),
            "compare": ("n-1", "target")}
    cold_all, rows_all = _timed(compute_kpis, backend, like_for_like=False, **args)
    cold_lfl, rows_lfl = _timed(compute_kpis, backend, like_for_like=True, **args)
    warm: dict[str, list[tuple[float, float]]] = {"all": [], "lfl": [], "both": []}
    for _ in range(WARM_RUNS):
        a, _rows = _timed(compute_kpis, backend, like_for_like=False, **args)
        b, _rows = _timed(compute_kpis, backend, like_for_like=True, **args)
        warm["all"].append(a)
        warm["lfl"].append(b)
        warm["both"].append(_sum(a, b))
    frame = pd.concat([pd.DataFrame(rows_all).assign(variant="all"),
                       pd.DataFrame(rows_lfl).assign(variant="lfl")])
    for col in FIELDS:  # Decimal, int and None together: one float column per field
        frame[col] = pd.to_numeric(frame[col].astype(object), errors="coerce").astype(float)
    frame.to_parquet(out)
    con.close()
    cold = {"all": cold_all, "lfl": cold_lfl, "both": _sum(cold_all, cold_lfl)}
    return {"cold": {k: {"wall": v[0], "cpu": v[1]} for k, v in cold.items()},
            "warm": {k: _medians(v) for k, v in warm.items()}}


@dataclass(frozen=True)
class Timings:
    run: Run
    figures: dict  # child's JSON: cold/warm seconds (ours) or read/compute (pandas)
    rows: Path


def _child(args: list[str], rows: Path) -> Timings:
    rows.unlink(missing_ok=True)
    run = _measured([sys.executable, "-m", *args])
    figures: dict = {}
    if run.returncode == 0:
        figures = json.loads(run.output.strip().splitlines()[-1])
    return Timings(run, figures, rows)


def run_ours(db: Database, month: str) -> Timings:
    rows = DATA / "run" / "dashboard-ours.parquet"
    return _child(["bench.dashboard", "ours", str(db.path), month, str(rows)], rows)


def run_pandas(db: Database, month: str) -> Timings:
    from enseigne.metrics import parse_period

    period = parse_period(month)
    rows = DATA / "run" / "dashboard-pandas.parquet"
    return _child(["bench.dashboard_pandas", str(db.path), period.start.isoformat(),
                   period.end.isoformat(), str(rows)], rows)


# --- ours against pandas, value by value ----------------------------------------------------


def _differs(a: float, b: float) -> bool:
    a_none, b_none = a is None or math.isnan(a), b is None or math.isnan(b)
    if a_none or b_none:
        return a_none != b_none
    return not math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=1e-9)


def mismatches(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, scope, kpi, field) where the two disagree, scopes present on
    one side only included (field 'scope')."""
    lfl = theirs[theirs["lfl"]].drop(columns=["rank", "rank_region"]).rename(
        columns={"rank_lfl": "rank", "rank_region_lfl": "rank_region"})
    found = []
    for variant, expected in (("all", theirs), ("lfl", lfl)):
        got = ours[ours["variant"] == variant]
        both = got.merge(expected, on=["scope", "kpi"], how="outer", suffixes=("", "_pd"),
                         indicator=True)
        for d in both.to_dict("records"):
            if d["_merge"] != "both":
                side = "ours only" if d["_merge"] == "left_only" else "pandas only"
                found.append((variant, d["scope"], d["kpi"], "scope", side, math.nan, math.nan))
                continue
            found.extend(
                (variant, d["scope"], d["kpi"], field, "", d[field], d[f"{field}_pd"])
                for field in FIELDS if _differs(d[field], d[f"{field}_pd"])
            )
    return pd.DataFrame(found, columns=["variant", "scope", "kpi", "field", "side", "ours",
                                        "pandas"])


def report_mismatches(diff: pd.DataFrame, examples: int = 3) -> None:
    if diff.empty:
        print("  values: ours and pandas agree on every store, KPI and field")
        return
    print(f"  values: {len(diff)} mismatches")
    scopes = diff[diff["field"] == "scope"]
    for (variant, scope, side), group in scopes.groupby(["variant", "scope", "side"]):
        print(f"    {variant:<3} store {scope} in {side} ({len(group)} KPIs)")
    if not scopes.empty:
        print("    (the store sets differ: rank differences may follow from that alone)")
    fields = diff[diff["field"] != "scope"]
    for (variant, kpi, field), group in fields.groupby(["variant", "kpi", "field"], sort=False):
        shown = "; ".join(f"{r.scope} ours={r.ours:.6g} pandas={r.pandas:.6g}"
                          for r in group.head(examples).itertuples())
        print(f"    {variant:<3} {kpi:<26} {field:<11} {len(group):>4}  {shown}")


# --- report ---------------------------------------------------------------------------------


def _line(label: str, value: str) -> None:
    print(f"  {label:<34} {value}")


def _report_child(label: str, t: Timings) -> None:
    status = "" if t.run.returncode == 0 else f"  EXIT {t.run.returncode}"
    _line(label, f"process {t.run.seconds:6.2f} s  peak RSS {t.run.peak_rss / MB:7,.0f} MB"
          f"{status}")
    if t.run.returncode != 0:
        print("    " + "\n    ".join(t.run.output.strip().splitlines()[-15:]))


def _report_db(db: Database, month: str) -> None:
    made = "cached" if db.build is None else (
        f"built in {db.build.seconds:.1f} s, peak RSS {db.build.peak_rss / MB:,.0f} MB")
    print(f"dashboard: {db.lines:,} ticket lines, {db.size.stores} stores + web, "
          f"{db.size.customers:,} customers, {YEARS} years ({made}); period {month}")


def _report_ours(ours: Timings) -> None:
    _report_child("ours (compute_kpis, child)", ours)
    if not ours.figures:
        return
    cold, warm = ours.figures["cold"], ours.figures["warm"]
    for key, label in (("all", "all stores"), ("lfl", "like-for-like"), ("both", "both")):
        _line(f"  {label}", f"cold {cold[key]['wall']:6.3f} s   warm {warm[key]['wall']:6.3f} s"
              f" (median of {WARM_RUNS}; CPU {warm[key]['cpu']:6.3f} s)")


def _report_pandas(pandas: Timings) -> None:
    _report_child("pandas (child)", pandas)
    if pandas.figures:
        _line("  read tables", f"{pandas.figures['read']['wall']:6.3f} s")
        compute = pandas.figures["compute"]
        _line("  compute (both variants)",
              f"{compute['wall']:6.3f} s (CPU {compute['cpu']:6.3f} s)")


def _checks(db: Database, ours: Timings, pandas: Timings | None, diff: pd.DataFrame | None,
            page: float | None) -> list[Check]:
    checks: list[Check] = []
    if ours.figures:
        warm = {k: v["wall"] for k, v in ours.figures["warm"].items()}
        # One dashboard query shows one variant (the like-for-like toggle): the slower counts.
        slower = max(warm["all"], warm["lfl"])
        checks.append(Check(
            f"< {db.size.target_warm:g} s warm at {db.size.label} (one query, slower variant)",
            slower < db.size.target_warm,
            f"{slower:.3f} s (all stores {warm['all']:.3f} s, like-for-like "
            f"{warm['lfl']:.3f} s)"))
    if ours.figures and pandas is not None and pandas.figures:
        ours_both, compute = ours.figures["warm"]["both"], pandas.figures["compute"]
        ratio = compute["wall"] / ours_both["wall"]
        checks.append(Check(f">= {TARGET_RATIO:g}x pandas (compute)", ratio >= TARGET_RATIO,
                            f"{ratio:.1f}x wall, {compute['cpu'] / ours_both['cpu']:.1f}x CPU"))
    if diff is not None:
        checks.append(Check("values agree with the pandas baseline (rel 1e-6)", diff.empty,
                            f"{len(diff)} mismatches"))
    if page is not None:
        checks.append(Check(f"< {TARGET_PAGE:g} s page server time", page < TARGET_PAGE,
                            f"{page:.3f} s (server computing: median of {WARM_RUNS} months)"))
    return checks


def _metrics_available() -> bool:
    try:
        from enseigne.metrics import compute_kpis  # noqa: F401
    except ImportError:
        return False
    return True


def _compare(ours: Timings, pandas: Timings) -> pd.DataFrame | None:
    if not (ours.figures and pandas.figures):
        return None
    diff = mismatches(pd.read_parquet(ours.rows), pd.read_parquet(pandas.rows))
    report_mismatches(diff)
    listing = DATA / "run" / "dashboard-mismatches.csv"
    diff.to_csv(listing, index=False)
    if not diff.empty:
        print(f"    (every mismatch: {listing.relative_to(DATA.parent.parent)})")
    return diff


def run(size: str = "10M") -> list[Result]:
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: one of {', '.join(SIZES)}")
    spec = SIZES[size]
    db = database(spec)
    if isinstance(db, str):
        print(f"dashboard {size}: not built: {db}")
        return [Result(f"dashboard_{size}", None, None, note=db)]
    (DATA / "run").mkdir(parents=True, exist_ok=True)
    month = latest_full_month(db.path)
    _report_db(db, month)
    if not _metrics_available():
        return [Result(f"dashboard_{size}", None, None, note="enseigne.metrics missing")]
    load_start = os.getloadavg()[0]
    # The analyst's pandas code needs ~17 GB at 100 M lines: the baseline runs at 10 M.
    pandas = run_pandas(db, month) if size == "10M" else None
    if pandas is not None:
        _report_pandas(pandas)
    ours = run_ours(db, month)
    _report_ours(ours)
    diff = _compare(ours, pandas) if pandas is not None else None
    from bench.dashboard_web import page_seconds

    page = page_seconds(db.path, month, WARM_RUNS) if size == "10M" else None  # its target
    _line("load average (1 min) start / end",
          f"{load_start:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(above the core count, wall times inflate; CPU times hold)")
    ours_s = ours.figures["warm"]["both"]["wall"] if ours.figures else None
    pandas_s = pandas.figures["compute"]["wall"] if pandas and pandas.figures else None
    checks = _checks(db, ours, pandas, diff, page)
    note = "" if page is not None or size != "10M" else "page not timed (see above)"
    return [Result(f"dashboard_{size}", ours_s, pandas_s, checks, note)]


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"] and len(argv) in (4, 5):
        build(Path(argv[1]), int(argv[2]), int(argv[3]), float((argv[4:] or ["1"])[0]))
        return 0
    if argv[:1] == ["ours"] and len(argv) == 4:
        print(json.dumps(measure_ours(Path(argv[1]), argv[2], Path(argv[3]))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard")
    parser.add_argument("--size", choices=sorted(SIZES), default="10M")
    options = parser.parse_args(argv)
    from bench.__main__ import print_summary

    print_summary(run(options.size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
