"""The API against its own OpenAPI document: schemathesis generates requests for every
operation the spec lists (JSON twins, and the POST operations of /api when there are any)
and sends them to a real uvicorn over the demo chain, signed in with an admin API token.

Checks: no 5xx, every response conforms to its documented schema, and its status code is
one the spec documents. Deterministic: derandomised, a bounded number of examples per
operation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from web_fixtures import RunningServer, demo_server

API_TOKEN_NAME = "schemathesis-contract"  # noqa: S105 - a name, not a secret
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
]


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own: the run posts tickets, customers and consents, which must not
    change the figures the other web tests read from the session's server."""
    path = tmp_path_factory.mktemp("contract") / "demo.duckdb"
    with demo_server(path, stores=3, customers=300, years=1) as server:
        yield server


@pytest.fixture(scope="module")
def admin_token(contract_server: RunningServer) -> str:
    from enseigne.web.users import create_token

    with contract_server.db.writing() as cur:
        return create_token(cur, API_TOKEN_NAME, "admin")


def spec() -> dict:
    """The OpenAPI document of the app as the server builds it (no database needed).

    Generated at collection time: schemathesis's lazy ``from_fixture`` loader does not run
    under pytest 9, so the test checks below that the running server serves this same
    document.
    """
    from enseigne.settings import Settings
    from enseigne.web.app import create_app

    return create_app(Settings(db=Path("unused.duckdb"))).openapi()


SPEC = spec()
# Logging out or revoking from inside the run would sign the rest of it out.
schema = schemathesis.openapi.from_dict(SPEC).exclude(path_regex=r"/(logout|tokens?)\b")


def test_the_server_serves_the_tested_spec(contract_server: RunningServer) -> None:
    served = httpx.get(f"{contract_server.url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(SPEC))


@schema.parametrize()
@settings(
    max_examples=20, derandomize=True, deadline=None, database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_honours_its_contract(
    case, contract_server: RunningServer, admin_token: str
) -> None:
    case.call_and_validate(
        base_url=contract_server.url, headers={"Authorization": f"Bearer {admin_token}"},
        checks=CHECKS, timeout=30,
    )


def test_the_contract_covers_the_api() -> None:
    """The run above must exercise the JSON twins, the audit log's among them."""
    paths = {result.ok().path for result in schema.get_all_operations()}
    assert {"/api/audit", "/api/customers/{ref}", "/api/stores"} <= paths
