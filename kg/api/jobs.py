"""The query workers' job functions: check, negotiate, run and serialise one query against an open store.

Plain functions of a store (a :class:`pyoxigraph.Store` or the remote backend's
:class:`kg.api.remote_backend.RemoteDataset`), usable without any process around them. A job is a dict
(``kind`` ``sparql`` or ``named``, the query, the negotiation inputs and the limits); the answer is a dict
too: ``status`` 200 with the body, or an error made by :func:`job_error`. The worker processes
(:mod:`kg.api.workers`) and the remote backend (:mod:`kg.api.remote_backend`) both run jobs through
:func:`run_job`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Iterable, Optional

import orjson
import pyoxigraph as ox

from kg.api.cache import LruDict
from kg.api.conneg import GRAPH_FORMATS, RESULT_FORMATS, NotAcceptable, UnknownFormat, negotiate
from kg.api.cost import CostLimits, check_cost
from kg.api.guard import QueryRefused, check_dataset_params, inspect_query
from kg.query.registry import ParamError, ResultPage, page_to_json, select_page, term_to_json
from kg.rdf.namespaces import PREFIXES
from kg.rdf.store import DEFAULT_GRAPHS

__all__ = ["job_error", "store_graphs", "run_sparql_job", "run_named_job", "run_job"]

log = logging.getLogger("kg.api.jobs")


def job_error(status: int, title: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    """A job's error answer: the HTTP status, a short title and a detail for the problem document."""
    out = {"status": status, "title": title, "detail": detail}
    out.update(extra)
    return out


def store_graphs(store: Any) -> list[str]:
    """The IRIs of the store's named graphs, sorted."""
    return sorted(g.value for g in store.named_graphs() if hasattr(g, "value"))


#: Fragments of the service description's limit nodes, by the reason an answer was cut.
_LIMIT_FRAGMENT = {"rows": "#result-row-limit", "bytes": "#result-byte-limit"}


def _truncation_link(endpoint: str, reason: str = "rows") -> str:
    return endpoint + _LIMIT_FRAGMENT[reason]


def _first(items: Iterable[Any], row_limit: int, max_bytes: int = 0,
           size: Optional[Callable[[Any], int]] = None) -> tuple[list[Any], Optional[str]]:
    """The first ``row_limit`` items whose estimated sizes (``size``) add up to at most ``max_bytes`` (0: no
    byte bound), and why the list stops short: None (it does not), ``"rows"`` or ``"bytes"``. One more item
    is read to know, no further."""
    taken: list[Any] = []
    total = 0
    for item in items:
        if len(taken) == row_limit:
            return taken, "rows"
        if max_bytes and size is not None:
            total += size(item)
            if total > max_bytes:
                return taken, "bytes"
        taken.append(item)
    return taken, None


def _shrink(rows: list[Any], body: bytes, max_bytes: int) -> list[Any]:
    """Fewer rows, in proportion, for a rendered answer that came out larger than ``max_bytes``."""
    keep = int(len(rows) * max_bytes / max(1, len(body)) * 0.95)
    return rows[:max(0, min(len(rows) - 1, keep))]


def _binding_size(sol: Any, columns: list[str], markup: int) -> int:
    """About the bytes of one solution: its values, their datatypes and ``markup`` bytes around each."""
    n = 2
    for c in columns:
        t = sol[c]
        if t is not None:
            n += len(t.value) + markup
            if markup > 8:  # SPARQL JSON and XML name the variable and the datatype at each value
                n += len(c) + len(getattr(getattr(t, "datatype", None), "value", "") or "")
    return n


def _serialize_select(result: Any, fmt_key: str, row_limit: int, endpoint: str,
                      max_bytes: int = 0) -> tuple[bytes, Optional[str]]:
    columns = [v.value for v in result.variables]
    markup = 2 if fmt_key in ("csv", "tsv") else 40
    solutions, cut = _first(result, row_limit, max_bytes, lambda sol: _binding_size(sol, columns, markup))
    bindings = [{c: term_to_json(sol[c]) for c in columns if sol[c] is not None} for sol in solutions]
    del solutions
    body = _render_select(bindings, columns, fmt_key, cut, row_limit, max_bytes, endpoint)
    while max_bytes and len(body) > max_bytes and bindings:  # the estimate was short (escapes, markup)
        bindings, cut = _shrink(bindings, body, max_bytes), "bytes"
        body = _render_select(bindings, columns, fmt_key, cut, row_limit, max_bytes, endpoint)
    return body, cut


