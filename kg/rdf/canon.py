"""Canonical blank-node labels (W3C RDFC-1.0, computed by pyoxigraph) for rdflib graphs.

Used wherever output must be byte-stable: the build's artefacts and `kg fmt`. rdflib's own
``to_canonical_graph`` took minutes on Remit's data; pyoxigraph's Rust implementation takes milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

__all__ = ["to_ox", "from_ox", "from_ox_mapped", "shacl_term", "dataset_store", "canonical_graph", "canonical_graphs"]

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_ox(t: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(t, URIRef):
        return ox.NamedNode(str(t))
    if isinstance(t, BNode):  # a store's blank-node ids are alphanumeric; rdflib's may hold other characters
        return ox.BlankNode(re.sub(r"[^A-Za-z0-9]", "", str(t)) or "b")
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


def from_ox_mapped(term: Any, bnodes: Mapping[str, BNode]) -> Node | None:
    """A pyoxigraph term as an rdflib term, blank nodes mapped back through ``bnodes`` (store id → the
    rdflib node it was made from); ``None`` stays ``None``. Literals keep an explicit ``xsd:string``."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return bnodes.get(term.value, BNode(term.value))
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    return None


def shacl_term(term: Any, bnodes: Mapping[str, BNode]) -> Node | None:
    """An Oxigraph term as the rdflib term pyshacl would see (plain literals stay plain)."""
    if isinstance(term, ox.Literal) and not term.language and term.datatype.value == _XSD_STRING:
        return Literal(term.value)
    return from_ox_mapped(term, bnodes)


def dataset_store(graphs: Mapping[URIRef, Graph]) -> tuple[ox.Store, dict[str, BNode]]:
    """An in-memory store holding each rdflib graph as a named graph, and the map from the store's
    blank-node ids back to the rdflib nodes (for :func:`from_ox_mapped`). Triples with a literal subject
    (owlrl's raw closure types literals; not RDF) are left out."""
    store = ox.Store()
    bnodes: dict[str, BNode] = {}
    quads = []
    for name, g in graphs.items():
        gn = ox.NamedNode(str(name))
        for s, p, o in g:
            if isinstance(s, Literal):
                continue
            for term in (s, o):
                if isinstance(term, BNode):
                    bnodes[to_ox(term).value] = term
            quads.append(ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), gn))  # type: ignore[arg-type]
    store.extend(quads)
    return store, bnodes


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
