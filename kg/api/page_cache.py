"""The page cache: rendered pages and linked-data documents kept per graph version, so a repeated page costs
the web process no rendering (and no interpreter lock for a thread that would hold up ``/health``).

An ASGI middleware (:class:`PageCache`, installed by :func:`kg.api.app.create_app`) in front of the
publication routes of :mod:`kg.api.pages`. It reuses the response cache's mechanism
(:class:`kg.api.cache.ResponseCache`: LRU bounded by entries and bytes, keys included; strong ETags;
``If-None-Match`` → 304; ``Cache-Control: no-cache`` answers afresh) in a second instance with its own bounds
(``REMIT_PAGE_CACHE_MAX_ENTRIES``, ``REMIT_PAGE_CACHE_MAX_BYTES``), so pages and query answers do not push
each other out.

* **Version**: the endpoint's graph version (:attr:`kg.api.sparql.SparqlEndpoint.cache`'s, which
  :meth:`~kg.api.sparql.SparqlEndpoint.graph_changed` sets from the build manifest's ``sourceHash``, the store
  path and the worker generation at start and on every reload, :mod:`kg.api.reload`). When it changes the page
  cache is emptied; a page rendered on the old graph is not kept. With the response cache turned off
  (``REMIT_CACHE_MAX_ENTRIES=0``) there is no version and the page cache is off too.
* **Key**: the path, the raw query string, the day statuses are judged on (live pages say "as of today"),
  and for the two routes that negotiate on ``Accept`` (``/`` and ``/.well-known/void``) the ``Accept``
  header. HEAD and GET share entries; only a GET's answer is kept.
* **Kept**: 200 answers of :data:`PAGE_PATHS` (HTML pages, ``/id/…``/``/def…``/``/shapes/…`` documents
  with an extension, VoID, the JSON-LD context, place CSVs) no larger than an eighth of the byte bound.
  404 pages, redirects, 503 (dumps not ready) and ``/search`` (its answer depends on free text) never are.
* Every answer through it carries ``Remit-Cache: hit`` or ``miss``, an ``ETag`` and ``Cache-Control: public,
  max-age=REMIT_CACHE_MAX_AGE``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Optional

from kg.api.cache import CachedAnswer, ResponseCache, etag_matches

__all__ = ["PageCache", "PAGE_PATHS"]

#: The paths whose 200 answers are kept.
PAGE_PATHS = re.compile(
    r"^/(?:index\.html|agreements\.html|bodies\.html|matrix\.html|matrix/[^/]+/[^/]+\.html"
    r"|network\.html|charts/overlaps\.html"
    r"|places/|places/.+\.(?:html|csv)"
    r"|(?:id|def|shapes)/.+\.(?:html|ttl|jsonld|nt|rdf)|def\.(?:html|ttl|jsonld|nt|rdf)"
    r"|\.well-known/void(?:\.(?:html|ttl|jsonld|nt|rdf))?|context\.jsonld)?$")
#: Paths whose answer depends on ``Accept`` (content negotiation), so it is part of their key.
_NEGOTIATED = {"/", "/.well-known/void"}
#: Headers of the rendered answer not kept with it (the cache sets its own, the server the rest).
_DROP = {b"content-length", b"content-type", b"etag", b"cache-control", b"vary", b"date", b"server"}


class PageCache:
    """ASGI middleware: answer a repeated page from the page cache; keep a freshly rendered one."""

    def __init__(self, app: Any, endpoint: Any, publication: Callable[[], Any]):
        self.app = app
        self.endpoint = endpoint
        self.publication = publication
        s = endpoint.settings
        self.cache = ResponseCache(s.page_cache_max_entries, s.page_cache_max_bytes)

    def _sync(self) -> str:
        """Follow the endpoint's graph version (a reload changes it): a new one empties the page cache."""
        self.cache.set_version(self.endpoint.cache.version if self.cache.configured else "")
        return self.cache.version

    def _key(self, scope: dict, headers: dict[bytes, bytes]) -> Optional[tuple[str, ...]]:
        pub = self.publication()
        if pub is None:
            return None
        path = scope["path"]
        day = pub.site.status_date().isoformat() if pub.site.as_of is None else dt.date.min.isoformat()
        accept = headers.get(b"accept", b"").decode("latin-1") if path in _NEGOTIATED else ""
        return ("page", path, scope.get("query_string", b"").decode("latin-1"), accept, day)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not PAGE_PATHS.match(scope["path"])
                or not self._sync()):
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for k, v in scope.get("headers", ()):  # the first of each, as the routes read them
            headers.setdefault(k, v)
        key = self._key(scope, headers)
        if key is None:
            await self.app(scope, receive, send)
            return
        inm = headers.get(b"if-none-match", b"").decode("latin-1") or None
        fresh = b"no-cache" in headers.get(b"cache-control", b"").lower()
        hit = None if fresh else self.cache.get(key)
        if hit is not None:
            await self._send(hit, "hit", inm, scope["method"] == "HEAD", send)
            return
        if scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        await self._render(scope, receive, send, key, self.cache.version, inm)

    async def _render(self, scope: dict, receive: Any, send: Any, key: tuple[str, ...], version: str,
                      inm: Optional[str]) -> None:
        """Run the route; hold a 200's body (up to the size that may be kept), keep it and answer from the cache."""
        limit = self.cache.max_bytes // 8
        held: list[dict] = []
        size = 0
        passing = False

        async def capture(message: dict) -> None:
            nonlocal size, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                if message.get("status") != 200:
                    passing = True
                    await send(message)
                    return
                held.append(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            held.append(message)
            size += len(message.get("body", b""))
            if message.get("more_body", False) and size <= limit:
                return
            if size > limit or message.get("more_body", False):
                passing = True  # too big to keep: send what is held and the rest as it comes
                for m in held:
                    await send(m)
                held.clear()
                return
            start, body = held[0], b"".join(m.get("body", b"") for m in held[1:])
            hdrs = [(k.lower(), v) for k, v in start.get("headers", ())]
            media = next((v for k, v in hdrs if k == b"content-type"), b"").decode("latin-1")
            extra = {k.decode("latin-1"): v.decode("latin-1") for k, v in hdrs if k not in _DROP}
            self._sync()  # a reload meanwhile: put() refuses the page of the old graph
            ans = self.cache.put(key, version, body, media, extra) if media else None
            if ans is None:
                for m in held:
                    await send(m)
            else:
                await self._send(ans, "miss", inm, False, send)
            held.clear()

        await self.app(scope, receive, capture)

    async def _send(self, ans: CachedAnswer, state: str, inm: Optional[str], head: bool, send: Any) -> None:
        common = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                  for k, v in {**ans.headers, **self.endpoint.cache_headers(ans, state)}.items()]
        if etag_matches(inm, ans.etag):
            await send({"type": "http.response.start", "status": 304, "headers": common})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": common + [
            (b"content-length", str(len(ans.body)).encode()), (b"content-type", ans.media_type.encode("latin-1"))]})
        await send({"type": "http.response.body", "body": b"" if head else ans.body})

    def stats(self) -> dict[str, int]:
        return self.cache.stats()
