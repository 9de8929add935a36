"""The build on a pyoxigraph store: national-size graphs without rdflib graphs of the data.

``kg build`` at scale (:func:`kg.pipeline.build.build` with ``engine="store"``, the ``auto`` choice from
:data:`kg.pipeline.build.STORE_ENGINE_THRESHOLD` asserted triples) keeps the data only in an in-memory
:class:`pyoxigraph.Store`; rdflib holds just the ontology, the shapes and the validation report, which
are small whatever the size of the data. Same steps and same results as the rdflib engine:

1. **load**: each data file is parsed by Oxigraph straight into graph ``id:graph/asserted``; a file
   Oxigraph rejects, or with a capitalised language tag, goes through :func:`kg.pipeline.load.load_turtle`,
   so bad input gets the same ``file:line:column`` message; literals of checked datatypes are
   re-validated (:func:`kg.pipeline.load.check_literal`) and located;
2. **reason**: :func:`kg.pipeline.reason.materialise` inside the store, then the same inconsistency checks;
3. **validate**: SHACL core constraints and SHACL-SPARQL constraints as SPARQL on the store
   (:func:`kg.pipeline.validate.run_shacl` with ``core_on="oxigraph"``), the QC queries, and the findings'
   enrichment read through :class:`StoreView` (an rdflib-``Graph``-like view of the store);
4. **derive**: :func:`kg.pipeline.derive.derive`;
5. **write**: blank nodes get content-hash labels (:func:`blank_node_labels`); ``remit.trig`` holds
   each graph's statements as sorted N-Triples lines (:func:`write_trig`); the served store is bulk-loaded
   from that file once the in-memory store is released.

``tests/test_storebuild.py`` checks that both engines give the same dataset (isomorphic), the same
findings, and byte-identical artefacts from two runs of the store engine.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kg.rdf.canon import from_ox, to_ox
from kg.pipeline.load import (
    SourceError, SourceFile, _UPPER_LANG, _literal_location, check_literal, load_turtle, read_source,
)
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, XSD

__all__ = ["StoreView", "StoreGraph", "Locator", "load_into_store", "blank_node_labels", "write_trig", "CHECKED_DATATYPES"]

_A = ox.NamedNode(str(GRAPH_ASSERTED))
_O = ox.NamedNode(str(GRAPH_ONTOLOGY))
_INPUT = [ox.NamedNode(str(g)) for g in (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED)]

#: Datatypes whose lexical forms the loader re-checks (the rdflib engine checks the same ones).
CHECKED_DATATYPES: tuple[URIRef, ...] = (
    XSD.date, XSD.dateTime, XSD.integer, XSD.nonNegativeInteger, XSD.positiveInteger, XSD.decimal,
    XSD.boolean, XSD.duration, XSD.gYear, XSD.gYearMonth)

_PREFIX_DECL = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.\-]*)?:\s*<([^>]*)>", re.M | re.I)


# --- 1. load -------------------------------------------------------------------------------------------

def _prefixes(text: str) -> dict[str, str]:
    return {(m.group(1) or ""): m.group(2) for m in _PREFIX_DECL.finditer(text)}


def load_into_store(store: ox.Store, paths: Sequence[Path], graph: ox.NamedNode = _A) -> list[SourceFile]:
    """Parse each Turtle file into ``graph`` of ``store``; return the files (text and prefixes, no
    rdflib graph). Raises :class:`kg.pipeline.load.SourceError` with file, line and column on bad input."""
    sources: list[SourceFile] = []
    for path in paths:
        path = Path(path)
        raw, text = read_source(path)
        base = path.resolve().as_uri()
        done = False
        if not _UPPER_LANG.search(text):
            try:
                store.load(input=raw, format=ox.RdfFormat.TURTLE, base_iri=base, to_graph=graph)
                done = True
            except (SyntaxError, ValueError):
                pass
        if not done:  # rdflib's parser gives the located message, or parses what Oxigraph would change
            src = load_turtle(path)
            store.extend([ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), graph) for s, p, o in src.graph])
        sources.append(SourceFile(path=path, text=text, graph=Graph(), prefixes=_prefixes(text)))
    _check_literals(store, graph, sources)
    return sources


def _check_literals(store: ox.Store, graph: ox.NamedNode, sources: Sequence[SourceFile]) -> None:
    """Every distinct literal of a checked datatype, validated as the rdflib engine does; the first bad
    one (in file order) is located and raised."""
    types = ", ".join(f"<{d}>" for d in CHECKED_DATATYPES)
    rows = store.query(f"""SELECT DISTINCT ?o WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }}
        FILTER(isLiteral(?o)) FILTER(DATATYPE(?o) IN ({types})) }}""")
    bad: list[tuple[Literal, str]] = []
    for row in rows:
        lit = Literal(row[0].value, datatype=URIRef(row[0].datatype.value))
        problem = check_literal(lit)
        if problem:
            bad.append((lit, problem))
    if not bad:
        return
    for src in sources:
        for lit, problem in bad:
            if str(lit) in src.text:
                raise SourceError(src.path, problem, *_literal_location(src, lit))
    lit, problem = bad[0]
    raise SourceError(sources[0].path if sources else Path("."), problem)


# --- 3. an rdflib-Graph-like view for the findings' enrichment ---------------------------------------------

class StoreView:
    """The few read methods of :class:`rdflib.Graph` that :mod:`kg.pipeline.validate` uses to describe a finding
    (labels, citations, the agreement a node belongs to), answered from the union of ``graphs`` in an
    Oxigraph store. Terms go in and come out as rdflib terms; blank nodes keep their store ids."""

    def __init__(self, store: ox.Store, graphs: Sequence[ox.NamedNode] = tuple(_INPUT)):
        self.store = store
        self.graphs = list(graphs)

    @staticmethod
    def _ox(t: Node | None) -> Any:
        return None if t is None else to_ox(t) if not isinstance(t, URIRef) else ox.NamedNode(str(t))

    def _quads(self, s: Node | None, p: Node | None, o: Node | None) -> Iterator[ox.Quad]:
        os_, op, oo = self._ox(s), self._ox(p), self._ox(o)
        seen: set[tuple[Any, Any, Any]] = set()
        for g in self.graphs:
            for q in self.store.quads_for_pattern(os_, op, oo, g):
                key = (q.subject, q.predicate, q.object)
                if key not in seen:
                    seen.add(key)
                    yield q

    def objects(self, subject: Node | None = None, predicate: Node | None = None) -> Iterator[Node]:
        for q in self._quads(subject, predicate, None):
            yield from_ox(q.object)

    def subjects(self, predicate: Node | None = None, object: Node | None = None) -> Iterator[Node]:
        for q in self._quads(None, predicate, object):
            yield from_ox(q.subject)

    def subject_predicates(self, object: Node | None = None) -> Iterator[tuple[Node, Node]]:
        for q in self._quads(None, None, object):
            yield from_ox(q.subject), URIRef(q.predicate.value)

    def value(self, subject: Node | None = None, predicate: Node | None = None, object: Node | None = None,
              default: Any = None, any: bool = True) -> Node | None:  # noqa: A002 - rdflib's signature
        if object is None:
            return next(iter(self.objects(subject, predicate)), default)
        if subject is None:
            return next(iter(self.subjects(predicate, object)), default)
        return next((URIRef(q.predicate.value) for q in self._quads(subject, None, object)), default)

    def __contains__(self, triple: tuple[Node | None, Node | None, Node | None]) -> bool:
        return next(iter(self._quads(*triple)), None) is not None


class StoreGraph(Graph):
    """A read-only :class:`rdflib.Graph` whose triples come from the union of ``graphs`` in an Oxigraph
    store: for library code that insists on a ``Graph`` but reads only a few nodes (pyshacl's
    ``clone_blank_node`` copying a blank node into a report). Not for bulk iteration."""

    def __init__(self, store: ox.Store, graphs: Sequence[ox.NamedNode] = tuple(_INPUT)):
        super().__init__()
        self._view = StoreView(store, graphs)

    def triples(self, triple: Any) -> Iterator[tuple[Node, Node, Node]]:  # type: ignore[override]
        s, p, o = triple
        for q in self._view._quads(s, p, o):
            yield from_ox(q.subject), URIRef(q.predicate.value), from_ox(q.object)

    def add(self, triple: Any) -> "StoreGraph":  # type: ignore[override]
        raise TypeError("StoreGraph is read-only")


# --- 5. write ------------------------------------------------------------------------------------------

_BNODE_RE = re.compile(rb"_:([0-9A-Za-z]+)")


def blank_node_labels(store: ox.Store) -> dict[str, str]:
    """A label for every blank node of the store that depends only on the quads around it, never on
    the store's own ids or the order quads were added: the SHA-256 (32 hex digits) of its sorted quads,
    each written as a line with the node itself as ``_:a`` and any other blank node as ``_:z`` (the
    first step of RDFC-1.0). Nodes whose lines are the same are told apart by a second round with their
    blank neighbours' first-round labels in place of ``_:z``; nodes still alike (no output can tell
    them apart) get ``-2``, ``-3`` … appended. Returns ``{store blank node id: label}``.

    One pass over the store's quads in Python (about 4 s at a million triples); the same in SPARQL
    needed an ORDER BY over every line and took twice as long."""
    lines: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    blank = ox.BlankNode
    for q in store.quads_for_pattern(None, None, None, None):
        s, o = q.subject, q.object
        sb, ob = isinstance(s, blank), isinstance(o, blank)
        if not (sb or ob):
            continue
        head = f"{q.graph_name} {q.predicate} "
        if sb:
            lines[s.value].append(("S " + head + ("_:a" if o == s else "_:z" if ob else str(o)),
                                   o.value if ob and o != s else None))
        if ob:
            lines[o.value].append(("O " + head + ("_:a" if s == o else "_:z" if sb else str(s)),
                                   s.value if sb and s != o else None))

    def digest(texts: list[str]) -> str:
        return hashlib.sha256("\n".join(sorted(texts)).encode("utf-8")).hexdigest()[:32]

    first = {b: digest([t for t, _ in ls]) for b, ls in lines.items()}
    groups: dict[str, list[str]] = defaultdict(list)
    for b, h in first.items():
        groups[h].append(b)
    labels: dict[str, str] = {}
    for h, members in groups.items():
        if len(members) == 1:
            labels[members[0]] = h
            continue
        second: dict[str, list[str]] = defaultdict(list)
        for b in members:
            texts = [t if n is None else t[:-3] + "_:" + first[n] for t, n in lines[b]]
            second[digest(texts)].append(b)
        for h2, twins in sorted(second.items()):
            for i, b in enumerate(sorted(twins)):  # truly alike: which gets which label changes nothing
                labels[b] = h2 if i == 0 else f"{h2}-{i + 1}"
    return labels


def write_trig(store: ox.Store, graphs: Sequence[URIRef], path: Path, labels: dict[str, str]) -> None:
    """Write ``graphs`` of ``store`` as TriG: one block per graph (sorted by name) holding its
    statements as N-Triples lines, sorted, with each blank node written ``_:b`` + its label (see
    :func:`blank_node_labels`). Nothing in the bytes depends on the order quads were added or on the
    store's own blank-node ids."""
    def relabel(m: re.Match[bytes]) -> bytes:
        return b"_:b" + labels[m.group(1).decode()].encode()

    with open(path, "wb") as out:
        out.write(b"# Remit dataset: one block per named graph, statements sorted (N-Triples syntax).\n\n")
        for name in sorted(graphs, key=str):
            text = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(str(name)))
            text = _BNODE_RE.sub(relabel, text)
            lines = text.split(b"\n")
            lines.sort()
            out.write(f"<{name}> {{\n".encode())
            out.write(b"\n".join(line for line in lines if line))
            out.write(b"\n}\n\n")


# --- where a term is written -------------------------------------------------------------------------

_COLUMN0 = re.compile(r"^([^\s#;,.\[\]()\"'][^\s;,]*)", re.M)


class Locator:
    """Where terms are written, for many terms at once: each file's column-0 tokens (the subjects of
    Remit's Turtle files) are indexed once; a term is found in the first file (in build order) that
    starts a line with it, in any of the forms :func:`kg.pipeline.load.locate_term` tries, else by that
    function's full-text search."""

    def __init__(self, sources: Sequence[SourceFile]):
        self.sources = list(sources)
        self._index: list[dict[str, int]] = []
        for src in self.sources:
            first: dict[str, int] = {}
            for m in _COLUMN0.finditer(src.text):
                first.setdefault(m.group(1), m.start())
            self._index.append(first)

    def __call__(self, term: URIRef) -> tuple[Path, int, int] | None:
        from kg.pipeline.load import _line_col, _term_forms, locate_term

        for src, first in zip(self.sources, self._index):
            for form in _term_forms(term, src.prefixes):
                at = first.get(form)
                if at is not None:
                    return (src.path, *_line_col(src.text, at))
        return locate_term(term, self.sources)
