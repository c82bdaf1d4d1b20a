"""``enseigne users``, ``enseigne tokens`` and ``enseigne serve`` run as real processes."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import time
from pathlib import Path

import httpx

from conftest import ENSEIGNE, cli_environment
from enseigne.cli import tokens_app, users_app
from enseigne.db import connect
from enseigne.web.users import ROLES


def run(cli_args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENSEIGNE), *cli_args], input=stdin, capture_output=True, text=True, timeout=120,
        check=False, env=cli_environment(),
    )


def test_users_create_from_stdin_then_list(stores, db_path):
    stores.close()  # the CLI process needs the file
    db = str(db_path)
    made = run(["users", "create", "ada", "--role", "admin", "--password-stdin", "--db", db],
               stdin="un mot de passe\n")
    assert made.returncode == 0, made.stderr
    assert "ada" in made.stdout
    manager = run(["users", "create", "sam", "--role", "store", "--store", "S01",
                   "--store", "S02", "--password-stdin", "--db", db], stdin="mot-de-passe-2")
    assert manager.returncode == 0, manager.stderr
    listed = run(["users", "list", "--json", "--db", db])
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"], r["stores"], r["disabled"]) for r in rows] == [
        ("ada", "admin", None, False), ("sam", "store", ["S01", "S02"], False)]
    assert "password" not in listed.stdout
    table = run(["users", "list", "--db", db])
    assert "sam" in table.stdout and "S01, S02" in table.stdout
    con = connect(db_path, read_only=True)
    stored = con.execute("SELECT password_hash FROM users WHERE name = 'ada'").fetchone()[0]
    con.close()
    assert stored.startswith("$argon2id$")
    assert "un mot de passe" not in stored


def test_users_create_refusals(stores, db_path):
    """Each refusal exits 2 with the reason (the full list is unit-tested in test_web_auth)."""
    stores.close()
    db = str(db_path)
    unknown = run(["users", "create", "x", "--role", "store", "--store", "S99",
                   "--password-stdin", "--db", db], stdin="assez-long")
    assert unknown.returncode == 2 and "unknown store code(s): S99" in unknown.stderr
    short = run(["users", "create", "x", "--role", "admin", "--password-stdin", "--db", db],
                stdin="court\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    assert run(["users", "create", "x", "--role", "admin", "--password-stdin", "--db", db],
               stdin="assez-long").returncode == 0
    twice = run(["users", "create", "x", "--role", "admin", "--password-stdin", "--db", db],
                stdin="assez-long")
    assert twice.returncode == 2 and "already exists" in twice.stderr
    gone = run(["users", "disable", "x", "--db", db])
    assert gone.returncode == 0, gone.stderr
    assert json.loads(run(["users", "list", "--json", "--db", db]).stdout)[0]["disabled"]


def test_tokens_are_printed_once_and_kept_hashed(stores, db_path):
    stores.close()
    db = str(db_path)
    made = run(["tokens", "create", "caisse", "--role", "store", "--store", "S01", "--db", db])
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("ens_") and len(token) > 40
    listed = run(["tokens", "list", "--json", "--db", db])
    assert token not in listed.stdout
    assert json.loads(listed.stdout)[0]["stores"] == ["S01"]
    con = connect(db_path, read_only=True)
    stored = con.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    con.close()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert run(["tokens", "revoke", "caisse", "--db", db]).returncode == 0
    again = run(["tokens", "revoke", "caisse", "--db", db])
    assert again.returncode == 2 and "no token" in again.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_holds_the_database_and_answers(stores, db_path):
    stores.close()
    port = free_port()
    server = subprocess.Popen(
        [str(ENSEIGNE), "serve", "--db", str(db_path), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cli_environment(),
    )
    try:
        answer = None
        deadline = time.monotonic() + 60
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, "the server did not answer"
        assert answer.status_code == 200 and "Connexion" in answer.text
        locked = run(["users", "list", "--db", str(db_path)])
        assert locked.returncode == 3
        assert "enseigne serve" in locked.stderr
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_docs_cover_every_role_and_account_command():
    text = (Path(__file__).parents[1] / "docs" / "web.md").read_text(encoding="utf-8")
    for role, labels in ROLES.items():
        assert f"| `{role}` | {labels['fr']} | {labels['en']} |" in text
    for group, sub_app in (("users", users_app), ("tokens", tokens_app)):
        for command in sub_app.registered_commands:
            assert f"enseigne {group} {command.name}" in text
    assert "enseigne serve [--db PATH] [--host 127.0.0.1] [--port 8000]" in text
