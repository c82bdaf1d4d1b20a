"""``/docs``: the API reference rendered from ``/openapi.json`` by the server itself.

FastAPI's Swagger and ReDoc pages load their JavaScript from a CDN and run inline scripts;
the product works offline under a strict CSP, so the reference is plain HTML instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from enseigne.web.templating import render

router = APIRouter()

METHODS = ("get", "post", "put", "patch", "delete")


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per path and method, in path order."""
    found = []
    for path, item in sorted(schema.get("paths", {}).items()):
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append({
                "method": method.upper(),
                "path": path,
                "summary": operation.get("summary", ""),
                "description": operation.get("description", ""),
                "parameters": [
                    {"name": p["name"], "in": p["in"], "required": p.get("required", False),
                     "description": p.get("description", "")}
                    for p in operation.get("parameters", [])
                ],
                "secured": bool(operation.get("security")),
            })
    return found


@router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
def api_reference(request: Request) -> HTMLResponse:
    schema = request.app.openapi()
    return render(request, "docs.html", {
        "api_title": schema["info"]["title"], "api_version": schema["info"]["version"],
        "operations": operations(schema),
    })
