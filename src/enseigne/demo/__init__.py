"""Realistic demo chain generator: a French retail chain, its customers and its KPIs.

The same generator feeds the dashboard demo, the tests' fixtures and the benchmarks.
"""

from __future__ import annotations

from enseigne.demo.build import CANONICAL_TABLES, build_demo
from enseigne.demo.export import export_csv
from enseigne.demo.stream import ticket_line_batches, write_ticket_lines_parquet

__all__ = [
    "CANONICAL_TABLES",
    "build_demo",
    "export_csv",
    "ticket_line_batches",
    "write_ticket_lines_parquet",
]
