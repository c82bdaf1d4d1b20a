"""The network dashboard against a real uvicorn: JSON twin, period, scope, exports, cache."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest

from enseigne.db import connect
from enseigne.demo import build_demo
from enseigne.ingest import import_file
from enseigne.metrics import compute_kpis, duckdb_backend, parse_period
from enseigne.metrics.dashboard import MAIN_KPIS, default_period
from enseigne.web.cache import ResultCache, data_version
from enseigne.web.dashboard.query import (
    QueryError,
    navigation,
    parse_query,
    picker_values,
    shifted,
)
from enseigne.web.users import create_user
from enseigne.web.xlsx import Column, Sheet, column_letter, workbook
from web_fixtures import PASSWORD, STORE_OF_MANAGER, RunningServer, running_server, sign_in

PAST_TODAY = dt.date(2025, 3, 18)  # the last day of the "past" chain's data


def latest_month(server: RunningServer) -> str:
    """The last complete month of the shared demo chain."""
    with server.db.reading() as cur:
        last = cur.execute("SELECT max(sold_at)::DATE FROM tickets").fetchone()[0]
    first_of_month = last.replace(day=1)
    return (first_of_month - dt.timedelta(days=1)).strftime("%Y-%m")


def reference(server: RunningServer, grain: str, period: str, stores=None) -> dict:
    """compute_kpis on the server's own database: {(scope, kpi): record}."""
    with server.db.reading() as cur:
        records = compute_kpis(
            duckdb_backend(cur), MAIN_KPIS, grain, parse_period(period),
            compare=("n-1", "target"), stores=stores,
        )
    return {(r["scope"], r["kpi"]): r for r in records}


def csv_rows(response: httpx.Response, delimiter: str) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")),
                           delimiter=delimiter))


# --- the JSON twin -------------------------------------------------------------------


def test_json_twin_values_equal_compute_kpis(web_server, web_login):
    month = latest_month(web_server)
    body = web_login("network").get(f"/api/dashboard?period={month}").json()
    assert body["period"]["start"] == f"{month}-01"
    assert body["to_date"] is False
    assert [c["id"] for c in body["columns"]] == list(MAIN_KPIS)
    stores = reference(web_server, "store", month)
    network = reference(web_server, "network", month)
    row = next(r for r in body["stores"] if r["scope"] == STORE_OF_MANAGER)
    for kpi in MAIN_KPIS:
        expected = stores[(STORE_OF_MANAGER, kpi)]
        cell = row["kpis"][kpi]
        for key in ("value", "n1", "target", "achievement", "rank", "rank_region"):
            assert cell[key] == pytest.approx(expected[key]), (kpi, key)
        total = network[("network", kpi)]
        assert body["network"]["kpis"][kpi]["value"] == pytest.approx(total["value"]), kpi
    revenue = row["kpis"]["revenue"]
    assert revenue["change"] == pytest.approx(revenue["value"] / revenue["n1"] - 1)
    verdict = "good" if revenue["change"] > 0 else "bad"
    assert revenue["change_verdict"] == verdict
    assert body["network"]["name"] == "Réseau"
    assert {r["scope"] for r in body["stores"]} == {s for s, _ in stores}


def test_json_twin_shape_regions_web_group_and_labels(web_server, web_login):
    body = web_login("network").get("/api/dashboard?lang=en").json()
    regions = [r["scope"] for r in body["regions"]]
    assert regions.index("Île-de-France") < regions.index("Occitanie")  # read as "I"
    codes = [s["scope"] for s in body["stores"]]
    assert codes[-1] == "WEB"  # the web store, without region, comes last
    assert body["regions"][0]["label"] == f"Total {regions[0]}"
    revenue = next(c for c in body["columns"] if c["id"] == "revenue")
    assert revenue["label"] == "Revenue (incl. VAT)"
    assert revenue["definition"].startswith("Sum of line amounts")
    conversion = next(c for c in body["columns"] if c["id"] == "conversion_rate")
    assert (conversion["unit"], conversion["change_kind"]) == ("pct", "points")
    assert body["leaders"] and {"scope", "basis", "score"} <= set(body["leaders"][0])
    for found in body["anomalies"]:
        assert found["kpi_label"] and found["low"] <= found["expected"] <= found["high"]
    assert body["navigation"]["previous"].startswith("/?period=")


