"""Jinja2 environment and ``render()``: every page gets the layout's context for free.

Templates live in ``web/templates/`` and extend ``base.html``. Besides the page's own
context they receive ``lang``, ``t(key, **values)``, ``user``, ``csrf_token``, ``nav`` and
``lang_url``, and the locale-aware filters ``money``, ``number``, ``percent``, ``date``,
``datetime``, ``delta`` and ``kpi`` (``{{ value|kpi(unit) }}``). Undefined variables are
errors, so a typo fails the tests instead of printing nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from enseigne.web import formats
from enseigne.web.i18n import LANGS, request_lang, translate
from enseigne.web.users import ROLES

# (catalogue key, path): the main navigation, in order.
NAV: tuple[tuple[str, str], ...] = (
    ("nav.dashboard", "/"),
    ("nav.stores", "/stores"),
)


def _localised(function: Callable[..., str]) -> Callable[..., str]:
    """A filter calling ``function(value, lang, ...)`` with the page's language."""

    @pass_context
    def apply(context: Context, value: Any, *args: Any, **kwargs: Any) -> str:
        return function(value, context["lang"], *args, **kwargs)

    return apply


def build_templates() -> Environment:
    env = Environment(
        loader=PackageLoader("enseigne.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=_localised(formats.money),
        number=_localised(formats.number),
        percent=_localised(formats.percent),
        date=_localised(formats.date),
        datetime=_localised(formats.datetime),
        delta=_localised(formats.delta),
        kpi=_localised(lambda value, lang, unit: formats.kpi_value(value, unit, lang)),
    )
    return env


def _nav(request: Request, lang: str) -> list[dict[str, Any]]:
    path = request.url.path
    return [
        {"label": translate(key, lang), "href": href,
         "current": path == href or (href != "/" and path.startswith(href + "/"))}
        for key, href in NAV
    ]


def layout_context(request: Request) -> dict[str, Any]:
    """What ``base.html`` needs, from the request alone."""
    lang = request_lang(request)
    user = getattr(request.state, "user", None)
    session = getattr(request.state, "session", None)
    # The switch must not carry a ``?lang=`` that would override the language just chosen.
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    here = request.url.path + (f"?{urlencode(query)}" if query else "")
    return {
        "lang": lang,
        "t": lambda key, **values: translate(key, lang, **values),
        "user": user,
        "role_label": ROLES[user.role][lang] if user else "",
        "csrf_token": session.csrf if session and session.csrf else "",
        "nav": _nav(request, lang) if user else [],
        "languages": [
            {"code": code, "href": f"/lang/{code}?next={quote(here, safe='')}",
             "current": code == lang}
            for code in LANGS
        ],
        "path": request.url.path,
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    page = dict(context or {})
    base = layout_context(request)
    clash = sorted(base.keys() & page.keys())
    if clash:
        raise ValueError(f"page context keys reserved by the layout: {', '.join(clash)}")
    html = request.app.state.templates.get_template(template).render({**base, **page})
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
