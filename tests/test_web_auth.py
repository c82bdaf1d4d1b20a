"""The web foundation against a real uvicorn: login, sessions, CSRF, tokens, roles, languages."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from enseigne.db import connect, migrate
from enseigne.web.database import Database, resolve_secret_key
from enseigne.web.deps import require_store_access, store_filter_sql
from enseigne.web.routes.assets import plotly_js_path
from enseigne.web.routes.auth import safe_next
from enseigne.web.sessions import SESSION_COOKIE, SESSION_SECONDS
from enseigne.web.throttle import LoginThrottle
from enseigne.web.users import (
    User,
    UserError,
    authenticate,
    create_token,
    create_user,
    disable_user,
    revoke_token,
    verify_token,
)
from web_fixtures import PASSWORD, STORE_OF_MANAGER, app_routes, csrf_from, running_server, sign_in

PUBLIC_PATHS = {"/login", "/logout", "/lang/{lang}", "/docs", "/openapi.json",
                "/static/plotly.min.js"}


def anonymous(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def session_cookie(response: httpx.Response) -> str:
    """The raw Set-Cookie header of the session cookie."""
    found = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert len(found) == 1, response.headers
    return found[0]


def test_anonymous_pages_redirect_to_login_and_api_answers_401(web_server):
    with anonymous(web_server) as client:
        page = client.get("/stores?sort=name")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fstores%3Fsort%3Dname"
        api = client.get("/api/stores")
        assert api.status_code == 401
        assert api.json() == {"detail": "not authenticated"}
        assert api.headers["www-authenticate"] == "Bearer"


def test_every_route_but_the_public_ones_needs_a_user(web_server):
    """Also guards the routes other modules add later: a forgotten CurrentUser fails here."""
    with anonymous(web_server) as client:
        routes = app_routes(web_server.app)
        assert len(routes) > 15  # the walk reaches the routers' routes
        for route in routes:
            if route.path in PUBLIC_PATHS:
                continue
            path = re.sub(r"\{[^}]+\}", STORE_OF_MANAGER, route.path)
            for method in route.methods:
                answer = client.request(method, path)
                expected = 401 if path.startswith("/api") else 303
                assert answer.status_code in (expected, 403), (method, path, answer.status_code)


def test_login_ok_sets_a_strict_session_cookie_and_goes_next(web_server, web_users):
    with anonymous(web_server) as client:
        form = client.get("/login")
        assert form.status_code == 200
        visitor = session_cookie(form)
        assert "HttpOnly" in visitor and "samesite=lax" in visitor.lower()
        done = client.post("/login", data={
            "username": web_users["network"].name, "password": PASSWORD,
            "csrf_token": csrf_from(form.text), "next": "/stores"})
        assert done.status_code == 303
        assert done.headers["location"] == "/stores"
        cookie = session_cookie(done)
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "Path=/" in cookie
        assert f"Max-Age={SESSION_SECONDS}" in cookie
        assert "Secure" not in cookie  # plain http on 127.0.0.1: a Secure cookie is not sent
        me = client.get("/api/me").json()
        assert me == {"name": "nora", "role": "network", "stores": None, "via": "session"}


def test_login_refused_with_the_same_message_for_wrong_password_and_unknown_user(web_server):
    with anonymous(web_server) as client:
        wrong = sign_in(client, "nora", "not-the-password")
        unknown = sign_in(client, "nobody-here", "not-the-password")
        for answer in (wrong, unknown):
            assert answer.status_code == 401
            assert "Identifiant ou mot de passe incorrect." in answer.text
        assert 'value="nobody-here"' in unknown.text
        assert client.get("/api/me").status_code == 401


def test_login_elsewhere_is_not_followed(web_server, web_users):
    with anonymous(web_server) as client:
        user = web_users["network"]
        done = sign_in(client, user.name, user.password, next_path="https://evil.example/x")
        assert done.headers["location"] == "/"
    for target in ("//evil.example", "http://evil.example", "evil", "/\\evil.example", ""):
        assert safe_next(target) == "/"
    assert safe_next("/stores/S001?period=2026-W47") == "/stores/S001?period=2026-W47"


def test_session_id_changes_at_login_and_the_old_one_dies(web_server, web_users):
    user = web_users["network"]
    with anonymous(web_server) as client:
        client.get("/login")
        visitor = client.cookies[SESSION_COOKIE]
        sign_in(client, user.name, user.password)
        first = client.cookies[SESSION_COOKIE]
        assert first != visitor
        # Signing in again from a signed-in page draws a new session and ends the first one.
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)[1]
        again = client.post("/login", data={
            "username": user.name, "password": user.password, "csrf_token": token})
        assert again.status_code == 303
        second = client.cookies[SESSION_COOKIE]
        assert second != first
        assert client.get("/api/me").status_code == 200
    for stale in (visitor, first):  # a planted visitor cookie is never promoted to a session
        with httpx.Client(base_url=web_server.url, cookies={SESSION_COOKIE: stale}) as replay:
            assert replay.get("/api/me").status_code == 401


def test_logout_needs_csrf_then_invalidates_the_session(web_server, web_login):
    client = web_login("marketing")
    cookie = client.cookies[SESSION_COOKIE]
    page = client.get("/")
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/api/me").status_code == 200
    done = client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    with httpx.Client(base_url=web_server.url, cookies={SESSION_COOKIE: cookie}) as replay:
        assert replay.get("/api/me").status_code == 401
        assert replay.get("/").status_code == 303


def test_login_form_needs_its_csrf_token(web_server, web_users):
    user = web_users["network"]
    fields = {"username": user.name, "password": user.password}
    with anonymous(web_server) as client:
        form = client.get("/login")
        assert client.post("/login", data=fields).status_code == 403
        assert client.post("/login", data={**fields, "csrf_token": "forged"}).status_code == 403
    with anonymous(web_server) as fresh:  # a token without the cookie it belongs to
        answer = fresh.post("/login", data={**fields, "csrf_token": csrf_from(form.text)})
        assert answer.status_code == 403
        assert fresh.get("/api/me").status_code == 401


def test_csrf_header_is_accepted_for_scripts(web_server, web_login):
    client = web_login("network")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)[1]
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 303


def test_login_failures_are_rate_limited_per_name_and_address(web_server):
    with web_server.db.writing() as cur:
        create_user(cur, "limited", PASSWORD, "network")
    with anonymous(web_server) as client:
        for _ in range(5):
            assert sign_in(client, "limited", "wrong-password").status_code == 401
        blocked = sign_in(client, "limited", PASSWORD)  # even the right password
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "Trop de tentatives" in blocked.text
        assert client.get("/api/me").status_code == 401
        assert sign_in(client, "limited-other", "wrong-password").status_code == 401


def test_throttle_window_slides():
    now = [1000.0]
    throttle = LoginThrottle(limit=2, window=60, clock=lambda: now[0])
    key = throttle.key(" Ada ", "10.0.0.1")
    assert key == ("ada", "10.0.0.1")
    throttle.failed(key)
    now[0] += 30
    throttle.failed(key)
    assert throttle.retry_after(key) == 31
    assert throttle.retry_after(throttle.key("ada", "10.0.0.2")) == 0
    now[0] += 31
    assert throttle.retry_after(key) == 0
    throttle.failed(key)
    throttle.succeeded(key)
    assert throttle.retry_after(key) == 0


def test_bearer_tokens_on_the_api(web_server):
    with web_server.db.writing() as cur:
        token = create_token(cur, "etl-ok", "network")
        store_token = create_token(cur, "etl-store", "store", [STORE_OF_MANAGER])
    with anonymous(web_server) as client:
        ok = client.get("/api/stores", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert len(ok.json()["stores"]) == 7
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json() == {
            "name": "etl-ok", "role": "network", "stores": None, "via": "token"}
        scoped = client.get("/api/stores", headers={"Authorization": f"Bearer {store_token}"})
        assert [s["store_code"] for s in scoped.json()["stores"]] == [STORE_OF_MANAGER]
        wrong = client.get("/api/stores", headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401
        # Pages are for browsers: a token does not open them.
        assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 303
        with web_server.db.writing() as cur:
            revoke_token(cur, "etl-ok")
        revoked = client.get("/api/stores", headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 401
    with web_server.db.reading() as cur:
        used = cur.execute(
            "SELECT last_used_at FROM api_tokens WHERE name = 'etl-store'").fetchone()[0]
    assert used is not None


def test_store_manager_sees_only_their_store(web_server, web_login):
    client = web_login("store")
    listed = client.get("/api/stores").json()["stores"]
    assert [s["store_code"] for s in listed] == [STORE_OF_MANAGER]
    assert client.get("/api/dashboard").json()["scope"]["stores"] == [STORE_OF_MANAGER]
    assert client.get(f"/api/stores/{STORE_OF_MANAGER}").status_code == 200
    other = client.get("/api/stores/S002")
    assert other.status_code == 403
    assert client.get("/api/stores/NOPE").status_code == 403  # no probing of codes
    page = client.get("/stores/S002")
    assert page.status_code == 403
    assert "Accès refusé" in page.text
    assert "S002" not in client.get("/stores").text


def test_network_user_sees_every_store_and_the_json_twin_matches_the_page(web_login):
    client = web_login("network")
    stores = client.get("/api/stores").json()["stores"]
    assert len(stores) == 7
    assert isinstance(stores[0]["surface_m2"], float)  # DECIMAL as a JSON number
    page = client.get("/stores").text
    for store in stores:
        assert f'href="/stores/{store["store_code"]}"' in page
    web = next(s for s in stores if s["region"] is None)
    assert client.get(f"/api/stores/{web['store_code']}").json()["store"] == web
    assert client.get("/stores/NOPE").status_code == 404


def test_scope_helpers():
    manager = User("sam", "store", ("S001", "S003"))
    boss = User("nora", "network", None)
    require_store_access(manager, "S003")
    require_store_access(boss, "S999")
    with pytest.raises(Exception, match="no access to this store") as raised:
        require_store_access(manager, "S002")
    assert raised.value.status_code == 403
    assert store_filter_sql(boss) == ("true", [])
    assert store_filter_sql(manager, "t.store_code") == (
        "list_contains(?, t.store_code)", [["S001", "S003"]])


def test_language_switch(web_server, web_login):
    client = web_login("network")
    french = client.get("/")
    assert '<html lang="fr">' in french.text
    assert "Tableau de bord réseau" in french.text
    switched = client.get("/lang/en?next=%2Fstores")
    assert switched.status_code == 303
    assert switched.headers["location"] == "/stores"
    assert "lang=en" in switched.headers["set-cookie"]
    english = client.get("/stores")
    assert '<html lang="en">' in english.text
    assert "Network dashboard" in english.text and "Log out" in english.text
    assert '<html lang="fr">' in client.get("/stores?lang=fr").text  # per-request override
    back = client.get("/lang/fr", headers={"Referer": f"{web_server.url}/stores?x=1"})
    assert back.headers["location"] == "/stores?x=1"
    elsewhere = client.get("/lang/fr", headers={"Referer": "https://evil.example/"})
    assert elsewhere.headers["location"] == "/"
    assert client.get("/lang/de").status_code == 404


def test_plotly_is_served_from_the_installed_package(web_server, web_login):
    with anonymous(web_server) as client:
        script = client.get("/static/plotly.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.content == plotly_js_path().read_bytes()
    assert plotly_js_path().parts[-3:] == ("plotly", "package_data", "plotly.min.js")
    page = web_login("network").get("/").text
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/static/app.js" in links
    assert not [link for link in links if re.match(r"[a-z]+:|//", link)]  # nothing external


def test_security_headers_and_no_inline_script(web_server, web_login):
    client = web_login("admin")
    for path in ("/", "/stores", "/api/stores", "/docs"):
        answer = client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp  # no 'unsafe-inline' for scripts
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\ssrc=)", answer.text), path
    with anonymous(web_server) as anon:
        assert anon.get("/login").headers["x-frame-options"] == "DENY"


def test_disabled_user_is_signed_out(web_server, web_login):
    with web_server.db.writing() as cur:
        create_user(cur, "leaving", PASSWORD, "marketing")
    with anonymous(web_server) as client:
        assert sign_in(client, "leaving", PASSWORD).status_code == 303
        assert client.get("/api/me").status_code == 200
        with web_server.db.writing() as cur:
            disable_user(cur, "leaving")
        assert client.get("/api/me").status_code == 401
        assert sign_in(client, "leaving", PASSWORD).status_code == 401


def test_openapi_documents_the_api_only(web_server):
    with anonymous(web_server) as client:
        schema = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert {"/api/stores", "/api/stores/{code}", "/api/dashboard", "/api/me"} <= set(
        schema["paths"])
    assert not {"/", "/stores", "/login", "/logout"} & set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert docs.status_code == 200
    assert "/api/stores/{code}" in docs.text
    assert "cdn" not in docs.text.lower()


def test_sessions_survive_a_restart_and_the_key_is_kept_in_the_database(tmp_path):
    path = tmp_path / "restart.duckdb"
    con = connect(path)
    migrate(con)
    create_user(con, "ada", PASSWORD, "admin")
    con.close()
    with running_server(path) as server, anonymous(server) as client:
        sign_in(client, "ada", PASSWORD)
        cookie = client.cookies[SESSION_COOKIE]
    with running_server(path) as server:
        with httpx.Client(base_url=server.url, cookies={SESSION_COOKIE: cookie}) as client:
            assert client.get("/api/me").json()["name"] == "ada"
        with server.db.reading() as cur:
            stored = cur.execute("SELECT value FROM app_settings WHERE name = 'secret_key'")
            assert len(stored.fetchone()[0]) >= 32
    with running_server(path, secret_key="k" * 40) as server:  # another key: cookie refused
        with httpx.Client(base_url=server.url, cookies={SESSION_COOKIE: cookie}) as client:
            assert client.get("/api/me").status_code == 401


def test_secret_key_setting(tmp_path):
    con = connect(tmp_path / "k.duckdb")
    migrate(con)
    db = Database(con)
    generated = resolve_secret_key(db, None)
    assert resolve_secret_key(db, None) == generated
    assert resolve_secret_key(db, "s" * 32) == "s" * 32
    with pytest.raises(ValueError, match="too short"):
        resolve_secret_key(db, "short")
    db.close()


def test_user_and_token_functions(stores):
    con = stores
    create_user(con, "sam", PASSWORD, "store", ["S02", "S01", "S01"])
    assert authenticate(con, "sam", PASSWORD) == User("sam", "store", ("S01", "S02"))
    assert authenticate(con, "sam", PASSWORD + "x") is None
    assert authenticate(con, "nobody", PASSWORD) is None
    stored = con.execute("SELECT password_hash FROM users WHERE name = 'sam'").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    for bad in [("x", PASSWORD, "chef", None), ("x", PASSWORD, "store", None),
                ("x", PASSWORD, "store", ["S99"]), ("x", PASSWORD, "network", ["S01"]),
                ("x", "short", "admin", None), ("sam", PASSWORD, "admin", None),
                ("bad name", PASSWORD, "admin", None)]:
        with pytest.raises(UserError):
            create_user(con, *bad)
    token = create_token(con, "etl")
    assert verify_token(con, token) == User("etl", "network", None, via="token")
    assert token not in json.dumps(con.execute("SELECT * FROM api_tokens").fetchall(),
                                   default=str)
    revoke_token(con, "etl")
    assert verify_token(con, token) is None
    with pytest.raises(UserError):
        revoke_token(con, "etl")
