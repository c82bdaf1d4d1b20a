"""The demo chain exported as French POS files and imported back is the same chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from enseigne.db import connect, migrate
from enseigne.demo import build_demo, export_csv

ENSEIGNE = Path(sys.executable).parent / "enseigne"
# kind -> file written by export_csv; imported in this order (stores before what refers to them)
FILES = {
    "stores": "magasins", "sellers": "vendeurs", "products": "articles", "customers": "clients",
    "consents": "consentements", "tickets": "tickets", "footfall": "frequentation",
    "targets": "objectifs", "surveys": "enquetes", "feedback": "reclamations",
}
# columns the import sets itself (when and by which import), not part of the content
BOOKKEEPING = {
    "ticket_lines": "import_id", "consents": "import_id, recorded_at", "footfall": "import_id",
    "targets": "import_id", "survey_responses": "import_id", "feedback": "import_id",
    "customers": "updated_at, incomplete", "stores": "updated_at, incomplete",
    "products": "updated_at, incomplete", "sellers": "updated_at, incomplete", "tickets": "",
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("roundtrip")
    demo_db = root / "demo.duckdb"
    con = connect(demo_db)
    migrate(con)
    build_demo(con, stores=6, customers=2_000, years=1, seed=7)
    export_csv(con, root / "export")
    con.close()
    return demo_db, root / "export"


def _difference(con: duckdb.DuckDBPyConnection, table: str) -> int:
    drop = BOOKKEEPING[table]
    cols = f"* EXCLUDE ({drop})" if drop else "*"
    both = (
        f"SELECT count(*) FROM (SELECT {cols} FROM main.{table} EXCEPT ALL "
        f"SELECT {cols} FROM demo.{table})"
    )
    back = (
        f"SELECT count(*) FROM (SELECT {cols} FROM demo.{table} EXCEPT ALL "
        f"SELECT {cols} FROM main.{table})"
    )
    return con.execute(both).fetchone()[0] + con.execute(back).fetchone()[0]


def test_pos_export_imports_back_identically(exported: tuple[Path, Path], tmp_path: Path) -> None:
    demo_db, export = exported
    db = tmp_path / "imported.duckdb"
    for kind, name in FILES.items():
        done = subprocess.run(
            [str(ENSEIGNE), "import", kind, str(export / f"{name}.csv"), "--db", str(db),
             "--mapping", f"pos-fr-{kind}"],
            capture_output=True, text=True, check=False,
        )
        assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(db))
    con.execute(f"ATTACH '{demo_db}' AS demo (READ_ONLY)")
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM ticket_lines").fetchone()[0] > 10_000
    for table in BOOKKEEPING:
        assert _difference(con, table) == 0, table


def test_second_import_of_the_export_adds_nothing(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    _, export = exported
    db = tmp_path / "twice.duckdb"
    for _ in range(2):
        for kind in ("stores", "tickets"):
            subprocess.run(
                [str(ENSEIGNE), "import", kind, str(export / f"{FILES[kind]}.csv"), "--db",
                 str(db), "--mapping", f"pos-fr-{kind}"],
                capture_output=True, check=True,
            )
    con = duckdb.connect(str(db))
    lines, tickets = con.execute(
        "SELECT (SELECT count(*) FROM ticket_lines), (SELECT count(*) FROM tickets)"
    ).fetchone()
    distinct = con.execute("SELECT count(DISTINCT ticket_id) FROM ticket_lines").fetchone()[0]
    assert tickets == distinct
    last = con.execute(
        "SELECT rows_read, rows_loaded, duplicates FROM import_log WHERE kind = 'tickets' "
        "ORDER BY import_id DESC LIMIT 1"
    ).fetchone()
    assert last == (lines, 0, lines)