def _render_select(bindings: list[dict[str, Any]], columns: list[str], fmt_key: str, cut: Optional[str],
                   row_limit: int, max_bytes: int, endpoint: str) -> bytes:
    head: dict[str, Any] = {"vars": columns}
    doc: dict[str, Any] = {"head": head}
    if cut:
        head["link"] = [_truncation_link(endpoint, cut)]
        doc["truncated"] = {"limit": row_limit} if cut == "rows" else {"maxBytes": max_bytes}
    doc["results"] = {"bindings": bindings}
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    if fmt_key == "json":
        return body
    core = dict(doc)
    core.pop("truncated", None)
    parsed = ox.parse_query_results(json.dumps(core).encode("utf-8"), format=ox.QueryResultsFormat.JSON)
    fmt = {"xml": ox.QueryResultsFormat.XML, "csv": ox.QueryResultsFormat.CSV,
           "tsv": ox.QueryResultsFormat.TSV}[fmt_key]
    out = parsed.serialize(format=fmt)
    if fmt_key == "xml" and cut and b"<link" not in out:
        out = out.replace(b"</head>", f'<link href="{_truncation_link(endpoint, cut)}"/></head>'.encode(), 1)
    return out


def _triple_size(t: Any) -> int:
    """About the bytes of one triple in N-Triples."""
    return len(str(t.subject)) + len(str(t.predicate)) + len(str(t.object)) + 4


def _serialize_graph(result: Any, fmt_key: str, row_limit: int, max_bytes: int = 0) -> tuple[bytes, Optional[str]]:
    triples, cut = _first(result, row_limit, max_bytes, _triple_size)
    body = _render_graph(triples, fmt_key, cut, row_limit, max_bytes)
    while max_bytes and len(body) > max_bytes and triples:  # JSON-LD and RDF/XML are longer than N-Triples
        triples, cut = _shrink(triples, body, max_bytes), "bytes"
        body = _render_graph(triples, fmt_key, cut, row_limit, max_bytes)
    return body, cut


