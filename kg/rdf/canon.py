"""Canonical blank-node labels (W3C RDFC-1.0, computed by pyoxigraph) for rdflib graphs.

Used wherever output must be byte-stable: the build's artefacts and `kg fmt`. rdflib's own
``to_canonical_graph`` took minutes on Remit's data; pyoxigraph's Rust implementation takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

__all__ = ["to_ox", "from_ox", "canonical_graph", "canonical_graphs"]

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_ox(t: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(t, URIRef):
        return ox.NamedNode(str(t))
    if isinstance(t, BNode):
        return ox.BlankNode(str(t))
    if not isinstance(t, Literal):
        raise TypeError(f"not an RDF term: {t!r}")
    if t.language:
        return ox.Literal(str(t), language=t.language)
    if t.datatype:
        return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)))
    return ox.Literal(str(t))


def from_ox(t: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """A pyoxigraph term as an rdflib term."""
    if isinstance(t, ox.NamedNode):
        return URIRef(t.value)
    if isinstance(t, ox.BlankNode):
        return BNode(t.value)
    if t.language:
        return Literal(t.value, lang=t.language)
    if t.datatype.value == _XSD_STRING:
        return Literal(t.value)
    return Literal(t.value, datatype=URIRef(t.datatype.value))


def canonical_graphs(graphs: Mapping[URIRef, Graph]) -> dict[URIRef, Graph]:
    """Relabel blank nodes canonically over the whole dataset, so a blank node shared by two graphs
    keeps one label and every label depends only on the triples."""
    ds = ox.Dataset()
    for name, g in graphs.items():
        gn = ox.NamedNode(str(name))
        for s, p, o in g:
            ds.add(ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), gn))
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    out = {name: Graph() for name in graphs}
    by_name = {str(name): name for name in graphs}
    for q in ds:
        out[by_name[q.graph_name.value]].add((from_ox(q.subject), URIRef(q.predicate.value), from_ox(q.object)))
    return out


def canonical_graph(g: Graph) -> Graph:
    """One graph with canonical blank-node labels (namespace bindings are copied)."""
    name = URIRef("urn:x-remit:canonical")
    out = canonical_graphs({name: g})[name]
    for prefix, ns in g.namespaces():
        out.bind(prefix, ns, override=True, replace=True)
    return out
