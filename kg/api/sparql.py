"""The SPARQL 1.1 Protocol endpoint at ``/sparql`` (query only) and ``/health``.

``SparqlEndpoint`` owns the worker pool, the per-client budget, the named-query registry and the service
description; ``make_router(endpoint)`` returns the routes as an ``APIRouter`` that any FastAPI app can
include, as long as the app awaits ``endpoint.start()``/``endpoint.close()`` in its lifespan
(``kg.api.app.create_app`` does).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kg.api.cache import CachedAnswer, LruDict, ResponseCache, etag_matches, nondeterministic
from kg.api.conneg import GRAPH_FORMATS, RESULT_FORMATS, NotAcceptable, UnknownFormat, browser_wants_html, negotiate
from kg.api.errors import error_response
from kg.api.limits import BodyTooLarge, ClientBudget, client_id, read_body
from kg.api.shared_budget import SharedClientBudget
from kg.publication.publish import graph_version
from kg.query.registry import NamedQuery, load_queries
from kg.settings import Settings
from kg.api.remote_backend import remote_graph_counts
from kg.query.remote import RemoteError, RemoteStore
from kg.api.service_description import service_description
from kg.api.workers import PoolBusy, PoolUnavailable, QueryTimeout, WorkerCrashed, WorkerPool
from kg.rdf.store import open_store

__all__ = ["SparqlEndpoint", "make_router", "CacheHitShortcut", "client_gone"]

log = logging.getLogger("kg.api")

_UPDATE_REFUSED = ("SPARQL Update is not accepted",
                   "this endpoint is read-only: updates (INSERT, DELETE, LOAD, CLEAR, ...) are refused. "
                   "Nothing was run.")


class SparqlEndpoint:
    """Everything the SPARQL and named-query routes share."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool = WorkerPool(settings.remote_store_url or settings.store_path, settings.workers, settings.queue_limit,
                               isolate_network=settings.isolate_workers_network,  # remote: kg/api/remote_backend.py
                               max_rss_growth=settings.worker_max_rss_growth_mb << 20,
                               in_memory_max_quads=settings.store_in_memory_max_quads,
                               copy_delay=settings.store_copy_delay_seconds)
        # the per-client budget: in this process, or in a Redis server every instance shares
        self.budget: ClientBudget | SharedClientBudget = (
            SharedClientBudget(settings.client_budget_redis_url, settings.client_budget_seconds)
            if settings.client_budget_redis_url else ClientBudget(settings.client_budget_seconds))
        self._charges: set[asyncio.Task[None]] = set()  # charges to the shared budget still being written
        self.queries: dict[str, NamedQuery] = {}
        #: triples per named graph (the service description's VoID figures): counted on first use, not at
        #: start, because counting reads every quad (seconds at a million); a reload sets it directly
        self._graph_counts: Optional[dict[str, int]] = None
        self._sd_cache: dict[str, bytes] = {}
        self.started = False
        # the response cache (kg/api/cache.py); with an external store keyed by the version `kg push` recorded
        # there, read every REMIT_STORE_VERSION_CHECK_SECONDS (watch_store_version), off while it is unknown
        self.cache = ResponseCache(settings.cache_max_entries, settings.cache_max_bytes)
        self._watcher: Optional[asyncio.Task[None]] = None
        #: the ``GET /sparql`` route's handler, set by :func:`make_router`: :class:`CacheHitShortcut` calls it
        #: for a query not in the cache, without FastAPI's routing around it (the same function, the same answer)
        self.protocol_get: Optional[Callable[[Request], Awaitable[Response]]] = None
        self.store_version = ""  # the external store's version as recorded by kg push ("" unknown)
        #: called with the new version when the external store's version changes (the pages over the store
        #: start afresh: kg.api.remote_site)
        self.store_listeners: list[Any] = []
        #: query text -> "results" | "graph" (its form family), learned from the workers' answers, so a
        #: repeated query's format is negotiated here and its cached answer found without a worker
        #: (bounded by bytes too: its keys are query texts of up to REMIT_MAX_QUERY_LENGTH characters)
        self.query_families = LruDict(max(1024, settings.cache_max_entries), max(1 << 20, settings.cache_max_bytes // 8))
        self._negotiated = LruDict(512, 1 << 20)  # (family, Accept, format=) -> negotiated format key, or None

    async def start(self) -> None:
        self.queries = load_queries(Path(self.settings.queries_dir))
        await self.pool.start()
        self.graph_changed()
        if self.settings.is_remote and self.cache.configured:
            await self.check_store_version()
            self._watcher = asyncio.create_task(self.watch_store_version())
        self.started = True

    def graph_changed(self) -> None:
        """The served graph changed (start, reload): new graph version, empty response cache. (An external
        store's version is read from the store instead: :meth:`check_store_version`.)"""
        if self.cache.configured and not self.settings.is_remote:
            self.cache.set_version(graph_version(Path(self.pool.store_path), self.pool.generation))

    def _read_store_version(self) -> str:
        timeout = max(2.0, min(10.0, self.settings.store_version_check_seconds))
        try:
            return RemoteStore(str(self.settings.remote_store_url), timeout=timeout).version()
        except RemoteError as exc:
            log.warning("version check of the external store failed; response cache off until it answers: %s", exc)
            return ""

    async def check_store_version(self) -> str:
        """Read the version ``kg push`` recorded in the external store (one small SELECT, in a thread); a new
        one empties the response cache and scopes new answers by it, none ("" : a push is running, or the
        store did not answer) turns the cache off. The cache version is a digest of the store's version
        alone, so every ``kg serve --store`` on the same store gives the same ETags."""
        found = await asyncio.get_running_loop().run_in_executor(None, self._read_store_version)
        version = hashlib.sha256(f"store\n{found}".encode("utf-8")).hexdigest()[:20] if found else ""
        if version != self.cache.version:
            if found != self.store_version:
                log.info("external store version %s (was %s): response cache emptied", found or "unknown",
                         self.store_version or "unknown")
            self.cache.set_version(version)
            changed = found != self.store_version
            self.store_version = found
            self._graph_counts = None  # the graphs may have changed too (service description figures)
            self._sd_cache = {}
            if changed and found:
                for listener in list(self.store_listeners):
                    try:
                        listener(found)
                    except Exception:  # noqa: BLE001 - the endpoint keeps answering
                        log.exception("a listener of the external store's version failed")
        return found

    async def watch_store_version(self) -> None:
        """Every ``REMIT_STORE_VERSION_CHECK_SECONDS``, :meth:`check_store_version` (not per request)."""
        while True:
            await asyncio.sleep(self.settings.store_version_check_seconds)
            try:
                await self.check_store_version()
            except Exception:  # never let the watcher die: the next round tries again
                log.exception("version check of the external store failed")
                self.cache.set_version("")

    def lookup(self, query: str, dg: list[str], ng: list[str], accept: Optional[str],
               formats: list[str]) -> Optional[CachedAnswer]:
        """The cached answer of a protocol query, when its text was answered before on this graph."""
        family = self.query_families.get(query) if self.cache.enabled else None
        if family is None:
            return None
        memo_key = (family, accept, tuple(formats))
        fmt_key = self._negotiated.get(memo_key, False)
        if fmt_key is False:  # negotiation is a pure function of these three: done once per combination
            try:
                fmt_key = negotiate(RESULT_FORMATS if family == "results" else GRAPH_FORMATS, accept, formats,
                                    family).key
            except (NotAcceptable, UnknownFormat):
                fmt_key = None  # the worker answers with the error, as for a new query
            self._negotiated.put(memo_key, fmt_key)
        if fmt_key is None:
            return None
        return self.cache.get(("sparql", query, tuple(dg), tuple(ng), fmt_key))

    def cache_headers(self, ans: CachedAnswer, state: str) -> dict[str, str]:
        age = self.settings.cache_max_age
        if self.settings.is_remote:  # a push may change the answer: clients keep it no longer than a check
            age = min(age, int(self.settings.store_version_check_seconds))
        return {"ETag": ans.etag, "Cache-Control": f"public, max-age={age}",
                "Vary": "Accept", "Remit-Cache": state}

    def cached(self, request: Request, key: Any) -> Optional[Response]:
        """The cached answer for ``key`` (200, or 304 for a matching ``If-None-Match``), or None."""
        hit = None if key is None or no_cache(request.headers) else self.cache.get(key)
        if hit is None:
            return None
        return self.answer(request, hit, "hit")

    def answer(self, request: Request, ans: CachedAnswer, state: str) -> Response:
        headers = self.cache_headers(ans, state)
        if etag_matches(request.headers.get("if-none-match"), ans.etag):
            return Response(status_code=304, headers=headers)
        return Response(ans.body, media_type=ans.media_type, headers={**ans.headers, **headers})

    def keep(self, request: Request, key: Any, version: str, body: bytes, media_type: str,
             headers: Optional[dict[str, str]] = None) -> Response:
        """Answer a freshly computed 200 and keep it (when the graph did not change meanwhile); a key of None:
        an answer never kept (a non-deterministic query), sent with ``Cache-Control: no-store``."""
        ans = self.cache.put(key, version, body, media_type, headers) if self.cache.enabled and key is not None else None
        if ans is None:
            extra = {"Cache-Control": "no-store"} if key is None else {}
            return Response(body, media_type=media_type, headers={"Vary": "Accept", **(headers or {}), **extra})
        return self.answer(request, ans, "miss")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        await self.pool.close()
        if self._charges:
            await asyncio.wait(set(self._charges), timeout=2)
        if isinstance(self.budget, SharedClientBudget):
            await self.budget.close()
        self.started = False

    def _count_graphs(self) -> dict[str, int]:
        if self.settings.is_remote:
            return remote_graph_counts(self.settings.remote_store_url)
        store = open_store(Path(self.settings.store_path))
        counts = {}
        for sol in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
            counts[sol["g"].value] = int(sol["n"].value)
        del store
        return counts

    @property
    def graph_counts(self) -> dict[str, int]:
        if self._graph_counts is None:
            self._graph_counts = self._count_graphs()
        return self._graph_counts

    @graph_counts.setter
    def graph_counts(self, counts: dict[str, int]) -> None:
        self._graph_counts = counts

    async def ensure_graph_counts(self) -> None:
        """Count the graphs off the event loop, once (until a reload sets new counts)."""
        if self._graph_counts is None:
            store = self.pool.store_path
            counts = await asyncio.get_running_loop().run_in_executor(None, self._count_graphs)
            if self._graph_counts is None and self.pool.store_path == store:  # no reload meanwhile
                self._graph_counts = counts

    @property
    def graphs(self) -> list[str]:
        return sorted(self.graph_counts)

    def service_description(self, fmt_key: str) -> bytes:
        if fmt_key not in self._sd_cache:
            g = service_description(self.settings, self.graph_counts)
            rdflib_name = {"turtle": "turtle", "jsonld": "json-ld", "nt": "nt", "rdfxml": "xml",
                           "trig": "trig"}[fmt_key]
            self._sd_cache[fmt_key] = g.serialize(format=rdflib_name, encoding="utf-8")
        return self._sd_cache[fmt_key]

    async def run_job(self, request: Request, job: dict[str, Any],
                      narrow: str = "Narrow it (fewer patterns, a LIMIT) and try again.") -> Response | dict[str, Any]:
        """Run a job on a worker under the deadline and the client's budget; an error becomes a Response (past
        the deadline, a 503 whose detail ends with ``narrow``: how to ask for less)."""
        s = self.settings
        who = client_id(request)
        wait = await self.budget.retry_after(who)
        if wait is not None:
            return error_response(request, 429, "query time budget used up",
                                  f"this client used {s.client_budget_seconds:g} s of query time in the last "
                                  f"minute; try again in {wait} s.", {"Retry-After": str(wait)})

        charges: list[asyncio.Future[None]] = []

        def charge(seconds: float) -> None:  # only the time a worker spent on it, not the wait for one
            if isinstance(self.budget, ClientBudget):  # in process: counted at once, no task
                self.budget.record_now(who, seconds)
                return
            task = asyncio.ensure_future(self.budget.record(who, seconds))  # Redis: a round trip
            self._charges.add(task)
            task.add_done_callback(self._charges.discard)
            charges.append(task)

        work = asyncio.ensure_future(self.pool.run(job, s.query_timeout, charge))
        watchers: list[asyncio.Task[bool]] = []

        def watch() -> None:  # a query still running after one poll: watch its client from now on
            if not work.done():
                watchers.append(asyncio.ensure_future(_cancel_when_gone(request, work)))

        timer = asyncio.get_running_loop().call_later(GONE_POLL_SECONDS, watch)
        try:
            try:
                return await work
            except asyncio.CancelledError:
                if watchers and watchers[0].done() and not watchers[0].cancelled():  # the client closed the
                    log.info("client %s went away; its query was cancelled", who)  # connection: its job left
                    return Response(status_code=499)  # the queue, or its worker was stopped
                raise
        except QueryTimeout:
            return error_response(request, 503, "query timed out",
                                  f"the query ran for more than {s.query_timeout:g} s and was stopped. {narrow}",
                                  {"Retry-After": "5"})
        except PoolBusy:
            return error_response(request, 503, "server busy",
                                  "all query workers are busy and the queue is full; try again shortly.",
                                  {"Retry-After": "5"})
        except WorkerCrashed:
            return error_response(request, 500, "query failed",
                                  "the query worker stopped unexpectedly; it has been replaced.")
        except PoolUnavailable:
            return error_response(request, 503, "query service unavailable",
                                  "the query workers are not running.", {"Retry-After": "10"})
        finally:
            timer.cancel()
            for w in watchers:
                w.cancel()
            if not work.done():  # this request itself was cancelled
                work.cancel()
            if charges:  # charged before the answer leaves, so the client's next request (to any instance) sees it
                await asyncio.wait(charges, timeout=2)


#: How often a running query's client is checked for a closed connection; the first check is one interval
#: after the query starts, so a query answered sooner costs no check at all.
GONE_POLL_SECONDS = 0.2


async def client_gone(request: Request, every: float = GONE_POLL_SECONDS) -> None:
    """Return once the client of ``request`` has closed its connection (polled every ``every`` seconds)."""
    while not await request.is_disconnected():
        await asyncio.sleep(every)


async def _cancel_when_gone(request: Request, work: asyncio.Future[Any]) -> bool:
    """Cancel ``work`` once the client of ``request`` has gone; True when it did."""
    await client_gone(request)
    work.cancel()
    return True


def no_cache(headers: Any) -> bool:
    """RFC 9111 request ``Cache-Control: no-cache``: answer afresh (the fresh answer is still kept)."""
    return "no-cache" in headers.get("cache-control", "").lower()


def _multi(pairs: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in pairs if k == key]


def make_router(endpoint: SparqlEndpoint) -> APIRouter:
    """The ``/sparql`` and ``/health`` routes bound to ``endpoint``."""
    router = APIRouter()
    s = endpoint.settings

    @router.api_route("/health", methods=["GET", "HEAD"], include_in_schema=True,
                      summary="Liveness: answers at once, runs no query")
    async def health() -> JSONResponse:
        st = endpoint.pool.status()
        body = {"status": "ok" if endpoint.started else "starting", "workers": st["workers"],
                "busy": st["busy"], "waiting": st["waiting"], "warm": st["warm"]}
        reloader = getattr(endpoint, "reloader", None)  # kg.api.reload.Reloader, set by create_app
        if reloader is not None:  # no failure details here (paths, lines): GET /admin/reload has them
            body.update(reloader.public_state())
        return JSONResponse(body)

    if s.admin_token:
        @router.get("/admin/workers", include_in_schema=False)
        async def admin_workers(request: Request) -> Response:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {s.admin_token}".encode()):
                return error_response(request, 401, "unauthorised", "send the admin token as a Bearer token.",
                                      {"WWW-Authenticate": "Bearer"})
            return JSONResponse({**endpoint.pool.status(), "pids": endpoint.pool.pids(),
                                 "busy_pids": endpoint.pool.busy_pids()})

    async def handle(request: Request, pairs: list[tuple[str, str]]) -> Response:
        if _multi(pairs, "update"):
            return error_response(request, 400, *_UPDATE_REFUSED)
        queries = _multi(pairs, "query")
        if not queries:
            if request.method in ("GET", "HEAD"):
                formats = _multi(pairs, "format") + _multi(pairs, "output")
                if not formats and not s.is_remote and browser_wants_html(request.headers.get("accept"), GRAPH_FORMATS):
                    # a browser following a link to /sparql: the query editor, not a download of sparql.rdf
                    return Response(b"", status_code=303, headers={"Location": "ui", "Vary": "Accept"})
                await endpoint.ensure_graph_counts()
                return describe(request, pairs)
            return error_response(request, 400, "missing query", "send the query in the 'query' parameter.")
        if len(queries) > 1:
            return error_response(request, 400, "more than one query", "send exactly one 'query' parameter.")
        return await run_query(request, queries[0], pairs)

    def describe(request: Request, pairs: list[tuple[str, str]]) -> Response:
        try:
            fmt = negotiate(GRAPH_FORMATS, request.headers.get("accept"),
                            _multi(pairs, "format") + _multi(pairs, "output"), "graph")
        except NotAcceptable as exc:
            return error_response(request, 406, "not acceptable", str(exc))
        except UnknownFormat as exc:
            return error_response(request, 400, "unknown format", str(exc))
        return Response(endpoint.service_description(fmt.key), media_type=fmt.content_type,
                        headers={"Vary": "Accept"})

    async def run_query(request: Request, query: str, pairs: list[tuple[str, str]]) -> Response:
        if len(query) > s.max_query_length:
            return error_response(request, 413, "query too long",
                                  f"the query has {len(query)} characters; the limit is {s.max_query_length}.")
        dg, ng = _multi(pairs, "default-graph-uri"), _multi(pairs, "named-graph-uri")
        accept, formats = request.headers.get("accept"), _multi(pairs, "format") + _multi(pairs, "output")
        cache = endpoint.cache
        # a query seen before: its answer, no worker (unless the client asks for a fresh one: no-cache)
        hit = None if no_cache(request.headers) else endpoint.lookup(query, dg, ng, accept, formats)
        if hit is not None:
            return endpoint.answer(request, hit, "hit")
        version = cache.version
        job = {
            "kind": "sparql",
            "query": query,
            "default_graph_uri": dg,
            "named_graph_uri": ng,
            "accept": accept,
            "formats": formats,
            "row_limit": s.row_limit,
            "endpoint": s.sparql_endpoint_url,
            "cost": {"max_depth": s.max_query_depth, "max_operators": s.max_query_operators, "guard": s.cost_guard},
            "guard_memo": s.guard_memo_entries,
            "guard_memo_bytes": s.guard_memo_bytes,
            "max_answer_bytes": s.max_answer_bytes,
        }
        outcome = await endpoint.run_job(request, job)
        if isinstance(outcome, Response):
            return outcome
        if outcome["status"] != 200:
            extra = {"available": outcome["available"]} if "available" in outcome else {}
            return error_response(request, outcome["status"], outcome["title"], outcome.get("detail", ""), **extra)
        family, fmt_key = outcome.get("family"), outcome.get("format")
        if nondeterministic(query):  # NOW(), RAND(), UUID(), ...: a new answer every time, never kept
            headers = {"Vary": "Accept", **outcome.get("headers", {}), "Cache-Control": "no-store"}
            return Response(outcome["body"], media_type=outcome["content_type"], headers=headers)
        if cache.enabled and family and fmt_key:
            endpoint.query_families.put(query, family)
            return endpoint.keep(request, ("sparql", query, tuple(dg), tuple(ng), fmt_key), version,
                                 outcome["body"], outcome["content_type"], outcome.get("headers"))
        headers = {"Vary": "Accept", **outcome.get("headers", {})}
        return Response(outcome["body"], media_type=outcome["content_type"], headers=headers)

    def _url_too_long(request: Request) -> Optional[Response]:
        target = len(request.scope.get("raw_path", b"")) + len(request.scope.get("query_string", b"")) + 1
        if target > s.max_url_length:
            return error_response(request, 414, "request target too long",
                                  f"the URL is {target} bytes; the limit is {s.max_url_length}. Use POST.")
        return None

    @router.api_route("/sparql", methods=["GET", "HEAD"],
                      summary="SPARQL 1.1 query (GET); without a query: the service description")
    async def sparql_get(request: Request) -> Response:
        too_long = _url_too_long(request)
        if too_long is not None:
            return too_long
        try:
            pairs = _decode_pairs(request.scope.get("query_string", b""))
        except UnicodeDecodeError:
            return error_response(request, 400, "URL is not UTF-8", "percent-encode the parameters as UTF-8.")
        return await handle(request, pairs)

    endpoint.protocol_get = sparql_get

    @router.post("/sparql", summary="SPARQL 1.1 query (POST form or application/sparql-query)")
    async def sparql_post(request: Request) -> Response:
        too_long = _url_too_long(request)
        if too_long is not None:
            return too_long
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            url_pairs = _decode_pairs(request.scope.get("query_string", b""))
        except UnicodeDecodeError:
            return error_response(request, 400, "URL is not UTF-8", "percent-encode the parameters as UTF-8.")
        if ctype == "application/sparql-update":
            return error_response(request, 400, *_UPDATE_REFUSED)
        if ctype not in ("application/x-www-form-urlencoded", "application/sparql-query"):
            return error_response(request, 415, "unsupported content type",
                                  "POST a form (application/x-www-form-urlencoded) or a query "
                                  "(application/sparql-query).")
        try:
            body = await read_body(request, s.max_body_bytes)
        except BodyTooLarge:
            return error_response(request, 413, "request body too large",
                                  f"the limit is {s.max_body_bytes} bytes.")
        if ctype == "application/sparql-query":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                return error_response(request, 400, "query is not UTF-8", f"bad byte at offset {exc.start}.")
            if _multi(url_pairs, "query"):
                return error_response(request, 400, "more than one query",
                                      "a query in the body and in the URL; send one.")
            return await handle(request, url_pairs + [("query", text)])
        try:
            form = _decode_pairs(body)
        except UnicodeDecodeError:
            return error_response(request, 400, "form is not UTF-8", "percent-encode the form as UTF-8.")
        return await handle(request, url_pairs + form)

    return router


_FORM = "application/x-www-form-urlencoded"


class CacheHitShortcut:
    """ASGI middleware: a ``/sparql`` request (GET, or POST of a form or an ``application/sparql-query``
    body) whose answer is in the response cache is answered here, before routing, with the same headers
    (and 304 rule) as the route, from header lists prepared once per cached answer. A ``GET`` with a query
    that is not in the cache goes straight to the route's handler (``SparqlEndpoint.protocol_get``), which
    repeats every check, without FastAPI's routing; anything else goes on to the app; a POST body read here is
    handed on unchanged. Installed by :func:`kg.api.app.create_app`, inside the URL length limit."""

    def __init__(self, app: Any, endpoint: SparqlEndpoint):
        self.app = app
        self.endpoint = endpoint
        #: ETag -> (answer, 200 header list, 304 header list), for the answers currently in the cache
        self._raw: dict[str, tuple[CachedAnswer, list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        ep = self.endpoint
        if scope["type"] == "http" and scope["path"] == "/sparql":
            method, cached = scope["method"], ep.cache.enabled and len(ep.cache)
            if method == "GET" and scope.get("query_string"):
                hit = self._hit(scope, None) if cached else None
                if hit is not None:
                    await self._send(hit[0], hit[1], send)
                    return
                if ep.protocol_get is not None:  # the route's own handler, without the routing (~10% of a miss)
                    response = await ep.protocol_get(Request(scope, receive))
                    await response(scope, receive, send)
                    return
            elif method == "POST" and cached:
                await self._post(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _post(self, scope: dict, receive: Any, send: Any) -> None:
        ctype = length = None
        for k, v in scope.get("headers", ()):
            if k == b"content-type" and ctype is None:
                ctype = v.split(b";")[0].strip().lower()
            elif k == b"content-length" and length is None:
                length = v
            elif k == b"transfer-encoding":
                length = b"x"  # chunked: leave it to the route, which streams with the size limit
        try:
            size = int(length) if length is not None else -1
        except ValueError:
            size = -1
        if ctype not in (b"application/x-www-form-urlencoded", b"application/sparql-query") or not (
                0 < size <= self.endpoint.settings.max_body_bytes):
            await self.app(scope, receive, send)
            return
        messages: list[dict] = []
        chunks: list[bytes] = []
        while True:  # at most ``size`` bytes were announced; the route re-checks the real size
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = b"".join(chunks)
                hit = self._hit(scope, (ctype.decode("latin-1"), body)) if len(body) <= size else None
                if hit is not None:
                    await self._send(hit[0], hit[1], send)
                    return
                break

        async def replay() -> dict:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _send(self, ans: CachedAnswer, inm: Optional[str], send: Any) -> None:
        prepared = self._raw.get(ans.etag)
        if prepared is None or prepared[0] is not ans:
            if len(self._raw) > 2 * max(1, self.endpoint.cache.max_entries):
                self._raw.clear()
            common = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                      for k, v in {**ans.headers, **self.endpoint.cache_headers(ans, "hit")}.items()]
            prepared = (ans, common + [(b"content-length", str(len(ans.body)).encode()),
                                       (b"content-type", ans.media_type.encode("latin-1"))], common)
            self._raw[ans.etag] = prepared
        if etag_matches(inm, ans.etag):
            await send({"type": "http.response.start", "status": 304, "headers": prepared[2]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": prepared[1]})
        await send({"type": "http.response.body", "body": ans.body})

    def _hit(self, scope: dict, post: Optional[tuple[str, bytes]]) -> Optional[tuple[CachedAnswer, Optional[str]]]:
        try:
            pairs = _decode_pairs(scope.get("query_string", b""))
            if post is not None:
                if post[0] == _FORM:
                    pairs += _decode_pairs(post[1])
                elif _multi(pairs, "query"):
                    return None  # a query in the URL and in the body: the route refuses it
                else:
                    pairs.append(("query", post[1].decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            return None
        queries = _multi(pairs, "query")
        if len(queries) != 1 or _multi(pairs, "update") or len(queries[0]) > self.endpoint.settings.max_query_length:
            return None
        accept = inm = None
        for k, v in scope.get("headers", ()):  # the first of each, as the route reads them
            if k == b"accept" and accept is None:
                accept = v.decode("latin-1")
            elif k == b"if-none-match" and inm is None:
                inm = v.decode("latin-1")
            elif k == b"cache-control" and b"no-cache" in v.lower():
                return None
        ans = self.endpoint.lookup(queries[0], _multi(pairs, "default-graph-uri"), _multi(pairs, "named-graph-uri"),
                                   accept, _multi(pairs, "format") + _multi(pairs, "output"))
        return None if ans is None else (ans, inm)


def _decode_pairs(raw: bytes) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` pairs, strictly UTF-8."""
    return parse_qsl(raw.decode("ascii", errors="strict") if raw.isascii() else raw.decode("utf-8"),
                     keep_blank_values=True, encoding="utf-8", errors="strict")
