"""Web test fixtures: a real uvicorn over a small demo chain, one user per role, clients, Chromium.

Loaded by ``tests/conftest.py`` (``pytest_plugins``). What a test gets:

- ``web_server``: the session's server (``.url``, ``.db`` = the app's :class:`Database`,
  to add users or tokens while it runs: ``with web_server.db.writing() as cur: ...``);
- ``web_users``: ``{role: WebUser(name, password, role, stores)}``; the store manager has
  ``S001`` only;
- ``web_login(role="network")``: an ``httpx.Client`` signed in through the login form
  (``web_login(role, client=...)`` signs an existing client in);
- ``chromium`` (session) and ``browser_page`` (a fresh context and page per test);
- ``running_server(db_path)``: a context manager for a test that needs its own server
  (restarts, settings).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from enseigne.db import connect
from enseigne.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from enseigne.web.database import Database

# The web stack (FastAPI, uvicorn, the demo generator) is imported inside the fixtures: this
# module is loaded for every test session, most of which never start a server.

PASSWORD = "mot-de-passe-de-test"  # noqa: S105 - the test users' password
STORE_OF_MANAGER = "S001"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update",
]


@dataclass(frozen=True)
class WebUser:
    name: str
    password: str
    role: str
    stores: tuple[str, ...] | None


USERS = (
    WebUser("ada", PASSWORD, "admin", None),
    WebUser("nora", PASSWORD, "network", None),
    WebUser("marc", PASSWORD, "marketing", None),
    WebUser("sam", PASSWORD, "store", (STORE_OF_MANAGER,)),
    WebUser("dora", PASSWORD, "dpo", None),
)


@dataclass
class RunningServer:
    url: str
    app: FastAPI

    @property
    def db(self) -> Database:
        return self.app.state.db


@contextmanager
def running_server(db_path: Path, **settings: Any) -> Iterator[RunningServer]:
    """uvicorn on 127.0.0.1 (a free port) in a thread, stopped on exit."""
    import uvicorn

    from enseigne.web.app import create_app

    app = create_app(Settings(db=db_path, **settings))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str, next_path: str = "/") -> httpx.Response:
    """Fill and post the login form as a browser would."""
    form = client.get("/login")
    return client.post("/login", data={
        "username": name, "password": password, "csrf_token": csrf_from(form.text),
        "next": next_path,
    })


@pytest.fixture(scope="session")
def web_users() -> dict[str, WebUser]:
    return {user.role: user for user in USERS}


@pytest.fixture(scope="session")
def web_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo chain (6 stores + web) with one user per role."""
    from enseigne.demo import build_demo
    from enseigne.web.users import create_user

    path = tmp_path_factory.mktemp("web") / "demo.duckdb"
    con = connect(path)
    try:
        build_demo(con, stores=6, customers=2000, years=2)
        for user in USERS:
            create_user(con, user.name, user.password, user.role, user.stores)
    finally:
        con.close()
    return path


@pytest.fixture(scope="session")
def web_server(web_db: Path) -> Iterator[RunningServer]:
    with running_server(web_db) as server:
        yield server


@pytest.fixture
def web_login(
    web_server: RunningServer, web_users: dict[str, WebUser]
) -> Iterator[Callable[..., httpx.Client]]:
    clients: list[httpx.Client] = []

    def login(role: str = "network", client: httpx.Client | None = None) -> httpx.Client:
        if client is None:
            client = httpx.Client(base_url=web_server.url, timeout=30)
            clients.append(client)
        user = web_users[role]
        done = sign_in(client, user.name, user.password)
        assert done.status_code == 303, done.text
        return client

    yield login
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def app_routes(app: FastAPI) -> list[Any]:
    """Every APIRoute of the app, also those of included routers (FastAPI wraps them)."""
    from fastapi.routing import APIRoute

    def flatten(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):
                yield from flatten(route.original_router.routes)

    return list(flatten(app.routes))


@contextmanager
def signed_in(server: RunningServer, name: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """A client signed in as ``name`` on a server a test started itself."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, name, password).status_code == 303
        yield client


@contextmanager
def demo_server(path: Path, **chain: int) -> Iterator[RunningServer]:
    """A server over its own small demo chain, for tests that write (the session's server
    must keep the figures other tests read)."""
    from enseigne.demo import build_demo

    con = connect(path)
    try:
        build_demo(con, **chain)
    finally:
        con.close()
    with running_server(path) as server:
        yield server


def browser_sign_in(page: Any, server: RunningServer, user: WebUser) -> list[str]:
    """Sign in through the form in Chromium; returns the list collecting console errors."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{server.url}/login")
    page.get_by_label("Identifiant").fill(user.name)
    page.get_by_label("Mot de passe").fill(user.password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{server.url}/")
    return problems
