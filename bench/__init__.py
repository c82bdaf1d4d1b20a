"""Benchmarks against the code an analyst would otherwise write (`make bench`).

Each public module of this package exposes ``run() -> list[Result]``; ``python -m bench``
runs them all and prints one summary table. Timings are ratios measured in one run on one
machine, so they compare, they do not promise.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Check:
    """One target from the spec, met or not."""

    target: str
    passed: bool
    detail: str = ""


@dataclass
class Result:
    """One benchmark: our time against the baseline's, in seconds."""

    name: str
    ours: float | None
    baseline: float | None
    checks: list[Check] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Baseline time over our time: above 1 means we are faster."""
        if not self.ours or self.baseline is None:
            return None
        return self.baseline / self.ours
