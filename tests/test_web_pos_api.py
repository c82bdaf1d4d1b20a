"""The live POS / e-commerce API over a real server: validation, idempotency, scope, bursts.

The server runs over its own small demo chain (module scope): these tests write tickets,
which the session's shared server must not see.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from enseigne.db import connect
from web_fixtures import RunningServer, demo_server

TOKENS = {  # token name -> (role, stores)
    "till-admin": ("admin", None), "till-network": ("network", None),
    "till-s001": ("store", ["S001"]), "till-marketing": ("marketing", None),
    "till-dpo": ("dpo", None),
}


@pytest.fixture(scope="module")
def pos_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    path: Path = tmp_path_factory.mktemp("pos") / "pos.duckdb"
    with demo_server(path, stores=3, customers=200, years=1) as server:
        yield server


@pytest.fixture(scope="module")
def clients(pos_server: RunningServer) -> Iterator[dict[str, httpx.Client]]:
    from enseigne.web.users import create_token

    made = {}
    with pos_server.db.writing() as cur:
        for name, (role, stores) in TOKENS.items():
            token = create_token(cur, name, role, stores)
            made[role] = httpx.Client(
                base_url=pos_server.url, timeout=60,
                headers={"Authorization": f"Bearer {token}"},
            )
    yield made
    for client in made.values():
        client.close()


def query(server: RunningServer, sql: str, params: list[Any] | None = None) -> list[tuple]:
    with server.db.reading() as cur:
        return cur.execute(sql, params or []).fetchall()


def ticket(store: str = "S001", count: int = 2, **changes: Any) -> dict[str, Any]:
    sold = dt.datetime.combine(dt.date.today() - dt.timedelta(days=1), dt.time(11, 30))
    body = {
        "ticket_id": f"{store}-{uuid.uuid4().hex[:12]}", "sold_at": sold.isoformat(),
        "store_code": store,
        "lines": [{"sku": f"SKU-{n}", "quantity": 1, "amount": 10.5 + n} for n in range(count)],
    }
    return {**body, **changes}


def ticket_count(server: RunningServer, ticket_id: str) -> tuple[int, int]:
    tickets = query(server, "SELECT count(*) FROM tickets WHERE ticket_id = ?", [ticket_id])
    lines = query(server, "SELECT count(*) FROM ticket_lines WHERE ticket_id = ?", [ticket_id])
    return tickets[0][0], lines[0][0]


def test_a_ticket_with_two_lines_is_stored(pos_server, clients) -> None:
    sent = ticket()
    answer = clients["network"].post("/api/v1/tickets", json=sent)
    assert answer.status_code == 201, answer.text
    assert answer.json() | {"import_id": None} == {
        "kind": "tickets", "records": 1, "rows": 2, "loaded": 2, "duplicates": 0,
        "stubs": answer.json()["stubs"], "import_id": None,
    }
    assert ticket_count(pos_server, sent["ticket_id"]) == (1, 2)
    stored = query(pos_server, "SELECT amount, line_count, store_code FROM tickets "
                   "WHERE ticket_id = ?", [sent["ticket_id"]])
    assert [(float(a), n, s) for a, n, s in stored] == [(22.0, 2, "S001")]


def test_retries_store_the_ticket_once(pos_server, clients) -> None:
    sent = ticket()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = clients["admin"].post("/api/v1/tickets", json=sent, headers=key)
    replay = clients["admin"].post("/api/v1/tickets", json=sent, headers=key)
    no_key = clients["admin"].post("/api/v1/tickets", json=sent)
    assert first.status_code == 201
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert no_key.status_code == 200, no_key.text  # stored by its natural key already
    assert no_key.json()["loaded"] == 0 and no_key.json()["duplicates"] == 2
    assert ticket_count(pos_server, sent["ticket_id"]) == (1, 2)


def test_the_same_key_for_another_body_is_refused(pos_server, clients) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = ticket()
    assert clients["admin"].post("/api/v1/tickets", json=first, headers=key).status_code == 201
    other = ticket()
    refused = clients["admin"].post("/api/v1/tickets", json=other, headers=key)
    assert refused.status_code == 409
    assert "Idempotency-Key" in refused.json()["detail"]
    assert ticket_count(pos_server, other["ticket_id"]) == (0, 0)


def test_a_ticket_id_sent_again_with_other_lines_is_refused(pos_server, clients) -> None:
    sent = ticket()
    assert clients["admin"].post("/api/v1/tickets", json=sent).status_code == 201
    changed = {**sent, "lines": [{"sku": "SKU-0", "quantity": 1, "amount": 99}]}
    refused = clients["admin"].post("/api/v1/tickets", json=changed)
    assert refused.status_code == 422
    assert ticket_count(pos_server, sent["ticket_id"]) == (1, 2)


@pytest.mark.parametrize(("change", "field", "value"), [
    ({"lines": [{"sku": "A", "quantity": 1, "amount": "douze"}]}, "amount", "douze"),
    ({"store_code": "S999"}, "store_code", "S999"),
    ({"sold_at": "2026-13-45 25:00"}, "sold_at", "2026-13-45 25:00"),
    ({"channel": "fax"}, "channel", "fax"),
])
def test_a_bad_value_refuses_the_whole_batch(pos_server, clients, change, field, value) -> None:
    good, bad = ticket(), ticket(**change)
    answer = clients["admin"].post("/api/v1/tickets", json=[good, bad])
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert {(e["record"], e["field"], e["value"]) for e in errors} == {(1, field, value)}
    assert all(e["reason"] for e in errors)
    assert ticket_count(pos_server, good["ticket_id"]) == (0, 0)
    assert ticket_count(pos_server, bad["ticket_id"]) == (0, 0)


def test_a_missing_required_field_is_named(pos_server, clients) -> None:
    sent = ticket()
    del sent["lines"][1]["amount"]
    answer = clients["admin"].post("/api/v1/tickets", json=sent)
    assert answer.status_code == 422
    assert any(e["loc"][-1] == "amount" for e in answer.json()["detail"])
    assert ticket_count(pos_server, sent["ticket_id"]) == (0, 0)


def test_a_store_token_posts_for_its_store_only(pos_server, clients) -> None:
    own, other = ticket("S001"), ticket("S002")
    assert clients["store"].post("/api/v1/tickets", json=own).status_code == 201
    refused = clients["store"].post("/api/v1/tickets", json=[own, other])
    assert refused.status_code == 403
    assert ticket_count(pos_server, other["ticket_id"]) == (0, 0)


@pytest.mark.parametrize("role", ["marketing", "dpo"])
def test_roles_without_tickets_are_refused(pos_server, clients, role) -> None:
    sent = ticket()
    assert clients[role].post("/api/v1/tickets", json=sent).status_code == 403
    assert ticket_count(pos_server, sent["ticket_id"]) == (0, 0)


def test_no_token_no_write(pos_server) -> None:
    answer = httpx.post(f"{pos_server.url}/api/v1/tickets", json=ticket())
    assert answer.status_code in (401, 403)


def customer(ref: str, **changes: Any) -> dict[str, Any]:
    return {"customer_ref": ref, "first_name": "Élodie", "last_name": "Marchand",
            "email": "Elodie.Marchand@Example.FR", "phone": "06 12 34 56 78",
            "store_code": "S001", **changes}


def test_customers_are_created_updated_and_audited(pos_server, clients) -> None:
    ref = f"API-{uuid.uuid4().hex[:8]}"
    created = clients["marketing"].post("/api/v1/customers", json=customer(ref))
    assert created.status_code == 201, created.text
    updated = clients["marketing"].post("/api/v1/customers", json=[customer(ref, city="Lyon")])
    assert updated.status_code == 201, updated.text
    stored = query(pos_server, "SELECT email, phone, city FROM customers WHERE customer_ref = ?",
                   [ref])
    assert stored == [("elodie.marchand@example.fr", "+33612345678", "Lyon")]
    logged = query(pos_server, "SELECT actor, action, origin FROM audit_log "
                   "WHERE customer_ref = ? ORDER BY recorded_at", [ref])
    assert [(a, b, c.split()[0]) for a, b, c in logged] == [("till-marketing", "change", "api")] * 2
    bad = clients["marketing"].post("/api/v1/customers", json=customer(ref, email="pas-un-mail"))
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["email"]


def test_a_store_token_cannot_overwrite_another_stores_customer(pos_server, clients) -> None:
    ref = f"API-{uuid.uuid4().hex[:8]}"
    assert clients["admin"].post("/api/v1/customers",
                                 json=customer(ref, store_code="S002")).status_code == 201
    refused = clients["store"].post("/api/v1/customers", json=customer(ref))
    assert refused.status_code == 403
    assert clients["store"].post("/api/v1/customers",
                                 json=customer(ref, store_code="S002")).status_code == 403
    assert query(pos_server, "SELECT store_code FROM customers WHERE customer_ref = ?",
                 [ref]) == [("S002",)]
    assert clients["dpo"].post("/api/v1/customers", json=customer(ref)).status_code == 403


def test_consents_are_appended_once(pos_server, clients) -> None:
    ref = f"API-{uuid.uuid4().hex[:8]}"
    assert clients["admin"].post("/api/v1/customers", json=customer(ref)).status_code == 201
    consent = {"customer_ref": ref, "channel": "sms", "status": "opt_in",
               "collected_at": "2026-11-20T10:00:00", "source": "caisse", "store_code": "S001"}
    for _ in range(3):
        assert clients["store"].post("/api/v1/consents", json=consent).status_code in (200, 201)
    stored = query(pos_server, "SELECT channel, status FROM consents WHERE customer_ref = ?",
                   [ref])
    assert stored == [("sms", "opt_in")]
    soft = clients["store"].post("/api/v1/consents", json={**consent, "status": "soft_opt_in"})
    assert soft.status_code == 422
    assert soft.json()["errors"][0]["field"] == "status"


def test_a_burst_from_four_threads_loses_and_doubles_nothing(pos_server, clients) -> None:
    batches = [[ticket(count=1) for _ in range(10)] for _ in range(20)]  # 200 tickets
    failures: list[str] = []

    def post(share: list[list[dict[str, Any]]]) -> None:
        with httpx.Client(base_url=pos_server.url, timeout=120,
                          headers=clients["network"].headers) as client:
            for batch in share:
                for attempt in (1, 2):  # a retry after each batch, as after a timeout
                    answer = client.post("/api/v1/tickets", json=batch)
                    if answer.status_code != (201 if attempt == 1 else 200):
                        failures.append(answer.text)

    threads = [threading.Thread(target=post, args=(batches[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    ids = [t["ticket_id"] for batch in batches for t in batch]
    stored = query(pos_server, "SELECT count(*), count(DISTINCT ticket_id) FROM tickets "
                   "WHERE list_contains(?, ticket_id)", [ids])
    assert stored == [(200, 200)]


def test_the_dashboard_sees_a_posted_ticket(pos_server, clients) -> None:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    url = f"/api/dashboard?period={yesterday.isoformat()}"

    def revenue() -> float:
        answer = clients["admin"].get(url)
        assert answer.status_code == 200, answer.text
        return answer.json()["network"]["kpis"]["revenue"]["value"]

    before = revenue()
    assert clients["admin"].post("/api/v1/tickets", json=ticket(count=1)).status_code == 201
    assert revenue() == pytest.approx(before + 10.5)


def test_the_openapi_spec_documents_the_bodies(pos_server) -> None:
    spec = httpx.get(f"{pos_server.url}/openapi.json").json()
    for path in ("/api/v1/tickets", "/api/v1/customers", "/api/v1/consents"):
        post = spec["paths"][path]["post"]
        assert {"201", "422"} <= set(post["responses"])
        assert post["requestBody"]["required"] is True
    ticket_schema = spec["components"]["schemas"]["Ticket"]
    assert {"ticket_id", "sold_at", "store_code", "lines"} <= set(ticket_schema["required"])
    assert {"sku", "quantity", "amount"} <= set(spec["components"]["schemas"]["TicketLine"]
                                                ["required"])


def _submit_queued(writer: Any, lock: threading.Lock, tickets: list[dict]) -> dict[str, Any]:
    """Submit each ticket from its own thread while ``lock`` holds the writer, so that they
    all queue; then let them run. The outcome of each, by ticket id."""
    from enseigne.ingest.live import Job

    outcomes: dict[str, Any] = {}

    def submit(sent: dict[str, Any]) -> None:
        rows = [{**sent, **line, "line_no": n + 1} for n, line in enumerate(sent["lines"])]
        job = Job("tickets", rows, lambda cur: None, lambda cur, outcome: outcome)
        outcomes[sent["ticket_id"]] = writer.submit(job)

    threads = [threading.Thread(target=submit, args=(t,)) for t in tickets]
    with lock:
        for thread in threads:
            thread.start()
        while writer.pending() < len(threads):
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join()
    return outcomes


def test_queued_requests_load_together_and_a_bad_one_fails_alone(tmp_path) -> None:
    from contextlib import contextmanager

    from enseigne.demo import build_demo
    from enseigne.ingest.live import CombiningWriter, LiveRefusal

    con = connect(tmp_path / "combine.duckdb")
    build_demo(con, stores=2, customers=50, years=1)
    lock = threading.Lock()

    @contextmanager
    def cursor() -> Iterator[Any]:
        cur = con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def imports() -> int:
        return con.execute("SELECT count(*) FROM import_log").fetchone()[0]

    writer = CombiningWriter(lock, cursor)
    before, good = imports(), [ticket(count=1) for _ in range(3)]
    outcomes = _submit_queued(writer, lock, good)
    assert [outcomes[t["ticket_id"]].rows_loaded for t in good] == [1, 1, 1]
    assert imports() == before + 1  # one import carried the three requests

    before, good, bad = imports(), [ticket(count=1) for _ in range(2)], ticket(store_code="S9")
    outcomes = _submit_queued(writer, lock, [*good, bad])
    assert isinstance(outcomes[bad["ticket_id"]], LiveRefusal)
    assert [outcomes[t["ticket_id"]].rows_loaded for t in good] == [1, 1]
    assert imports() == before + 2  # refused together, then each good one alone
    stored = con.execute("SELECT count(*) FROM tickets WHERE ticket_id = ?",
                         [bad["ticket_id"]]).fetchone()[0]
    assert stored == 0
    con.close()
