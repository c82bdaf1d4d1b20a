"""The database file: migrations registry, status counts, the single-writer lock."""

from __future__ import annotations

import subprocess
import sys

import pytest

from enseigne.db import connect, current_version, migrate
from enseigne.db.migrations import LATEST, MIGRATIONS
from enseigne.db.status import database_status
from enseigne.ingest import KINDS, import_file

TABLES = {"stores", "sellers", "products", "customers", "consents", "tickets", "ticket_lines",
          "footfall", "targets", "survey_responses", "feedback", "import_log", "quarantine",
          "schema_migrations"}


def test_migrate_creates_the_canonical_model_once(db_path):
    con = connect(db_path)
    assert current_version(con) == 0
    applied = migrate(con)
    assert [m.version for m in applied] == [m.version for m in MIGRATIONS]
    assert current_version(con) == LATEST
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()}
    assert tables >= TABLES
    assert {k.table for k in KINDS.values()} <= tables
    assert migrate(con) == []
    assert con.execute("SELECT version, name FROM schema_migrations").fetchall() == [
        (m.version, m.name) for m in MIGRATIONS]
    con.close()


def test_migrations_survive_reopening_the_file(db_path):
    con = connect(db_path)
    migrate(con)
    con.close()
    con = connect(db_path)
    assert current_version(con) == LATEST
    assert migrate(con) == []
    con.close()


def test_a_newer_database_is_refused(con):
    con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, 'from the future')",
                [LATEST + 1])
    with pytest.raises(RuntimeError, match="upgrade enseigne"):
        migrate(con)


def test_status_counts_every_entity(stores, write_csv):
    import_file(stores, "tickets", write_csv(
        "t.csv", "ticket_id;line_no;sold_at;store_code;customer_ref;sku;quantity;amount\n"
                 "T1;1;03/01/2025;S01;C1;P1;1;9,99\nT1;2;03/01/2025;S01;C1;P2;1;1\n"
                 "T2;1;03/01/2025;S02;;P1;1;2\nT3;1;31/02/2025;S02;;P1;1;2\n"))
    report = database_status(stores)
    assert set(report) >= {"counts", "imports"}
    assert report["counts"] == {
        "stores": 2, "sellers": 0, "products": 2, "customers": 1, "consents": 0, "tickets": 2,
        "ticket_lines": 3, "footfall": 0, "targets": 0, "survey_responses": 0, "feedback": 0,
        "quarantine": 1,
    }
    assert report["incomplete"] == {"stores": 0, "sellers": 0, "products": 2, "customers": 1}
    latest = report["imports"][0]
    assert (latest["kind"], latest["rows_read"], latest["rows_loaded"], latest["rejected"]) == (
        "tickets", 4, 3, 1)
    assert [i["kind"] for i in report["imports"]] == ["tickets", "stores"]


def test_second_process_gets_a_clear_lock_error(db_path):
    con = connect(db_path)
    migrate(con)
    holder_code = (
        "import sys; from enseigne.db import connect, DatabaseLockedError\n"
        "try:\n    connect(sys.argv[1])\nexcept DatabaseLockedError as e:\n"
        "    print('LOCKED', e); sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", holder_code, str(db_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    con.close()
    assert done.returncode == 3, done.stderr
    assert "in use by another process" in done.stdout
