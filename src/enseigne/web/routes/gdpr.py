"""The rights of access and erasure from the profile: the DPO's (and the administrator's).

- ``GET /customers/{ref}/export`` downloads every piece of data held on the person as JSON
  (``enseigne.privacy.gdpr.export_person``); ``GET /api/customers/{ref}/export`` answers
  the same JSON.
- ``POST /customers/{ref}/erase`` (the profile's form, the ref typed again to confirm) and
  ``POST /api/customers/{ref}/erase`` (``{"confirm": ref}``) erase the person, then
  rewrite the database file while the server keeps serving (``Database.rewrite``), so the
  erased values are gone from its bytes; the answer gives the anonymous key their receipts
  now carry.

Other roles get 403 on all four; a customer out of scope or unknown gets the profile's 403.
Both actions are logged in the audit log by ``export_person`` and ``erase_person``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from enseigne.customers import customer_profile
from enseigne.customers.edit import MAX_LENGTH
from enseigne.privacy.gate import AccessDenied, Reader, may_see
from enseigne.privacy.gdpr import ERASERS, erase_person, export_person
from enseigne.web.cache import data_changed
from enseigne.web.database import DatabaseBusy, RewriteFailed
from enseigne.web.deps import DatabaseDep, DbCursor
from enseigne.web.i18n import request_lang, translate
from enseigne.web.routes.customer_admin import RectifyRefusal
from enseigne.web.routes.customers import NO_ACCESS, CustomerReader
from enseigne.web.templating import render

router = APIRouter()
logger = logging.getLogger(__name__)

NO_ROLE = "your role may not export or erase customers"
REFUSED = (f"The role is not admin or dpo ({NO_ROLE}); or the customer is outside the "
           "user's scope or unknown")
BUSY = "the database is busy: nothing was erased, retry in a moment"
NOT_CONFIRMED = "does not match the customer ref"


def eraser(reader: CustomerReader) -> Reader:
    """The signed-in user if their role exercises the rights of access and erasure."""
    if reader.role not in ERASERS:
        raise HTTPException(403, NO_ROLE)
    return reader


Eraser = Annotated[Reader, Depends(eraser)]


class EraseRequest(BaseModel):
    confirm: str = Field(max_length=MAX_LENGTH,
                         description="The customer ref typed again, as a confirmation")


class Erased(BaseModel):
    customer_ref: str
    anonymous_key: str = Field(description="The key the person's receipts, survey scores "
                               "and consent events now carry")


# --- right of access --------------------------------------------------------------------


def _export(cur: duckdb.DuckDBPyConnection, reader: Reader, ref: str) -> dict[str, Any]:
    try:
        return export_person(cur, reader, ref)
    except AccessDenied as exc:
        raise HTTPException(403, NO_ACCESS) from exc


def _download_name(ref: str) -> str:
    return "client-" + re.sub(r"[^A-Za-z0-9._-]", "_", ref) + ".json"


@router.get("/customers/{ref}/export", include_in_schema=False)
def export_download(ref: str, reader: Eraser, cur: DbCursor) -> Response:
    text = json.dumps(_export(cur, reader, ref), ensure_ascii=False, indent=2) + "\n"
    return Response(text, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{_download_name(ref)}"'})


@router.get("/api/customers/{ref}/export", name="customer_export",
            summary="Every piece of data held on a customer (right of access): record, "
            "consent history, tickets with their lines, surveys, complaints, changes and "
            "audit entries (roles admin and dpo; logged)",
            responses={403: {"description": REFUSED}})
def export_api(ref: str, reader: Eraser, cur: DbCursor) -> dict[str, Any]:
    return _export(cur, reader, ref)


# --- right to erasure -------------------------------------------------------------------


def _check_access(db: DatabaseDep, reader: Reader, ref: str) -> None:
    """The profile's 403 before anything else: a wrong confirmation must not tell whether
    the customer exists."""
    with db.reading() as cur:
        if not may_see(cur, reader, ref):
            raise HTTPException(403, NO_ACCESS)


def _erase(request: Request, db: DatabaseDep, reader: Reader, ref: str) -> Erased:
    """Erase, then rewrite the file with the server's key while requests wait."""
    _check_access(db, reader, ref)  # an unknown ref does not pause the server
    key = request.app.state.settings.db_key_value()
    try:
        anonymous = db.rewrite(key, lambda cur: erase_person(cur, reader, ref))
    except AccessDenied as exc:
        raise HTTPException(403, NO_ACCESS) from exc
    except DatabaseBusy as exc:
        raise HTTPException(503, BUSY, headers={"Retry-After": "30"}) from exc
    except RewriteFailed as exc:
        data_changed(request.app)
        # The anonymous key only: the log must not name the person.
        logger.exception("erased as %s, but the database file was not rewritten", exc.result)
        raise HTTPException(500, f"erased (anonymous key {exc.result}), but the database "
                            "file could not be rewritten: the erased values stay in its "
                            "free space until the next rewrite") from exc
    data_changed(request.app)  # a row replaced, not added: row counts do not show it
    return Erased(customer_ref=ref, anonymous_key=anonymous)


@router.post("/customers/{ref}/erase", include_in_schema=False)
def erase_form(
    ref: str, request: Request, reader: Eraser, db: DatabaseDep,
    confirm: Annotated[str, Form(max_length=MAX_LENGTH)] = "",
) -> Response:
    if confirm.strip() != ref:
        # The profile again, saying why nothing was erased (403 if it cannot be seen).
        try:
            with db.reading() as cur:
                context = customer_profile(cur, reader, ref)
        except AccessDenied as exc:
            raise HTTPException(403, NO_ACCESS) from exc
        context["erase_error"] = translate("gdpr.not_confirmed", request_lang(request),
                                           ref=ref)
        return render(request, "customer.html", context, status_code=422)
    erased = _erase(request, db, reader, ref)
    return render(request, "customer_erased.html", erased.model_dump())


@router.post("/api/customers/{ref}/erase", name="customer_erase", response_model=Erased,
             summary="Erase a customer (right to erasure): identity, contact data and free "
             "text removed, receipts kept under an anonymous key, the database file "
             "rewritten so the values are gone from its bytes (roles admin and dpo; logged)",
             responses={
                 403: {"description": REFUSED},
                 422: {"model": RectifyRefusal, "description": "The confirmation is not the "
                       "customer ref, or a body not matching the schema"},
                 503: {"description": "Requests in flight kept the database: nothing was "
                       "erased, retry"},
             })
def erase_api(ref: str, body: EraseRequest, request: Request, reader: Eraser,
              db: DatabaseDep) -> Erased:
    _check_access(db, reader, ref)
    if body.confirm.strip() != ref:
        raise HTTPException(422, {"field": "confirm", "reason": NOT_CONFIRMED})
    return _erase(request, db, reader, ref)
