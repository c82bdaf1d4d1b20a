"""The live API: tills and the web shop post tickets, customers and consents as they happen.

``POST /api/v1/tickets``, ``/api/v1/customers``, ``/api/v1/consents`` take one record or a
list (a batch), in the canonical columns of the file import, and load them through the
same pipeline (``enseigne.ingest.live``): the same checks, all or nothing, and the same
natural keys, so a ticket sent twice is stored once. An ``Idempotency-Key`` header makes a
retry return the first answer without touching the data.

Writes are serialised by the server's write lock: concurrent requests queue in the worker
pool and load one after the other, none is lost. The import has a fixed cost per call
(tens of milliseconds, whatever the size), so a till that can should post batches.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Body, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from enseigne.ingest import ImportSummary
from enseigne.ingest.live import CombiningWriter, Job, LiveRefusal, Outcome, RowError
from enseigne.privacy import audit
from enseigne.privacy.gate import Reader, customer_scope_sql
from enseigne.web.cache import data_changed
from enseigne.web.database import Database
from enseigne.web.deps import CurrentUser
from enseigne.web.users import User

router = APIRouter(prefix="/api/v1", tags=["live API"])

MAX_BATCH = 1000
TICKET_ROLES = ("admin", "network", "store")
PEOPLE_ROLES = ("admin", "network", "marketing", "store")
REPLAY_HEADER = "Idempotent-Replayed"
_WRITER_LOCK = threading.Lock()

Number = float | int | str
Text = Annotated[str, Field(min_length=1, max_length=200)]


class TicketLine(BaseModel):
    """One line of a receipt (the `tickets` import columns that vary per line)."""

    line_no: int | None = Field(None, description="Unique in the ticket; default: position "
                                "of the line in `lines`, from 1")
    sku: Text
    product_label: str | None = None
    category: str | None = None
    quantity: Number = Field(description="Negative for a returned article")
    unit_price: Number | None = None
    discount: Number | None = None
    amount: Number = Field(description="What the line was sold for, tax included (€)")
    vat_rate: Number | None = None


class Ticket(BaseModel):
    """A receipt and its lines; the ticket's totals are computed from the lines."""

    ticket_id: Text = Field(description="Unique across the chain (e.g. `S001-000123`)")
    sold_at: Text = Field(description="Date and time, e.g. `2026-11-20T10:31:00`",
                          examples=["2026-11-20T10:31:00"])
    store_code: Text
    channel: str | None = Field(None, description="`store` (default), `web` or `app`")
    seller_code: str | None = None
    customer_ref: str | None = Field(None, description="Empty for an anonymous ticket")
    lines: list[TicketLine] = Field(min_length=1, max_length=MAX_BATCH)


class Customer(BaseModel):
    """A customer (the `customers` import columns); a known ref is updated."""

    customer_ref: Text
    loyalty_card: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = Field(None, description="Stored in E.164")
    birth_date: str | None = None
    gender: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    created_at: str | None = None
    store_code: str | None = Field(None, description="Recruiting store (required for a "
                                   "store token: one of its stores)")
    channel: str | None = None
    seller_code: str | None = None


class Consent(BaseModel):
    """One entry of the append-only consent ledger (the `consents` import columns)."""

    customer_ref: Text
    channel: str = Field(description="`email`, `sms`, `push`, `postal` or `phone`")
    status: str = Field(description="`opt_in`, `opt_out` or `soft_opt_in` (e-mail only)")
    collected_at: Text
    source: str | None = None
    store_code: str | None = Field(None, description="Where it was collected (required for "
                                   "a store token: one of its stores)")
    seller_code: str | None = Field(None, description="The seller who collected it")
    wording_version: str | None = Field(
        None, description="Version of the consent wording shown to the person"
    )


class WriteResult(BaseModel):
    kind: str
    records: int = Field(description="Tickets, customers or consents received")
    rows: int = Field(description="Rows imported (ticket lines for tickets)")
    loaded: int = Field(description="Rows added or updated")
    duplicates: int = Field(description="Rows already stored as sent (a retry)")
    stubs: dict[str, int] = Field(description="Incomplete records created for unknown codes")
    import_id: int | None


class RowProblem(BaseModel):
    record: int = Field(description="Position of the record in the batch, from 0")
    line: int | None = Field(description="Tickets: position of the line, from 0")
    field: str
    value: str | None
    reason: str


