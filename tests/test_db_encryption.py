"""Encryption at rest (ENSEIGNE_DB_KEY): nothing readable in the file, clear refusals, the
file converted both ways, and erasure keeping it encrypted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest

from conftest import ENSEIGNE, STORES_CSV, cli_environment
from enseigne.db import DatabaseKeyError, connect, migrate
from enseigne.ingest import import_file
from test_privacy_gdpr import PERSON, SMALL_CHAIN, stored

KEY = "clé-de-test-0123456789"


def run(path: Path, *args: str, key: str | None = None, stdin: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = cli_environment()
    if key is not None:
        env["ENSEIGNE_DB_KEY"] = key
    return subprocess.run(
        [str(ENSEIGNE), *args, "--db", str(path)], capture_output=True, text=True,
        timeout=120, check=False, env=env, input=stdin,
    )


def fill(path: Path, write_csv, key: str | None) -> None:
    con = connect(path, key=key)
    try:
        migrate(con)
        import_file(con, "stores", write_csv("stores.csv", STORES_CSV))
        for kind, text in SMALL_CHAIN.items():
            import_file(con, kind, write_csv(f"{kind}.csv", text), create_missing=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def counts(path: Path, key: str | None) -> tuple[int, int]:
    con = connect(path, key=key)
    try:
        return con.execute(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM ticket_lines)"
        ).fetchone()
    finally:
        con.close()


def encrypted_on_disk(path: Path) -> bool:
    """Plain DuckDB refuses the file for want of a key."""
    try:
        duckdb.connect(str(path)).close()
    except duckdb.CatalogException as exc:
        return "without a key" in str(exc)
    return False


@pytest.fixture
def encrypted(tmp_path: Path, write_csv) -> Path:
    path = tmp_path / "chiffree.duckdb"
    fill(path, write_csv, KEY)
    return path


def test_an_encrypted_file_shows_no_personal_data_and_opens_with_its_key(encrypted: Path):
    assert stored(encrypted) == set()
    assert encrypted_on_disk(encrypted)
    assert counts(encrypted, KEY) == (2, 3)


def test_a_missing_or_wrong_key_is_refused_clearly(encrypted: Path, tmp_path: Path, write_csv):
    with pytest.raises(DatabaseKeyError, match="is encrypted: set ENSEIGNE_DB_KEY"):
        connect(encrypted)
    missing = run(encrypted, "status")
    assert missing.returncode == 2
    assert "ENSEIGNE_DB_KEY" in missing.stderr
    wrong = run(encrypted, "status", key="pas-la-bonne-clé-0123")
    assert wrong.returncode == 2
    assert "n'est pas la clé" in wrong.stderr or "is not the key" in wrong.stderr
    assert "pas-la-bonne" not in wrong.stderr + wrong.stdout
    plain = tmp_path / "claire.duckdb"
    fill(plain, write_csv, None)
    given = run(plain, "status", key=KEY)
    assert given.returncode == 2
    assert "enseigne encrypt" in given.stderr
    assert KEY not in given.stderr + given.stdout


def test_a_plain_file_is_encrypted_then_decrypted_without_losing_a_row(tmp_path, write_csv):
    path = tmp_path / "base.duckdb"
    fill(path, write_csv, None)
    assert stored(path) == set(PERSON)
    short = run(path, "encrypt", "--key-stdin", stdin="court")
    assert short.returncode == 2
    assert not encrypted_on_disk(path)
    done = run(path, "encrypt", "--key-stdin", stdin=KEY + "\n")
    assert done.returncode == 0, done.stderr
    assert encrypted_on_disk(path)
    assert stored(path) == set()
    assert counts(path, KEY) == (2, 3)
    back = run(path, "encrypt", "--decrypt", key=KEY)
    assert back.returncode == 0, back.stderr
    assert not encrypted_on_disk(path)
    assert counts(path, None) == (2, 3)


def test_erasure_keeps_an_encrypted_file_encrypted(encrypted: Path):
    erased = run(encrypted, "gdpr", "erase", "C9", "--yes", key=KEY)
    assert erased.returncode == 0, erased.stderr
    assert encrypted_on_disk(encrypted)
    con = connect(encrypted, key=KEY)
    try:
        assert con.execute("SELECT count(*) FROM customers WHERE email = ?",
                           [PERSON["email"]]).fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM tickets WHERE customer_ref = ?",
                           [erased.stdout.strip()]).fetchone() == (1,)
    finally:
        con.close()
