"""A real Chromium: sign in through the form, read French, switch to English, sign out."""

from __future__ import annotations

import re

import pytest

from web_fixtures import browser_sign_in


@pytest.mark.slow
def test_login_french_english_logout(web_server, web_users, browser_page):
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{web_server.url}/stores")
    assert page.url.startswith(f"{web_server.url}/login?next=")
    assert page.locator("html").get_attribute("lang") == "fr"

    user = web_users["network"]
    page.get_by_label("Identifiant").fill(user.name)
    page.get_by_label("Mot de passe").fill(user.password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{web_server.url}/stores")
    assert page.get_by_role("heading", level=1).inner_text() == "Magasins"
    nav = page.get_by_role("navigation", name="Navigation principale")
    assert nav.get_by_role("link", name="Tableau de bord réseau").is_visible()
    assert nav.get_by_role("link", name="Magasins").get_attribute("aria-current") == "page"
    assert page.locator(".user-name").inner_text() == user.name
    assert page.locator(".user-role").inner_text() == "Direction réseau"
    assert page.get_by_role("row").count() == 8  # header + 7 stores
    page.keyboard.press("Tab")  # the skip link comes first for keyboard users
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{web_server.url}/stores")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Stores"
    assert page.get_by_role("link", name="Network dashboard").is_visible()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/login$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    page.goto(f"{web_server.url}/")
    assert "/login" in page.url
    assert problems == []  # no CSP violation, no script error


@pytest.mark.slow
def test_wrong_password_shows_an_alert(web_server, browser_page):
    page = browser_page
    page.goto(f"{web_server.url}/login")
    page.get_by_label("Identifiant").fill("nora")
    page.get_by_label("Mot de passe").fill("pas le bon")
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("alert").inner_text() == "Identifiant ou mot de passe incorrect."
    assert page.get_by_label("Identifiant").input_value() == "nora"


@pytest.mark.slow
def test_plotly_draws_under_our_content_security_policy(web_server, web_users, browser_page):
    """The dashboard's charts: plotly.min.js from our server, a bar chart, no CSP violation."""
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{web_server.url}/login")
    user = web_users["network"]
    page.get_by_label("Identifiant").fill(user.name)
    page.get_by_label("Mot de passe").fill(user.password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{web_server.url}/")
    page.add_script_tag(url="/static/plotly.min.js")
    page.evaluate("""() => {
        const box = document.createElement("div");
        box.id = "chart";
        document.querySelector("main").append(box);
        return Plotly.newPlot(box, [{type: "bar", x: ["S001", "S002"], y: [3, 5]}]);
    }""")
    assert page.locator("#chart .bars .point").count() == 2
    assert problems == []


@pytest.mark.slow
def test_a_store_manager_opening_another_stores_url_gets_403(web_server, web_users, browser_page):
    page = browser_page
    user = web_users["store"]
    browser_sign_in(page, web_server, user)
    own = page.goto(f"{web_server.url}/stores/{user.stores[0]}")
    assert own.status == 200
    other = page.goto(f"{web_server.url}/stores/S002")
    assert other.status == 403
    assert "S002" not in page.locator("main").inner_text()
    listed = page.goto(f"{web_server.url}/stores")
    assert listed.status == 200
    assert page.get_by_role("row").count() == 2  # header + their one store
