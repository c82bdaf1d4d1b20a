"""Changing the customer file: rectification, duplicate proposals and the merge.

- ``POST /customers/{ref}`` (the profile's form) and ``PATCH``/``POST /api/customers/{ref}``
  (JSON) rectify the record, validated like the import; roles admin, marketing, dpo and
  store (customers in scope).
- ``GET /customers/{ref}/duplicates`` and its twin list the likely duplicates of a customer
  with their score and reasons, and the merges that made the record.
- ``POST /customers/{ref}/merge`` (form) and ``POST /api/customers/{ref}/merge`` (JSON)
  merge another customer into this one; roles admin, marketing and dpo.

Forms carry the session's CSRF token (checked for every unsafe method by the app). A
refusal is the same 403 for a customer out of scope and for an unknown ref.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from enseigne.customers import customer_profile
from enseigne.customers.edit import EDITABLE, MAX_LENGTH, InvalidField, rectify
from enseigne.customers.identity import MERGERS, duplicate_candidates, merge_customers, merges
from enseigne.privacy.gate import AccessDenied
from enseigne.web.deps import DatabaseDep, DbCursor
from enseigne.web.i18n import request_lang, translate
from enseigne.web.pages import page
from enseigne.web.routes.customers import NO_ACCESS, CustomerReader
from enseigne.web.templating import render

router = APIRouter()

Text = Annotated[str | None, Field(max_length=MAX_LENGTH)]


class Rectification(BaseModel):
    """The fields to change (those left out stay as they are; null or "" clears one)."""

    first_name: Text = None
    last_name: Text = None
    email: Text = None
    phone: Text = Field(None, max_length=MAX_LENGTH,
                        description="French numbers are stored in E.164 (+33...)")
    birth_date: Text = Field(None, max_length=MAX_LENGTH,
                             description="2026-01-31, 31/01/2026...")
    gender: Text = None
    postal_code: Text = None
    city: Text = None
    country: Text = None
    loyalty_card: Text = None
    reason: Text = Field(None, description="Why (kept in the change log, without values)")


class RectificationForm(Rectification):
    csrf_token: str = ""


class Rectified(BaseModel):
    customer_ref: str
    changed: list[str]


class MergeRequest(BaseModel):
    other: str = Field(max_length=MAX_LENGTH, description="The customer absorbed by {ref}")


def _apply(db: DatabaseDep, reader: Any, ref: str, body: Rectification) -> list[str]:
    sent = body.model_dump(exclude_unset=True)
    reason = sent.pop("reason", None)
    changes = {f: sent[f] for f in EDITABLE if f in sent}
    with db.writing() as cur:
        return rectify(cur, reader, ref, changes, reason)


@router.post("/customers/{ref}", include_in_schema=False)
def rectify_form(
    ref: str, request: Request, reader: CustomerReader, db: DatabaseDep,
    form: Annotated[RectificationForm, Form()],
) -> Response:
    try:
        _apply(db, reader, ref, form)
    except AccessDenied as exc:
        raise HTTPException(403, NO_ACCESS) from exc
    except InvalidField as exc:
        # The profile again, with the values typed and the field to correct.
        with db.reading() as cur:
            context = customer_profile(cur, reader, ref)
        lang = request_lang(request)
        context["edit_error"] = {
            "field": exc.field,
            "message": translate("customer_admin.invalid", lang,
                                 field=translate(f"customer_admin.field.{exc.field}", lang),
                                 reason=exc.reason),
        }
        context["edit_values"] = form.model_dump(exclude={"csrf_token"})
        return render(request, "customer.html", context, status_code=422)
    return RedirectResponse(f"/customers/{ref}", status_code=303)


def _rectify_api(ref: str, body: Rectification, reader: CustomerReader,
                 db: DatabaseDep) -> Rectified:
    try:
        changed = _apply(db, reader, ref, body)
    except AccessDenied as exc:
        raise HTTPException(403, NO_ACCESS) from exc
    except InvalidField as exc:
        raise HTTPException(422, {"field": exc.field, "reason": exc.reason}) from exc
    return Rectified(customer_ref=ref, changed=changed)


class RefusedField(BaseModel):
    field: str
    reason: str


class RectifyRefusal(BaseModel):
    # The refused field, or FastAPI's list of problems when the body does not match the
    # schema: clients see both under 422.
    detail: RefusedField | list[dict[str, Any]]


RECTIFY_SUMMARY = ("Rectify a customer record (validated like the import; the change is "
                   "logged without its values; 422 names the refused field)")
for _method in ("PATCH", "POST"):
    router.add_api_route(
        "/api/customers/{ref}", _rectify_api, methods=[_method], response_model=Rectified,
        name=f"customer_rectify_{_method.lower()}", summary=RECTIFY_SUMMARY,
        responses={422: {"model": RectifyRefusal,
                         "description": "A refused field, or a body not matching the schema"}},
    )


@page(router, "/customers/{ref}/duplicates", template="customer_duplicates.html",
      errors={403: "Outside the user's scope, or an unknown customer"},
      summary="Likely duplicates of a customer (score, reasons) and the merges that made "
      "the record (403 outside the user's scope; logged)")
def customer_duplicates(ref: str, reader: CustomerReader, cur: DbCursor) -> dict[str, Any]:
    try:
        candidates = duplicate_candidates(cur, reader, ref)
        history = merges(cur, reader, ref)
    except AccessDenied as exc:
        raise HTTPException(403, NO_ACCESS) from exc
    return {"customer_ref": ref, "candidates": candidates, "merges": history,
            "may_merge": reader.role in MERGERS}


def _merge(db: DatabaseDep, reader: Any, ref: str, other: str) -> dict[str, Any]:
    try:
        with db.writing() as cur:
            return merge_customers(cur, reader, ref, other)
    except AccessDenied as exc:
        raise HTTPException(403, NO_ACCESS) from exc
    except ValueError as exc:
        raise HTTPException(422, {"field": "other", "reason": str(exc)}) from exc


@router.post("/customers/{ref}/merge", include_in_schema=False)
def merge_form(
    ref: str, reader: CustomerReader, db: DatabaseDep,
    other: Annotated[str, Form(max_length=MAX_LENGTH)],
) -> Response:
    _merge(db, reader, ref, other)
    return RedirectResponse(f"/customers/{ref}/duplicates", status_code=303)


@router.post("/api/customers/{ref}/merge", name="customer_merge",
             summary="Merge another customer into this one: tickets, surveys, complaints "
             "and consent history follow; empty fields are filled; the merge is logged",
             responses={422: {"model": RectifyRefusal,
                              "description": "A customer merged with themselves, or a body "
                              "not matching the schema"}})
def merge_api(ref: str, body: MergeRequest, reader: CustomerReader,
              db: DatabaseDep) -> dict[str, Any]:
    return _merge(db, reader, ref, body.other)
