"""The DPO's audit log page (/audit) and its JSON twin, against a real uvicorn over the demo
chain: roles, filters, order and pages, and the guard that keeps the log read-only."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest

from enseigne.privacy import audit
from web_fixtures import app_routes

ACTOR = "audit-page-tester"
REFS = ("C-AUDIT-1", "C-AUDIT-2")
SRC = Path(__file__).resolve().parents[1] / "src"
# The GDPR erasure re-keys the erased person's entries and blanks details naming them.
ALLOWED_WRITERS = {SRC / "enseigne" / "privacy" / "gdpr.py"}
WRITES_TO_LOG = re.compile(
    r"\b(UPDATE|DELETE\s+FROM|TRUNCATE(\s+TABLE)?|DROP\s+TABLE|ALTER\s+TABLE)\s+\"?audit_log\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def logged(web_server) -> list[dict]:
    """Five known entries by a dedicated actor: reads, a search, an export, newest last."""
    rows = [
        ("read", REFS[0], None), ("search", None, "dupont"), ("read", REFS[1], None),
        ("export", REFS[0], "gdpr export"), ("read", REFS[0], "profile"),
    ]
    with web_server.db.writing() as cur:
        for action, ref, detail in rows:
            audit.record(cur, actor=ACTOR, role="marketing", action=action, customer_ref=ref,
                         origin="web 10.1.2.3", detail=detail)
    return [{"action": a, "customer_ref": r, "detail": d} for a, r, d in rows]


def api(client, **params) -> dict:
    answer = client.get("/api/audit", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("role", ["dpo", "admin"])
def test_dpo_and_admin_read_the_log(web_login, logged, role) -> None:
    client = web_login(role)
    page = client.get("/audit", params={"actor": ACTOR})
    assert page.status_code == 200
    text = htmllib.unescape(page.text)
    assert "Journal des accès" in text
    assert 'href="/audit" aria-current="page"' in page.text
    assert text.count(f"<td>{ACTOR}</td>") == len(logged)
    assert "web 10.1.2.3" in text and "gdpr export" in text and REFS[1] in text
    assert "Export" in text and "Recherche" in text  # action labels, in French


@pytest.mark.parametrize("role", ["network", "marketing", "store"])
def test_other_roles_are_refused(web_login, role) -> None:
    client = web_login(role)
    assert client.get("/api/audit").status_code == 403
    assert client.get("/audit").status_code == 403
    assert 'href="/audit"' not in client.get("/").text


def test_anonymous_is_refused(web_server) -> None:
    import httpx

    assert httpx.get(f"{web_server.url}/api/audit", timeout=30).status_code == 401


def test_the_json_twin_lists_newest_first(web_login, logged) -> None:
    data = api(web_login("dpo"), actor=ACTOR)
    assert data["total"] == len(logged)
    assert data["actions"] == list(audit.ACTIONS)
    entries = data["entries"]
    assert [(e["action"], e["customer_ref"], e["detail"]) for e in entries] == [
        (r["action"], r["customer_ref"], r["detail"]) for r in reversed(logged)
    ]
    first = entries[0]
    assert set(first) == {"audit_id", "recorded_at", "actor", "role", "action",
                          "customer_ref", "origin", "detail"}
    assert (first["actor"], first["role"], first["origin"]) == (ACTOR, "marketing",
                                                                "web 10.1.2.3")
    ids = [e["audit_id"] for e in entries]
    assert ids == sorted(ids, reverse=True)


def test_filters(web_login, logged) -> None:
    client = web_login("dpo")
    by_ref = api(client, actor=ACTOR, customer_ref=REFS[0])
    assert by_ref["total"] == 3
    assert {e["customer_ref"] for e in by_ref["entries"]} == {REFS[0]}
    reads = api(client, actor=ACTOR, action="read")
    assert [e["customer_ref"] for e in reads["entries"]] == [REFS[0], REFS[1], REFS[0]]
    assert api(client, customer_ref=REFS[1], action="export")["total"] == 0
    assert api(client, actor="nobody-by-that-name")["entries"] == []


def test_date_range(web_login, logged) -> None:
    client = web_login("dpo")
    day = api(client, actor=ACTOR)["entries"][0]["recorded_at"][:10]
    assert api(client, actor=ACTOR, since=day, until=day)["total"] == len(logged)
    assert api(client, actor=ACTOR, since=day)["total"] == len(logged)
    assert api(client, actor=ACTOR, until="2000-01-01")["total"] == 0
    assert api(client, actor=ACTOR, since="2999-01-01")["total"] == 0


def test_pages(web_login, logged) -> None:
    client = web_login("dpo")
    everything = [e["audit_id"] for e in api(client, actor=ACTOR)["entries"]]
    first = api(client, actor=ACTOR, limit=2)
    second = api(client, actor=ACTOR, limit=2, offset=2)
    assert (first["limit"], second["offset"]) == (2, 2)
    assert [e["audit_id"] for e in first["entries"] + second["entries"]] == everything[:4]
    page = client.get("/audit", params={"actor": ACTOR, "limit": 2, "offset": 2})
    assert 'rel="prev"' in page.text and 'rel="next"' in page.text
    assert "offset=4" in page.text and "offset=0" in page.text


@pytest.mark.parametrize("params", [
    {"action": "delete"}, {"limit": 0}, {"limit": 100000}, {"offset": -1},
    {"since": "yesterday"}, {"until": "2026-13-01"}, {"actor": "x" * 201},
])
def test_bad_parameters_are_refused(web_login, params) -> None:
    assert web_login("dpo").get("/api/audit", params=params).status_code == 422


def test_reading_the_log_is_not_logged(web_server, web_login, logged) -> None:
    client = web_login("admin")

    def count() -> int:
        with web_server.db.reading() as cur:
            return cur.execute("SELECT count(*) FROM audit_log").fetchone()[0]

    before = count()
    api(client)
    client.get("/audit", params={"customer_ref": REFS[0]})
    assert count() == before


def test_no_route_writes_the_log(web_server) -> None:
    """Only GET reaches the log through the product."""
    for route in app_routes(web_server.app):
        if "audit" in route.path:
            assert route.methods <= {"GET", "HEAD"}, route.path


def test_no_code_updates_or_deletes_log_rows() -> None:
    offenders = [
        f"{path.relative_to(SRC)}: {match.group(0)}"
        for path in sorted(SRC.rglob("*.py")) if path not in ALLOWED_WRITERS
        for match in WRITES_TO_LOG.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    # The guard can fail: it sees the erasure's re-keying it allows.
    allowed = "".join(p.read_text(encoding="utf-8") for p in ALLOWED_WRITERS)
    assert WRITES_TO_LOG.search(allowed)
