"""The dashboard in a real Chromium: picker, sorting, like-for-like, English, links, XLSX."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest

from web_fixtures import STORE_OF_MANAGER, browser_sign_in

REVENUE_VALUE = "Valeur — Chiffre d'affaires TTC"


def flat_revenues(page: Any) -> list[tuple[str, float]]:
    """(store code, revenue) of the table's rows, in the order shown (flat mode)."""
    return page.evaluate("""() => [...document.querySelectorAll("tbody.flat tr.store")]
        .map(row => [row.dataset.code, Number(row.cells[1].dataset.value)])""")


@pytest.mark.slow
def test_dashboard_picker_sort_lfl_language_links_and_xlsx(web_server, web_users, browser_page):
    page = browser_page
    problems = browser_sign_in(page, web_server, web_users["network"])
    assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord réseau"
    table = page.locator("#kpi-table")
    assert table.is_visible()
    twin = page.request.get(f"{web_server.url}/api/dashboard").json()
    assert table.locator("tr.store").count() == len(twin["stores"]) > 1

    # The picker: switching to a week fills the field with the week of the same days.
    page.get_by_label("Période", exact=True).select_option("week")
    value = page.get_by_label("Valeur", exact=True)
    assert value.get_attribute("type") == "week"
    assert re.fullmatch(r"\d{4}-W\d\d", value.input_value())
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(r".*kind=week.*"))
    assert page.locator("#period-title").inner_text().startswith("Semaine ")

    # Sorting across the network, by revenue: descending first, then ascending.
    page.get_by_label("Trier sur tout le réseau (sans les régions)").check()
    button = page.get_by_role("button", name=REVENUE_VALUE)
    button.click()
    header = page.locator("th", has=button)
    assert header.get_attribute("aria-sort") == "descending"
    down = flat_revenues(page)
    assert [v for _, v in down] == sorted((v for _, v in down), reverse=True)
    button.press("Enter")  # the keyboard works too
    assert header.get_attribute("aria-sort") == "ascending"
    up = flat_revenues(page)
    assert [code for code, _ in up] == [code for code, _ in reversed(down)]
    assert "croissant" in page.locator("#sort-status").inner_text()

    # Like-for-like.
    page.get_by_label("À périmètre comparable").check()
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(r".*lfl=1.*"))
    assert page.get_by_text("À périmètre comparable.").is_visible()
    assert page.get_by_label("À périmètre comparable").is_checked()

    # English: labels and number formats change.
    french_total = page.locator("tbody.network td").first.inner_text()
    assert french_total.endswith("€")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Network dashboard"
    assert page.locator("tbody.network td").first.inner_text().startswith("€")
    assert page.get_by_label("Like-for-like").is_checked()  # the query survived the switch

    # The XLSX download, in the page's language.
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX").click()
    assert re.fullmatch(r"dashboard-\d{4}-W\d\d\.xlsx", download.value.suggested_filename)
    book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    sheet = book.worksheets[0]
    assert sheet["A1"].value == "Level" and sheet["A2"].value == "Network"
    assert isinstance(sheet["E2"].value, float)

    # A store's name opens its page.
    page.locator(f'tr.store[data-code="{STORE_OF_MANAGER}"] th a').click()
    page.wait_for_url(f"{web_server.url}/stores/{STORE_OF_MANAGER}")
    assert page.get_by_role("heading", level=1).is_visible()
    assert problems == []  # no CSP violation, no script error


@pytest.mark.slow
def test_dashboard_fits_a_tablet(web_server, web_users, chromium):
    context = chromium.new_context(viewport={"width": 800, "height": 1100})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems = browser_sign_in(page, web_server, web_users["network"])
        # The page itself does not scroll sideways; the table does, inside its box, and the
        # store names stay in view.
        assert page.evaluate("document.documentElement.scrollWidth") <= 800
        box = page.locator(".kpi-section .table-scroll")
        assert box.evaluate("el => el.scrollWidth > el.clientWidth")
        name = page.locator("tbody.group tr.store th").first
        before = name.bounding_box()["x"]
        box.evaluate("el => { el.scrollLeft = 600; }")
        assert name.bounding_box()["x"] == pytest.approx(before, abs=1)
        assert problems == []
    finally:
        context.close()
