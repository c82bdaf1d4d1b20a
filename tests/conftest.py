"""Shared fixtures: a migrated DuckDB file under tmp_path, file writers, the CLI as a process."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from enseigne.db import connect, migrate
from enseigne.ingest import import_file

ENSEIGNE = Path(sys.executable).parent / "enseigne"

# --- Spark (issue 3): the session-scoped `spark` fixture lives in its own module. ---
pytest_plugins = ["spark_fixtures"]
# --- end Spark ---

# --- Web (issue 3): server, users per role, signed-in clients, Chromium: tests/web_fixtures.py ---
pytest_plugins = [*pytest_plugins, "web_fixtures"]
# --- end Web ---

STORES_CSV = (
    "store_code;name;region;city;postal_code;surface_m2;opened_on\n"
    "S01;Lyon Part-Dieu;Auvergne-Rhône-Alpes;Lyon;69003;850,5;01/03/2015\n"
    "S02;Paris Rivoli;Île-de-France;Paris;75001;1200;15/09/2018\n"
)

WriteFile = Callable[..., Path]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "t.duckdb"


@pytest.fixture
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated database file, closed after the test."""
    connection = connect(db_path)
    migrate(connection)
    yield connection
    connection.close()


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteFile:
    """write_csv(name, text, encoding="utf-8", newline="\\n", gz=False, bom=False) -> Path."""

    def write(
        name: str, text: str, *, encoding: str = "utf-8", newline: str = "\n",
        gz: bool = False, bom: bool = False,
    ) -> Path:
        data = text.replace("\n", newline).encode(encoding)
        if bom:
            data = b"\xef\xbb\xbf" + data
        path = tmp_path / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return write


@pytest.fixture
def stores(con: duckdb.DuckDBPyConnection, write_csv: WriteFile) -> duckdb.DuckDBPyConnection:
    """The database with stores S01 (Lyon) and S02 (Paris) loaded."""
    summary = import_file(con, "stores", write_csv("stores.csv", STORES_CSV))
    assert summary.rows_loaded == 2
    return con


@pytest.fixture
def query(con: duckdb.DuckDBPyConnection) -> Callable[..., list[tuple]]:
    def run(sql: str, params: list | None = None) -> list[tuple]:
        return con.execute(sql, params or []).fetchall()

    return run


@pytest.fixture
def scalar(con: duckdb.DuckDBPyConnection) -> Callable[..., object]:
    def run(sql: str, params: list | None = None) -> object:
        return con.execute(sql, params or []).fetchone()[0]

    return run


def cli_environment() -> dict[str, str]:
    """The caller's environment without ENSEIGNE_* settings, and a wide terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENSEIGNE_")}
    return {**env, "COLUMNS": "200"}


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``enseigne`` command as a real process."""

    def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ENSEIGNE), *map(str, args)], capture_output=True, text=True, timeout=120,
            cwd=cwd, check=False, env=cli_environment(),
        )

    return run