class Refusal(BaseModel):
    # A body that does not match the schema at all gets FastAPI's own 422 (a list of
    # problems in ``detail``, no ``errors``): documented here too, as clients see both.
    detail: str | list[dict[str, Any]]
    errors: list[RowProblem] = Field(default_factory=list)


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WriteResult, "description": "Nothing new: every row was already stored"},
    403: {"description": "Role or store scope does not allow this write"},
    409: {"description": "This Idempotency-Key was used for another request"},
    422: {"model": Refusal, "description": "Invalid records: nothing was loaded"},
}
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="Any unique string per request: a retry with the same key and body returns "
    "the first answer without writing",
)]


def _check_role(user: User, roles: Sequence[str]) -> None:
    if user.role not in roles:
        raise HTTPException(403, "your role may not write these records")


def _check_stores(user: User, codes: Sequence[str | None]) -> None:
    """403 unless every record is for one of the user's stores (when they are limited)."""
    if user.stores is None:
        return
    if any(code not in user.stores for code in codes):
        raise HTTPException(403, "no access to this store")


def _reader(request: Request, user: User) -> Reader:
    host = request.client.host if request.client else "unknown"
    return Reader(user.name, user.role, user.stores,
                  f"{'api' if user.via == 'token' else 'web'} {host}")


def _writer(app: Any) -> CombiningWriter:
    """The app's one writer of live records, over the database's write lock."""
    with _WRITER_LOCK:
        writer = getattr(app.state, "live_writer", None)
        if writer is None:
            db: Database = app.state.db
            # The import opens and commits its own transaction, so it takes the lock with a
            # plain cursor rather than Database.writing(); the lock is private to Database:
            # a public accessor there would be cleaner.
            writer = CombiningWriter(db._write_lock, db.reading)
            app.state.live_writer = writer
        return writer