def test_columns_can_be_chosen_and_unknown_ones_are_refused(web_login):
    client = web_login("network")
    body = client.get("/api/dashboard?kpis=upt,revenue&kpis=return_rate").json()
    assert [c["id"] for c in body["columns"]] == ["revenue", "upt", "return_rate"]
    assert "kpis=revenue%2Cupt%2Creturn_rate" in body["exports"]["csv"]
    bad = client.get("/api/dashboard?kpis=revenue,chiffre")
    assert bad.status_code == 400
    assert "chiffre" in bad.json()["detail"]


@pytest.mark.parametrize("query, fragment", [
    ("period=2026-13", "Période illisible"),
    ("period=novembre", "Période illisible"),
    ("kind=decade", "Type de période inconnu"),
    ("from=2026-11-10&to=2026-11-01", "fin précède"),
    ("from=2026-11-10", "date de début et une date de fin"),
    ("from=10/11/2026&to=2026-11-20", "Date illisible"),
    ("lfl=peut-etre", "périmètre comparable"),
])
def test_a_bad_parameter_is_a_400_with_a_message(web_login, query, fragment):
    client = web_login("network")
    api = client.get(f"/api/dashboard?{query}")
    assert api.status_code == 400
    assert fragment in api.json()["detail"]
    page = client.get(f"/?{query}")
    assert page.status_code == 400
    assert fragment in page.text.replace("&#39;", "'")
    assert 'role="alert"' in page.text and 'name="period"' in page.text  # the picker stays
    assert "Traceback" not in page.text


def test_the_page_of_a_bad_period_keeps_the_text_to_correct(web_login):
    page = web_login("network").get("/?kind=quarter&period=2026-T5")
    assert page.status_code == 400
    assert 'value="2026-T5"' in page.text
    assert '<option value="quarter" selected>' in page.text


def test_english_page_labels_and_number_format(web_login):
    client = web_login("network")
    french = client.get("/").text
    assert "Chiffre d'affaires TTC" in french.replace("&#39;", "'")
    assert re.search(r"\d\u202f?\d{3},\d\d\u00a0€", french)  # 31 974,08 €
    english = client.get("/?lang=en").text
    assert "Revenue (incl. VAT)" in english and "Like-for-like" in english
    assert re.search(r"€\d{1,3},\d{3}\.\d\d", english)  # €31,974.08


def test_the_page_has_the_table_picker_links_and_accessible_headers(web_login):
    html = web_login("network").get("/").text
    assert '<select id="kind" name="kind">' in html
    assert '<label for="kind">' in html and '<label for="lfl">' in html
    assert 'aria-describedby="def-revenue"' in html
    assert 'title="Somme des montants des lignes' in html
    assert 'href="/stores/S001"' in html
    assert 'class="subtotal"' in html and 'class="total"' in html
    assert '<th scope="rowgroup"' in html and ">Web</th>" in html
    assert 'href="/dashboard.xlsx?period=' in html and 'href="/dashboard.csv?period=' in html
    assert "<script>" not in html  # CSP: no inline script


def test_like_for_like_keeps_only_stores_open_in_both_periods(web_server, web_login):
    month = latest_month(web_server)
    client = web_login("network")
    plain = client.get(f"/api/dashboard?period={month}").json()
    lfl = client.get(f"/api/dashboard?period={month}&lfl=1").json()
    assert lfl["like_for_like"] is True
    with web_server.db.reading() as cur:
        period = parse_period(month)
        from enseigne.metrics import like_for_like_stores, n1_period

        comparable = set(like_for_like_stores(duckdb_backend(cur), period, n1_period(period)))
    assert {s["scope"] for s in lfl["stores"]} <= comparable
    assert {s["scope"] for s in lfl["stores"]} <= {s["scope"] for s in plain["stores"]}


def test_openapi_documents_the_twin_and_the_exports(web_server):
    schema = httpx.get(f"{web_server.url}/openapi.json").json()
    operation = schema["paths"]["/api/dashboard"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"period", "kind", "from", "to", "lfl", "kpis"} <= names
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/Dashboard")
    assert "Cell" in schema["components"]["schemas"]
    assert "/api/dashboard.xlsx" in schema["paths"] and "/api/dashboard.csv" in schema["paths"]
    assert "/dashboard.csv" not in schema["paths"]


