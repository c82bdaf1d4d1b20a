"""The rights of access and erasure from the web: export download, erasure by the DPO with
the file rewritten while the server runs (bytes gone, figures kept, readers served), an
encrypted file staying encrypted, and every other role refused."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from enseigne.db import connect
from enseigne.privacy import audit
from enseigne.privacy.gdpr import ANON_PREFIX
from enseigne.web.database import Database, DatabaseBusy, RewriteFailed
from web_fixtures import (
    PASSWORD,
    USERS,
    RunningServer,
    browser_sign_in,
    csrf_from,
    demo_server,
    running_server,
    signed_in,
)

# A person no demo chain holds, created through the live API (so it sits in the WAL).
ZOE = {
    "customer_ref": "WEB-ZOE-4711",
    "first_name": "Zoé",
    "last_name": "Quatrevingtonze",
    "email": "zoe.unique-erasure-4711@example.org",
    "phone": "06 47 11 47 11",
    "loyalty_card": "LC-4711-ZOE-0001",
    "city": "Lyon",
    "store_code": "S001",
}
ZOE_PHONE = "+33647114711"  # as stored (E.164)
NEW_CITY = "Villefranche-sur-Saône"


def file_bytes(path: Path) -> bytes:
    """The database file and what lies beside it (its WAL, a half-written copy)."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*"))
                    if p.is_file())


def traces(path: Path, values: dict[str, str]) -> set[str]:
    data = file_bytes(path)
    return {name for name, value in values.items() if value.encode() in data}