def _request_hash(endpoint: str, records: list[dict[str, Any]]) -> str:
    text = json.dumps([endpoint, records], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _stored_answer(
    cur: duckdb.DuckDBPyConnection, client: str, key: str, digest: str
) -> JSONResponse | None:
    row = cur.execute(
        "SELECT request_hash, status, response FROM idempotency_keys "
        "WHERE client = ? AND key = ?", [client, key],
    ).fetchone()
    if row is None:
        return None
    if row[0] != digest:
        raise HTTPException(409, "this Idempotency-Key was already used for another request: "
                            "use a new key for a new request")
    return JSONResponse(json.loads(row[2]), status_code=row[1],
                        headers={REPLAY_HEADER: "true"})


def _keep_answer(
    cur: duckdb.DuckDBPyConnection, client: str, key: str, endpoint: str, digest: str,
    answer: JSONResponse,
) -> None:
    cur.execute(
        "INSERT INTO idempotency_keys (key, client, endpoint, request_hash, status, response) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [key, client, endpoint, digest, answer.status_code, answer.body.decode()],
    )


def _out_of_scope(cur: duckdb.DuckDBPyConnection, reader: Reader, refs: list[str]) -> bool:
    """True when a store user sends a known customer they may not see (they would
    overwrite another store's customer)."""
    if reader.stores is None:
        return False
    condition, params = customer_scope_sql(reader)
    row = cur.execute(
        f"SELECT count(*) FROM customers WHERE list_contains(?, customer_ref) "
        f"AND NOT ({condition})", [refs, *params],
    ).fetchone()
    return bool(row and row[0])


def _answer(kind: str, records: int, summary: ImportSummary) -> JSONResponse:
    result = WriteResult(
        kind=kind, records=records, rows=summary.rows_read, loaded=summary.rows_loaded,
        duplicates=summary.duplicates, stubs=summary.stubs, import_id=summary.import_id,
    )
    return JSONResponse(result.model_dump(), status_code=201 if summary.rows_loaded else 200)


def _refused(errors: list[RowError], locate: list[tuple[int, int | None]]) -> JSONResponse:
    def where(row: int) -> tuple[int, int | None]:
        return locate[row] if 0 <= row < len(locate) else (row, None)

    problems = [
        RowProblem(record=where(e.row)[0], line=where(e.row)[1], field=e.column,
                   value=e.value, reason=e.reason).model_dump()
        for e in errors
    ]
    detail = f"{len(problems)} problem(s) in the records sent; nothing was loaded"
    return JSONResponse({"detail": detail, "errors": problems}, status_code=422)


def _after_import(
    cur: duckdb.DuckDBPyConnection, reader: Reader, kind: str, refs: list[str] | None,
    keep: tuple[str, str, str, str] | None, answer: JSONResponse,
) -> JSONResponse:
    """What the import's own transaction does not hold: the audit of the people written
    and the answer kept for the Idempotency-Key (in the writer's one transaction for the
    requests it loaded together)."""
    if keep is not None:  # a retry combined with its original: answer as the first did
        stored = _stored_answer(cur, keep[0], keep[1], keep[3])
        if stored is not None:
            return stored
    audit.record_each(cur, actor=reader.name, role=reader.role, action="change",
                      customer_refs=list(refs or ()), origin=reader.origin,
                      detail=f"live API: {kind}")
    if keep is not None:
        _keep_answer(cur, *keep, answer)
    return answer


def _write(
    request: Request, user: User, kind: str, records: list[dict[str, Any]], received: int,
    locate: list[tuple[int, int | None]], idempotency_key: str | None,
    refs: list[str] | None = None,
) -> JSONResponse:
    """Load ``records`` through the import, once, by the app's one writer."""
    endpoint = f"/api/v1/{kind}"
    client = f"{user.via}:{user.name}"
    digest = _request_hash(endpoint, records)
    reader = _reader(request, user)
    keep = (client, idempotency_key, endpoint, digest) if idempotency_key else None

    def prepare(cur: duckdb.DuckDBPyConnection) -> JSONResponse | None:
        if idempotency_key:
            stored = _stored_answer(cur, client, idempotency_key, digest)
            if stored is not None:
                return stored
        if refs is not None and _out_of_scope(cur, reader, refs):
            raise HTTPException(403, "no access to this customer")
        return None

    def finish(cur: duckdb.DuckDBPyConnection, outcome: Outcome) -> JSONResponse:
        if isinstance(outcome, LiveRefusal):
            return _refused(outcome.errors, locate)
        answer = _answer(kind, received, outcome)
        written = refs if refs is not None and outcome.rows_loaded else None
        if written or keep:
            answer = _after_import(cur, reader, kind, written, keep, answer)
        return answer

    answer = _writer(request.app).submit(Job(kind, records, prepare, finish))
    if answer.status_code == 201 and REPLAY_HEADER not in answer.headers:
        data_changed(request.app)
    return answer


def _as_list(payload: BaseModel | list[Any]) -> list[Any]:
    return payload if isinstance(payload, list) else [payload]


def ticket_rows(tickets: list[Ticket]) -> tuple[list[dict[str, Any]], list[tuple[int, int | None]]]:
    """One import row per ticket line (the ticket's columns repeated), and where each
    row comes from (ticket, line)."""
    rows: list[dict[str, Any]] = []
    locate: list[tuple[int, int | None]] = []
    for t, ticket in enumerate(tickets):
        header = ticket.model_dump(exclude={"lines"})
        for n, line in enumerate(ticket.lines):
            row = {**header, **line.model_dump()}
            if row["line_no"] is None:
                row["line_no"] = n + 1
            rows.append(row)
            locate.append((t, n))
    return rows, locate


TicketBody = Annotated[Ticket | Annotated[list[Ticket], Field(min_length=1,
                       max_length=MAX_BATCH)], Body()]
CustomerBody = Annotated[Customer | Annotated[list[Customer], Field(min_length=1,
                         max_length=MAX_BATCH)], Body()]
ConsentBody = Annotated[Consent | Annotated[list[Consent], Field(min_length=1,
                        max_length=MAX_BATCH)], Body()]


@router.post("/tickets", status_code=201, response_model=WriteResult, responses=RESPONSES,
             summary="Post one ticket or a batch of tickets (idempotent)")
def post_tickets(
    request: Request, user: CurrentUser, payload: TicketBody,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    tickets = _as_list(payload)
    _check_role(user, TICKET_ROLES)
    _check_stores(user, [t.store_code for t in tickets])
    rows, locate = ticket_rows(tickets)
    return _write(request, user, "tickets", rows, len(tickets), locate, idempotency_key)


def _people(
    request: Request, user: User, kind: str, items: list[Any], idempotency_key: str | None
) -> JSONResponse:
    _check_role(user, PEOPLE_ROLES)
    _check_stores(user, [item.store_code for item in items])
    rows = [item.model_dump() for item in items]
    refs = sorted({item.customer_ref for item in items})
    locate: list[tuple[int, int | None]] = [(i, None) for i in range(len(rows))]
    return _write(request, user, kind, rows, len(rows), locate, idempotency_key, refs)


@router.post("/customers", status_code=201, response_model=WriteResult, responses=RESPONSES,
             summary="Create or update one customer or a batch (idempotent; audited)")
def post_customers(
    request: Request, user: CurrentUser, payload: CustomerBody,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return _people(request, user, "customers", _as_list(payload), idempotency_key)


@router.post("/consents", status_code=201, response_model=WriteResult, responses=RESPONSES,
             summary="Append one consent or a batch to the ledger (idempotent; audited)")
def post_consents(
    request: Request, user: CurrentUser, payload: ConsentBody,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return _people(request, user, "consents", _as_list(payload), idempotency_key)
