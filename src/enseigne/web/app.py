"""The application factory: ``create_app(settings)`` builds the app, its lifespan opens the DB.

Nothing is created at import time. Routers are collected from the modules of
``enseigne.web.routes`` (each exposing ``router``), so a new page is a new module there.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import duckdb
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from enseigne import __version__
from enseigne.db import connect_configured, migrate
from enseigne.settings import Settings, load_settings
from enseigne.web import routes
from enseigne.web.database import Database, resolve_secret_key
from enseigne.web.deps import SAFE_METHODS, NotAuthenticated, csrf_protect, is_api
from enseigne.web.headers import SecurityHeadersMiddleware
from enseigne.web.i18n import catalogue
from enseigne.web.sessions import CookieSigner
from enseigne.web.templating import build_templates, render
from enseigne.web.throttle import LoginThrottle

DESCRIPTION = (
    "Store-network KPIs and CRM for retail chains. Authenticate with "
    "`Authorization: Bearer <token>` (create one with `enseigne tokens create NAME`). "
    "Amounts are in euros TTC unless the KPI id ends in `_ht`; rates are fractions."
)


UNAUTHENTICATED = "Not signed in, or an invalid or revoked API token"
FORBIDDEN_WRITE = "Without a Bearer token: missing or invalid CSRF token; or the role or " \
    "store scope does not allow this"
UNREADABLE_BODY = "The body is not valid JSON"

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, con: duckdb.DuckDBPyConnection | None = None
) -> FastAPI:
    """The web application over ``settings.db`` (or over ``con``, which it then owns)."""
    settings = settings or load_settings()
    catalogue()  # a broken message catalogue stops the start, not the first page view

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        connection = con or connect_configured(settings)
        migrate(connection)
        # The opener reopens the file after an erasure has rewritten it (Database.rewrite).
        db = Database(connection, opener=lambda: connect_configured(settings))
        try:
            app.state.db = db
            app.state.signer = CookieSigner(resolve_secret_key(db, settings.secret_key))
            warm = threading.Thread(target=warm_up, args=(db,), name="enseigne-warm-up")
            warm.start()
            yield
            warm.join()
        finally:
            db.close()

    app = FastAPI(
        title="enseigne", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        dependencies=[Depends(csrf_protect)],
    )
    app.state.settings = settings
    app.state.templates = build_templates()
    app.state.login_throttle = LoginThrottle()
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_exception_handler(NotAuthenticated, _not_authenticated)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for router in discover_routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("enseigne.web", "static")]), name="static")
    document_common_errors(app)
    return app


def document_common_errors(app: FastAPI) -> None:
    """Document on every operation the errors the app answers for all routes: 401 (no
    session, bad token), 403 for unsafe methods (CSRF) and 400 for a body that is not JSON,
    so that the spec lists every status a client can get."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for item in build().get("paths", {}).values():
                for method, operation in item.items():
                    responses = operation.setdefault("responses", {})
                    responses.setdefault("401", {"description": UNAUTHENTICATED})
                    if method.upper() not in SAFE_METHODS:
                        responses.setdefault("403", {"description": FORBIDDEN_WRITE})
                    if "requestBody" in operation:
                        responses.setdefault("400", {"description": UNREADABLE_BODY})
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def warm_up(db: Database) -> None:
    """Compile the dashboard's queries (and read its data once) before the first visitor:
    the network's view and a single store's, which is the shape a store manager asks for.
    Compiling costs about a second; the queries are then reused for every period."""
    from enseigne.metrics import duckdb_backend
    from enseigne.metrics.dashboard import default_period, network_dashboard

    try:
        with db.reading() as cur:
            backend = duckdb_backend(cur)
            period = default_period(backend)
            network_dashboard(backend, period)
            first = cur.execute("SELECT min(store_code) FROM stores").fetchone()[0]
            if first is not None:
                network_dashboard(backend, period, stores=[first])
    except Exception:  # a warm-up must never stop the server; the first request will tell
        logger.exception("dashboard warm-up failed")


def discover_routers() -> list[APIRouter]:
    """The ``router`` of every module in ``enseigne.web.routes``, by module name."""
    found = []
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


async def _not_authenticated(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse(
            {"detail": "not authenticated"}, status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """JSON under /api, a page in the user's language elsewhere."""
    if is_api(request):
        return await http_exception_handler(request, exc)
    return render(
        request, "error.html", {"status_code": exc.status_code, "detail": exc.detail},
        status_code=exc.status_code, headers=exc.headers,
    )
