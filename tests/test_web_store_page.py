"""The store page and its JSON twin against a real uvicorn over the small demo chain."""

from __future__ import annotations

import html as htmllib
import re

import httpx
import pytest

from enseigne.metrics.store_view import CARD_KPIS, TREND_KPIS
from enseigne.web import formats
from web_fixtures import STORE_OF_MANAGER, sign_in

SECTIONS = ("cards-title", "trend-title", "tree-title", "sellers-title", "satisfaction-title",
            "verbatims-title")


@pytest.fixture(scope="module")
def overview(web_server, web_users):
    """The JSON twin of the manager's store, as the network director sees it."""
    with httpx.Client(base_url=web_server.url, timeout=60) as client:
        user = web_users["network"]
        assert sign_in(client, user.name, user.password).status_code == 303
        answer = client.get(f"/api/stores/{STORE_OF_MANAGER}")
        assert answer.status_code == 200, answer.text
        return answer.json()


def test_json_twin_has_every_section(overview):
    assert set(overview) == {"store", "period", "n1_period", "cards", "trend", "revenue_tree",
                             "sellers", "satisfaction", "verbatims", "kpis"}
    assert overview["store"]["store_code"] == STORE_OF_MANAGER
    assert [c["kpi"] for c in overview["cards"]] == list(CARD_KPIS)
    revenue = overview["cards"][0]
    assert revenue["value"] > 0 and revenue["n1"] > 0  # two years of demo history
    trend = overview["trend"]
    assert trend["step"] == "day" and len(trend["buckets"]) == 56
    assert trend["buckets"][-1]["end"] == overview["period"]["end"]
    assert set(trend["series"]) == set(TREND_KPIS)
    assert all(len(s["value"]) == len(s["n1"]) == 56 for s in trend["series"].values())
    assert overview["kpis"]["revenue"]["label"]["fr"] == "Chiffre d'affaires TTC"


def test_json_twin_tree_adds_up_and_sellers_are_ranked(overview):
    tree = overview["revenue_tree"]
    assert tree["decomposable"] is True  # demo stores count their visitors
    explained = sum(f["contribution"] for f in tree["factors"])
    explained += tree["residual"]["change"] if tree["residual"] else 0.0
    assert explained == pytest.approx(tree["total"]["change"], rel=1e-9)
    assert tree["total"]["value"] == pytest.approx(overview["cards"][0]["value"])
    rates = [s["kpis"]["identified_rate"]["value"] for s in overview["sellers"]]
    assert rates and rates == sorted(rates, reverse=True)
    assert all(s["seller_code"].startswith(STORE_OF_MANAGER) for s in overview["sellers"])


def test_json_twin_shows_verbatims_without_customers(overview):
    verbatims = overview["verbatims"]
    assert verbatims["surveys"] or verbatims["feedback"]
    for row in verbatims["surveys"] + verbatims["feedback"]:
        assert not {"customer_ref", "email", "first_name", "last_name"} & set(row)
    days = [v["answered_at"] for v in verbatims["surveys"]]
    assert days == sorted(days, reverse=True)
    assert all(d[:10] <= overview["period"]["end"] for d in days)


def test_page_renders_the_sections_with_the_twins_figures(web_login, overview):
    client = web_login("network")
    page = client.get(f"/stores/{STORE_OF_MANAGER}")
    assert page.status_code == 200
    html = page.text
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    revenue = overview["cards"][0]
    assert formats.money(revenue["value"], "fr") in html
    assert '<script type="application/json" id="store-data">' in html
    assert '<script src="/static/store.js" defer></script>' in html
    assert "Arbre du chiffre d'affaires" in htmllib.unescape(html)
    english = client.get(f"/stores/{STORE_OF_MANAGER}?lang=en").text
    assert "Revenue tree" in english and formats.money(revenue["value"], "en") in english


