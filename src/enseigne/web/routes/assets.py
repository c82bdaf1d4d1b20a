"""Plotly's JavaScript, served from the installed ``plotly`` package (never a CDN)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter()


def plotly_js_path() -> Path:
    """``plotly/package_data/plotly.min.js`` of the installed wheel (found without importing
    plotly, which is slow to import)."""
    spec = find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: reinstall plotly")
    return path


@router.get("/static/plotly.min.js", include_in_schema=False)
def plotly_js() -> FileResponse:
    return FileResponse(
        plotly_js_path(), media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
