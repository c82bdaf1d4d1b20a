"""A million-line import loads every line, and a killed import leaves the database as it was."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from enseigne.db import connect, migrate
from enseigne.ingest import import_file

LINES = 1_000_000
ENSEIGNE = Path(sys.executable).parent / "enseigne"
ENSEIGNE_ARGS = ("import", "tickets")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 M ticket lines (250 000 tickets of 4 lines), French spelling, written by DuckDB."""
    path = tmp_path_factory.mktemp("big") / "tickets_1M.csv"
    duckdb.connect().execute(f"""
        COPY (
            SELECT 'T' || (i // 4) AS ticket_id, i % 4 + 1 AS line_no,
                strftime(TIMESTAMP '2025-01-01' + to_seconds(i // 4 * 60),
                         '%d/%m/%Y %H:%M:%S') AS sold_at,
                'S0' || (1 + (i // 4) % 2) AS store_code, 'P' || (i % 500) AS sku,
                1 + i % 3 AS quantity,
                replace(printf('%.2f', (i % 1000) / 10.0), '.', ',') AS amount
            FROM range({LINES}) r(i)
        ) TO '{path}' (HEADER, DELIMITER ';')
    """)
    return path


def expected_amount() -> Decimal:
    """The generated amounts' total, computed independently of the import."""
    return sum((Decimal(i % 1000) / 10 for i in range(1000)), Decimal(0)) * (LINES // 1000)


def prepared_database(path: Path, tmp_path: Path) -> None:
    con = connect(path)
    migrate(con)
    (tmp_path / "stores.csv").write_text("store_code;name\nS01;Lyon\nS02;Paris\n", "utf-8")
    (tmp_path / "small.csv").write_text(
        "ticket_id;line_no;sold_at;store_code;sku;quantity;amount\n"
        "A1;1;02/01/2025 09:00;S01;P1;1;9,99\nA1;2;02/01/2025 09:00;S01;Z9;2;5,00\n"
        "A2;1;02/01/2025 09:30;S02;P2;1;31/02/2025\n", "utf-8")
    import_file(con, "stores", tmp_path / "stores.csv")
    import_file(con, "tickets", tmp_path / "small.csv")
    con.close()


def snapshot(path: Path) -> dict[str, object]:
    con = connect(path, read_only=True)
    try:
        state: dict[str, object] = {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("stores", "products", "tickets", "ticket_lines", "import_log",
                          "quarantine")
        }
        state["checksum"] = con.execute(
            "SELECT bit_xor(hash(ticket_id, line_no, sold_at, store_code, sku, quantity, "
            "amount)), sum(amount) FROM sales_lines").fetchone()
        return state
    finally:
        con.close()


def test_a_million_lines_all_load(big_csv, tmp_path):
    con = connect(tmp_path / "t.duckdb")
    migrate(con)
    (tmp_path / "stores.csv").write_text("store_code;name\nS01;Lyon\nS02;Paris\n", "utf-8")
    import_file(con, "stores", tmp_path / "stores.csv")
    summary = import_file(con, "tickets", big_csv)
    assert (summary.rows_read, summary.rows_loaded, summary.rejected) == (LINES, LINES, 0)
    assert con.execute("SELECT count(*), sum(amount) FROM ticket_lines").fetchone() == (
        LINES, expected_amount())
    assert con.execute("SELECT count(*), sum(line_count), min(line_count), max(line_count) "
                       "FROM tickets").fetchone() == (LINES // 4, LINES, 4, 4)
    assert summary.stubs == {"products": 500}
    con.close()


def _wait_for_growth(db: Path, proc: subprocess.Popen, size: int, timeout: float) -> None:
    """Until the import starts writing its rows into the database file (mid-transaction)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if db.stat().st_size > size:
            return
        time.sleep(0.01)


@pytest.mark.parametrize("moment", ["after_1s", "while_writing"])
def test_killed_import_leaves_the_database_unchanged(big_csv, tmp_path, cli, moment):
    db = tmp_path / "t.duckdb"
    prepared_database(db, tmp_path)
    before = snapshot(db)
    assert before["ticket_lines"] == 2
    size = db.stat().st_size

    proc = subprocess.Popen([str(ENSEIGNE), *ENSEIGNE_ARGS, str(big_csv), "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    if moment == "after_1s":
        time.sleep(1.0)
    else:
        _wait_for_growth(db, proc, size, timeout=60)
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 60

    assert snapshot(db) == before

    done = cli(*ENSEIGNE_ARGS, big_csv, "--db", db)
    assert done.returncode == 0, done.stderr
    after = snapshot(db)
    assert after["ticket_lines"] == LINES + 2
    assert after["tickets"] == LINES // 4 + 1
    assert after["import_log"] == before["import_log"] + 1
