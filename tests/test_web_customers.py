"""Customer search and profile pages (and JSON twins) against a real uvicorn over the demo chain."""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

import pytest

from enseigne.privacy import audit
from enseigne.privacy.gate import READERS
from web_fixtures import STORE_OF_MANAGER

UNKNOWN_REF = "C9999999"
PROFILE_KEYS = {
    "as_of", "customer", "age", "consents", "reachability", "purchases", "rfm",
    "preferred_store", "stores_used", "channels_used", "top_categories", "tickets", "surveys",
    "feedback", "flags",
}


@pytest.fixture(scope="module")
def refs(web_server) -> dict[str, Any]:
    """A customer of the manager's store who bought there, and one who never went there."""
    with web_server.db.reading() as cur:
        inside = cur.execute(
            "SELECT c.customer_ref, c.last_name, c.first_name FROM customers c "
            "WHERE c.store_code = ? "
            "AND c.customer_ref IN (SELECT customer_ref FROM tickets WHERE amount > 0) "
            "ORDER BY c.customer_ref LIMIT 1",
            [STORE_OF_MANAGER],
        ).fetchone()
        outside = cur.execute(
            "SELECT customer_ref FROM customers WHERE store_code <> ? AND customer_ref NOT IN "
            "(SELECT customer_ref FROM tickets WHERE store_code = ? AND customer_ref IS NOT NULL)"
            " ORDER BY customer_ref LIMIT 1",
            [STORE_OF_MANAGER, STORE_OF_MANAGER],
        ).fetchone()
    # First and last name: a common last name alone has more namesakes than a page holds.
    return {"inside": inside[0], "inside_name": inside[1],
            "inside_query": f"{inside[2]} {inside[1]}", "outside": outside[0]}


def audit_rows(web_server, action: str) -> list[dict[str, Any]]:
    with web_server.db.reading() as cur:
        return [e for e in audit.entries(cur, limit=1000) if e["action"] == action]


@pytest.mark.parametrize("role", ["admin", "marketing", "dpo"])
def test_readers_search_and_open_profiles(web_login, web_server, refs, role):
    client = web_login(role)
    found = client.get("/api/customers", params={"q": refs["inside_query"]})
    assert found.status_code == 200
    body = found.json()
    assert set(body) == {"query", "limit", "results"}
    assert refs["inside"] in [r["customer_ref"] for r in body["results"]]
    assert set(body["results"][0]) == {
        "customer_ref", "first_name", "last_name", "email", "city", "store_code",
        "last_purchase"}
    for ref in (refs["inside"], refs["outside"]):
        assert client.get(f"/customers/{ref}").status_code == 200
    profile = client.get(f"/api/customers/{refs['inside']}").json()
    assert set(profile) == PROFILE_KEYS
    assert profile["customer"]["customer_ref"] == refs["inside"]
    assert profile["purchases"]["sales_tickets"] > 0 and profile["tickets"]
    assert isinstance(profile["rfm"]["monetary"], int | float)  # DECIMAL as a JSON number
    assert set(profile["reachability"]) == {"email", "sms"}


def test_network_role_gets_403(web_login, refs):
    client = web_login("network")
    for path in ("/customers", f"/customers/{refs['inside']}"):
        assert client.get(path, params={"q": "a"}).status_code == 403
        assert client.get("/api" + path, params={"q": "a"}).status_code == 403


def test_store_manager_scope_and_no_existence_leak(web_login, web_server, refs):
    client = web_login("store")
    assert client.get(f"/customers/{refs['inside']}").status_code == 200
    outside = client.get(f"/api/customers/{refs['outside']}")
    unknown = client.get(f"/api/customers/{UNKNOWN_REF}")
    assert outside.status_code == unknown.status_code == 403
    assert outside.json() == unknown.json()
    assert client.get(f"/customers/{refs['outside']}").status_code == 403
    found = client.get("/api/customers", params={"q": refs["outside"]}).json()
    assert found["results"] == []
    reads = [e["customer_ref"] for e in audit_rows(web_server, "read") if e["actor"] == "sam"]
    assert refs["outside"] not in reads and UNKNOWN_REF not in reads


def test_reads_and_searches_are_logged_with_the_web_origin(web_login, web_server, refs):
    client = web_login("marketing")
    client.get(f"/customers/{refs['inside']}")
    client.get("/customers", params={"q": refs["inside_query"]})
    read = audit_rows(web_server, "read")[0]
    assert (read["actor"], read["customer_ref"], read["origin"]) == (
        "marc", refs["inside"], "web 127.0.0.1")
    search = audit_rows(web_server, "search")[0]
    assert search["actor"] == "marc" and search["customer_ref"] is None
    assert refs["inside_name"] not in (search["detail"] or "")


def test_pages_in_french_and_english(web_login, refs):
    client = web_login("admin")
    search = htmllib.unescape(client.get("/customers", params={"q": refs["inside_query"]}).text)
    assert 'role="search"' in search and "Rechercher un client" in search
    assert f'href="/customers/{refs["inside"]}"' in search
    profile = htmllib.unescape(client.get(f"/customers/{refs['inside']}").text)
    for section in ("identity-title", "contact-title", "purchases-title", "stores-title",
                    "tickets-title", "voice-title"):
        assert f'id="{section}"' in profile
    assert "Fiche client" in profile and "Derniers tickets" in profile
    assert re.search(r"\d{2}/\d{2}/\d{4}", profile)  # dates in the French format
    assert re.search(r"\d,\d{2}\s€", profile)  # money in the French format
    english = htmllib.unescape(client.get(f"/customers/{refs['inside']}?lang=en").text)
    assert "Customer profile" in english and "Latest tickets" in english
    assert re.search(r"€\d", english)


@pytest.mark.parametrize("role", ["admin", "network", "marketing", "store", "dpo"])
def test_customers_link_only_for_roles_that_read_people(web_login, role):
    page = web_login(role).get("/stores").text
    assert ('href="/customers"' in page) == (role in READERS)


@pytest.mark.slow
def test_browser_search_then_open_profile(web_server, web_users, browser_page, refs):
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    user = web_users["marketing"]
    page.goto(f"{web_server.url}/login?next=/customers")
    page.get_by_label("Identifiant").fill(user.name)
    page.get_by_label("Mot de passe").fill(user.password)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Clients").click()
    page.get_by_label("Rechercher un client").fill(refs["inside_query"])
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_url(re.compile(r".*/customers\?q=.*"))
    page.locator(f'a[href="/customers/{refs["inside"]}"]').click()
    page.wait_for_url(f"{web_server.url}/customers/{refs['inside']}")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Fiche client")
    assert page.get_by_role("heading", name="Derniers tickets").is_visible()
    page.locator(".ticket-list summary").first.click()
    assert page.locator(".ticket-list table").first.is_visible()
    assert problems == []
