"""``kg push``: load the built dataset into an external SPARQL 1.1 store through the Graph Store Protocol.

Each named graph of ``build/remit.trig`` (ontology, asserted, inferred, validation report) is sent with
one HTTP ``PUT <graph-store>?graph=<graph IRI>`` (SPARQL 1.1 Graph Store HTTP Protocol §5.3): PUT
*replaces* the graph, so pushing twice leaves the store exactly as pushing once. The body is N-Triples,
written in chunks to a temporary file so a 1M-triple graph never sits in memory twice, and sent from it
with a ``Content-Length`` (never chunked: Virtuoso 7 accepts a chunked body and stores nothing). After the upload each graph's
triple count is read back through the store's SPARQL query endpoint (when given) and compared.

Graph-store URL forms (``--graph-store``): Oxigraph ``http://host:7878/store``; Fuseki
``http://host:3030/DATASET/data``; GraphDB ``http://host:7200/repositories/REPO/rdf-graphs/service``;
Virtuoso ``http://host:8890/sparql-graph-crud-auth`` (``--user``: an account with the ``SPARQL_UPDATE`` role;
HTTP digest, which is met with a bodiless ``HEAD`` before the first PUT). See ``docs/scale.md``.

Version. Before the first PUT the metadata graph ``id:graph/meta`` (:data:`kg.rdf.namespaces.GRAPH_META`) is
deleted, and after the last graph it is written with one triple, ``id:dataset dcat:version "sha256:…"``: the
SHA-256 of the pushed file (:func:`dataset_version`). While a push runs the store has no version, so ``kg serve
--store URL`` keeps nothing in its response cache; once the new version is there every graph is the new one, and
the cache keyed by it (``kg.api.cache``) is emptied within ``REMIT_STORE_VERSION_CHECK_SECONDS``.

Blank nodes: the protocol has no way to send one blank node in two graphs, so a blank node that occurs
in two graphs (a citation node in ``asserted`` that an inferred triple also mentions) becomes two blank
nodes in the store. Queries over one graph, or over the union through IRIs, are unaffected; pages that show
what hangs off such a node, and the dumps' blank-node labels, are not. With ``update_url`` (``kg push
--update URL``) the triples touching such nodes are sent in SPARQL 1.1 ``INSERT { … } WHERE { BIND(1 AS ?one) }``
requests instead (:func:`insert_requests`), each node's triples in one request, and each node stays one node.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import httpx
import pyoxigraph as ox

from kg.rdf.namespaces import DATASET, DATASET_VERSION, GRAPH_META

__all__ = ["PushError", "GraphPush", "PushResult", "push", "graph_store_url", "read_dataset", "dataset_version",
           "shared_blank_nodes", "insert_requests", "INSERT_TRIPLES"]

_CHUNK_TRIPLES = 20_000


class PushError(Exception):
    """The store refused or could not be reached; the message names the URL, the graph and the reply."""


@dataclass
class GraphPush:
    graph: str
    triples: int
    status: int
    stored: int | None = None  # triple count read back through the query endpoint


@dataclass
class PushResult:
    graph_store: str
    graphs: list[GraphPush] = field(default_factory=list)
    version: str = ""  # written to the metadata graph after the last graph (dataset_version)

    @property
    def triples(self) -> int:
        return sum(g.triples for g in self.graphs)


def graph_store_url(store: str) -> str:
    """The Graph Store Protocol URL beside a SPARQL query endpoint, for Oxigraph's layout
    (``…/query`` or ``…/sparql`` → ``…/store``; a bare ``http://host:port`` → ``…/store``)."""
    parts = urlsplit(store)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PushError(f"{store}: not an http(s) URL")
    path = parts.path.rstrip("/")
    for tail in ("/query", "/sparql"):
        if path.endswith(tail):
            path = path[: -len(tail)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path + "/store", "", ""))


