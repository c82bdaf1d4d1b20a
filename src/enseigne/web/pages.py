"""One view, two answers: an HTML page and its JSON twin built from the same context.

A view is a plain (sync) function taking FastAPI parameters and dependencies and returning
a dict. ``@page`` registers it twice::

    router = APIRouter()

    @page(router, "/stores/{code}", template="store.html")
    def store(code: str, user: CurrentUser, cur: DbCursor) -> dict[str, Any]:
        require_store_access(user, code)
        return {"store": ...}

- ``GET /stores/{code}`` renders ``store.html`` with that dict (plus the layout context);
- ``GET /api/stores/{code}`` returns the same dict as JSON, documented in OpenAPI.

Both require a signed-in user (or a Bearer token on the API) unless ``public=True``. The
API path defaults to ``/api`` + the page path; pass ``api=`` to choose another, and
``response_model=`` (a pydantic model) to document the JSON shape in OpenAPI, and
``errors={403: "why"}`` to document the error statuses the view answers (401 is
documented for every operation by the app). Values go
through FastAPI's encoder: DECIMAL becomes a number, dates ISO strings. A view may return a
``Response`` (a redirect, say) instead of a dict: both answers pass it through.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from enseigne.web.deps import current_user
from enseigne.web.templating import render

View = Callable[..., Any]
_REQUEST_PARAM = "_page_request"


def page(
    router: APIRouter,
    path: str,
    *,
    template: str,
    api: str | None = None,
    name: str | None = None,
    summary: str | None = None,
    public: bool = False,
    response_model: Any = None,
    errors: dict[int, str] | None = None,
) -> Callable[[View], View]:
    def register(view: View) -> View:
        route_name = name or view.__name__
        dependencies = [] if public else [Depends(current_user)]
        router.add_api_route(
            api or ("/api" + path if path != "/" else "/api"), view, methods=["GET"],
            name=f"{route_name}_json", summary=summary, dependencies=dependencies,
            # Without a model FastAPI's encoder writes DECIMAL values as JSON numbers (a
            # pydantic ``Any`` would write them as strings).
            response_model=response_model,
            responses={code: {"description": text} for code, text in (errors or {}).items()},
        )
        router.add_api_route(
            path, _html_endpoint(view, template), methods=["GET"], name=route_name,
            include_in_schema=False, response_class=HTMLResponse, response_model=None,
            dependencies=dependencies,
        )
        return view

    return register


def _html_endpoint(view: View, template: str) -> View:
    """``view`` with a Request parameter added, rendering ``template`` with its result."""
    hints = typing.get_type_hints(view, include_extras=True)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(view).parameters.values()
    ]
    request_param = inspect.Parameter(
        _REQUEST_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=Request
    )

    @functools.wraps(view)
    def endpoint(**kwargs: Any) -> Response:
        request = kwargs.pop(_REQUEST_PARAM)
        context = view(**kwargs)
        if isinstance(context, Response):
            return context
        return render(request, template, context)

    # Resolved annotations: FastAPI reads them from this signature, not from the view's
    # module (where ``from __future__ import annotations`` left them as strings).
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*params, request_param], return_annotation=inspect.Signature.empty
    )
    return endpoint