# --- a store manager sees their stores only ---------------------------------------------


def test_store_manager_sees_only_their_stores_everywhere(web_server, web_login):
    month = latest_month(web_server)
    client = web_login("store")
    body = client.get(f"/api/dashboard?period={month}").json()
    assert [s["scope"] for s in body["stores"]] == [STORE_OF_MANAGER]
    assert body["scope"] == {"restricted": True, "stores": [STORE_OF_MANAGER],
                             "label": "Mes magasins", "store_count": 1}
    assert [r["stores"] for r in body["regions"]] == [[STORE_OF_MANAGER]]
    assert body["regions"][0]["label"].endswith("(mes magasins)")
    mine = reference(web_server, "network", month, stores=(STORE_OF_MANAGER,))
    store = body["stores"][0]["kpis"]
    for kpi in ("revenue", "tickets", "footfall"):
        # the "network" of a store manager is their store: totals over it only
        assert body["network"]["kpis"][kpi]["value"] == pytest.approx(mine[("network", kpi)]
                                                                      ["value"])
        assert body["network"]["kpis"][kpi]["value"] == pytest.approx(store[kpi]["value"])
    assert {a["store_code"] for a in body["anomalies"]} <= {STORE_OF_MANAGER}
    assert {e["scope"] for e in body["leaders"] + body["laggards"]} <= {STORE_OF_MANAGER}

    html = client.get(f"/?period={month}").text
    assert "Mes magasins" in html
    for other in ("S002", "S003", "WEB", "Boutique en ligne"):
        assert other not in html

    rows = csv_rows(client.get(f"/dashboard.csv?period={month}"), ";")
    region = body["regions"][0]["scope"]
    assert [r[:2] for r in rows[1:]] == [
        ["Mes magasins", ""], ["Magasin", STORE_OF_MANAGER], ["Région", region],
    ]
    xlsx = client.get(f"/dashboard.xlsx?period={month}").content
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    codes = [row[1] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert codes == [None, STORE_OF_MANAGER, region]


# --- exports ------------------------------------------------------------------------------


def test_xlsx_opens_with_numbers_and_formats(web_server, web_login):
    month = latest_month(web_server)
    client = web_login("network")
    body = client.get(f"/api/dashboard?period={month}").json()
    response = client.get(f"/dashboard.xlsx?period={month}")
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert f'filename="tableau-de-bord-{month}.xlsx"' in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["Tableau de bord"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Niveau", "Code", "Nom", "Région"]
    assert header[4] == "Chiffre d'affaires TTC (€)"
    assert header[6] == "Chiffre d'affaires TTC évolution N-1 (%)"
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 1 + len(body["regions"]) + len(body["stores"])
    network = rows[0]
    assert network[0].value == "Réseau" and network[0].font.b
    assert network[4].value == pytest.approx(body["network"]["kpis"]["revenue"]["value"])
    assert isinstance(network[4].value, float) and "€" in network[4].number_format
    rate = header.index("Taux de transformation (%)")
    assert network[rate].value == pytest.approx(
        body["network"]["kpis"]["conversion_rate"]["value"])
    assert network[rate].number_format == "0.0%"
    by_code = {r[1].value: r for r in rows}
    tickets = header.index("Nombre de tickets")
    assert by_code[STORE_OF_MANAGER][tickets].value == next(
        s for s in body["stores"] if s["scope"] == STORE_OF_MANAGER)["kpis"]["tickets"]["value"]
    assert book["Paramètres"]["B2"].value is not None
    english = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/dashboard.xlsx?period={month}&lang=en").content))
    assert english.worksheets[0]["E1"].value == "Revenue (incl. VAT) (€)"


def test_csv_french_and_english_formats(web_server, web_login):
    month = latest_month(web_server)
    client = web_login("network")
    body = client.get(f"/api/dashboard?period={month}").json()
    response = client.get(f"/dashboard.csv?period={month}")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response, ";")
    header, network = rows[0], rows[1]
    assert header[:5] == ["Niveau", "Code", "Nom", "Région", "Chiffre d'affaires TTC (€)"]
    revenue = body["network"]["kpis"]["revenue"]["value"]
    assert network[4] == f"{revenue:.2f}".replace(".", ",")
    rate = header.index("Taux de transformation (%)")
    conversion = body["network"]["kpis"]["conversion_rate"]["value"]
    assert network[rate] == f"{conversion * 100:.2f}".replace(".", ",")  # 17,05 for 17.05 %
    tickets = header.index("Nombre de tickets")
    assert network[tickets] == str(body["network"]["kpis"]["tickets"]["value"])
    points = header.index("Taux de transformation évolution N-1 (pts)")
    change = body["network"]["kpis"]["conversion_rate"]["change"]
    assert network[points] == f"{change * 100:.2f}".replace(".", ",")
    assert len(rows) == 2 + len(body["regions"]) + len(body["stores"])

    english = csv_rows(client.get(f"/dashboard.csv?period={month}&lang=en"), ",")
    assert english[0][:2] == ["Level", "Code"]
    assert english[1][4] == f"{revenue:.2f}"


def test_exports_need_a_user(web_server):
    with httpx.Client(base_url=web_server.url) as client:
        assert client.get("/dashboard.csv").status_code == 303
        assert client.get("/api/dashboard.xlsx").status_code == 401


# --- a chain whose data ends in a past month; the cache after an import --------------------


@pytest.fixture(scope="module")
def past_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    path = tmp_path_factory.mktemp("past") / "past.duckdb"
    con = connect(path)
    try:
        build_demo(con, stores=3, customers=300, years=1, today=PAST_TODAY)
        create_user(con, "nora", PASSWORD, "network", None)
    finally:
        con.close()
    with running_server(path) as server:
        yield server


@pytest.fixture
def past_client(past_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=past_server.url, timeout=60) as client:
        assert sign_in(client, "nora", PASSWORD).status_code == 303
        yield client


def test_default_period_is_the_latest_month_with_data(past_server, past_client):
    body = past_client.get("/api/dashboard").json()
    with past_server.db.reading() as cur:
        expected = default_period(duckdb_backend(cur))
    assert (body["period"]["start"], body["period"]["end"]) == (
        expected.start.isoformat(), expected.end.isoformat())
    assert body["period"]["start"] == "2025-03-01"
    assert body["period"]["end"] == PAST_TODAY.isoformat()  # month to date
    assert body["to_date"] is True and body["picker"]["kind"] == "month"
    assert body["network"]["kpis"]["revenue"]["value"] > 0  # not an empty page
    assert body["navigation"]["next"] is None  # nothing after the last day with data
    html = past_client.get("/").text
    assert "Mars 2025" in html and "à date" in html


def test_an_import_while_the_server_runs_shows_at_once(past_server, past_client, tmp_path):
    url = f"/api/dashboard?period={PAST_TODAY.isoformat()}"
    before = past_client.get(url).json()["network"]["kpis"]["revenue"]["value"]
    assert past_client.get(url).json()["network"]["kpis"]["revenue"]["value"] == before
    with past_server.db.reading() as cur:
        sku = cur.execute("SELECT min(sku) FROM products").fetchone()[0]
    day = PAST_TODAY.strftime("%d/%m/%Y")
    csv_file = tmp_path / "late.csv"
    csv_file.write_text(
        "ticket_id;line_no;sold_at;store_code;sku;quantity;amount\n"
        f"LATE-1;1;{day} 19:00:00;S001;{sku};2;1234,50\n", encoding="utf-8")
    # The server holds the database: import through its own connection, as an import
    # endpoint would.
    cur = past_server.db.cursor()
    try:
        assert import_file(cur, "tickets", csv_file).rows_loaded == 1
    finally:
        cur.close()
    after = past_client.get(url).json()["network"]["kpis"]["revenue"]["value"]
    assert after == pytest.approx(before + 1234.50)


# --- the cache ----------------------------------------------------------------------------


def test_result_cache_is_an_lru_computing_each_key_once():
    cache = ResultCache(maxsize=2)
    calls: list[str] = []

    def compute(key: str):
        return lambda: calls.append(key) or key.upper()

    assert cache.get_or_compute("a", compute("a")) == "A"
    assert cache.get_or_compute("a", compute("a")) == "A"
    cache.get_or_compute("b", compute("b"))
    cache.get_or_compute("a", compute("a"))  # a is now the most recent
    cache.get_or_compute("c", compute("c"))  # evicts b
    cache.get_or_compute("b", compute("b"))
    assert calls == ["a", "b", "c", "b"]
    assert len(cache) == 2 and cache.hits == 2
    cache.bump()
    assert len(cache) == 0 and cache.server_version == 1


def test_a_failed_computation_is_not_cached():
    cache = ResultCache()

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", fail)
    assert cache.get_or_compute("k", lambda: 1) == 1


def test_data_version_moves_with_writes(con, stores, write_csv):
    cache = ResultCache()
    first = data_version(con, cache)
    assert data_version(con, cache) == first
    import_file(con, "tickets", write_csv(
        "t.csv", "ticket_id;line_no;sold_at;store_code;sku;quantity;amount\n"
        "T1;1;03/01/2025;S01;P1;1;10,00\n"), create_missing=True)
    second = data_version(con, cache)
    assert second != first
    cache.bump()  # an update in place, which row counts do not see
    assert data_version(con, cache) != second


# --- the query: periods, links --------------------------------------------------------------


def test_query_periods_french_spellings_and_kind_changes():
    latest = dt.date(2026, 11, 22)
    q = parse_query(period="2026-T4", latest=latest)
    assert (q.kind, q.requested.start, q.period.end) == ("quarter", dt.date(2026, 10, 1), latest)
    assert q.to_date
    assert parse_query(period="2026-s47", latest=latest).kind == "week"
    week = parse_query(period="2026-11", kind="week", latest=latest)
    assert (week.kind, week.requested.start) == ("week", dt.date(2026, 10, 26))
    custom = parse_query(kind="custom", start="2026-01-05", end="2026-01-20", period="2026-11")
    assert (custom.kind, custom.period.days) == ("custom", 16)
    fiscal = parse_query(period="FY2025", fiscal_start_month=7)
    assert (fiscal.requested.start, fiscal.requested.end) == (
        dt.date(2025, 7, 1), dt.date(2026, 6, 30))
    default = parse_query(latest=latest)
    assert (default.kind, default.period.start, default.period.end) == (
        "month", dt.date(2026, 11, 1), latest)
    assert parse_query(kpis=["all"]).columns[0] == "revenue"
    with pytest.raises(QueryError):
        parse_query(period="2026-W60")


def test_previous_next_and_picker_values():
    latest = dt.date(2026, 11, 22)
    q = parse_query(period="2026-11", latest=latest, lfl="1")
    assert shifted(q, -1).label == "2026-10" and shifted(q, +1).label == "2026-12"
    links = navigation(q, latest)
    assert links["previous"] == "/?period=2026-10&lfl=1"
    assert links["next"] is None
    assert navigation(parse_query(period="2026-10", latest=latest), latest)["next"] == (
        "/?period=2026-11")
    fiscal = parse_query(period="FY2025", fiscal_start_month=7)
    assert shifted(fiscal, -1).label == "FY2024"
    custom = parse_query(start="2026-01-01", end="2026-01-10")
    assert navigation(custom, latest)["next"] == "/?from=2026-01-11&to=2026-01-20"
    values = picker_values(parse_query(period="2026-11-03", fiscal_start_month=4))
    assert values == {"day": "2026-11-03", "week": "2026-W45", "month": "2026-11",
                      "quarter": "2026-Q4", "year": "FY2026",
                      "custom": "2026-11-03..2026-11-03"}


# --- the XLSX writer ---------------------------------------------------------------------


def test_xlsx_writer_escapes_text_and_keeps_numbers(tmp_path: Path):
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    data = workbook([Sheet(
        name="Ventes: T4/2026 [test]",
        columns=[Column("Nom <&>"), Column("Taux", "0.0%"), Column("CA", '#,##0.00\\ "€"')],
        rows=[["L'Œil & \"Co\"\x01", 0.125, 1234.5], [None, None, 7], ["x", float("nan"), -1]],
        bold_rows=frozenset({0}),
    )])
    path = tmp_path / "t.xlsx"
    path.write_bytes(data)
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet.title == "Ventes  T4 2026  test "
    assert [c.value for c in sheet[1]] == ["Nom <&>", "Taux", "CA"]
    assert [c.value for c in sheet[2]] == ["L'Œil & \"Co\"", 0.125, 1234.5]
    assert sheet["B2"].number_format == "0.0%" and sheet["A2"].font.b
    assert [c.value for c in sheet[3]] == [None, None, 7]
    assert sheet["B4"].value is None
    assert sheet.freeze_panes == "A2"
