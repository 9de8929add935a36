"""Named-query routes: ``GET /queries`` (the catalogue) and ``GET /queries/{name}`` (one page of results).

Results come as JSON (default: SPARQL JSON results plus ``query``, ``params`` and ``page`` members), CSV
(``text/csv``, UTF-8 with a byte-order mark so that Excel reads the en dashes), XLSX (a spreadsheet with
human column titles, labels in place of IRIs and a sheet of sources: :mod:`kg.query.spreadsheet`), or an
page for people (``text/html``: the question in plain English, a filter form, the downloads at the top, the
rows with labels for IRIs and their sources folded under each: :mod:`kg.publication.questions`, in the site
layout), chosen by ``format=json|csv|xlsx|html`` or the Accept header. ``GET /queries`` is the list: JSON,
or a page of the questions for a browser (one that names ``text/html``).
"""

from __future__ import annotations

import codecs
import datetime as dt
from typing import Any, Callable, Optional
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kg.api.conneg import Format, NotAcceptable, browser_wants_html, negotiate
from kg.api.cache import nondeterministic_unless_bound
from kg.api.errors import error_response
from kg.api.sparql import SparqlEndpoint
from kg.publication.questions import render_question, render_questions
from kg.publication.site import Site
from kg.query.registry import NamedQuery, ParamError, ResultPage, bind_params, page_bounds, page_to_csv
from kg.query.spreadsheet import XLSX_MEDIA_TYPE, page_to_xlsx

__all__ = ["make_named_router", "render_table"]

_FORMATS = (
    Format("json", "application/json", ("application/sparql-results+json",), "", ""),
    Format("csv", "text/csv", (), "", ""),
    Format("xlsx", XLSX_MEDIA_TYPE, (), "", ""),
    Format("html", "text/html", ("application/xhtml+xml",), "", ""),
)

def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


class _NoStore:
    """Settings of a site with no store (labels come from the rows only)."""

    store_path = None
    is_remote = True


def _bare_site() -> Site:
    return Site(_NoStore(), as_of=dt.date.today(), as_of_basis="the server's current date")


def render_table(query: Any, page: ResultPage, params: dict[str, str], urls: dict[str, Any], *,
                 site: Optional[Site] = None, given: Optional[dict[str, str]] = None) -> str:
    """The HTML page of one page of results (:func:`kg.publication.questions.render_question`); without a
    ``site``, one that reads no store (IRIs are their own text)."""
    site = site or _bare_site()
    name = getattr(query, "name", "query")
    return render_question(site, f"/queries/{name}", query, result=page, given=given if given is not None else {},
                           resolved=params, urls=urls)


def _form(site: Site, nq: Any, raw: dict[str, str], error: str, status: int) -> Response:
    html = render_question(site, f"/queries/{nq.name}", nq, given=raw, error=error)
    return Response(html, status_code=status, media_type="text/html; charset=utf-8", headers={"Vary": "Accept"})


def _narrow(nq: NamedQuery, raw: dict[str, str]) -> str:
    """What a user can do when a named query runs past the deadline: give a parameter not given yet."""
    free = [p.name for p in nq.params if not raw.get(p.name)]
    if free:
        return f"Narrow it with one of its parameters not given ({', '.join(free)}) and try again."
    return "Every parameter is given already: try again later, or ask the operator about the deadline."


