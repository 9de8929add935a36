"""Pages, linked data, VoID, dumps and search over an external SPARQL store (``kg serve --store URL``).

The publication has one site model (:class:`kg.publication.site.Site`, :class:`kg.publication.publication.Publication`)
that reads a :class:`pyoxigraph.Store`. :class:`SiteStore` is the part of that interface the site model uses,
answered by the external store through the SPARQL 1.1 Protocol (SPARQLWrapper, POST, bounded timeout), so
the same code renders the same pages from either store:

* ``query(text, default_graph=, named_graphs=, substitutions=)``: substitutions are bound with a ``VALUES``
  block (:func:`kg.query.binding.bind_with_values`; for ``CONSTRUCT`` after the template, in the ``WHERE``
  group), the query is adapted to the engine's dialect (:func:`kg.query.remote.adapt_query`, Virtuoso), and
  the answer is read to the end and parsed by pyoxigraph into the same objects the embedded store returns
  (:class:`pyoxigraph.QuerySolutions`, :class:`pyoxigraph.QueryBoolean`, a list of triples). Each query opens
  and closes its own connection, so the web process's threads never share one;
* ``quads_for_pattern`` and ``named_graphs`` as SPARQL (``GRAPH ?g { … }``, the metadata graph left out);
* ``dump`` and ``quads_for_pattern()`` over the whole store (what the dumps read) come from one *snapshot*:
  every quad of the data graphs read with one ``SELECT`` and parsed as it streams into a temporary on-disk
  Oxigraph store. Blank nodes keep their identity only within one answer of the store, so the dump's
  blank-node labels and its statements must come from the same answer.

:func:`install_remote_publication` adds the publication's routes on such a store, builds the search index from
the store in the background, and starts afresh (new :class:`SiteStore`, new index) whenever the version
``kg push`` records changes (:meth:`kg.api.sparql.SparqlEndpoint.check_store_version`).
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Optional
from urllib.error import HTTPError, URLError

import pyoxigraph as ox
from SPARQLWrapper import POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import EndPointInternalError, QueryBadFormed, SPARQLWrapperException

from kg.api.errors import error_response
from kg.query.binding import bind_substitutions
from kg.query.remote import (StoreUnavailable, adapt_query, adapt_results, adapt_value, detect_dialect,
                              incomplete_answer)
from kg.rdf.namespaces import GRAPH_META
from kg.rdf.rq import scan

__all__ = ["SiteStore", "install_remote_publication"]

log = logging.getLogger("kg.api.remote_site")

_ACCEPT_RESULTS = "application/sparql-results+json, application/sparql-results+xml;q=0.9"
_ACCEPT_GRAPH = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"


def _adapt_answer(body: bytes, fmt: Any, dialect: str) -> bytes:
    """SPARQL JSON or XML results as pyoxigraph reads them and SPARQL 1.1 means them: blank-node ids that are not
    valid N-Triples labels (Virtuoso writes ``nodeID://b10000``) with each id's other characters made ``_`` (the
    same node keeps the same id within the answer, which is all a blank node's id means), and every typed
    literal as :func:`kg.query.remote.adapt_value` gives it (Virtuoso's durations; in JSON through
    :func:`kg.query.remote.adapt_results`)."""
    blank = b"nodeID://" in body
    if fmt == ox.QueryResultsFormat.XML:  # what Virtuoso answers, though JSON is asked for first
        if blank:
            body = re.sub(rb"<bnode>([^<]*)</bnode>",
                          lambda m: b"<bnode>" + re.sub(rb"[^A-Za-z0-9_-]", b"_", m.group(1)) + b"</bnode>", body)
        if dialect != "standard":
            body = re.sub(rb'(<literal datatype="([^"]*)">)([^<]*)(</literal>)', lambda m: m.group(1) + adapt_value(
                m.group(3).decode("utf-8"), m.group(2).decode("utf-8"), dialect).encode("utf-8") + m.group(4), body)
        return body
    if fmt != ox.QueryResultsFormat.JSON or not (blank or (dialect != "standard" and b"#duration" in body)):
        return body
    data = adapt_results(json.loads(body), dialect)
    for row in data.get("results", {}).get("bindings", []):
        for value in row.values():
            if value.get("type") == "bnode":
                value["value"] = re.sub(r"[^A-Za-z0-9_-]", "_", value["value"])
    return json.dumps(data).encode("utf-8")


class SiteStore:
    """A read-only :class:`pyoxigraph.Store` look-alike over a SPARQL 1.1 query endpoint (see the module)."""

    def __init__(self, endpoint: str, timeout: float = 60.0, dialect: Optional[str] = None):
        self.endpoint = endpoint
        self.timeout = timeout
        self._dialect = dialect
        self._graphs: Optional[list[ox.NamedNode]] = None
        self._lock = threading.Lock()
        self._snapshot: Optional[ox.Store] = None
        self._snapshot_dir: Optional[Path] = None

    @property
    def dialect(self) -> str:
        if self._dialect is None:
            self._dialect = detect_dialect(self.endpoint)
        return self._dialect

    # -------------------------------------------------------------------------------- the protocol
    def _fetch(self, text: str, accept: str, default_graph: Optional[Sequence[Any]],
               named_graphs: Optional[Sequence[Any]]) -> tuple[Any, str]:
        sw = SPARQLWrapper(self.endpoint, agent="remit (SPARQLWrapper)")
        sw.setMethod(POST)
        sw.setTimeout(max(1, int(self.timeout)))
        if default_graph is not None and not isinstance(default_graph, (list, tuple)):
            default_graph = [default_graph]
        for g in default_graph or ():
            if not isinstance(g, ox.DefaultGraph):  # the store's own default graph: ask for no other
                sw.addDefaultGraph(getattr(g, "value", g))
        for g in named_graphs or ():
            sw.addNamedGraph(getattr(g, "value", g))
        sw.setQuery(adapt_query(text, self.dialect))
        sw.addCustomHttpHeader("Accept", accept)
        try:
            response = sw.query().response
        except SPARQLWrapperException as exc:
            raise StoreUnavailable(f"{self.endpoint}: the store refused or failed a page's query: "
                                   f"{str(exc).strip()[:600]}",
                                   refused=isinstance(exc, (QueryBadFormed, EndPointInternalError))) from None
        except HTTPError as exc:
            raise StoreUnavailable(f"{self.endpoint}: the store answered HTTP {exc.code}") from None
        except (URLError, socket.timeout, ConnectionError, OSError) as exc:
            raise StoreUnavailable(f"{self.endpoint}: cannot reach the store: {getattr(exc, 'reason', exc)}") from None
        incomplete = incomplete_answer(response.status, response.headers)
        if incomplete is not None:
            response.close()
            raise StoreUnavailable(f"{self.endpoint}: {incomplete}")
        media = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        return response, media

    def query(self, query: str, *, default_graph: Optional[Sequence[Any]] = None,
              named_graphs: Optional[Sequence[Any]] = None, substitutions: Optional[Mapping[Any, Any]] = None,
              **unsupported: Any) -> Any:
        if unsupported:
            raise TypeError(f"SiteStore.query: unsupported arguments {sorted(unsupported)}")
        text = bind_substitutions(query, substitutions or {})
        graph_form = re.search(r"\b(CONSTRUCT|DESCRIBE)\b", "".join(c for _, c in scan(text)), re.I) is not None
        response, media = self._fetch(text, _ACCEPT_GRAPH if graph_form else _ACCEPT_RESULTS, default_graph,
                                      named_graphs)
        try:
            body = response.read()  # to the end: the connection is closed before the next query
        except (socket.timeout, OSError) as exc:
            raise StoreUnavailable(f"{self.endpoint}: the answer was cut: {exc}") from None
        finally:
            response.close()
        results_format = ox.QueryResultsFormat.from_media_type(media) if media else None
        if results_format is not None:
            return ox.parse_query_results(_adapt_answer(body, results_format, self.dialect), format=results_format)
        rdf_format = ox.RdfFormat.from_media_type(media) if media else None
        if rdf_format is None:
            raise StoreUnavailable(f"{self.endpoint}: the store answered with an unexpected type {media!r}")
        return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=rdf_format)]

    # -------------------------------------------------------------------------------- Store-like
    def named_graphs(self) -> Iterator[ox.NamedNode]:
        if self._graphs is None:
            res = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
            self._graphs = sorted((s["g"] for s in res if isinstance(s["g"], ox.NamedNode)
                                   and s["g"].value != str(GRAPH_META)), key=lambda g: g.value)
        return iter(self._graphs)

    def contains_named_graph(self, graph: Any) -> bool:
        return getattr(graph, "value", graph) in {g.value for g in self.named_graphs()}

    def quads_for_pattern(self, subject: Any = None, predicate: Any = None, object: Any = None,  # noqa: A002
                          graph_name: Any = None) -> list[ox.Quad]:
        if subject is None and predicate is None and object is None and graph_name is None:
            return list(self.snapshot().quads_for_pattern(None, None, None, None))
        for term in (subject, object):
            if isinstance(term, ox.BlankNode):  # a blank node from an earlier answer names nothing in the store
                raise ValueError("a blank node cannot be looked up in an external store: fetch what hangs off it "
                                 "in the query that found it")
        subs = {ox.Variable(k): v for k, v in (("s", subject), ("p", predicate), ("o", object)) if v is not None}
        if graph_name is not None:
            text = f"SELECT ?s ?p ?o WHERE {{ GRAPH <{ox.NamedNode(graph_name.value).value}> {{ ?s ?p ?o }} }}"
        else:
            text = f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{GRAPH_META}>) }}"
        out = []
        for sol in self.query(text, substitutions=subs):
            s, p, o = subject or sol["s"], predicate or sol["p"], object or sol["o"]
            out.append(ox.Quad(s, p, o, graph_name if graph_name is not None else sol["g"]))
        return out

    def dump(self, output: Any = None, format: Any = None, *, from_graph: Any = None, **kw: Any) -> Any:  # noqa: A002
        return self.snapshot().dump(output, format=format, from_graph=from_graph, **kw)

    def __len__(self) -> int:
        res = self.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{GRAPH_META}>) }}")
        return int(next(iter(res))["n"].value)

    def snapshot(self) -> ox.Store:
        """Every quad of the store's named graphs (the metadata graph left out) in a temporary on-disk store,
        read with one ``SELECT`` and parsed as it streams; made once per :class:`SiteStore`."""
        with self._lock:
            if self._snapshot is None:
                folder = Path(tempfile.mkdtemp(prefix="remit-store-snapshot-"))
                atexit.register(shutil.rmtree, folder, True)
                store = ox.Store(str(folder))
                response, media = self._fetch(
                    f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{GRAPH_META}>) }}",
                    _ACCEPT_RESULTS, None, None)
                try:
                    fmt = ox.QueryResultsFormat.from_media_type(media) if media else None
                    if fmt is None:
                        raise StoreUnavailable(f"{self.endpoint}: the store answered with an unexpected type {media!r}")
                    batch: list[ox.Quad] = []
                    source: Any = response
                    if self.dialect == "virtuoso":  # its blank-node ids and durations: the whole answer
                        source = _adapt_answer(response.read(), fmt, self.dialect)
                    for sol in ox.parse_query_results(source, format=fmt):
                        batch.append(ox.Quad(sol["s"], sol["p"], sol["o"], sol["g"]))
                        if len(batch) >= 50_000:
                            store.bulk_extend(batch)
                            batch = []
                    store.bulk_extend(batch)
                finally:
                    response.close()
                self._snapshot, self._snapshot_dir = store, folder
            return self._snapshot

    def close(self) -> None:
        """Drop the snapshot (its folder is removed)."""
        with self._lock:
            if self._snapshot_dir is not None:
                self._snapshot = None
                shutil.rmtree(self._snapshot_dir, ignore_errors=True)
                self._snapshot_dir = None


# ------------------------------------------------------------------------------------------- installation

def install_remote_publication(app: Any, settings: Any, endpoint: Any, install: Any) -> Any:
    """The publication's routes over the external store: ``install(app, settings, store=SiteStore(...))``
    (:func:`kg.api.pages.install`), the search index built from the store in a background thread into a
    temporary folder (``app.state.search_index``), and both started afresh when the store's version changes."""
    from kg.search.index import write_index

    url = str(settings.remote_store_url)
    timeout = float(getattr(settings, "remote_page_timeout", 60.0))
    state = {"store": SiteStore(url, timeout=timeout), "version": None}
    pub = install(app, settings, store=state["store"])
    folder = Path(tempfile.mkdtemp(prefix="remit-remote-search-"))
    atexit.register(shutil.rmtree, folder, True)
    app.state.search_index = folder / "missing.sqlite"  # the search route answers 503 until it is built
    lock = threading.Lock()

    def build_index(store: SiteStore, n: int) -> None:
        target = folder / f"search-{n}.sqlite"
        try:
            write_index(store, target)
        except Exception:  # noqa: BLE001 - the search route keeps saying the index is not there
            log.exception("search index from the external store could not be built")
            return
        with lock:
            if state["store"] is store:
                app.state.search_index = target
        log.info("search index built from the external store: %s", target)

    counter = {"n": 0}

    def start_index(store: SiteStore) -> None:
        counter["n"] += 1
        threading.Thread(target=build_index, args=(store, counter["n"]), name="remit-remote-search-index",
                         daemon=True).start()

    def changed(version: str) -> None:
        """A new push: a new store adapter (no memo, no snapshot), a publication started afresh, a new index."""
        with lock:
            if version == state["version"]:
                return
            first = state["version"] is None
            state["version"] = version
            if not first:
                old = state["store"]
                state["store"] = SiteStore(url, timeout=timeout)
                pub.__init__(pub.settings, store=state["store"])
                old.close()
            store = state["store"]
        if not first:
            threading.Thread(target=pub.warm_up, name="remit-publication-warm-up", daemon=True).start()
        start_index(store)

    async def store_failed(request: Any, exc: Exception) -> Any:
        log.warning("%s: %s", request.url.path, exc)  # the store's address stays in the log
        return error_response(request, 502, "the SPARQL store did not answer", "the external SPARQL store behind "
                              "this site could not be reached or failed; try again later.")

    app.add_exception_handler(StoreUnavailable, store_failed)
    listeners = getattr(endpoint, "store_listeners", None)
    if listeners is not None and endpoint.cache.configured:  # the version is watched: start on each new one
        listeners.append(changed)
    else:  # no version watch (response cache off): the index is built once
        changed("")
    return pub