@pytest.fixture(scope="module")
def gdpr_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A tiny demo chain of its own (this module erases customers), where strings are
    small enough to be stored uncompressed: a byte search finds them before erasure."""
    from enseigne.web.users import create_user

    path = tmp_path_factory.mktemp("gdpr") / "demo.duckdb"
    with demo_server(path, stores=2, customers=40, years=1) as server:
        with server.db.writing() as cur:
            for user in USERS:
                create_user(cur, user.name, user.password, user.role, user.stores)
        yield server


def db_path(server: RunningServer) -> Path:
    return Path(server.app.state.settings.db)


def one(server: RunningServer, sql: str, params: list | None = None) -> Any:
    with server.db.reading() as cur:
        return cur.execute(sql, params or []).fetchone()[0]


def headers(client: httpx.Client) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_from(client.get("/customers").text)}


def network_kpis(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/api/dashboard")
    assert answer.status_code == 200, answer.text
    return {kpi: cell["value"] for kpi, cell in answer.json()["network"]["kpis"].items()}


@pytest.fixture(scope="module")
def zoe(gdpr_server: RunningServer) -> dict[str, Any]:
    """Zoé and two receipts of hers on the chain's last day (inside the dashboard's period)."""
    last_day = one(gdpr_server, "SELECT max(sold_at)::DATE FROM tickets")
    sku = one(gdpr_server, "SELECT min(sku) FROM products")
    tickets = [
        {"ticket_id": f"ZOE-{n}", "sold_at": f"{last_day}T1{n}:00:00", "store_code": "S001",
         "customer_ref": ZOE["customer_ref"],
         "lines": [{"sku": sku, "quantity": n, "unit_price": 40.0, "amount": 40.0 * n}]}
        for n in (1, 2)
    ]
    with signed_in(gdpr_server, "ada") as client:
        sent = headers(client)
        # Enrolled in the dashboard's period: a new customer with contact data.
        person = {**ZOE, "created_at": f"{last_day}T09:00:00"}
        assert client.post("/api/v1/customers", json=person, headers=sent).status_code == 201
        assert client.post("/api/v1/tickets", json=tickets, headers=sent).status_code == 201
    return {"tickets": len(tickets), "amount": sum(t["lines"][0]["amount"] for t in tickets)}


@pytest.mark.slow
def test_dpo_searches_rectifies_exports_and_erases_in_the_browser(
    gdpr_server, zoe, browser_page, web_users
):
    path, ref = db_path(gdpr_server), ZOE["customer_ref"]
    control = one(gdpr_server, "SELECT min(email) FROM customers WHERE customer_ref <> ?", [ref])
    person = {"email": ZOE["email"], "phone": ZOE_PHONE, "last_name": ZOE["last_name"],
              "loyalty_card": ZOE["loyalty_card"]}
    # Meaningful only because the values can be seen in the bytes beforehand.
    assert traces(path, person) == set(person)
    with signed_in(gdpr_server, "ada") as admin:
        before = network_kpis(admin)  # computed now, kept in the server's result cache
    assert before["new_customers"] >= 1 and before["contact_capture_rate"] > 0

    page = browser_page
    problems = browser_sign_in(page, gdpr_server, web_users["dpo"])
    page.get_by_role("link", name="Clients").click()
    page.get_by_label("Rechercher un client").fill(ZOE["last_name"])
    page.get_by_role("button", name="Rechercher").click()
    page.locator(f'a[href="/customers/{ref}"]').click()
    page.wait_for_url(f"{gdpr_server.url}/customers/{ref}")
    assert ZOE["email"] in page.content()

    page.get_by_text("Modifier l'identité et les coordonnées").click()
    page.get_by_label("Ville").fill(NEW_CITY)
    page.get_by_label("Motif de la modification").fill("déménagement")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{gdpr_server.url}/customers/{ref}")
    assert NEW_CITY in page.locator(".facts").first.inner_text()

    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter les données (JSON)").click()
    assert download.value.suggested_filename == f"client-{ref}.json"
    export = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert export["customer"]["email"] == ZOE["email"]
    assert export["customer"]["city"] == NEW_CITY
    assert len(export["tickets"]) == zoe["tickets"]
    assert [c["fields"] for c in export["customer_changes"]] == [["city"]]

    page.get_by_label(re.compile("Pour confirmer, saisissez la référence")).fill(ref)
    page.get_by_role("button", name="Effacer ce client").click()
    page.get_by_role("heading", name="Client effacé").wait_for()
    key = page.locator(".anonymous-key").inner_text().strip()
    assert key.startswith(ANON_PREFIX)
    assert problems == []

    # The server still runs and holds the file: its bytes no longer hold the person.
    assert traces(path, person) == set()
    assert control.encode() in file_bytes(path)  # the search finds a person still there
    with signed_in(gdpr_server, "ada") as admin:
        after = network_kpis(admin)
        # Sales figures stay; Zoé can no longer be contacted, and the cached figures know it.
        for kpi in ("revenue", "tickets", "identified_rate", "new_customers"):
            assert after[kpi] == pytest.approx(before[kpi]), kpi
        assert after["contact_capture_rate"] < before["contact_capture_rate"]
        assert admin.get(f"/customers/{ref}").status_code == 403
        receipts = admin.get(f"/api/customers/{key}/export").json()["tickets"]
    assert (len(receipts), sum(t["amount"] for t in receipts)) == (zoe["tickets"], zoe["amount"])
    with gdpr_server.db.reading() as cur:
        actions = {e["action"] for e in audit.entries(cur, customer_ref=key)}
        assert {"read", "change", "export", "erase"} <= actions
        assert cur.execute("SELECT count(*) FROM audit_log WHERE customer_ref = ?",
                           [ref]).fetchone()[0] == 0


def test_readers_wait_for_the_rewrite_and_are_served(gdpr_server):
    ref = one(gdpr_server, "SELECT min(customer_ref) FROM customers WHERE customer_ref "
              "NOT LIKE 'ANON-%' AND customer_ref <> ?", [ZOE["customer_ref"]])
    other = one(gdpr_server, "SELECT max(customer_ref) FROM customers")
    answers: dict[str, httpx.Response] = {}
    with signed_in(gdpr_server, "dora") as dpo, signed_in(gdpr_server, "marc") as reader:
        before = network_kpis(dpo)["revenue"]
        sent = headers(dpo)

        def erase() -> None:
            answers["erase"] = dpo.post(f"/api/customers/{ref}/erase", json={"confirm": ref},
                                        headers=sent)

        def read() -> None:
            answers["profile"] = reader.get(f"/api/customers/{other}")
            answers["dashboard"] = reader.get("/api/dashboard")

        erasing, reading = threading.Thread(target=erase), threading.Thread(target=read)
        # A request in flight holds a cursor: the rewrite waits for it...
        with gdpr_server.db.reading() as cur:
            cur.execute("SELECT count(*) FROM tickets").fetchone()
            erasing.start()
            deadline = time.monotonic() + 30
            while not gdpr_server.db.paused and time.monotonic() < deadline:
                time.sleep(0.01)
            assert gdpr_server.db.paused
            reading.start()  # ... and a request arriving now waits for the rewrite
            assert erasing.is_alive()
        erasing.join(60)
        reading.join(60)
        assert answers["erase"].status_code == 200, answers["erase"].text
        assert answers["erase"].json()["anonymous_key"].startswith(ANON_PREFIX)
        assert answers["profile"].status_code == 200
        assert answers["profile"].json()["customer"]["customer_ref"] == other
        assert answers["dashboard"].status_code == 200
        # Still serving, on the fresh file.
        assert network_kpis(dpo)["revenue"] == pytest.approx(before)
        assert dpo.get(f"/customers/{other}").status_code == 200
        assert dpo.get(f"/customers/{ref}").status_code == 403


def test_other_roles_get_no_buttons_and_403(gdpr_server):
    ref = one(gdpr_server, "SELECT min(customer_ref) FROM customers WHERE store_code = 'S001' "
              "AND customer_ref NOT LIKE 'ANON-%'")
    for name in ("marc", "sam"):  # marketing; the store manager of this customer's store
        with signed_in(gdpr_server, name) as client:
            profile = client.get(f"/customers/{ref}")
            assert profile.status_code == 200
            assert "/export" not in profile.text and "/erase" not in profile.text
            token = csrf_from(profile.text)
            assert client.get(f"/customers/{ref}/export").status_code == 403
            assert client.get(f"/api/customers/{ref}/export").status_code == 403
            assert client.post(f"/customers/{ref}/erase", data={
                "csrf_token": token, "confirm": ref}).status_code == 403
            assert client.post(f"/api/customers/{ref}/erase", json={"confirm": ref},
                               headers={"X-CSRF-Token": token}).status_code == 403
    assert one(gdpr_server, "SELECT count(*) FROM customers WHERE customer_ref = ?", [ref]) == 1


def test_a_wrong_confirmation_erases_nothing(gdpr_server):
    ref = one(gdpr_server, "SELECT min(customer_ref) FROM customers WHERE customer_ref "
              "NOT LIKE 'ANON-%'")
    with signed_in(gdpr_server, "ada") as client:
        profile = client.get(f"/customers/{ref}")
        assert "Exporter les données (JSON)" in profile.text
        token = csrf_from(profile.text)
        again = client.post(f"/customers/{ref}/erase", data={"csrf_token": token,
                                                             "confirm": ref + "X"})
        assert again.status_code == 422
        text = html.unescape(again.text)
        assert f"La référence saisie n'est pas {ref} : rien n'a été effacé." in text
        assert 'aria-invalid="true"' in again.text
        api = client.post(f"/api/customers/{ref}/erase", json={"confirm": ""},
                          headers={"X-CSRF-Token": token})
        assert api.status_code == 422
        assert api.json()["detail"]["field"] == "confirm"
        # An unknown customer: the profile's 403, whatever the confirmation says.
        for confirm in ("C404", "nope"):
            assert client.post("/api/customers/C404/erase", json={"confirm": confirm},
                               headers={"X-CSRF-Token": token}).status_code == 403
        assert client.get("/customers/C404/export").status_code == 403
    assert one(gdpr_server, "SELECT count(*) FROM customers WHERE customer_ref = ?", [ref]) == 1


def test_the_export_download_and_its_twin_hold_the_same_data(gdpr_server):
    ref = one(gdpr_server, "SELECT min(customer_ref) FROM tickets WHERE customer_ref "
              "NOT LIKE 'ANON-%'")
    with signed_in(gdpr_server, "dora") as client:
        download = client.get(f"/customers/{ref}/export")
        twin = client.get(f"/api/customers/{ref}/export")
    assert download.status_code == twin.status_code == 200
    assert download.headers["content-disposition"] == f'attachment; filename="client-{ref}.json"'
    body, data = download.json(), twin.json()
    body.pop("exported_at"), data.pop("exported_at")
    body["audit_log"], data["audit_log"] = body["audit_log"][1:], data["audit_log"][2:]
    assert body == data
    assert body["customer"]["customer_ref"] == ref and body["tickets"]


# --- an encrypted file ----------------------------------------------------------------


def test_an_encrypted_file_erased_from_the_web_stays_encrypted(tmp_path, write_csv):
    from enseigne.web.users import create_user
    from test_db_encryption import KEY, encrypted_on_disk, fill

    path = tmp_path / "chiffree.duckdb"
    fill(path, write_csv, KEY)
    con = connect(path, key=KEY)
    create_user(con, "dora", PASSWORD, "dpo", None)
    con.close()
    with running_server(path, db_key=KEY) as server, signed_in(server, "dora") as client:
        done = client.post("/api/customers/C9/erase", json={"confirm": "C9"},
                           headers=headers(client))
        assert done.status_code == 200, done.text
        assert client.get("/api/customers/C2").status_code == 200  # read after the rewrite
    assert encrypted_on_disk(path)
    con = connect(path, key=KEY)
    try:
        assert con.execute("SELECT encrypted FROM duckdb_databases() "
                           "WHERE database_name = current_database()").fetchone()[0]
        assert con.execute("SELECT count(*) FROM customers WHERE customer_ref = 'C9'"
                           ).fetchone()[0] == 0
        # The server wrote to the fresh file after the rewrite, not to the old one.
        log = [(e["action"], e["customer_ref"]) for e in audit.entries(con)]
        assert log[0] == ("read", "C2") and log[1][0] == "erase"
    finally:
        con.close()


# --- Database.rewrite on its own ------------------------------------------------------


def test_a_failed_rewrite_leaves_the_database_usable():
    # An in-memory database has no file to rewrite: the change stays, the database serves.
    db = Database(duckdb.connect(), opener=duckdb.connect)
    with db.writing() as cur:
        cur.execute("CREATE TABLE t (x INTEGER)")

    def change(cur: duckdb.DuckDBPyConnection) -> str:
        cur.execute("INSERT INTO t VALUES (1)")
        return "done"

    with pytest.raises(RewriteFailed) as failed:
        db.rewrite(None, change)
    assert failed.value.result == "done"
    with db.reading() as cur:
        assert cur.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    db.close()


def test_a_rewrite_gives_up_on_a_cursor_that_is_never_returned(tmp_path):
    path = tmp_path / "occupee.duckdb"
    db = Database(connect(path), opener=lambda: connect(path), drain_seconds=0.2)
    changed: list[bool] = []
    with db.reading(), pytest.raises(DatabaseBusy):
        db.rewrite(None, lambda cur: changed.append(True))
    assert changed == [] and not db.paused
    with db.reading() as cur:
        assert cur.execute("SELECT 42").fetchone()[0] == 42
    db.close()
