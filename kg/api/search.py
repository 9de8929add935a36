"""``GET /search?q=``: search over the build's index (:mod:`kg.search.query`), as a page or as JSON.

* A page in the site layout for browsers: the form, then the results (label with its matches marked, kind,
  the clause or text that matched, the agreement a clause belongs to), each linked to the resource's page.
* JSON for ``?format=json`` or an ``Accept`` header that prefers ``application/json`` over HTML:
  ``{"query", "corrected", "ignored", "count", "results": [{"iri", "url", "label", "kind", ...}]}``.

Bad input is answered in plain words, never with a 5xx: no ``q`` gives the empty form (200) to a browser and
a 400 to a JSON client; more than :data:`kg.search.query.MAX_QUERY` characters is a 400; ``limit`` outside 1..50
is a 400. No index beside the served store (a build from before the index) is a 503 saying so; with ``kg serve
--store URL`` the index is built from the external store at start and after each push (:mod:`kg.api.remote_site`),
and until it is there the answer is a 503 saying so. The index is looked up beside ``settings.store_path`` at each request, so
after a reload (:mod:`kg.api.reload` repoints ``store_path``) the new build's index answers.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any, Callable, Optional

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from kg.api.conneg import parse_accept
from kg.publication.site import Site
from kg.search.index import index_path
from kg.search.query import MAX_LIMIT, MAX_QUERY, IndexMissing, Results, SearchError, SearchTimeout, search

__all__ = ["make_search_router", "wants_search_json", "PAGE"]

log = logging.getLogger("kg.api.search")

#: The path of the search page (links from it are relative to it).
PAGE = "/search"
_HTML = ("text/html", "application/xhtml+xml")


def wants_search_json(request: Request) -> bool:
    """``?format=json``, or an Accept header whose best JSON quality beats its best HTML quality."""
    fmt = request.query_params.get("format", "").lower()
    if fmt:
        return fmt == "json"
    ranges = parse_accept(request.headers.get("accept"))
    json_q = max((q for rng, q, _ in ranges if rng in ("application/json", "application/problem+json")), default=0.0)
    html_q = max((q for rng, q, _ in ranges if rng in _HTML or rng == "*/*"), default=0.0)
    return json_q > html_q


def _problem(status: int, title: str, detail: str, **headers: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type="application/problem+json",
                    headers=headers or None)


def make_search_router(settings: Any, site_of: Callable[[], Optional[Site]],
                       index_of: Optional[Callable[[], Optional[Path]]] = None) -> APIRouter:
    """The ``/search`` route; ``site_of()`` gives the publication's :class:`Site` (None: one of our own),
    ``index_of()`` the index file when it is not beside the store (an external store's, built from it)."""
    router = APIRouter(include_in_schema=False)
    own: dict[str, Site] = {}

    def site() -> Site:
        s = site_of()
        if s is None:
            s = own.setdefault("site", Site(settings))
        return s

    def page(status: int, q: str = "", results: Optional[Results] = None, error: str = "") -> Response:
        st = site()
        hits = []
        for h in (results.hits if results else []):
            hits.append({"hit": h, "href": st.href(PAGE, h.iri),
                         "parent_href": st.href(PAGE, h.parent) if h.parent else None})
        html = st.render("search.html", PAGE, title=f"Search: {q}" if q else "Search", q=q, results=results,
                         hits=hits, error=error, max_query=MAX_QUERY)
        return HTMLResponse(html, status_code=status, headers={"Vary": "Accept"})

    def fail(as_json: bool, status: int, title: str, detail: str, q: str = "", **headers: str) -> Response:
        if as_json:
            return _problem(status, title, detail, Vary="Accept", **headers)
        resp = page(status, q, error=f"{title}: {detail}")
        resp.headers.update(headers)
        return resp

    @router.api_route(PAGE, methods=["GET", "HEAD"])
    async def search_route(request: Request) -> Response:
        as_json = wants_search_json(request)
        q = request.query_params.get("q")
        raw_limit = request.query_params.get("limit", "20")
        try:
            limit = int(raw_limit)
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError
        except ValueError:
            return fail(as_json, 400, "bad limit", f"limit must be a whole number from 1 to {MAX_LIMIT}", q or "")
        if q is None or not q.strip():
            if as_json:
                return _problem(400, "empty search", "give the text to look for as q, e.g. /search?q=CQC&format=json",
                                Vary="Accept")
            return page(200)
        if len(q) > MAX_QUERY:
            return fail(as_json, 400, "search text too long", f"{len(q)} characters; at most {MAX_QUERY}", q[:MAX_QUERY])
        own_index = index_of() if index_of is not None else None
        path = own_index if own_index is not None else index_path(Path(settings.store_path))
        try:
            results = await run_in_threadpool(search, path, q, limit)
        except SearchError as exc:
            return fail(as_json, 400, "bad search", str(exc), q)
        except IndexMissing as exc:
            log.warning("search: %s", exc)
            where = ("this server answers from an external SPARQL store; the search index is being built from it, "
                     "try again shortly" if getattr(settings, "is_remote", False) else
                     "the served build has no search index; the operator runs `kg build --force` and reloads")
            return fail(as_json, 503, "search unavailable", where, q)
        except SearchTimeout:
            return fail(as_json, 503, "search took too long", "try fewer or longer words", q, **{"Retry-After": "5"})
        except sqlite3.Error as exc:  # a damaged or half-written index: never a 500 with internals
            log.error("search index %s: %s", path, exc)
            return fail(as_json, 503, "search unavailable", "the search index could not be read", q)
        if as_json:
            st = site()
            body = results.as_json()
            for r in body["results"]:
                r["url"] = st.doc_path(r["iri"])
                r["parent_url"] = st.doc_path(r["parent"]) if r["parent"] else None
            return Response(json.dumps(body, ensure_ascii=False), media_type="application/json",
                            headers={"Vary": "Accept"})
        return page(200, q, results)

    return router
