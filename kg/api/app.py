"""Assemble the web app: ``create_app(settings) -> FastAPI``.

Routers are included in one place, :func:`include_routers`; other parts add theirs there (pages, UI,
linked data). Every router gets the shared :class:`~kg.api.sparql.SparqlEndpoint`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import AsyncIterator, Optional

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from kg.api.errors import error_response
from kg.api.limits import UrlLengthLimit
from kg.api.named import make_named_router
from kg.api.sparql import SparqlEndpoint, make_router
from kg.settings import Settings

__all__ = ["create_app", "include_routers"]

log = logging.getLogger("kg.api")


def include_routers(app: FastAPI, endpoint: SparqlEndpoint) -> None:
    """Every route of the service. Add new routers here."""
    app.include_router(make_router(endpoint))
    app.include_router(make_named_router(endpoint))
    from kg.api.pages import install as install_publication  # linked data, pages, VoID, dumps, /ui
    install_publication(app, endpoint.settings)


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    settings = settings or Settings()
    endpoint = SparqlEndpoint(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await endpoint.start()
        try:
            yield
        finally:
            await endpoint.close()

    app = FastAPI(title="Remit", summary="Who oversees what in places of detention in England and Wales",
                  lifespan=lifespan, redoc_url=None)
    app.state.settings = settings
    app.state.endpoint = endpoint

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        return error_response(request, exc.status_code, detail or "error", "", getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return error_response(request, 400, "bad request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(request, 500, "internal error", "the request could not be completed.")

    include_routers(app, endpoint)
    app.add_middleware(UrlLengthLimit, max_length=settings.max_url_length)
    return app


def serve(settings: Settings) -> None:
    """Run the app with uvicorn on ``settings.host``/``settings.port`` (what `kg serve` calls)."""
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, server_header=False,
                log_level="info", timeout_graceful_shutdown=5)


__all__.append("serve")
