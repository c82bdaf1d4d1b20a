"""The DPO's view of the audit log (``/audit``, JSON twin ``/api/audit``): who read,
searched, exported, changed, merged or erased which customer, when and from where.

Read-only: this module only selects. Only the dpo and admin roles see it. Reading the log
is not itself logged as a customer read: it shows refs and actors, not personal data.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Depends, Query

from enseigne.privacy.audit import ACTIONS
from enseigne.web.deps import DbCursor, require_role
from enseigne.web.pages import page
from enseigne.web.users import User

router = APIRouter()

MAX_LIMIT = 500
MAX_TEXT = 200
COLUMNS = ("audit_id", "recorded_at", "actor", "role", "action", "customer_ref", "origin",
           "detail")

Action = Enum("Action", {name: name for name in ACTIONS}, type=str)  # type: ignore[misc]

AuditReader = Annotated[User, Depends(require_role("dpo"))]
CustomerRef = Annotated[str, Query(max_length=MAX_TEXT, description="Exactly this customer ref")]
Actor = Annotated[str, Query(max_length=MAX_TEXT, description="Exactly this user or token name")]
ActionFilter = Annotated[Action | None, Query(description="Only this action")]
Since = Annotated[date | None, Query(description="Recorded on or after this day")]
Until = Annotated[date | None, Query(description="Recorded on or before this day")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many entries")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Skip this many (newest first)")]


@page(router, "/audit", template="audit.html", errors={403: "Not the dpo or admin role"},
      summary="The audit log, newest first, for the dpo and admin roles (403 for the others): "
      "who read, searched, exported, changed, merged or erased which customer, when, from where")
def audit_log(
    user: AuditReader, cur: DbCursor, customer_ref: CustomerRef = "", actor: Actor = "",
    action: ActionFilter = None, since: Since = None, until: Until = None,
    limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    filters = {
        "customer_ref": customer_ref.strip(), "actor": actor.strip(),
        "action": action.value if action else "", "since": since, "until": until,
    }
    where, params = _conditions(filters)
    total = cur.execute(f"SELECT count(*) FROM audit_log {where}", params).fetchone()[0]
    return {
        "filters": filters, "actions": list(ACTIONS), "total": total, "limit": limit,
        "offset": offset, "entries": _entries(cur, where, params, limit, offset),
    }


def _conditions(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """A WHERE clause from the filters that are set (only fixed SQL, values as parameters)."""
    tests = {
        "customer_ref": "customer_ref = ?", "actor": "actor = ?", "action": "action = ?",
        "since": "CAST(recorded_at AS DATE) >= ?", "until": "CAST(recorded_at AS DATE) <= ?",
    }
    used = [name for name in tests if filters[name] not in ("", None)]
    if not used:
        return "", []
    return "WHERE " + " AND ".join(tests[name] for name in used), [filters[n] for n in used]


def _entries(
    cur: duckdb.DuckDBPyConnection, where: str, params: list[Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    cursor = cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM audit_log {where} "
        "ORDER BY recorded_at DESC, audit_id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
