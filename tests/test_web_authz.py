"""The authorization matrix: every GET route x every role, through a session and a token
(and the erasure's POST routes, which only admin and dpo pass).

Routes are read from the running app, so a page added later is checked too. A store
manager (S001) gets 403 on another store's URL and never a 5xx; every other role reads
every page and its JSON twin.
"""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

from enseigne.web.users import create_token
from web_fixtures import app_routes, csrf_from

ROLES = ("admin", "network", "marketing", "store", "dpo")
OWN, OTHER = "S001", "S002"
SKIPPED = {"/logout", "/login", "/lang/{lang}"}  # sign-in pages; the language switch redirects


def get_routes(app) -> list[str]:
    paths = {r.path for r in app_routes(app) if "GET" in r.methods and r.path not in SKIPPED}
    assert {"/", "/api/dashboard", "/stores/{code}", "/customers"} <= paths
    return sorted(paths)


def expected(role: str, path: str, store: str | None) -> int:
    if path in ("/audit", "/api/audit"):  # the access log: the DPO's (and the admin's)
        return 200 if role in ("admin", "dpo") else 403
    if path.startswith(("/customers", "/api/customers")):
        if role == "network":
            return 403  # figures, not people
        # The placeholder codes are unknown customers: refused like any one out of scope.
        return 403 if "{ref}" in path else 200
    return 403 if role == "store" and store == OTHER else 200


def concrete(path: str, store: str) -> str:
    return re.sub(r"\{[^}]+\}", store, path)


@pytest.fixture(scope="module")
def tokens(web_server) -> dict[str, str]:
    made = {}
    with web_server.db.writing() as cur:
        for role in ROLES:
            token_name = f"matrix-{role}-{secrets.token_hex(3)}"
            stores = [OWN] if role == "store" else None
            made[role] = create_token(cur, token_name, role, stores)
    return made


def check(client: httpx.Client, app, role: str, api_only: bool) -> list[str]:
    wrong = []
    for path in get_routes(app):
        if api_only and not path.startswith("/api"):
            continue
        stores = [OWN, OTHER] if "{" in path else [None]
        for store in stores:
            url = concrete(path, store) if store else path
            answer = client.get(url)
            want = expected(role, path, store)
            if answer.status_code != want:
                wrong.append(f"{role} GET {url}: {answer.status_code} (expected {want})")
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_twin_for_a_signed_in_role(web_server, web_login, role) -> None:
    client = web_login(role)
    assert check(client, web_server.app, role, api_only=False) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_for_a_bearer_token(web_server, tokens, role) -> None:
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    with httpx.Client(base_url=web_server.url, headers=headers, timeout=60) as client:
        assert check(client, web_server.app, role, api_only=True) == []


# --- the erasure (POST): nothing is erased on the session's server ----------------------

ERASERS = ("admin", "dpo")


def erase_statuses(client: httpx.Client, ref: str, csrf: dict[str, str]) -> list[int]:
    """A known customer with a wrong confirmation, and an unknown one confirmed."""
    return [
        client.post(f"/api/customers/{ref}/erase", json={"confirm": "not-" + ref},
                    headers=csrf).status_code,
        client.post("/api/customers/C404/erase", json={"confirm": "C404"},
                    headers=csrf).status_code,
    ]


@pytest.mark.parametrize("role", ROLES)
def test_erasure_routes_for_each_role(web_server, web_login, tokens, role) -> None:
    with web_server.db.reading() as cur:
        ref = cur.execute("SELECT min(customer_ref) FROM customers WHERE store_code = ?",
                          [OWN]).fetchone()[0]
    client = web_login(role)
    token = csrf_from(client.get("/").text)
    wrong = 422 if role in ERASERS else 403  # the confirmation is checked after the role
    assert erase_statuses(client, ref, {"X-CSRF-Token": token}) == [wrong, 403]
    form = client.post(f"/customers/{ref}/erase", data={"csrf_token": token, "confirm": "x"})
    assert form.status_code == wrong
    bearer = {"Authorization": f"Bearer {tokens[role]}"}
    with httpx.Client(base_url=web_server.url, headers=bearer, timeout=60) as api:
        assert erase_statuses(api, ref, {}) == [wrong, 403]
    with web_server.db.reading() as cur:
        assert cur.execute("SELECT count(*) FROM customers WHERE customer_ref = ?",
                           [ref]).fetchone()[0] == 1
