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
from typing import Any, Iterable

import pyoxigraph as ox

from kg.api.cache import LruDict
from kg.api.conneg import GRAPH_FORMATS, RESULT_FORMATS, NotAcceptable, UnknownFormat, negotiate
from kg.api.cost import CostLimits, check_cost
from kg.api.guard import QueryRefused, check_dataset_params, inspect_query
from kg.query.registry import ParamError, select_page, term_to_json
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


def _truncation_link(endpoint: str) -> str:
    return endpoint + "#result-row-limit"


def _first(items: Iterable[Any], row_limit: int) -> tuple[list[Any], bool]:
    """The first ``row_limit`` items, and whether there were more (one more is read to know, no further)."""
    taken: list[Any] = []
    for item in items:
        if len(taken) == row_limit:
            return taken, True
        taken.append(item)
    return taken, False


def _serialize_select(result: Any, fmt_key: str, row_limit: int, endpoint: str) -> tuple[bytes, bool]:
    columns = [v.value for v in result.variables]
    solutions, truncated = _first(result, row_limit)
    bindings = [{c: term_to_json(sol[c]) for c in columns if sol[c] is not None} for sol in solutions]
    head: dict[str, Any] = {"vars": columns}
    doc: dict[str, Any] = {"head": head}
    if truncated:
        head["link"] = [_truncation_link(endpoint)]
        doc["truncated"] = {"limit": row_limit}
    doc["results"] = {"bindings": bindings}
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    if fmt_key == "json":
        return body, truncated
    core = dict(doc)
    core.pop("truncated", None)
    parsed = ox.parse_query_results(json.dumps(core).encode("utf-8"), format=ox.QueryResultsFormat.JSON)
    fmt = {"xml": ox.QueryResultsFormat.XML, "csv": ox.QueryResultsFormat.CSV,
           "tsv": ox.QueryResultsFormat.TSV}[fmt_key]
    out = parsed.serialize(format=fmt)
    if fmt_key == "xml" and truncated and b"<link" not in out:
        out = out.replace(b"</head>", f'<link href="{_truncation_link(endpoint)}"/></head>'.encode(), 1)
    return out, truncated


def _serialize_graph(result: Any, fmt_key: str, row_limit: int) -> tuple[bytes, bool]:
    triples, truncated = _first(result, row_limit)
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
    if truncated and fmt_key in ("turtle", "trig", "nt"):
        body = f"# truncated: only the first {row_limit} triples are given (the result row limit)\n".encode() + body
    return body, truncated


#: The guard's verdict per (query text, store graphs, cost limits), per worker process (LRU):
#: ("ok", form, has_dataset) or ("refused", status, title, detail). A repeated query is not parsed again.
_GUARD_MEMO: Any = None


def _guard_memo() -> Any:
    global _GUARD_MEMO
    if _GUARD_MEMO is None:
        _GUARD_MEMO = LruDict(4096)
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
    try:
        if isinstance(result, ox.QueryBoolean):
            body = result.serialize(format=getattr(ox.QueryResultsFormat, fmt.ox_name))
            truncated = False
        elif isinstance(result, ox.QuerySolutions):
            body, truncated = _serialize_select(result, fmt.key, job["row_limit"], endpoint)
        else:
            body, truncated = _serialize_graph(result, fmt.key, job["row_limit"])
    except RecursionError:
        return job_error(400, "query too complex", "the query is nested too deeply to be evaluated")
    except Exception as exc:  # evaluation errors surface while iterating
        log.warning("query evaluation failed: %s", exc)
        return job_error(500, "query evaluation failed", "the query could not be evaluated")
    headers = {}
    if truncated:
        headers["Remit-Result-Truncated"] = f"true; limit={job['row_limit']}"
        headers["Link"] = f'<{_truncation_link(endpoint)}>; rel="describedby"'
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
