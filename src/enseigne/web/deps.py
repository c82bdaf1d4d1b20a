"""Request dependencies: the database, the signed-in user, store scope, CSRF.

Use the ``Annotated`` aliases in route signatures::

    @router.get("/api/things")
    def things(user: CurrentUser, cur: DbCursor) -> list[dict]:
        where, params = store_filter_sql(user)
        return cur.execute(f"SELECT ... FROM stores WHERE {where}", params).fetchall()

``CurrentUser`` answers an anonymous HTML request with a redirect to ``/login`` and an
anonymous ``/api`` request with 401; ``/api`` also accepts ``Authorization: Bearer``.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from typing import Annotated

import duckdb
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from enseigne.settings import Settings
from enseigne.web.database import Database
from enseigne.web.sessions import CSRF_FIELD, CSRF_HEADER, SessionState, read_cookie
from enseigne.web.users import User, touch_token, verify_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token from `enseigne tokens create NAME` (only accepted under /api)",
)


class NotAuthenticated(Exception):
    """No valid session or token: HTML gets a redirect to /login, /api gets 401."""


def is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def get_database(request: Request) -> Database:
    return request.app.state.db


DatabaseDep = Annotated[Database, Depends(get_database)]


def get_settings(request: Request) -> Settings:
    """The settings the app was created with (``fiscal_start_month`` for periods, say)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def db_cursor(db: DatabaseDep) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read cursor for this request, closed after it (writes: ``DatabaseDep.writing()``)."""
    with db.reading() as cur:
        yield cur


DbCursor = Annotated[duckdb.DuckDBPyConnection, Depends(db_cursor)]


def session_state(request: Request, db: DatabaseDep) -> SessionState:
    """What the session cookie says, read once per request and kept for the templates."""
    state = getattr(request.state, "session", None)
    if state is None:
        with db.reading() as cur:
            state = read_cookie(cur, request.app.state.signer, request)
        request.state.session = state
    return state


SessionDep = Annotated[SessionState, Depends(session_state)]


def current_user(
    request: Request,
    state: SessionDep,
    db: DatabaseDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> User:
    if bearer is not None and is_api(request):
        with db.reading() as cur:
            user = verify_token(cur, bearer.credentials)
        if user is None:
            raise NotAuthenticated("invalid or revoked token")
        _touch(db, user.name)
    else:
        user = state.user
    if user is None:
        raise NotAuthenticated("not signed in")
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: str) -> Callable[[User], User]:
    """A dependency admitting only ``roles`` (admin always): ``Depends(require_role("dpo"))``."""

    def check(user: CurrentUser) -> User:
        if user.role != "admin" and user.role not in roles:
            raise HTTPException(403, "your role does not give access to this page")
        return user

    return check


def scope_stores(user: User) -> tuple[str, ...] | None:
    """The store codes ``user`` may see, None meaning all of them."""
    return user.stores


def require_store_access(user: User, store_code: str) -> None:
    """403 unless ``user`` may see ``store_code`` (checked before looking the store up, so
    a store manager cannot probe which codes exist)."""
    stores = scope_stores(user)
    if stores is not None and store_code not in stores:
        raise HTTPException(403, "no access to this store")


def store_filter_sql(user: User, column: str = "store_code") -> tuple[str, list[object]]:
    """A SQL condition and its parameters keeping only ``user``'s stores."""
    stores = scope_stores(user)
    if stores is None:
        return "true", []
    return f"list_contains(?, {column})", [list(stores)]


_TOUCHED: dict[str, float] = {}
TOUCH_EVERY = 60.0  # seconds between two records of a token's last use


def _touch(db: Database, token_name: str) -> None:
    """Record a token's use at most once a minute per process: a POS posting tickets must
    not queue behind the writer for a timestamp."""
    now = time.monotonic()
    if now - _TOUCHED.get(token_name, -TOUCH_EVERY) < TOUCH_EVERY:
        return
    _TOUCHED[token_name] = now
    with db.writing() as cur:
        touch_token(cur, token_name)


async def csrf_protect(request: Request, state: SessionDep) -> None:
    """Applied to every route: an unsafe method needs the session's CSRF token.

    Forms send it as the ``csrf_token`` field, scripts as the ``X-CSRF-Token`` header. API
    calls with a Bearer token are exempt: a browser never adds that header on its own.
    """
    if request.method in SAFE_METHODS:
        return
    if is_api(request) and request.headers.get("authorization"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not state.csrf or not hmac.compare_digest(sent, state.csrf):
        raise HTTPException(403, "missing or invalid CSRF token: reload the page and retry")
