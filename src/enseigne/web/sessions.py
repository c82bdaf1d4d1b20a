"""Browser sessions: a signed cookie naming a session row kept in the database.

The cookie carries either ``{"sid": ...}`` (signed in) or ``{"csrf": ...}`` (a visitor on
the login form). The session row holds the user and the CSRF token of that session, so
logging out deletes the row and a copied cookie is worthless afterwards; a new session id
is drawn at every login, so a visitor's cookie planted before login is never promoted
(no session fixation). Only a digest of the session id is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import duckdb
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from enseigne.web.users import User, get_user

SESSION_COOKIE = "enseigne_session"
SESSION_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class SessionState:
    """What the request's cookie says: a signed-in user, or a visitor with a CSRF token."""

    user: User | None = None
    csrf: str | None = None
    sid: str | None = None


class CookieSigner:
    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="enseigne.session")

    def dumps(self, payload: dict[str, str]) -> str:
        return self._serializer.dumps(payload)

    def loads(self, value: str) -> dict[str, Any] | None:
        try:
            payload = self._serializer.loads(value, max_age=SESSION_SECONDS)
        except BadSignature:  # also an expired signature
            return None
        return payload if isinstance(payload, dict) else None


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def create_session(con: duckdb.DuckDBPyConnection, user_name: str) -> str:
    """A fresh session for ``user_name``; returns its id (the only copy is in the cookie)."""
    sid = secrets.token_urlsafe(32)
    now = _now()
    con.execute("DELETE FROM web_sessions WHERE expires_at <= ?", [now])
    con.execute(
        "INSERT INTO web_sessions (session_hash, user_name, csrf_token, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [_digest(sid), user_name, new_csrf_token(), now,
         now + dt.timedelta(seconds=SESSION_SECONDS)],
    )
    return sid


def delete_session(con: duckdb.DuckDBPyConnection, sid: str) -> None:
    con.execute("DELETE FROM web_sessions WHERE session_hash = ?", [_digest(sid)])


def load_session(con: duckdb.DuckDBPyConnection, sid: str) -> SessionState | None:
    """The live session ``sid`` of an enabled user, or None."""
    row = con.execute(
        "SELECT user_name, csrf_token FROM web_sessions "
        "WHERE session_hash = ? AND expires_at > ?",
        [_digest(sid), _now()],
    ).fetchone()
    if not row:
        return None
    user = get_user(con, row[0])
    return SessionState(user, row[1], sid) if user else None


def read_cookie(
    con: duckdb.DuckDBPyConnection, signer: CookieSigner, request: Request
) -> SessionState:
    raw = request.cookies.get(SESSION_COOKIE)
    payload = signer.loads(raw) if raw else None
    if not payload:
        return SessionState()
    if isinstance(payload.get("sid"), str):
        return load_session(con, payload["sid"]) or SessionState()
    csrf = payload.get("csrf")
    return SessionState(csrf=csrf if isinstance(csrf, str) else None)


def set_cookie(
    response: Response, request: Request, value: str, max_age: int | None = None
) -> None:
    """HttpOnly, SameSite=Lax, and Secure whenever the site is served over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE, value, max_age=max_age, path="/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
