"""The npm packages behind the pages: GOV.UK Frontend's stylesheet at ``/static/govuk/`` (:func:`mount_frontend`), and
the browser query UI at ``/ui``: YASGUI (npm ``@zazuko/yasgui``, pinned in package-lock.json and
installed by ``make node``) served from ``node_modules`` — no CDN — pointed at ``/sparql``, with every named
query of ``queries/`` preloaded as a tab. ``/ui?query=…`` opens an extra tab with that query and runs it.
"""

from __future__ import annotations

from kg.paths import NODE_MODULES
from kg.publication.frontend import GOVUK_CSS, MISSING, govuk_css

import json
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["make_ui_router", "mount_frontend", "mount_ui_assets", "yasgui_dir", "UI_ASSETS"]

log = logging.getLogger("kg.api.ui")

UI_ASSETS = "/ui/assets"


def yasgui_dir() -> Path:
    """Where YASGUI's built files are: ``$REMIT_NODE_MODULES`` or ``node_modules`` at the repository root."""
    root = Path(os.environ.get("REMIT_NODE_MODULES") or NODE_MODULES)
    return root / "@zazuko" / "yasgui" / "build"


def mount_ui_assets(app: FastAPI) -> bool:
    """Serve YASGUI's files at ``/ui/assets``; False (and no mount) when ``make node`` has not run."""
    d = yasgui_dir()
    if not (d / "yasgui.min.js").is_file():
        return False
    app.mount(UI_ASSETS, StaticFiles(directory=str(d)), name="yasgui")
    return True


def mount_frontend(app: FastAPI) -> bool:
    """Serve GOV.UK Frontend's compiled stylesheet (only that file: not its fonts nor its crown) at
    :data:`~kg.publication.frontend.GOVUK_CSS`; False, and a warning in the log, when ``make node`` has not run.
    Must come before the ``/static`` mount."""
    css = govuk_css()
    if css is None:
        log.warning(MISSING)
        return False

    @app.api_route(GOVUK_CSS, methods=["GET", "HEAD"], include_in_schema=False)
    def govuk_stylesheet() -> Response:
        return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"})

    return True


def _tabs(pub: Any) -> list[dict[str, str]]:
    return [{"name": name, "summary": q.summary, "query": q.text} for name, q in sorted(pub.site.queries.items())]


def make_ui_router(pub: Any) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.api_route("/ui", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def ui(request: Request) -> Response:
        installed = (yasgui_dir() / "yasgui.min.js").is_file()
        tabs = json.dumps(_tabs(pub), ensure_ascii=False).replace("</", "<\\/")
        html = pub.site.render("ui.html", "/ui", title="Query Remit", installed=installed, tabs_json=tabs,
                               tabs=_tabs(pub), query=request.query_params.get("query", ""))
        return HTMLResponse(html, status_code=200 if installed else 503)

    return router