def test_web_store_has_no_tree_and_no_sellers(web_login):
    """The online store counts no visitors and has no sellers: the page says so."""
    client = web_login("network")
    body = client.get("/api/stores/WEB").json()
    tree = body["revenue_tree"]
    assert tree["decomposable"] is False and tree["counted_days"] == {"value": 0, "n1": 0}
    assert tree["residual"]["value"] == pytest.approx(tree["total"]["value"])
    assert body["sellers"] == []
    page = htmllib.unescape(client.get("/stores/WEB").text)
    assert "Décomposition impossible" in page
    assert "Aucune vente rattachée à un vendeur sur la période." in page
    assert 'id="tree-chart"' not in page


def test_period_parameter_and_its_errors(web_login, overview):
    client = web_login("network")
    month = overview["period"]["start"][:7]
    answer = client.get(f"/api/stores/{STORE_OF_MANAGER}", params={"period": month})
    assert answer.status_code == 200
    assert answer.json()["period"]["label"] == month
    assert answer.json()["period"]["kind"] == "month"
    bad = client.get(f"/api/stores/{STORE_OF_MANAGER}", params={"period": "novembre"})
    assert bad.status_code == 400
    assert "période illisible" in bad.json()["detail"]
    assert client.get(f"/stores/{STORE_OF_MANAGER}?period=novembre").status_code == 400


def test_trend_api_gives_other_steps(web_login, overview):
    client = web_login("network")
    url = f"/api/stores/{STORE_OF_MANAGER}/trend"
    week = client.get(url, params={"step": "week", "kpi": ["revenue", "footfall"]}).json()
    assert week["step"] == "week" and len(week["buckets"]) == 26
    assert set(week["series"]) == {"revenue", "footfall"}
    assert re.fullmatch(r"\d{4}-W\d{2}", week["buckets"][0]["label"])
    month = client.get(url, params={"step": "month"}).json()
    assert len(month["buckets"]) == 12
    assert month["end"] == overview["period"]["end"]
    assert client.get(url, params={"step": "hour"}).status_code == 422
    assert client.get(url, params={"kpi": "nps"}).status_code == 400


def test_store_manager_sees_only_their_store(web_login):
    client = web_login("store")
    assert client.get(f"/api/stores/{STORE_OF_MANAGER}").status_code == 200
    for path in ("/stores/S002", "/api/stores/S002", "/api/stores/S002/trend",
                 "/stores/NOPE", "/api/stores/NOPE"):
        assert client.get(path).status_code == 403, path


def test_unknown_store_is_404(web_login):
    client = web_login("network")
    for path in ("/stores/NOPE", "/api/stores/NOPE", "/api/stores/NOPE/trend"):
        assert client.get(path).status_code == 404, path
    assert "Page introuvable" in client.get("/stores/NOPE").text


@pytest.mark.slow
def test_browser_draws_the_trend_and_switches_to_weeks(web_server, web_users, browser_page):
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    user = web_users["store"]
    page.goto(f"{web_server.url}/stores/{STORE_OF_MANAGER}")  # -> the login form, then back
    page.get_by_label("Identifiant").fill(user.name)
    page.get_by_label("Mot de passe").fill(user.password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{web_server.url}/stores/{STORE_OF_MANAGER}")

    chart = page.locator("#trend-chart")
    chart.locator("svg.main-svg").first.wait_for()
    assert chart.get_attribute("data-step") == "day"
    assert page.evaluate("document.getElementById('trend-chart').data[0].x.length") == 56
    assert page.evaluate("document.getElementById('trend-chart').data[1].line.dash") == "dash"
    page.locator("#tree-chart svg.main-svg").first.wait_for()

    page.locator("label[for='step-week']").click()  # the radio's label is the button
    assert page.get_by_label("Semaine").is_checked()
    page.wait_for_selector('#trend-chart[data-step="week"]')
    assert page.evaluate("document.getElementById('trend-chart').data[0].x.length") == 26
    page.get_by_label("Indicateur", exact=True).select_option("conversion_rate")
    page.wait_for_selector('#trend-chart[data-kpi="conversion_rate"]')
    assert problems == []  # no CSP violation, no script error
