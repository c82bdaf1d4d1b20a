"""Message catalogues: one JSON file per feature in ``web/catalogues/``, French and English.

Each file is ``{"fr": {"key": "texte"}, "en": {"key": "text"}}``. All files are merged at
start-up; a key defined twice, or missing in one language, is an error (tests load them).
Templates call ``t("key")`` or ``t("key", n=3)`` for ``{n}`` placeholders. No gettext
build step: a new page adds its own file next to ``core.json``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from starlette.requests import Request

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"
LANG_COOKIE = "lang"

Catalogue = dict[str, dict[str, str]]


class CatalogueError(ValueError):
    """Two files define the same key, or a key lacks a language."""


@cache
def catalogue() -> Catalogue:
    merged: Catalogue = {lang: {} for lang in LANGS}
    folder = resources.files("enseigne.web") / "catalogues"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        _merge(merged, data, entry.name)
    _check_complete(merged)
    return merged


def _merge(merged: Catalogue, data: Catalogue, source: str) -> None:
    for lang in LANGS:
        for key, text in data.get(lang, {}).items():
            if key in merged[lang]:
                raise CatalogueError(f"{source}: key {key!r} ({lang}) is already defined")
            merged[lang][key] = text


def _check_complete(merged: Catalogue) -> None:
    for lang in LANGS:
        for other in LANGS:
            missing = sorted(set(merged[other]) - set(merged[lang]))
            if missing:
                raise CatalogueError(f"keys without a {lang} text: {', '.join(missing)}")


def translate(key: str, lang: str = DEFAULT_LANG, **values: object) -> str:
    """The text of ``key`` in ``lang``; an unknown key raises KeyError (caught by tests)."""
    text = catalogue()[lang if lang in LANGS else DEFAULT_LANG][key]
    return text.format(**values) if values else text


def request_lang(request: Request) -> str:
    """``?lang=`` for this request, else the ``lang`` cookie, else French."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGS:
            return candidate
    return DEFAULT_LANG
