"""Identity resolution: duplicate proposals with a score and reasons, and the merge."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from enseigne.customers.identity import duplicate_candidates, merge_customers, merges
from enseigne.ingest import import_file
from enseigne.metrics import Period, compute_kpis, duckdb_backend
from enseigne.privacy import audit
from enseigne.privacy.consent import consent_history, current_consents
from enseigne.privacy.gate import AccessDenied, Reader, cli_reader
from web_fixtures import signed_in

# C1 (store card, Lyon) and W1 (web account): same person, the e-mail with Gmail's dots and
# case. C2 and W2 share a phone written two ways. C3 and S3 share name, birth date and
# postcode (accents and case aside); C4 and P4 only name and birth date. X1 is someone else.
CUSTOMERS = (
    "customer_ref;first_name;last_name;email;phone;birth_date;postal_code;city;"
    "loyalty_card;store_code;channel\n"
    "C1;Jeanne;Dupont;jeanne.dupont@gmail.com;;12/05/1980;69003;;CARD1;S01;store\n"
    "W1;Jeanne;Dupont;JeanneDupont@Gmail.com;06 12 34 56 78;;;Lyon;;;web\n"
    "C2;Paul;Martin;;06 11 22 33 44;;;;;S01;store\n"
    "W2;Paolo;Martini;;+33 6 11 22 33 44;;;;;;web\n"
    "C3;Hélène;Lefèvre;;;01/02/1975;75001;;;S02;store\n"
    "S3;helene;LEFEVRE;;;01/02/1975;75001;;;;web\n"
    "C4;Marc;Petit;;;03/03/1990;13001;;;S02;store\n"
    "P4;Marc;Petit;;;03/03/1990;33000;;;S02;store\n"
    "X1;Louise;Bernard;louise@exemple.fr;07 00 00 00 01;04/04/1985;69003;;;S01;store\n"
)
CONSENTS = (
    "customer_ref;channel;status;collected_at;source;store_code\n"
    "C1;email;opt_in;03/01/2025 10:00;caisse;S01\n"
    "C1;sms;opt_in;03/01/2025 10:00;caisse;S01\n"
    "W1;email;opt_out;10/02/2025 18:30;site;\n"
)
TICKETS = (
    "ticket_id;line_no;sold_at;store_code;channel;customer_ref;sku;quantity;amount\n"
    "T1;1;03/01/2025 10:00;S01;store;C1;P1;1;49,90\n"
    "T2;1;10/02/2025 18:31;S01;web;W1;P2;2;30\n"
    "T3;1;11/02/2025 11:00;S02;store;W1;P1;1;49,90\n"
    "T4;1;12/02/2025 12:00;S02;store;X1;P1;1;10\n"
)
SURVEYS = "response_id;answered_at;store_code;customer_ref;nps\nR1;12/02/2025 09:00;S01;W1;9\n"
FEEDBACK = (
    "feedback_id;opened_at;kind;store_code;customer_ref;text\n"
    "F1;13/02/2025 09:00;complaint;S01;W1;Colis en retard\n"
)
ADMIN = cli_reader("marc")
LYON = Reader("sam", "store", ("S01",), "web 127.0.0.1")
PARIS = Reader("pat", "store", ("S02",), "web 127.0.0.1")


@pytest.fixture
def people(stores, write_csv):
    for kind, text in (("customers", CUSTOMERS), ("consents", CONSENTS), ("tickets", TICKETS),
                       ("surveys", SURVEYS), ("feedback", FEEDBACK)):
        summary = import_file(stores, kind, write_csv(f"{kind}.csv", text))
        assert summary.rejected == 0, kind
    return stores


def pairs(found: list[dict]) -> dict[tuple[str, str], list[str]]:
    return {(p["ref_a"], p["ref_b"]): p["reasons"] for p in found}


def test_duplicates_are_found_on_each_key_with_a_score(people):
    found = duplicate_candidates(people, ADMIN)
    assert pairs(found) == {
        ("C1", "W1"): ["email"],
        ("C2", "W2"): ["phone"],
        ("C3", "S3"): ["name_birth_postcode"],
        ("C4", "P4"): ["name_birth"],
    }
    by_pair = {(p["ref_a"], p["ref_b"]): p for p in found}
    assert by_pair[("C4", "P4")]["strength"] == "medium"
    assert by_pair[("C1", "W1")]["strength"] == "strong"
    assert all(0 < p["score"] <= 1 for p in found)
    assert by_pair[("C4", "P4")]["score"] < by_pair[("C2", "W2")]["score"]
    assert found[-1]["ref_a"] == "C4"  # best first
    assert by_pair[("C1", "W1")]["b"]["city"] == "Lyon"


def test_several_signs_raise_the_score(people):
    people.execute("UPDATE customers SET phone = '+33612345678' WHERE customer_ref = 'C1'")
    found = {(p["ref_a"], p["ref_b"]): p for p in duplicate_candidates(people, ADMIN)}
    both = found[("C1", "W1")]
    assert both["reasons"] == ["email", "phone"]
    assert both["score"] == pytest.approx(1 - 0.1 * 0.15)


def test_duplicates_of_one_customer(people):
    assert pairs(duplicate_candidates(people, ADMIN, "W1")) == {("C1", "W1"): ["email"]}
    assert duplicate_candidates(people, ADMIN, "X1") == []
    logged = audit.entries(people, customer_ref="W1")
    assert (logged[0]["action"], logged[0]["actor"]) == ("search", "marc")


def test_duplicates_stay_inside_the_scope(people):
    # Lyon sees C1, C2, X1 and W1 (who bought in Lyon) — not W2, nor the Paris customers.
    assert pairs(duplicate_candidates(people, LYON)) == {("C1", "W1"): ["email"]}
    # Paris sees C3, C4, P4 and W1 (a Paris receipt), but neither S3 (a web account with no
    # Paris link) nor C1: those pairs straddle the scope.
    assert set(pairs(duplicate_candidates(people, PARIS))) == {("C4", "P4")}
    with pytest.raises(AccessDenied):
        duplicate_candidates(people, LYON, "C3")


def network_revenue(con) -> float:
    period = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    rows = compute_kpis(duckdb_backend(con), ["revenue"], "network", period)
    return rows[0]["value"]


def test_a_merge_keeps_both_consent_histories(people):
    merge_customers(people, ADMIN, "C1", "W1")
    # The web account's opt-out (later) is in force; the store card's sms choice stays.
    now = current_consents(people, ADMIN, "C1")
    assert {c: row["status"] for c, row in now.items()} == {"email": "opt_out", "sms": "opt_in"}
    history = consent_history(people, ADMIN, "C1")
    assert [(r["channel"], r["status"], r["source"]) for r in history] == [
        ("email", "opt_out", "site"), ("email", "opt_in", "caisse"), ("sms", "opt_in", "caisse")]


def test_a_merge_moves_history_fills_gaps_and_is_explained(people):
    revenue = network_revenue(people)
    result = merge_customers(people, ADMIN, "C1", "W1")
    assert network_revenue(people) == revenue
    tickets = people.execute(
        "SELECT ticket_id FROM tickets WHERE customer_ref = 'C1' ORDER BY 1").fetchall()
    assert tickets == [("T1",), ("T2",), ("T3",)]
    for table in ("tickets", "consents", "survey_responses", "feedback", "customers"):
        assert people.execute(
            f"SELECT count(*) FROM {table} WHERE customer_ref = 'W1'").fetchone()[0] == 0
    row = people.execute(
        "SELECT email, phone, city, loyalty_card, store_code FROM customers "
        "WHERE customer_ref = 'C1'").fetchone()
    # Empty fields filled, values never overwritten.
    assert row == ("jeanne.dupont@gmail.com", "+33612345678", "Lyon", "CARD1", "S01")
    merged = people.execute(
        "SELECT actor, survivor_ref, absorbed_ref, score, reasons, moved FROM customer_merges"
    ).fetchall()
    assert len(merged) == 1
    actor, survivor, absorbed, score, reasons, moved = merged[0]
    assert (actor, survivor, absorbed, reasons) == ("marc", "C1", "W1", ["email"])
    assert score == pytest.approx(0.9) == result["score"]
    moved = json.loads(moved)
    assert moved["filled"] == ["phone", "city"]
    assert moved["rows"] == {"consents": 1, "customer_changes": 0, "feedback": 1,
                             "survey_responses": 1, "tickets": 2}
    assert merges(people, ADMIN, "C1")[0]["moved"] == moved
    changes = people.execute("SELECT customer_ref, fields FROM customer_changes").fetchall()
    assert changes == [("C1", ["phone", "city"])]
    actions = {(e["customer_ref"], e["action"]) for e in audit.entries(people)}
    assert {("C1", "merge"), ("W1", "merge")} <= actions


def test_who_may_merge(people):
    for reader in (LYON, Reader("nora", "network", None, "web 127.0.0.1")):
        with pytest.raises(AccessDenied):
            merge_customers(people, reader, "C1", "W1")
    with pytest.raises(AccessDenied):
        merge_customers(people, ADMIN, "C1", "NOPE")
    with pytest.raises(ValueError, match="themselves"):
        merge_customers(people, ADMIN, "C1", "C1")
    assert people.execute("SELECT count(*) FROM customer_merges").fetchone()[0] == 0
    assert people.execute("SELECT count(*) FROM customers").fetchone()[0] == 9


# --- the web pages ----------------------------------------------------------------------


@pytest.fixture
def identity_server(tmp_path):
    from conftest import STORES_CSV
    from enseigne.db import connect, migrate
    from enseigne.web.users import create_user
    from web_fixtures import PASSWORD, running_server

    path = tmp_path / "identity.duckdb"
    con = connect(path)
    try:
        migrate(con)
        for kind, text in (("stores", STORES_CSV), ("customers", CUSTOMERS),
                           ("consents", CONSENTS), ("tickets", TICKETS)):
            source = tmp_path / f"{kind}.csv"
            source.write_text(text, encoding="utf-8")
            assert import_file(con, kind, source).rejected == 0
        for name, role, scope in (("marc", "marketing", None), ("sam", "store", ["S01"])):
            create_user(con, name, PASSWORD, role, scope)
    finally:
        con.close()
    with running_server(path) as server:
        yield server




def test_the_profile_links_to_duplicates_and_a_merge_goes_through(identity_server):
    from web_fixtures import csrf_from

    with signed_in(identity_server, "marc") as client:
        profile = client.get("/customers/C1")
        assert "Doublons possibles" in profile.text
        assert 'href="/customers/C1/duplicates"' in profile.text
        page = client.get("/customers/C1/duplicates")
        assert page.status_code == 200
        assert "même e-mail" in page.text and 'name="other" value="W1"' in page.text
        twin = client.get("/api/customers/C1/duplicates").json()
        assert [(p["ref_a"], p["ref_b"], p["reasons"]) for p in twin["candidates"]] == [
            ("C1", "W1", ["email"])]
        done = client.post("/customers/C1/merge",
                           data={"csrf_token": csrf_from(page.text), "other": "W1"})
        assert (done.status_code, done.headers["location"]) == (303, "/customers/C1/duplicates")
        after = client.get("/customers/C1/duplicates")
        assert "Aucun doublon probable" in after.text
        assert "tickets 2" in after.text  # the merge explained
        assert client.get("/customers/W1").status_code == 403
        merged = client.get("/api/customers/C1/duplicates").json()["merges"]
        assert merged[0]["absorbed_ref"] == "W1"
        assert merged[0]["moved"]["rows"]["tickets"] == 2


def test_the_merge_api_and_who_may_use_it(identity_server):
    from web_fixtures import csrf_from

    with signed_in(identity_server, "sam") as client:
        token = csrf_from(client.get("/").text)
        # A store manager sees the proposals in scope but may not merge.
        assert client.get("/api/customers/C1/duplicates").status_code == 200
        refused = client.post("/api/customers/C1/merge", json={"other": "W1"},
                              headers={"X-CSRF-Token": token})
        assert refused.status_code == 403
        assert client.get("/api/customers/C3/duplicates").status_code == 403
    with signed_in(identity_server, "marc") as client:
        token = csrf_from(client.get("/").text)
        assert client.post("/api/customers/C1/merge", json={"other": "W1"}).status_code == 403
        done = client.post("/api/customers/C2/merge", json={"other": "W2"},
                           headers={"X-CSRF-Token": token})
        assert done.status_code == 200, done.text
        assert done.json()["reasons"] == ["phone"]
        again = client.post("/api/customers/C2/merge", json={"other": "W2"},
                            headers={"X-CSRF-Token": token})
        assert again.status_code == 403  # W2 is gone
        itself = client.post("/api/customers/C2/merge", json={"other": "C2"},
                             headers={"X-CSRF-Token": token})
        assert itself.status_code == 422
        assert itself.json()["detail"]["field"] == "other"
    with identity_server.db.reading() as cur:
        assert cur.execute("SELECT survivor_ref, absorbed_ref FROM customer_merges").fetchall() \
            == [("C2", "W2")]


def test_in_the_browser_the_profile_lists_duplicates_and_a_merge_follows(
    identity_server, browser_page
):
    from playwright.sync_api import expect

    from web_fixtures import PASSWORD

    page = browser_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{identity_server.url}/login?next=/customers/W1")
    page.get_by_label("Identifiant").fill("marc")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/customers/W1")
    # The list is filled from the JSON twin: C1 shares the (Gmail-normalised) e-mail.
    item = page.locator(".duplicate-list li")
    assert "Dupont Jeanne" in item.inner_text()
    assert "même e-mail" in item.inner_text() and "90" in item.inner_text()
    # Rectify from the profile's form, then merge W1 into C1 from the duplicates page.
    page.get_by_text("Modifier l'identité et les coordonnées").click()
    page.get_by_label("Ville").fill("Villeurbanne")
    page.get_by_label("Motif de la modification").fill("déménagement")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/customers/W1")
    assert "Villeurbanne" in page.locator("#identity-title + dl").inner_text()
    page.goto(f"{identity_server.url}/customers/C1/duplicates")
    page.get_by_role("button", name="Fusionner W1 dans cette fiche").click()
    page.wait_for_url("**/customers/C1/duplicates")
    assert "W1" in page.locator("table").inner_text()  # the merge, explained
    page.goto(f"{identity_server.url}/customers/C1")
    assert "Villeurbanne" in page.locator("#identity-title + dl").inner_text()
    expect(page.locator(".no-duplicates")).to_be_visible()  # waits for the fetch
    assert errors == []
