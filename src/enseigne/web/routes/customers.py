"""The customer file: search (``/customers?q=``) and the 360° profile (``/customers/{ref}``),
each with its JSON twin under ``/api``.

Every answer goes through the privacy gate: the network role (figures only) gets 403 on
both pages; a store manager gets the same 403 for a customer outside their scope as for a
ref that does not exist, so that a refusal reveals nothing. Searches and profile views are
logged in the audit log with the user's name, role and address.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from enseigne.customers import customer_profile, search_customers
from enseigne.customers.search import MAX_LIMIT
from enseigne.privacy.gate import READERS, AccessDenied, Reader
from enseigne.web.deps import CurrentUser, DbCursor
from enseigne.web.pages import page

router = APIRouter()

NO_ACCESS = "no access to this customer"
NO_ROLE = "The role reads figures only, not customers"
NO_ROLE_OR_ACCESS = f"{NO_ROLE}; or the customer is outside the user's scope or unknown"
MAX_QUERY = 200


def customer_reader(request: Request, user: CurrentUser) -> Reader:
    """The signed-in user as the gate knows them; 403 for a role that reads figures only."""
    if user.role not in READERS:
        raise HTTPException(403, "your role does not give access to customers")
    host = request.client.host if request.client else "unknown"
    channel = "api" if user.via == "token" else "web"
    return Reader(user.name, user.role, user.stores, f"{channel} {host}")


CustomerReader = Annotated[Reader, Depends(customer_reader)]
SearchText = Annotated[str, Query(
    max_length=MAX_QUERY,
    description="A name (accents and case ignored, each word a prefix), an e-mail, a phone "
    "number (06 12..., +33 6 12...), a loyalty card or a customer ref, by prefix",
)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many customers")]


@page(router, "/customers", template="customers.html", errors={403: NO_ROLE},
      summary="Search the customers the user may see (logged in the audit log)")
def customers(
    reader: CustomerReader, cur: DbCursor, q: SearchText = "", limit: Limit = 20
) -> dict[str, Any]:
    results = search_customers(cur, reader, q, limit=limit) if q.strip() else []
    return {"query": q, "limit": limit, "results": results}


@page(router, "/customers/{ref}", template="customer.html", errors={403: NO_ROLE_OR_ACCESS},
      summary="One customer's 360° profile: identity, consents and reachability, purchases "
      "and RFM, stores and channels, latest tickets with their lines, surveys and "
      "complaints (403 outside the user's scope and for an unknown ref; logged)")
def customer(ref: str, reader: CustomerReader, cur: DbCursor) -> dict[str, Any]:
    try:
        return customer_profile(cur, reader, ref)
    except AccessDenied as exc:
        raise HTTPException(403, NO_ACCESS) from exc
