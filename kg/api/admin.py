"""Administrative routes: ``POST /admin/reload`` (rebuild, gate and switch the served graph; see
:mod:`kg.api.reload`) and ``GET /admin/restricted`` (the restricted graph of personal data, which no public
route serves: ``restricted.trig`` of the served build, see :mod:`kg.pipeline.restricted`). They exist only when ``REMIT_ADMIN_TOKEN`` is set, want ``Authorization: Bearer <token>``
(compared in constant time), are left out of the OpenAPI document and never carry CORS headers, so a page
in a browser on another origin cannot call them."""

from __future__ import annotations

import hmac

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kg.api.errors import error_response
from kg.api.reload import ReloadBusy, Reloader

__all__ = ["make_admin_router", "authorised", "RESTRICTED_FILE"]

#: :data:`kg.pipeline.layout.RESTRICTED_FILE`, not imported: the server does not load the build pipeline at start
RESTRICTED_FILE = "restricted.trig"


def authorised(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), f"Bearer {token}".encode())


def make_admin_router(reloader: Reloader, token: str) -> APIRouter:
    router = APIRouter()

    @router.get("/admin/reload", include_in_schema=False)
    async def reload_state(request: Request) -> Response:
        """The reload state with the details /health leaves out (a failed reload's file, line and message)."""
        if not authorised(request, token):
            return error_response(request, 401, "unauthorised", "send the admin token as a Bearer token.",
                                  {"WWW-Authenticate": "Bearer"})
        return JSONResponse(reloader.state(), headers={"Cache-Control": "no-store"})

    @router.post("/admin/reload", include_in_schema=False)
    async def reload(request: Request) -> Response:
        if not authorised(request, token):
            return error_response(request, 401, "unauthorised", "send the admin token as a Bearer token.",
                                  {"WWW-Authenticate": "Bearer"})
        try:
            outcome = await reloader.reload("POST /admin/reload")
        except ReloadBusy:
            return error_response(request, 409, "reload in progress", "a reload is already running; try again "
                                  "when it has finished (GET /admin/reload shows its state).",
                                  {"Retry-After": "5"})
        return JSONResponse(outcome.as_dict(), status_code=200 if outcome.ok else 422,
                            headers={"Cache-Control": "no-store"})

    @router.get("/admin/restricted", include_in_schema=False)
    async def restricted(request: Request) -> Response:
        """Named officials and their direct contact details (personal data): the served build's
        ``restricted.trig`` as TriG, only with the admin token, never cached."""
        if not authorised(request, token):
            return error_response(request, 401, "unauthorised", "send the admin token as a Bearer token.",
                                  {"WWW-Authenticate": "Bearer"})
        path = reloader.served_build() / RESTRICTED_FILE
        try:
            body = path.read_bytes()
        except OSError:
            return error_response(request, 404, "not found", "the served build has no restricted graph.")
        return Response(body, media_type="application/trig",
                        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})

    return router
