"""Named-query routes: ``GET /queries`` (the catalogue) and ``GET /queries/{name}`` (one page of results).

Results come as JSON (default: SPARQL JSON results plus ``query``, ``params`` and ``page`` members), CSV
(``text/csv``, UTF-8 with a byte-order mark so that Excel reads the en dashes), XLSX (a spreadsheet with
human column titles, labels in place of IRIs and a sheet of sources: :mod:`kg.query.spreadsheet`), or an
HTML table (``text/html``, the downloads linked at the top), chosen by ``format=json|csv|xlsx|html`` or the
Accept header.
The HTML template is ``kg/api/templates/query-table.html`` when that file exists, else a built-in one.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from fastapi import APIRouter
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kg.api.conneg import Format, NotAcceptable, negotiate
from kg.api.cache import nondeterministic_unless_bound
from kg.api.errors import error_response
from kg.api.headers import is_web_link
from kg.api.sparql import SparqlEndpoint
from kg.publication.site import TEMPLATES
from kg.query.registry import ParamError, ResultPage, bind_params, page_bounds, page_to_csv, page_to_json, term_display
from kg.query.spreadsheet import XLSX_MEDIA_TYPE, page_to_xlsx

__all__ = ["make_named_router", "render_table"]

_FORMATS = (
    Format("json", "application/json", ("application/sparql-results+json",), "", ""),
    Format("csv", "text/csv", (), "", ""),
    Format("xlsx", XLSX_MEDIA_TYPE, (), "", ""),
    Format("html", "text/html", ("application/xhtml+xml",), "", ""),
)

#: The start of both pages of a named query: its title and description.
_PAGE_HEAD = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ query.summary or query.name }} · Remit</title></head>
<body>
<main>
<h1>{{ query.summary or query.name }}</h1>
{% if query.description %}<p>{{ query.description }}</p>{% endif %}
"""

_DEFAULT_TEMPLATE = _PAGE_HEAD + """<p class="downloads">Download these rows: <a href="{{ csv_url }}" download>CSV</a>{% if xlsx_url %} · <a href="{{ xlsx_url }}" download>spreadsheet (XLSX)</a>{% endif %} · <a href="{{ json_url }}">JSON</a></p>
{% if params %}<p>Parameters: {% for k, v in params.items() %}<code>{{ k }}</code> = <code>{{ v }}</code>{% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
<table>
<caption>{{ page.rows|length }} row{{ '' if page.rows|length == 1 else 's' }}{% if page.offset %}, from row {{ page.offset + 1 }}{% endif %}{% if page.has_more %} (more on the next page){% endif %}</caption>
<thead><tr>{% for c in page.columns %}<th scope="col">{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in page.rows %}<tr>{% for c in page.columns %}{% set b = row.get(c) %}<td>{% if b and b.type == 'uri' and b.value is web_link %}<a href="{{ b.value }}">{{ b.value }}</a>{% else %}{{ display(b) }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
<nav aria-label="Pages">{% if prev_url %}<a href="{{ prev_url }}" rel="prev">Previous page</a> {% endif %}{% if next_url %}<a href="{{ next_url }}" rel="next">Next page</a>{% endif %}</nav>
</main>
</body>
</html>
"""

_FORM_TEMPLATE = _PAGE_HEAD + """{% if error %}<p role="alert"><strong>{{ error }}</strong></p>{% endif %}
<form method="get" action="">
{% for p in query.params %}<p><label for="p-{{ p.name }}">{{ p.name }}{% if p.required %} (required){% endif %}</label>
<input id="p-{{ p.name }}" name="{{ p.name }}" value="{{ given.get(p.name, '') }}" {% if p.required %}required{% endif %}
 placeholder="{{ p.type }}{% if p.default %}, default {{ p.default }}{% endif %}">
{% if p.description %}<br><small>{{ p.description }}</small>{% endif %}</p>
{% endfor %}<input type="hidden" name="format" value="html">
<p><button type="submit">Run the query</button></p>
</form>
</main>
</body>
</html>
"""

_env = Environment(
    loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)),
                         DictLoader({"query-table.html": _DEFAULT_TEMPLATE, "query-form.html": _FORM_TEMPLATE})]),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
_env.tests["web_link"] = is_web_link  # only http(s) values become links (no javascript:, data:, ...)


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def render_table(query: Any, page: ResultPage, params: dict[str, str], urls: dict[str, str]) -> str:
    return _env.get_template("query-table.html").render(query=query, page=page, params=params,
                                                         display=term_display, **urls)


def make_named_router(endpoint: SparqlEndpoint) -> APIRouter:
    router = APIRouter()
    s = endpoint.settings

    @router.api_route("/queries", methods=["GET", "HEAD"], summary="The named queries, with their summaries and parameters")
    async def list_queries() -> JSONResponse:
        return JSONResponse({"queries": [
            {**q.as_dict(), "url": f"{s.base_url}/queries/{q.name}"} for q in endpoint.queries.values()]})

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
                html = _env.get_template("query-form.html").render(query=nq, error=str(exc), given=raw)
                return Response(html, status_code=400 if raw else 200, media_type="text/html; charset=utf-8",
                                headers={"Vary": "Accept"})
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
                                                   "limit": limit, "offset": offset})
        if isinstance(outcome, Response):
            return outcome
        if outcome["status"] == 400 and fmt.key == "html":  # an IRI parameter that names no term: the form again
            html = _env.get_template("query-form.html").render(query=nq, error=outcome.get("detail", ""), given=raw)
            return Response(html, status_code=400, media_type="text/html; charset=utf-8", headers={"Vary": "Accept"})
        if outcome["status"] != 200:
            return error_response(request, outcome["status"], outcome["title"], outcome.get("detail", ""))
        page: ResultPage = outcome["page"]
        shown = dict(page.params)  # IRI parameters as resolved
        if fmt.key == "csv":  # the byte-order mark tells Excel the file is UTF-8 (else en dashes become â€“)
            return endpoint.keep(request, key, version, codecs.BOM_UTF8 + page_to_csv(page).encode("utf-8"),
                                 "text/csv; charset=utf-8", _attachment(f"{name}.csv"))
        if fmt.key == "xlsx":
            body = page_to_xlsx(page, title=nq.summary or nq.name, description=nq.description or "",
                                url=str(request.url))
            return endpoint.keep(request, key, version, body, XLSX_MEDIA_TYPE, _attachment(f"{name}.xlsx"))
        if fmt.key == "json":
            return endpoint.keep(request, key, version,
                                 json.dumps(page_to_json(page, name), ensure_ascii=False).encode("utf-8"),
                                 "application/json")

        def url(**changes: Any) -> str:
            params = dict(raw)
            params.update({"limit": str(limit), "offset": str(offset)})
            params.update({k: str(v) for k, v in changes.items()})
            return str(request.url.replace_query_params(**params))
        urls = {"csv_url": url(format="csv"), "xlsx_url": url(format="xlsx"), "json_url": url(format="json"),
                "next_url": url(offset=offset + limit) if page.has_more else None,
                "prev_url": url(offset=max(0, offset - limit)) if offset > 0 else None}
        return endpoint.keep(request, key, version, render_table(nq, page, shown, urls).encode("utf-8"),
                             "text/html; charset=utf-8")

    return router
