"""A read-only, rdflib-``Graph``-like view of named graphs in a pyoxigraph store.

Library code that describes a few nodes (labels, citations, the agreement a node belongs to) reads through
:class:`StoreView`; code that insists on a real :class:`rdflib.Graph` but reads only a few nodes (pyshacl's
``clone_blank_node``) gets :class:`StoreGraph`. Neither copies the data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.rdf.canon import from_ox, to_ox
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY

__all__ = ["StoreView", "StoreGraph", "INPUT_GRAPHS", "dataset_options"]

#: The graphs a view reads by default: the ontology, the asserted data and what reasoning inferred.
INPUT_GRAPHS: tuple[ox.NamedNode, ...] = tuple(ox.NamedNode(str(g)) for g in (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED))


def dataset_options(graphs: Sequence[ox.NamedNode] | None) -> dict[str, Any]:
    """``Store.query`` keyword arguments that make a query see the dataset of ``graphs`` only: their union as the
    default graph, and they alone as named graphs. ``None``: every graph of the store (the union as default).

    The build validates the input graphs (:data:`INPUT_GRAPHS`) while the derive step writes another graph of the
    same store: naming the graphs keeps what validation sees the same whatever has been derived meanwhile."""
    if graphs is None:
        return {"use_default_graph_as_union": True}
    return {"default_graph": list(graphs), "named_graphs": list(graphs)}


class StoreView:
    """The few read methods of :class:`rdflib.Graph` that :mod:`kg.pipeline.validate` uses to describe a finding
    (labels, citations, the agreement a node belongs to), answered from the union of ``graphs`` in an
    Oxigraph store. Terms go in and come out as rdflib terms; blank nodes keep their store ids."""

    def __init__(self, store: ox.Store, graphs: Sequence[ox.NamedNode] = INPUT_GRAPHS):
        self.store = store
        self.graphs = list(graphs)

    @staticmethod
    def _ox(t: Node | None) -> Any:
        return None if t is None else to_ox(t) if not isinstance(t, URIRef) else ox.NamedNode(str(t))

    def quads(self, s: Node | None, p: Node | None, o: Node | None) -> Iterator[ox.Quad]:
        os_, op, oo = self._ox(s), self._ox(p), self._ox(o)
        seen: set[tuple[Any, Any, Any]] = set()
        for g in self.graphs:
            for q in self.store.quads_for_pattern(os_, op, oo, g):
                key = (q.subject, q.predicate, q.object)
                if key not in seen:
                    seen.add(key)
                    yield q

    def objects(self, subject: Node | None = None, predicate: Node | None = None) -> Iterator[Node]:
        for q in self.quads(subject, predicate, None):
            yield from_ox(q.object)

    def subjects(self, predicate: Node | None = None, object: Node | None = None) -> Iterator[Node]:
        for q in self.quads(None, predicate, object):
            yield from_ox(q.subject)

    def subject_predicates(self, object: Node | None = None) -> Iterator[tuple[Node, Node]]:
        for q in self.quads(None, None, object):
            yield from_ox(q.subject), URIRef(q.predicate.value)

    def value(self, subject: Node | None = None, predicate: Node | None = None, object: Node | None = None,
              default: Any = None, any: bool = True) -> Node | None:  # noqa: A002 - rdflib's signature
        if object is None:
            return next(iter(self.objects(subject, predicate)), default)
        if subject is None:
            return next(iter(self.subjects(predicate, object)), default)
        return next((URIRef(q.predicate.value) for q in self.quads(subject, None, object)), default)

    def __contains__(self, triple: tuple[Node | None, Node | None, Node | None]) -> bool:
        return next(iter(self.quads(*triple)), None) is not None


class StoreGraph(Graph):
    """A read-only :class:`rdflib.Graph` whose triples come from the union of ``graphs`` in an Oxigraph
    store: for library code that insists on a ``Graph`` but reads only a few nodes (pyshacl's
    ``clone_blank_node`` copying a blank node into a report). Not for bulk iteration."""

    def __init__(self, store: ox.Store, graphs: Sequence[ox.NamedNode] = INPUT_GRAPHS):
        super().__init__()
        self._view = StoreView(store, graphs)

    def triples(self, triple: Any) -> Iterator[tuple[Node, Node, Node]]:  # type: ignore[override]
        s, p, o = triple
        for q in self._view.quads(s, p, o):
            yield from_ox(q.subject), URIRef(q.predicate.value), from_ox(q.object)

    def add(self, triple: Any) -> "StoreGraph":  # type: ignore[override]
        raise TypeError("StoreGraph is read-only")