def make_named_router(endpoint: SparqlEndpoint, site_of: Optional[Callable[[], Optional[Site]]] = None) -> APIRouter:
    """The named-query routes; ``site_of()`` gives the publication's :class:`Site` for the pages (None: a
    site of our own, which reads the local store unless the store is external)."""
    router = APIRouter()
    s = endpoint.settings
    own: dict[str, Site] = {}

    def site() -> Site:
        found = site_of() if site_of is not None else None
        if found is None:
            found = own.setdefault("site", Site(s))
        return found

    @router.api_route("/queries", methods=["GET", "HEAD"], summary="The named queries, with their summaries and parameters")
    async def list_queries(request: Request) -> Response:
        if browser_wants_html(request.headers.get("accept"), (_FORMATS[0],)) or request.query_params.get("format") == "html":
            return Response(render_questions(site(), "/queries", endpoint.queries), media_type="text/html; charset=utf-8",
                            headers={"Vary": "Accept"})
        return JSONResponse({"queries": [
            {**q.as_dict(), "url": f"{s.base_url}/queries/{q.name}"} for q in endpoint.queries.values()]},
            headers={"Vary": "Accept"})

    @router.api_route("/queries/{name}", methods=["GET", "HEAD"],
                      summary="One page of a named query's results (JSON, CSV, XLSX or HTML)")
    async def run_query(name: str, request: Request) -> Response:
        nq = endpoint.queries.get(name)
        if nq is None:
            return error_response(request, 404, "no such query",
                                  f"{name!r} is not a named query; GET /queries lists them.")
        qp = request.query_params
        try:
            fmt = negotiate(_FORMATS, request.headers.get("accept"), qp.getlist("format"), "named")
        except NotAcceptable as exc:
            return error_response(request, 406, "not acceptable", str(exc))
        except Exception as exc:  # an unknown format name
            return error_response(request, 400, "unknown format", f"{exc}; use format=json, csv, xlsx or html.")
        raw = {k: v for k, v in qp.multi_items() if k not in ("format", "limit", "offset")}
        dup = [k for k in dict.fromkeys([*raw, "limit", "offset"]) if len(qp.getlist(k)) > 1]
        try:
            if dup:
                raise ParamError(f"parameter {dup[0]!r} is given more than once")
            bindings = bind_params(nq, raw)
            limit, offset = page_bounds(qp.get("limit"), qp.get("offset"), s.named_query_default_limit,
                                        s.named_query_max_limit)
        except ParamError as exc:
            if fmt.key == "html":  # people get a form to fill in; a first visit with no parameters is not an error
                first = not any(v for v in raw.values())
                return _form(site(), nq, raw, "" if first else str(exc), 200 if first else 400)
            return error_response(request, 400, "bad parameter", str(exc))
        # the answer depends on the query, the bound values, the page and the format (HTML links also on the URL)
        key = ("named", name, tuple(sorted((k, repr(v)) for k, v in bindings.items())), limit, offset, fmt.key,
               str(request.url) if fmt.key == "html" else "")
        if nondeterministic_unless_bound(nq.text, bindings):  # NOW(), RAND(), ...: never cached (COALESCE(?asOf,
            # NOW()) is not NOW() when asOf is bound: given, or at its default, the data date of the versioned store)
            key = None
        hit = endpoint.cached(request, key)
        if hit is not None:
            return hit
        version = endpoint.cache.version
        outcome = await endpoint.run_job(request, {"kind": "named", "query": nq.text, "bindings": bindings,
                                                   "limit": limit, "offset": offset, "name": name,
                                                   "format": fmt.key}, narrow=_narrow(nq, raw))
        if isinstance(outcome, Response):
            return outcome
        if outcome["status"] == 400 and fmt.key == "html":  # an IRI parameter that names no term: the form again
            return _form(site(), nq, raw, outcome.get("detail", ""), 400)
        if outcome["status"] != 200:
            return error_response(request, outcome["status"], outcome["title"], outcome.get("detail", ""))
        if fmt.key == "json":  # the body, written by the worker (kg.api.jobs.named_answer)
            return endpoint.keep(request, key, version, outcome["json"], "application/json")
        page: ResultPage = outcome["page"]
        shown = dict(page.params)  # IRI parameters as resolved
        if fmt.key == "csv":  # the byte-order mark tells Excel the file is UTF-8 (else en dashes become â€“)
            return endpoint.keep(request, key, version, codecs.BOM_UTF8 + page_to_csv(page).encode("utf-8"),
                                 "text/csv; charset=utf-8", _attachment(f"{name}.csv"))
        if fmt.key == "xlsx":
            body = page_to_xlsx(page, title=nq.summary or nq.name, description=nq.description or "",
                                url=str(request.url))
            return endpoint.keep(request, key, version, body, XLSX_MEDIA_TYPE, _attachment(f"{name}.xlsx"))

        def url(**changes: Any) -> str:  # this page's address with other parameters (the empty ones left out)
            params = {k: v for k, v in raw.items() if v}
            if limit != s.named_query_default_limit:
                params["limit"] = str(limit)
            if offset:
                params["offset"] = str(offset)
            params.update({k: str(v) for k, v in changes.items()})
            params = {k: v for k, v in params.items() if not (k == "offset" and v == "0")}
            return str(request.url.replace(query=urlencode(params)))
        urls = {"csv_url": url(format="csv"), "xlsx_url": url(format="xlsx"), "json_url": url(format="json"),
                "next_url": url(offset=offset + limit) if page.has_more else None,
                "prev_url": url(offset=max(0, offset - limit)) if offset > 0 else None}
        html = render_table(nq, page, shown, urls, site=site(), given=raw)
        return endpoint.keep(request, key, version, html.encode("utf-8"), "text/html; charset=utf-8")

    return router
