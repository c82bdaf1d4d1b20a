"""`make bench`: run every benchmark module of this package, then print one summary table.

A report, not a gate: the exit code is 0 whatever the figures (targets print PASS/FAIL).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

import bench
from bench import Result


def benchmark_modules() -> list[str]:
    """Public modules of the package, each exposing ``run() -> list[Result]``."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if not m.name.startswith("_") and not m.ispkg
    )


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


def main() -> int:
    results: list[Result] = []
    for name in benchmark_modules():
        module = importlib.import_module(f"bench.{name}")
        try:
            results.extend(module.run())
        except Exception:
            traceback.print_exc()
            results.append(Result(name, None, None, note="crashed, see the traceback above"))
    print_summary(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
