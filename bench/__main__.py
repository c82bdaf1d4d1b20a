"""`make bench`: run every benchmark module of this package, then print one summary table.

``python -m bench [NAME ...] [--size 100M]`` runs only the named benchmarks; ``--size`` goes
to the benchmarks that take one (the dashboard's database size).
A report, not a gate: the exit code is 0 whatever the figures (targets print PASS/FAIL).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
import time
import traceback
from types import ModuleType

import bench
from bench import Result

# Run first, in this order (the import builds nothing the dashboard needs, but its figures
# read best first); any other benchmark module follows in name order.
ORDER = ("import_csv", "dashboard")


def benchmark_modules() -> list[str]:
    """Public modules of the package exposing ``run() -> list[Result]`` (helpers such as
    the pandas baselines have none)."""
    names = [
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if not m.name.startswith("_") and not m.ispkg
    ]
    runnable = [n for n in names if callable(getattr(_module(n), "run", None))]
    return sorted(runnable, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"bench.{name}")


def _run(module: ModuleType, options: dict[str, object]) -> list[Result]:
    """``module.run()`` with those options its signature accepts."""
    accepted = inspect.signature(module.run).parameters
    return module.run(**{k: v for k, v in options.items() if k in accepted and v is not None})


def machine_seconds() -> float:
    """Seconds this machine takes for a fixed pure-Python loop: shared machines vary from
    day to day (three times slower on some), so a run's figures are read against it."""
    started = time.perf_counter()
    sum(range(10**8))
    return time.perf_counter() - started


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def print_summary(results: list[Result]) -> None:
    rows = [
        (
            r.name,
            _seconds(r.ours),
            _seconds(r.baseline),
            "-" if r.ratio is None else f"{r.ratio:.2f}x",
        )
        for r in results
    ]
    header = ("benchmark", "ours", "baseline", "ratio")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print("\nratio = baseline time / our time (above 1: we are faster)")
    for r in results:
        if r.note:
            print(f"{r.name}: {r.note}")
        for check in r.checks:
            verdict = "PASS" if check.passed else "FAIL"
            print(f"{verdict}  {r.name}: {check.target}  ({check.detail})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--size", help="database size of the benchmarks that take one (100M)")
    args = parser.parse_args(argv)
    available = benchmark_modules()
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; one of {', '.join(available)}")
    speed = machine_seconds()
    results: list[Result] = []
    for name in [n for n in available if not args.names or n in args.names]:
        module = _module(name)
        try:
            results.extend(_run(module, {"size": args.size}))
        except Exception:
            traceback.print_exc()
            results.append(Result(name, None, None, note="crashed, see the traceback above"))
    print_summary(results)
    print(f"\nmachine: sum(range(10**8)) took {speed:.2f} s before the run and "
          f"{machine_seconds():.2f} s after it; compare runs of days that agree on it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
