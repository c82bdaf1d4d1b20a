"""Rectification: validated like the import, through the gate, every change recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import STORES_CSV
from enseigne.customers.edit import InvalidField, rectify
from enseigne.ingest import import_file
from enseigne.privacy import audit
from enseigne.privacy.gate import AccessDenied, Reader, cli_reader
from web_fixtures import signed_in

CUSTOMERS = (
    "customer_ref;first_name;last_name;email;phone;birth_date;store_code\n"
    "C1;Jeanne;Dupont;j.dupont@exemple.fr;06 12 34 56 78;12/05/1980;S01\n"
    "C2;Paul;Martin;p.martin@exemple.fr;;;S02\n"
)
ADMIN = cli_reader("ada")
LYON = Reader("sam", "store", ("S01",), "web 127.0.0.1")


@pytest.fixture
def people(stores, write_csv):
    summary = import_file(stores, "customers", write_csv("customers.csv", CUSTOMERS))
    assert summary.rows_loaded == 2
    return stores


def record(con, ref: str) -> dict:
    cursor = con.execute("SELECT * FROM customers WHERE customer_ref = ?", [ref])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def test_values_are_normalised_like_the_import(people):
    before = record(people, "C1")["updated_at"]
    changed = rectify(people, ADMIN, "C1", {
        "email": "  Jeanne.Dupont@Exemple.FR ", "phone": "07.11.22.33.44",
        "birth_date": "13/05/1980", "city": "Lyon",
    }, reason="appel de la cliente")
    assert changed == ["email", "phone", "birth_date", "city"]
    row = record(people, "C1")
    assert row["email"] == "jeanne.dupont@exemple.fr"
    assert row["phone"] == "+33711223344"
    assert row["birth_date"] == dt.date(1980, 5, 13)
    assert row["city"] == "Lyon"
    assert row["updated_at"] >= before


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("email", "jeanne.exemple.fr", "not a valid e-mail address"),
    ("phone", "12 34", "not a valid phone number"),
    ("birth_date", "31/02/1980", "not a valid date"),
    ("created_at", "01/01/2020", "not an editable field"),
])
def test_a_value_the_import_refuses_is_refused_and_names_its_field(people, field, value, reason):
    with pytest.raises(InvalidField) as caught:
        rectify(people, ADMIN, "C1", {"city": "Lyon", field: value})
    assert isinstance(caught.value, ValueError)
    assert (caught.value.field, caught.value.reason) == (field, reason)
    # Nothing written, not even the valid part.
    assert record(people, "C1")["city"] is None
    assert people.execute("SELECT count(*) FROM customer_changes").fetchone()[0] == 0


def test_the_change_is_recorded_without_its_values(people):
    rectify(people, ADMIN, "C1", {"email": "nouvelle@exemple.fr", "last_name": "Dupont"},
            reason="demande écrite")
    rows = people.execute("SELECT customer_ref, actor, fields, reason FROM customer_changes")
    # last_name was unchanged: only the e-mail is a change.
    assert rows.fetchall() == [("C1", "ada", ["email"], "demande écrite")]
    dump = str(people.execute("SELECT * FROM customer_changes").fetchall())
    assert "nouvelle" not in dump and "j.dupont" not in dump
    log = audit.entries(people, customer_ref="C1")
    assert [(e["action"], e["actor"]) for e in log] == [("change", "ada")]
    assert "nouvelle" not in str(log)


def test_an_empty_value_clears_the_field(people):
    assert rectify(people, ADMIN, "C1", {"phone": "  "}) == ["phone"]
    assert record(people, "C1")["phone"] is None


def test_a_store_manager_edits_only_customers_in_scope(people):
    assert rectify(people, LYON, "C1", {"city": "Villeurbanne"}) == ["city"]
    for ref in ("C2", "C404"):
        with pytest.raises(AccessDenied):
            rectify(people, LYON, ref, {"city": "Paris"})
    assert record(people, "C2")["city"] is None
    network = Reader("nora", "network", None, "web 127.0.0.1")
    with pytest.raises(AccessDenied):
        rectify(people, network, "C1", {"city": "Paris"})
    changes = people.execute("SELECT customer_ref FROM customer_changes").fetchall()
    assert changes == [("C1",)]


# --- the web form and its JSON twin ---------------------------------------------------


@pytest.fixture(scope="module")
def edit_server(tmp_path_factory):
    from enseigne.db import connect, migrate
    from enseigne.web.users import create_user
    from web_fixtures import PASSWORD, running_server

    folder = tmp_path_factory.mktemp("edit")
    path = folder / "edit.duckdb"
    con = connect(path)
    try:
        migrate(con)
        for kind, text in (("stores", STORES_CSV), ("customers", CUSTOMERS)):
            source = folder / f"{kind}.csv"
            source.write_text(text, encoding="utf-8")
            assert import_file(con, kind, source).rejected == 0
        for name, role, scope in (("ada", "admin", None), ("sam", "store", ["S01"]),
                                  ("nora", "network", None)):
            create_user(con, name, PASSWORD, role, scope)
    finally:
        con.close()
    with running_server(path) as server:
        yield server




def stored(server, ref: str, field: str):
    with server.db.reading() as cur:
        return cur.execute(
            f"SELECT {field} FROM customers WHERE customer_ref = ?", [ref]).fetchone()[0]


def test_the_profile_form_rectifies_and_redirects(edit_server):
    from web_fixtures import csrf_from

    with signed_in(edit_server, "sam") as client:
        profile = client.get("/customers/C1")
        assert profile.status_code == 200
        assert 'action="/customers/C1"' in profile.text
        form = {"csrf_token": csrf_from(profile.text), "first_name": "Jeanne",
                "last_name": "Dupont", "email": "j.dupont@exemple.fr", "phone": "0611223344",
                "birth_date": "1980-05-12", "city": "Lyon", "reason": "au comptoir"}
        done = client.post("/customers/C1", data=form)
        assert (done.status_code, done.headers["location"]) == (303, "/customers/C1")
        assert stored(edit_server, "C1", "phone") == "+33611223344"
        assert stored(edit_server, "C1", "city") == "Lyon"
        # A refused value: the profile again, the field named, nothing written.
        bad = client.post("/customers/C1", data={**form, "email": "pas-un-mail", "city": "X"})
        assert bad.status_code == 422
        assert "E-mail : valeur refusée" in bad.text
        assert 'value="pas-un-mail"' in bad.text
        assert stored(edit_server, "C1", "city") == "Lyon"
        # Without the CSRF token, nothing happens.
        forged = client.post("/customers/C1", data={**form, "csrf_token": "x", "city": "Y"})
        assert forged.status_code == 403
        assert stored(edit_server, "C1", "city") == "Lyon"


def test_the_json_twin_patches_and_names_a_refused_field(edit_server):
    from web_fixtures import csrf_from

    with signed_in(edit_server, "ada") as client:
        headers = {"X-CSRF-Token": csrf_from(client.get("/customers").text)}
        done = client.patch("/api/customers/C2", json={"country": "FR", "reason": "courrier"},
                            headers=headers)
        assert done.status_code == 200, done.text
        assert done.json() == {"customer_ref": "C2", "changed": ["country"]}
        refused = client.post("/api/customers/C2", json={"phone": "123"}, headers=headers)
        assert refused.status_code == 422
        assert refused.json()["detail"] == {"field": "phone", "reason": "not a valid phone number"}
    with edit_server.db.reading() as cur:
        rows = cur.execute("SELECT actor, fields, reason FROM customer_changes "
                           "WHERE customer_ref = 'C2'").fetchall()
    assert rows == [("ada", ["country"], "courrier")]


def test_out_of_scope_and_figures_only_roles_are_refused(edit_server):
    from web_fixtures import csrf_from

    for name, ref in (("sam", "C2"), ("sam", "C404"), ("nora", "C1")):
        with signed_in(edit_server, name) as client:
            token = csrf_from(client.get("/").text)
            answer = client.patch(f"/api/customers/{ref}", json={"city": "Nice"},
                                  headers={"X-CSRF-Token": token})
            assert answer.status_code == 403, (name, ref)
            assert client.post(f"/customers/{ref}", data={
                "csrf_token": token, "city": "Nice"}).status_code == 403
    assert stored(edit_server, "C2", "city") is None
