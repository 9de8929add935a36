"""Assemble the web app: ``create_app(settings) -> FastAPI``.

Routers are included in one place, :func:`include_routers`; other parts add theirs there (pages, UI,
linked data). Every router gets the shared :class:`~kg.api.sparql.SparqlEndpoint`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any, AsyncIterator, Optional

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from kg.api.admin import make_admin_router
from kg.api.check import make_check_router
from kg.api.errors import error_response
from kg.api.headers import HtmlSecurityHeaders
from kg.api.limits import AcceptLengthLimit, UrlLengthLimit
from kg.api.named import make_named_router
from kg.api.pages import install as install_publication
from kg.api.page_cache import PageCache
from kg.api.remote_site import install_remote_publication
from kg.api.search import make_search_router
from kg.api.sparql import CacheHitShortcut, SparqlEndpoint, make_router
from kg.api.reload import ReloadBusy, Reloader
from kg.settings import Settings

__all__ = ["create_app", "include_routers"]

log = logging.getLogger("kg.api")


def include_routers(app: FastAPI, endpoint: SparqlEndpoint) -> None:
    """Every route of the service. Add new routers here."""
    app.include_router(make_router(endpoint))
    app.include_router(make_named_router(  # the pages of the questions are the publication's site's too
        endpoint, lambda: getattr(getattr(app.state, "publication", None), "site", None)))
    app.include_router(make_check_router(endpoint.settings))  # POST /check, /diff
    app.include_router(make_search_router(  # /search: the build's index; the publication's site renders the page
        endpoint.settings, lambda: getattr(getattr(app.state, "publication", None), "site", None),
        lambda: getattr(app.state, "search_index", None)))
    if endpoint.settings.is_remote:  # the same pages over the external store (kg.api.remote_site)
        install_remote_publication(app, endpoint.settings, endpoint, install_publication)
        return
    install_publication(app, endpoint.settings)  # linked data, pages, VoID, dumps, /ui


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

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # the client left (or kg.api.protocol timed its body out) while the body was read: nothing to answer
        log.info("client gone while %s %s was read", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(request, 500, "internal error", "the request could not be completed.")

    include_routers(app, endpoint)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    if settings.admin_token:  # no token configured: no admin routes at all
        app.include_router(make_admin_router(reloader, settings.admin_token))
    app.add_middleware(PageCache, endpoint=endpoint,  # repeated pages, per graph version (kg/api/page_cache.py)
                       publication=lambda: getattr(app.state, "publication", None))
    app.add_middleware(CacheHitShortcut, endpoint=endpoint)  # cached GET /sparql answers, before routing
    app.add_middleware(UrlLengthLimit, max_length=settings.max_url_length)
    app.add_middleware(AcceptLengthLimit, max_length=settings.max_accept_length)  # before any negotiation
    app.add_middleware(HtmlSecurityHeaders)  # added last: runs first (a CSP on every HTML answer)
    return app


_ERROR_BODY = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
               "text/plain": {"schema": {"type": "string"}}}
_ERRORS = {"400": "Bad request: a malformed or refused query or parameter (the reason is in the body)",
           "404": "No such resource or named query", "405": "Method not allowed",
           "406": "No acceptable response format", "413": "Request body or query too long",
           "414": "Request target too long", "415": "Unsupported request content type",
           "429": "This client used up its query time budget (Retry-After)",
           "500": "A query worker stopped unexpectedly (it has been replaced)",
           "503": "Query deadline passed, all workers busy, or shutting down (Retry-After)"}
_ANY = {"schema": {}}
_SPARQL_RESULTS = {t: _ANY for t in (
    "application/sparql-results+json", "application/sparql-results+xml", "text/csv", "text/tab-separated-values",
    "text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml", "application/trig")}
_SPARQL_PARAMS = [
    {"name": "query", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE). Without it: the service description."},
    {"name": "default-graph-uri", "in": "query", "required": False,
     "schema": {"type": "array", "items": {"type": "string"}}, "style": "form", "explode": True},
    {"name": "named-graph-uri", "in": "query", "required": False,
     "schema": {"type": "array", "items": {"type": "string"}}, "style": "form", "explode": True},
    {"name": "format", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Response format (json, xml, csv, tsv, turtle, jsonld, nt, rdfxml, trig); wins over Accept."},
]


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document, corrected to what the routes really do: the SPARQL Protocol's parameters and
    bodies, every status code the service answers with (errors as RFC 9457 problem details or text), and
    no 422 (validation errors are answered 400)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = {"type": "object", "required": ["title", "status"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "available": {"type": "array", "items": {"type": "string"}}}}
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, ops in doc.get("paths", {}).items():
        ops.pop("head", None)  # HEAD is answered wherever GET is (RFC 9110); the document lists GET
        for method, op in ops.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            for code, text in _ERRORS.items():
                responses.setdefault(code, {"description": text, "content": _ERROR_BODY})
            if path == "/sparql":
                responses["200"] = {"description": "Query results, or (GET without a query) the service "
                                    "description", "content": _SPARQL_RESULTS}
                if method == "get":
                    op["parameters"] = _SPARQL_PARAMS
                else:
                    op["parameters"] = [p for p in _SPARQL_PARAMS if p["name"] != "query"]
                    op["requestBody"] = {"required": True, "content": {
                        "application/x-www-form-urlencoded": {"schema": {
                            "type": "object", "required": ["query"], "properties": {"query": {"type": "string"}}}},
                        "application/sparql-query": {"schema": {"type": "string"}}}}
            elif path == "/queries/{name}":
                responses["200"] = {"description": "One page of results", "content": {
                    "application/json": _ANY, "text/csv": {"schema": {"type": "string"}},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                        {"schema": {"type": "string", "format": "binary"}},
                    "text/html": {"schema": {"type": "string"}}}}
                if not any(p.get("name") == "format" for p in op.get("parameters", [])):
                    op.setdefault("parameters", []).extend([
                        {"name": "format", "in": "query", "required": False,
                         "schema": {"type": "string", "enum": ["json", "csv", "xlsx", "html"]}},
                        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
                        {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer"}}])
            elif path.endswith(".jsonld"):
                responses["200"] = {"description": "A JSON-LD document", "content": {"application/ld+json": _ANY}}
            elif path == "/check":
                responses["200"] = {"description": "The check report", "content": {
                    t: _ANY for t in ("application/json", "text/turtle", "application/sarif+json", "text/plain")}}
            elif path == "/diff":
                responses["200"] = {"description": "The differences", "content": {
                    t: _ANY for t in ("application/json", "text/markdown", "text/plain")}}
            elif path == "/health":
                responses["200"] = {"description": "Liveness (never runs a query)", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["status"], "properties": {
                        "status": {"type": "string", "enum": ["ok", "starting"]},
                        "workers": {"type": "integer"}, "busy": {"type": "integer"},
                        "waiting": {"type": "integer"}}}}}}
    app.openapi_schema = doc
    return doc


def serve(settings: Settings) -> None:
    """Run the app with uvicorn on ``settings.host``/``settings.port`` (what `kg serve` calls)."""
    import threading

    import uvicorn

    from kg.api.access_log import access_log
    from kg.api.protocol import bounded_httptools

    if settings.gil_switch_interval:
        # pages render in threads of this process; a shorter interval hands the GIL back to the event loop
        # sooner, so /health and other I/O wait less behind them (docs/operations.md, "Load test")
        sys.setswitchinterval(settings.gil_switch_interval)
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

        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)
            # uvicorn then raises the signal it caught again, which ends the process without atexit: the access
            # log's last lines are written here
            access_log().flush()

    # X-Forwarded-For / -Proto are believed only from the configured proxies (none by default: the client
    # identity for budgets is the peer address); header and keep-alive limits: docs/operations.md
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    config = uvicorn.Config(app, host=settings.host, port=settings.port, server_header=False, log_level="info",
                            access_log=settings.access_log,
                            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or "",
                            # httptools, with kg.api.protocol's bounds on the request head's size and header
                            # count and read deadlines for the head and the body
                            http=bounded_httptools(settings.header_read_timeout, settings.body_read_timeout,
                                                   settings.max_header_count, settings.max_header_bytes),
                            timeout_keep_alive=settings.keep_alive_timeout,
                            limit_concurrency=settings.max_connections or None,
                            timeout_graceful_shutdown=max(1, int(settings.shutdown_grace) + 2))
    _Server(config).run()


__all__.append("serve")
