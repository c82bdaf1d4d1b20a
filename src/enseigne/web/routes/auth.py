"""Login, logout, language switch and ``/api/me``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from enseigne.web.deps import CurrentUser, DatabaseDep, SessionDep
from enseigne.web.i18n import LANG_COOKIE, LANGS, request_lang, translate
from enseigne.web.sessions import (
    SESSION_SECONDS,
    SessionState,
    clear_cookie,
    create_session,
    delete_session,
    new_csrf_token,
    set_cookie,
)
from enseigne.web.templating import render
from enseigne.web.throttle import LoginThrottle
from enseigne.web.users import authenticate, password_needs_rehash, set_password

router = APIRouter()
NextQuery = Annotated[str | None, Query(alias="next", description="Where to go afterwards")]


def safe_next(target: str | None) -> str:
    """A local path to go back to: anything pointing at another site becomes ``/``."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _login_form(
    request: Request, state: SessionState, next_path: str, error: str = "",
    username: str = "", status_code: int = 200, headers: dict[str, str] | None = None,
) -> Response:
    csrf = state.csrf or new_csrf_token()
    if not state.csrf:
        request.state.session = SessionState(csrf=csrf)
    response = render(
        request, "login.html", {"next_path": next_path, "error": error, "username": username},
        status_code=status_code, headers=headers,
    )
    if state.user is None and csrf != state.csrf:
        set_cookie(response, request, request.app.state.signer.dumps({"csrf": csrf}))
    return response


@router.get("/login", include_in_schema=False)
def login_page(request: Request, state: SessionDep, next_path: NextQuery = "/") -> Response:
    if state.user is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return _login_form(request, state, safe_next(next_path))


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    state: SessionDep,
    db: DatabaseDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    lang = request_lang(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    key = throttle.key(username, request.client.host if request.client else None)
    wait = throttle.retry_after(key)
    if wait:
        return _login_form(
            request, state, safe_next(next_path), translate("login.too_many", lang, seconds=wait),
            username, status_code=429, headers={"Retry-After": str(wait)},
        )
    with db.reading() as cur:
        user = authenticate(cur, username, password)
    if user is None:
        throttle.failed(key)
        return _login_form(
            request, state, safe_next(next_path), translate("login.failed", lang), username,
            status_code=401,
        )
    throttle.succeeded(key)
    with db.writing() as cur:
        if state.sid:
            delete_session(cur, state.sid)
        sid = create_session(cur, user.name)
        if password_needs_rehash(cur, user.name):
            set_password(cur, user.name, password)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_cookie(response, request, request.app.state.signer.dumps({"sid": sid}), SESSION_SECONDS)
    return response


@router.post("/logout", include_in_schema=False)
def logout(state: SessionDep, db: DatabaseDep) -> Response:
    if state.sid:
        with db.writing() as cur:
            delete_session(cur, state.sid)
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(response)
    return response


@router.get("/lang/{lang}", include_in_schema=False)
def switch_language(lang: str, request: Request, next_path: NextQuery = None) -> Response:
    """Remember the language in a cookie, then go back where the user was."""
    if lang not in LANGS:
        raise HTTPException(404, f"unknown language {lang!r}")
    target = next_path
    if target is None:
        referer = urlsplit(request.headers.get("referer", ""))
        if referer.netloc == request.url.netloc:
            target = referer.path + (f"?{referer.query}" if referer.query else "")
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 86400, path="/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/api/me", summary="The signed-in user or token: name, role and stores")
def me(user: CurrentUser) -> dict[str, Any]:
    return {"name": user.name, "role": user.role,
            "stores": list(user.stores) if user.stores is not None else None, "via": user.via}
