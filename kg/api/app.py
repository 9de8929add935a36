"""Assemble the web app: ``create_app(settings) -> FastAPI``.

Routers are included in one place, :func:`include_routers`; other parts add theirs there (pages, UI,
linked data). Every router gets the shared :class:`~kg.api.sparql.SparqlEndpoint`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import AsyncIterator, Optional

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from kg.api.admin import make_admin_router
from kg.api.errors import error_response
from kg.api.limits import UrlLengthLimit
from kg.api.named import make_named_router
from kg.api.sparql import SparqlEndpoint, make_router
from kg.reload import ReloadBusy, Reloader
from kg.settings import Settings

__all__ = ["create_app", "include_routers"]

log = logging.getLogger("kg.api")


def include_routers(app: FastAPI, endpoint: SparqlEndpoint) -> None:
    """Every route of the service. Add new routers here."""
    app.include_router(make_router(endpoint))
    app.include_router(make_named_router(endpoint))
    from kg.api.check import make_check_router; app.include_router(make_check_router(endpoint.settings))  # POST /check, /diff
    from kg.api.pages import install as install_publication  # linked data, pages, VoID, dumps, /ui
    install_publication(app, endpoint.settings)


def _on_sighup(reloader: Reloader) -> None:
    """SIGHUP: reload in the background (the outcome goes to the log and to /health)."""
    async def run() -> None:
        try:
            await reloader.reload("SIGHUP")
        except ReloadBusy:
            log.warning("SIGHUP ignored: a reload is already running")

    task = asyncio.get_running_loop().create_task(run())
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    settings = settings or Settings()
    endpoint = SparqlEndpoint(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await endpoint.start()
        loop = asyncio.get_running_loop()
        hup = False
        try:
            loop.add_signal_handler(signal.SIGHUP, _on_sighup, reloader)
            hup = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no SIGHUP here
            log.info("SIGHUP reload not available in this process")
        try:
            yield
        finally:
            if hup:
                loop.remove_signal_handler(signal.SIGHUP)
            reloader.close()
            await endpoint.close()

    app = FastAPI(title="Remit", summary="Who oversees what in places of detention in England and Wales",
                  lifespan=lifespan, redoc_url=None)
    app.state.settings = settings
    app.state.endpoint = endpoint
    reloader = Reloader(endpoint, app.state)
    endpoint.reloader = reloader  # type: ignore[attr-defined]  # read by /health
    app.state.reloader = reloader

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
    if settings.admin_token:  # no token configured: no admin routes at all
        app.include_router(make_admin_router(reloader, settings.admin_token))
    app.add_middleware(UrlLengthLimit, max_length=settings.max_url_length)
    return app


def serve(settings: Settings) -> None:
    """Run the app with uvicorn on ``settings.host``/``settings.port`` (what `kg serve` calls)."""
    import threading

    import uvicorn

    app = create_app(settings)
    pool = app.state.endpoint.pool
    reloader = app.state.reloader

    class _Server(uvicorn.Server):
        """SIGTERM/SIGINT: stop accepting, give in-flight requests ``shutdown_grace`` seconds, then kill every
        query worker (their requests get 503), so the process ends within a few seconds even mid-query."""

        def handle_exit(self, sig: int, frame: object) -> None:
            first = not self.should_exit
            super().handle_exit(sig, frame)  # type: ignore[arg-type]
            if first:
                reloader.close()
                timer = threading.Timer(settings.shutdown_grace, pool.kill_all)
                timer.daemon = True
                timer.start()

    config = uvicorn.Config(app, host=settings.host, port=settings.port, server_header=False, log_level="info",
                            timeout_graceful_shutdown=max(1, int(settings.shutdown_grace) + 2))
    _Server(config).run()


__all__.append("serve")
