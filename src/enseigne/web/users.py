"""Users, roles and API tokens: plain functions over a DuckDB connection.

Passwords are hashed with argon2 (slow on purpose); API tokens are 32 random bytes, so a
sha256 digest is enough to store them and lets a request be checked with one index lookup.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES: dict[str, dict[str, str]] = {
    "admin": {
        "fr": "Administrateur",
        "en": "Administrator",
        "scope_fr": "Tout, y compris les utilisateurs et les jetons",
        "scope_en": "Everything, including users and tokens",
    },
    "network": {
        "fr": "Direction réseau",
        "en": "Network management",
        "scope_fr": "Les indicateurs de tous les magasins, régions et du réseau",
        "scope_en": "KPIs of every store, region and the network",
    },
    "marketing": {
        "fr": "CRM / marketing",
        "en": "CRM / marketing",
        "scope_fr": "Le fichier clients, les segments et les campagnes, tous magasins",
        "scope_en": "The customer file, segments and campaigns, all stores",
    },
    "store": {
        "fr": "Responsable de magasin",
        "en": "Store manager",
        "scope_fr": "Ses magasins seulement (--store), partout dans l'application",
        "scope_en": "Their own stores only (--store), everywhere in the application",
    },
    "dpo": {
        "fr": "Délégué à la protection des données",
        "en": "Data protection officer",
        "scope_fr": "Consentements, demandes RGPD, conservation, journal des accès",
        "scope_en": "Consents, GDPR requests, retention, access log",
    },
}

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "ens_"  # noqa: S105 - a public prefix naming the kind of token
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_hasher = PasswordHasher()


class UserError(ValueError):
    """A request the user can fix: unknown role, missing store, duplicate name..."""


@dataclass(frozen=True)
class User:
    """Who is making a request: a person (session) or a program (API token)."""

    name: str
    role: str
    stores: tuple[str, ...] | None  # None: every store
    via: str = "session"  # "session" or "token"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user does not exist, so a wrong name costs as much time as a wrong
    password and response times do not tell which names exist."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise UserError(
            f"invalid name {name!r}: 1 to 64 letters, digits or . _ @ -, starting with a letter "
            "or digit"
        )


def check_role_and_stores(
    con: duckdb.DuckDBPyConnection, role: str, stores: Sequence[str] | None
) -> list[str] | None:
    """The store list to record for ``role``: required for store managers, refused otherwise."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    codes = sorted(set(stores or ()))
    if role != "store":
        if codes:
            raise UserError(f"role {role} sees every store: --store is only for role store")
        return None
    if not codes:
        raise UserError("role store needs at least one --store CODE")
    known = {
        row[0]
        for row in con.execute(
            "SELECT store_code FROM stores WHERE list_contains(?, store_code)", [codes]
        ).fetchall()
    }
    missing = [code for code in codes if code not in known]
    if missing:
        raise UserError(f"unknown store code(s): {', '.join(missing)}")
    return codes


def create_user(
    con: duckdb.DuckDBPyConnection,
    name: str,
    password: str,
    role: str,
    stores: Sequence[str] | None = None,
) -> User:
    _check_name(name)
    codes = check_role_and_stores(con, role, stores)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
        raise UserError(f"user {name!r} already exists")
    con.execute(
        "INSERT INTO users (name, role, stores, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        [name, role, codes, _hasher.hash(password), _now()],
    )
    return User(name, role, tuple(codes) if codes is not None else None)


def get_user(con: duckdb.DuckDBPyConnection, name: str) -> User | None:
    """The enabled user called ``name``, or None."""
    row = con.execute(
        "SELECT name, role, stores FROM users WHERE name = ? AND NOT disabled", [name]
    ).fetchone()
    return _user(row) if row else None


def _user(row: tuple[Any, ...], via: str = "session") -> User:
    name, role, stores = row
    return User(name, role, tuple(stores) if stores is not None else None, via)


def authenticate(con: duckdb.DuckDBPyConnection, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs and they are enabled, else None."""
    row = con.execute(
        "SELECT name, role, stores, password_hash FROM users WHERE name = ? AND NOT disabled",
        [name],
    ).fetchone()
    try:
        _hasher.verify(row[3] if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return _user(row[:3]) if row else None


def password_needs_rehash(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute("SELECT password_hash FROM users WHERE name = ?", [name]).fetchone()
    return bool(row) and _hasher.check_needs_rehash(row[0])


def set_password(con: duckdb.DuckDBPyConnection, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    done = con.execute(
        "UPDATE users SET password_hash = ? WHERE name = ? RETURNING name",
        [_hasher.hash(password), name],
    ).fetchall()
    if not done:
        raise UserError(f"no user {name!r}")


def disable_user(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Disable the account and end its open sessions."""
    done = con.execute(
        "UPDATE users SET disabled = true WHERE name = ? RETURNING name", [name]
    ).fetchall()
    if not done:
        raise UserError(f"no user {name!r}")
    con.execute("DELETE FROM web_sessions WHERE user_name = ?", [name])


def list_users(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cursor = con.execute(
        "SELECT name, role, stores, created_at, disabled FROM users ORDER BY name"
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    con: duckdb.DuckDBPyConnection,
    name: str,
    role: str = "network",
    stores: Sequence[str] | None = None,
) -> str:
    """A new API token, returned once: only its digest is kept."""
    _check_name(name)
    codes = check_role_and_stores(con, role, stores)
    if con.execute("SELECT 1 FROM api_tokens WHERE name = ?", [name]).fetchone():
        raise UserError(f"token {name!r} already exists (revoke it first)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    con.execute(
        "INSERT INTO api_tokens (name, token_hash, role, stores, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [name, hash_token(token), role, codes, _now()],
    )
    return token


def verify_token(con: duckdb.DuckDBPyConnection, token: str) -> User | None:
    """The token's identity, or None for an unknown (or revoked) token."""
    row = con.execute(
        "SELECT name, role, stores FROM api_tokens WHERE token_hash = ?", [hash_token(token)]
    ).fetchone()
    return _user(row, via="token") if row else None


def touch_token(con: duckdb.DuckDBPyConnection, name: str, every_seconds: int = 60) -> None:
    """Record the token's last use, at most once a minute (a write per request is wasteful)."""
    now = _now()
    con.execute(
        "UPDATE api_tokens SET last_used_at = ? WHERE name = ? "
        "AND (last_used_at IS NULL OR last_used_at < ?)",
        [now, name, now - dt.timedelta(seconds=every_seconds)],
    )


def revoke_token(con: duckdb.DuckDBPyConnection, name: str) -> None:
    done = con.execute("DELETE FROM api_tokens WHERE name = ? RETURNING name", [name]).fetchall()
    if not done:
        raise UserError(f"no token {name!r}")


def list_tokens(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cursor = con.execute(
        "SELECT name, role, stores, created_at, last_used_at FROM api_tokens ORDER BY name"
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