def dataset_version(path: Path) -> str:
    """The version ``kg push`` records: ``sha256:`` and the hex SHA-256 of the dataset file's bytes (a
    byte-identical rebuild gives the same version; any changed triple a new one)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _meta_body(version: str) -> bytes:
    triple = ox.Triple(ox.NamedNode(str(DATASET)), ox.NamedNode(str(DATASET_VERSION)), ox.Literal(version))
    return ox.serialize([triple], format=ox.RdfFormat.N_TRIPLES)


def read_dataset(path: Path) -> dict[str, list[ox.Triple]]:
    """The triples of each named graph of a TriG/N-Quads file (default-graph triples under ``""``)."""
    path = Path(path)
    if not path.is_file():
        raise PushError(f"{path}: no built dataset; run `kg build` first")
    fmt = ox.RdfFormat.from_extension(path.suffix.lstrip(".")) or ox.RdfFormat.TRIG
    graphs: dict[str, list[ox.Triple]] = {}
    try:
        for q in ox.parse(path=str(path), format=fmt):
            key = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
            graphs.setdefault(key, []).append(q.triple)
    except SyntaxError as exc:
        raise PushError(f"{path}: {exc}") from None
    return graphs


def shared_blank_nodes(graphs: dict[str, list[ox.Triple]]) -> set[ox.BlankNode]:
    """Blank nodes that occur in more than one graph. The Graph Store Protocol sends one graph per request,
    and a blank node is new in each request, so each of these would become one node per graph."""
    seen: dict[ox.BlankNode, str] = {}
    shared: set[ox.BlankNode] = set()
    for g, triples in graphs.items():
        for t in triples:
            for term in (t.subject, t.object):
                if isinstance(term, ox.BlankNode):
                    if seen.setdefault(term, g) != g:
                        shared.add(term)
    return shared


#: Most triples in one ``INSERT`` of :func:`insert_requests` (Virtuoso 7's SPARQL compiler ran out of memory on a
#: template of ~5,000 lines: "SP030: … memory exhausted").
INSERT_TRIPLES = 1000


def insert_requests(graphs: dict[str, list[ox.Triple]], max_triples: int = INSERT_TRIPLES) -> list[bytes]:
    """SPARQL 1.1 Updates that insert ``graphs``' triples, each ``INSERT { GRAPH <g> { … } … } WHERE { BIND(1 AS
    ?one) }`` of about ``max_triples``, with every blank node's triples, in every graph, in one request (and two
    nodes of one triple in the same one): the pattern has one solution, so a label is one new node across a
    request's graphs, and a node split between two requests would become two. Requests in a fixed order.

    Not ``INSERT DATA``, the same in SPARQL 1.1: Virtuoso 7 refuses a blank node in it ("SP031: … is not allowed
    in a constant clause"); and not ``WHERE {}``, also one solution: Virtuoso 7 fails on it when the template has
    two ``GRAPH`` blocks ("SR002: Function string_output_string needs a string output")."""
    parent: dict[ox.BlankNode, ox.BlankNode] = {}

    def root(node: ox.BlankNode) -> ox.BlankNode:
        while (up := parent.get(node, node)) != node:
            node = up
        return node

    for triples in graphs.values():
        for t in triples:
            if isinstance(t.subject, ox.BlankNode) and isinstance(t.object, ox.BlankNode):
                a, b = root(t.subject), root(t.object)
                if a != b:
                    parent[max(a, b, key=str)] = min(a, b, key=str)
    groups: dict[str, list[tuple[str, ox.Triple]]] = {}
    for g, triples in sorted(graphs.items()):
        for t in triples:
            node = t.subject if isinstance(t.subject, ox.BlankNode) else t.object
            key = str(root(node)) if isinstance(node, ox.BlankNode) else ""
            groups.setdefault(key, []).append((g, t))
    batches: list[list[tuple[str, ox.Triple]]] = []
    for key in sorted(groups):
        if not batches or (batches[-1] and len(batches[-1]) + len(groups[key]) > max_triples):
            batches.append([])
        batches[-1].extend(groups[key])
    out = []
    for batch in batches:
        by_graph: dict[str, list[ox.Triple]] = {}
        for g, t in batch:
            by_graph.setdefault(g, []).append(t)
        out.append(("INSERT {\n" + "".join(
            f"GRAPH <{g}> {{\n" + ox.serialize(ts, format=ox.RdfFormat.N_TRIPLES).decode("utf-8") + "}\n"
            for g, ts in sorted(by_graph.items())) + "} WHERE { BIND(1 AS ?one) }\n").encode("utf-8"))
    return out


def _touches(t: ox.Triple, nodes: set[ox.BlankNode]) -> bool:
    return (isinstance(t.subject, ox.BlankNode) and t.subject in nodes) or (
        isinstance(t.object, ox.BlankNode) and t.object in nodes)


def _ntriples_body(triples: list[ox.Triple], spool: IO[bytes],
                   progress: Callable[[int], None] | None) -> tuple[int, Iterator[bytes]]:
    """The graph as N-Triples, written in chunks to ``spool`` (a temporary file, so a 1M-triple graph never
    sits in memory), and sent from there with its ``Content-Length``: Virtuoso 7 answers ``201 Created``
    to a PUT whose body comes ``Transfer-Encoding: chunked`` but stores nothing of it."""
    ends: list[tuple[int, int]] = []  # (byte offset after the chunk, triples in it)
    for i in range(0, len(triples), _CHUNK_TRIPLES):
        chunk = triples[i:i + _CHUNK_TRIPLES]
        spool.write(ox.serialize(chunk, format=ox.RdfFormat.N_TRIPLES))
        ends.append((spool.tell(), len(chunk)))
    size = spool.tell()

    def send() -> Iterator[bytes]:
        spool.seek(0)
        start = 0
        for end, n in ends:
            while start < end:
                block = spool.read(min(1 << 20, end - start))
                if not block:
                    return
                start += len(block)
                yield block
            if progress:
                progress(n)

    return size, send()


def _count(client: httpx.Client, query_url: str, graph: str) -> int:
    q = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    r = client.post(query_url, data={"query": q}, headers={"Accept": "application/sparql-results+json"})
    if r.status_code != 200:
        raise PushError(f"{query_url}: counting <{graph}> failed: HTTP {r.status_code} {r.text[:300]}")
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def _graph_store_auth(client: httpx.Client, graph_store: str, auth: tuple[str, str] | None,
                      graph: str) -> httpx.Auth | None:
    """HTTP basic or digest auth for the graph store, whichever it asks for.

    A body streamed in chunks cannot be sent twice, so a digest challenge must be met before the first
    PUT: one bodiless ``HEAD`` without credentials shows the scheme (``WWW-Authenticate``); for digest
    (Virtuoso's ``/sparql-graph-crud-auth``) a second ``HEAD`` with credentials answers the challenge, and
    httpx then sends the digest answer with every PUT at once. Wrong credentials fail here."""
    if auth is None:
        return None
    try:
        probe = client.head(graph_store, params={"graph": graph})
        if probe.status_code == 401 and probe.headers.get("www-authenticate", "").lower().startswith("digest"):
            digest = httpx.DigestAuth(*auth)
            answer = client.head(graph_store, params={"graph": graph}, auth=digest)
            if answer.status_code in (401, 403):
                raise PushError(f"{graph_store}: the store refused the credentials of user {auth[0]!r}: "
                                f"HTTP {answer.status_code} {answer.reason_phrase}")
            return digest
    except httpx.HTTPError as exc:
        raise PushError(f"{graph_store}: cannot reach the graph store: {exc}") from None
    return httpx.BasicAuth(*auth)


def push(
    dataset: Path | str,
    graph_store: str,
    query_url: str | None = None,
    *,
    auth: tuple[str, str] | None = None,
    timeout: float = 600.0,
    progress: Callable[[str, int, int], None] | None = None,
    update_url: str | None = None,
) -> PushResult:
    """PUT every named graph of ``dataset`` into ``graph_store``; verify counts through ``query_url``.

    With ``update_url`` (the store's SPARQL 1.1 Update endpoint), the triples that touch a blank node found in
    more than one graph are left out of the PUTs and sent afterwards in ``INSERT … WHERE`` requests with a
    ``GRAPH`` block per graph, each node's triples in one request, so each such node stays one node in every graph
    (:func:`shared_blank_nodes`, :func:`insert_requests`).

    ``progress(graph, done, total)`` is called as triples are sent. Raises :class:`PushError` with the
    store's reply on any non-2xx answer, on a connection failure, or when a count read back differs.
    """
    graphs = read_dataset(Path(dataset))
    shared = shared_blank_nodes(graphs) if update_url else set()
    later: dict[str, list[ox.Triple]] = {}
    if shared:
        full = graphs
        graphs = {}
        for g, triples in full.items():
            graphs[g] = [t for t in triples if not _touches(t, shared)]
            later[g] = [t for t in triples if _touches(t, shared)]
    result = PushResult(graph_store=graph_store, version=dataset_version(Path(dataset)))
    meta = str(GRAPH_META)
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0)) as client:
        gsp_auth = _graph_store_auth(client, graph_store, auth, next(iter(sorted(graphs)), ""))
        if isinstance(gsp_auth, httpx.BasicAuth):
            client.auth = gsp_auth  # basic: the query endpoint may want it too (Fuseki, GraphDB)
        per_request = gsp_auth if gsp_auth is not None else httpx.USE_CLIENT_DEFAULT
        # no version while the graphs change: a server keyed by it caches nothing meanwhile
        try:
            r = client.delete(graph_store, params={"graph": meta}, auth=per_request)
        except httpx.HTTPError as exc:
            raise PushError(f"{graph_store}: cannot send graph <{meta}> (DELETE, before the data): {exc}") from None
        if not (200 <= r.status_code < 300 or r.status_code == 404):
            raise PushError(f"{graph_store}: the store refused graph <{meta}> (DELETE, before the data): HTTP {r.status_code} "
                            f"{r.reason_phrase}: {r.text.strip()[:500]}")
        for graph in sorted(graphs):
            triples = graphs[graph]
            if not graph:
                raise PushError(f"{dataset}: has triples in the default graph; Remit's dataset keeps every triple in a named graph")
            done = Counter[str]()

            def tick(n: int, graph: str = graph, total: int = len(triples)) -> None:
                done[graph] += n
                if progress:
                    progress(graph, done[graph], total)

            try:
                with tempfile.TemporaryFile(prefix="remit-push-") as spool:
                    size, body = _ntriples_body(triples, spool, tick)
                    r = client.put(graph_store, params={"graph": graph}, content=body,
                                   headers={"Content-Type": "application/n-triples", "Content-Length": str(size)},
                                   auth=per_request)
            except httpx.HTTPError as exc:
                raise PushError(f"{graph_store}: cannot send graph <{graph}>: {exc}") from None
            if not 200 <= r.status_code < 300:
                raise PushError(f"{graph_store}: the store refused graph <{graph}>: HTTP {r.status_code} "
                                f"{r.reason_phrase}: {r.text.strip()[:500]}")
            item = GraphPush(graph=graph, triples=len(set(triples)), status=r.status_code)
            if query_url:
                item.stored = _count(client, query_url, graph)
                if item.stored != item.triples:
                    raise PushError(f"{query_url}: graph <{graph}> holds {item.stored} triples after the push, "
                                    f"expected {item.triples}")
            result.graphs.append(item)
        if any(later.values()):
            assert update_url is not None
            for i, text in enumerate(insert_requests(later)):
                try:
                    r = client.post(update_url, content=text, auth=per_request, headers={
                        "Content-Type": "application/sparql-update; charset=utf-8", "Content-Length": str(len(text))})
                except httpx.HTTPError as exc:
                    raise PushError(f"{update_url}: cannot send the shared blank nodes (INSERT {i + 1}): {exc}") from None
                if not 200 <= r.status_code < 300:
                    raise PushError(f"{update_url}: the store refused the shared blank nodes (INSERT {i + 1}): HTTP "
                                    f"{r.status_code} {r.reason_phrase}: {r.text.strip()[:500]}")
            for item in result.graphs:
                item.triples += len(set(later.get(item.graph, [])))
                if query_url:
                    item.stored = _count(client, query_url, item.graph)
                    if item.stored != item.triples:
                        raise PushError(f"{query_url}: graph <{item.graph}> holds {item.stored} triples after the "
                                        f"push, expected {item.triples}")
        body = _meta_body(result.version)
        try:
            r = client.put(graph_store, params={"graph": meta}, content=body, auth=per_request,
                           headers={"Content-Type": "application/n-triples", "Content-Length": str(len(body))})
        except httpx.HTTPError as exc:
            raise PushError(f"{graph_store}: cannot send graph <{meta}>: {exc}") from None
        if not 200 <= r.status_code < 300:
            raise PushError(f"{graph_store}: the store refused graph <{meta}>: HTTP {r.status_code} "
                            f"{r.reason_phrase}: {r.text.strip()[:500]}")
        if query_url and _count(client, query_url, meta) != 1:
            raise PushError(f"{query_url}: graph <{meta}> does not hold the one version triple after the push")
    return result