def _render_graph(triples: list[Any], fmt_key: str, cut: Optional[str], row_limit: int, max_bytes: int) -> bytes:
    fmt = {"turtle": ox.RdfFormat.TURTLE, "jsonld": ox.RdfFormat.JSON_LD, "nt": ox.RdfFormat.N_TRIPLES,
           "rdfxml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG}[fmt_key]
    items: list[Any] = triples
    if fmt_key == "trig":
        items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    prefixes = PREFIXES if fmt_key in ("turtle", "trig", "rdfxml") else None
    # only declare prefixes that are used, so the output stays small and readable
    if prefixes:
        used = {str(x.value) for t in triples for x in (t.subject, t.predicate, t.object) if hasattr(x, "value")}
        prefixes = {p: ns for p, ns in prefixes.items() if any(u.startswith(ns) for u in used)}
    body = ox.serialize(items, format=fmt, prefixes=prefixes) if prefixes else ox.serialize(items, format=fmt)
    if cut and fmt_key in ("turtle", "trig", "nt"):
        why = "the result row limit" if cut == "rows" else f"the answer byte limit, {max_bytes} bytes"
        body = f"# truncated: only the first {len(triples)} triples are given ({why})\n".encode() + body
    return body


#: The guard's verdict per (query text, store graphs, cost limits), per worker process (LRU, bounded by
#: entries and by bytes, the query texts included):
#: ("ok", form, has_dataset) or ("refused", status, title, detail). A repeated query is not parsed again.
_GUARD_MEMO: Any = None


def _guard_memo() -> Any:
    global _GUARD_MEMO
    if _GUARD_MEMO is None:
        _GUARD_MEMO = LruDict(4096, 16 << 20)
    return _GUARD_MEMO


def run_sparql_job(store: Any, graphs: list[str], job: dict[str, Any]) -> dict[str, Any]:
    """Check, negotiate, run and serialize one protocol query. Returns a response dict."""
    text: str = job["query"]
    cost = job.get("cost", {})
    memo_key = (text, tuple(graphs), tuple(sorted(cost.items())))
    memo = _guard_memo()
    verdict = memo.get(memo_key)
    if verdict is None:  # the guard's verdict depends only on the text, the store's graphs and the limits
        try:
            info = inspect_query(text, graphs)
            check_cost(info.algebra, CostLimits(**cost))
            verdict = ("ok", info.form, info.has_dataset)
        except QueryRefused as exc:
            verdict = ("refused", exc.status, exc.title, exc.detail)
        memo.max_entries = int(job.get("guard_memo", memo.max_entries))
        memo.max_bytes = int(job.get("guard_memo_bytes", memo.max_bytes))
        memo.put(memo_key, verdict)
    if verdict[0] == "refused":
        return job_error(verdict[1], verdict[2], verdict[3])
    try:
        check_dataset_params(job.get("default_graph_uri", []), job.get("named_graph_uri", []), graphs)
    except QueryRefused as exc:
        return job_error(exc.status, exc.title, exc.detail)
    form, has_dataset = verdict[1], verdict[2]

    family = "results" if form in ("SELECT", "ASK") else "graph"
    available = RESULT_FORMATS if family == "results" else GRAPH_FORMATS
    try:
        fmt = negotiate(available, job.get("accept"), job.get("formats", []), family)
    except NotAcceptable as exc:
        return job_error(406, "not acceptable", str(exc), available=[f.media_type for f in exc.available])
    except UnknownFormat as exc:
        return job_error(400, "unknown format", str(exc))

    kwargs: dict[str, Any] = {}
    dg, ng = job.get("default_graph_uri", []), job.get("named_graph_uri", [])
    if dg or ng:  # the protocol's dataset replaces the query's FROM / FROM NAMED
        kwargs["default_graph"] = [ox.NamedNode(g) for g in dg]
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in ng]
    elif not has_dataset:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in DEFAULT_GRAPHS if g in graphs]

    try:
        result = store.query(text, **kwargs)
    except SyntaxError as exc:
        return job_error(400, "syntax error", str(exc.args[0] if exc.args else exc))

    endpoint = job.get("endpoint", "")
    max_bytes = int(job.get("max_answer_bytes", 0))
    cut: Optional[str] = None
    try:
        if isinstance(result, ox.QueryBoolean):
            body = result.serialize(format=getattr(ox.QueryResultsFormat, fmt.ox_name))
        elif isinstance(result, ox.QuerySolutions):
            body, cut = _serialize_select(result, fmt.key, job["row_limit"], endpoint, max_bytes)
        else:
            body, cut = _serialize_graph(result, fmt.key, job["row_limit"], max_bytes)
    except RecursionError:
        return job_error(400, "query too complex", "the query is nested too deeply to be evaluated")
    except Exception as exc:  # evaluation errors surface while iterating
        log.warning("query evaluation failed: %s", exc)
        return job_error(500, "query evaluation failed", "the query could not be evaluated")
    headers = {}
    if cut:
        headers["Remit-Result-Truncated"] = (f"true; limit={job['row_limit']}" if cut == "rows"
                                             else f"true; max-bytes={max_bytes}")
        headers["Link"] = f'<{_truncation_link(endpoint, cut)}>; rel="describedby"'
    return {"status": 200, "content_type": fmt.content_type, "body": body, "headers": headers,
            "family": family, "format": fmt.key}


def run_named_job(store: Any, graphs: list[str], job: dict[str, Any]) -> dict[str, Any]:
    """Run one page of a named query with bound parameters."""
    try:
        page = select_page(store, job["query"], job["bindings"], job["limit"], job["offset"],
                           default_graph=[g for g in DEFAULT_GRAPHS if g in graphs])
    except SyntaxError as exc:
        return job_error(500, "named query is invalid", str(exc.args[0] if exc.args else exc))
    except ParamError as exc:  # an IRI parameter that names no term of the graph, or several
        return job_error(400, "bad parameter", str(exc))
    except ValueError as exc:
        return job_error(500, "named query is invalid", str(exc))
    return named_answer(page, job)


def named_answer(page: ResultPage, job: dict[str, Any]) -> dict[str, Any]:
    """The outcome of a named-query job: for ``"format": "json"`` the response body itself, encoded where the
    page was made (a 1,000-row page's ~20,000 cells cost ~20 ms to pickle and unpickle between processes, its
    JSON bytes ~2 ms to write), else the page, which the web process lays out as CSV, XLSX or HTML."""
    if job.get("format") == "json":
        return {"status": 200, "json": orjson.dumps(page_to_json(page, job.get("name", "")))}
    return {"status": 200, "page": page}


def run_job(store: Any, graphs: list[str], job: dict[str, Any]) -> dict[str, Any]:
    """Run one pool job by its ``kind``: ``sparql``, ``named`` (or ``sleep``, for tests of the pool)."""
    kind = job.get("kind")
    if kind == "sparql":
        return run_sparql_job(store, graphs, job)
    if kind == "named":
        return run_named_job(store, graphs, job)
    if kind == "sleep":  # used by tests of the pool itself
        time.sleep(float(job.get("seconds", 0)))
        return {"status": 200}
    return job_error(500, "unknown job")
