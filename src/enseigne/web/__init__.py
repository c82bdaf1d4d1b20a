"""The web application: FastAPI routes rendering Jinja2 pages, each with a JSON twin.

``create_app(settings)`` (in :mod:`enseigne.web.app`) builds it; importing this package
creates nothing (and ``enseigne.web.users`` stays importable without FastAPI's start-up).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from enseigne.web.app import create_app

        return create_app
    raise AttributeError(name)


__all__ = ["create_app"]
