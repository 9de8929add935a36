"""The description of one resource, as served at its IRI: SPARQL CONSTRUCT on the pyoxigraph store.

A description holds

* the resource's own triples, with the blank nodes it points to closed over (three levels: enough for
  citations, lists and shapes' property constraints);
* the labels (``rdfs:label``, ``skos:prefLabel``, ``dcterms:title``) of everything it links to, and of
  the documents its citations point into, with their public page (``foaf:page``);
* incoming links (``?s ?p <iri>`` where ``?s`` is an IRI) with the labels of their subjects.

Everything runs on the store's default graph (the union of the ontology, asserted and inferred graphs)
plus the shapes graph when the build stores one. The IRI is bound with a SPARQL substitution, never
pasted into the query text.
"""

from __future__ import annotations

from typing import Iterable, Optional

import pyoxigraph as ox
from rdflib import Graph

from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_REPORT, GRAPH_SHAPES, bind_all
from kg.rdf.store import DEFAULT_GRAPHS

__all__ = [
    "describe", "describe_ontology", "resource_exists", "to_rdflib", "graph_triples", "description_graphs",
    "LABEL_PREDICATES",
]

#: Predicates that give a thing's human-readable name, best first.
LABEL_PREDICATES: tuple[str, ...] = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://purl.org/dc/terms/title",
    "http://xmlns.com/foaf/0.1/name",
)

_LABELS = "(" + ", ".join(f"<{p}>" for p in LABEL_PREDICATES) + ")"

_DESCRIBE = f"""
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
CONSTRUCT {{
  ?r ?p ?o . ?o ?olp ?ol .
  ?b1 ?p1 ?o1 . ?o1 ?o1lp ?o1l . ?o1 foaf:page ?o1page .
  ?b2 ?p2 ?o2 . ?o2 ?o2lp ?o2l .
  ?b3 ?p3 ?o3 .
  ?in ?ip ?r . ?in ?inlp ?inl .
}} WHERE {{
  {{ ?r ?p ?o . OPTIONAL {{ ?o ?olp ?ol . FILTER(isIRI(?o) && ?olp IN {_LABELS}) }} }}
  UNION
  {{ ?r ?q1 ?b1 . FILTER(isBlank(?b1)) ?b1 ?p1 ?o1 .
     OPTIONAL {{ ?o1 ?o1lp ?o1l . FILTER(isIRI(?o1) && ?o1lp IN {_LABELS}) }}
     OPTIONAL {{ ?o1 foaf:page ?o1page . FILTER(isIRI(?o1)) }} }}
  UNION
  {{ ?r ?q1 ?b1 . ?b1 ?q2 ?b2 . FILTER(isBlank(?b1) && isBlank(?b2)) ?b2 ?p2 ?o2 .
     OPTIONAL {{ ?o2 ?o2lp ?o2l . FILTER(isIRI(?o2) && ?o2lp IN {_LABELS}) }} }}
  UNION
  {{ ?r ?q1 ?b1 . ?b1 ?q2 ?b2 . ?b2 ?q3 ?b3 . FILTER(isBlank(?b1) && isBlank(?b2) && isBlank(?b3))
     ?b3 ?p3 ?o3 . }}
  UNION
  {{ ?in ?ip ?r . FILTER(isIRI(?in))
     OPTIONAL {{ ?in ?inlp ?inl . FILTER(?inlp IN {_LABELS}) }} }}
}}
"""

_EXISTS = "ASK { { ?r ?p ?o } UNION { ?s ?p ?r } }"

_ONTOLOGY = """
CONSTRUCT { ?s ?p ?o . ?b1 ?p1 ?o1 . ?b2 ?p2 ?o2 . ?b3 ?p3 ?o3 . ?b4 ?p4 ?o4 . }
WHERE {
  { ?s ?p ?o . FILTER(isIRI(?s) && (STR(?s) = ?ont || STRSTARTS(STR(?s), CONCAT(?ont, "/")))) }
  UNION { ?s ?q ?b1 . FILTER(isIRI(?s) && STRSTARTS(STR(?s), ?ont) && isBlank(?b1)) ?b1 ?p1 ?o1 }
  UNION { ?s ?q ?b1 . ?b1 ?q1 ?b2 . FILTER(isIRI(?s) && STRSTARTS(STR(?s), ?ont) && isBlank(?b1) && isBlank(?b2))
          ?b2 ?p2 ?o2 }
  UNION { ?s ?q ?b1 . ?b1 ?q1 ?b2 . ?b2 ?q2 ?b3 .
          FILTER(isIRI(?s) && STRSTARTS(STR(?s), ?ont) && isBlank(?b1) && isBlank(?b2) && isBlank(?b3))
          ?b3 ?p3 ?o3 }
  UNION { ?s ?q ?b1 . ?b1 ?q1 ?b2 . ?b2 ?q2 ?b3 . ?b3 ?q3 ?b4 .
          FILTER(isIRI(?s) && STRSTARTS(STR(?s), ?ont) && isBlank(?b1) && isBlank(?b2) && isBlank(?b3)
                 && isBlank(?b4))
          ?b4 ?p4 ?o4 }
}
"""


def description_graphs(store: ox.Store) -> list[ox.NamedNode]:
    """The graphs a description is drawn from: the default-graph members plus the shapes graph if stored."""
    names = {g.value for g in store.named_graphs()}
    graphs = [ox.NamedNode(g) for g in DEFAULT_GRAPHS]
    if str(GRAPH_SHAPES) in names:
        graphs.append(ox.NamedNode(str(GRAPH_SHAPES)))
    return graphs


def resource_exists(store: ox.Store, iri: str) -> bool:
    """True when the IRI occurs as subject or object in the described graphs."""
    return bool(store.query(_EXISTS, default_graph=description_graphs(store),
                            substitutions={ox.Variable("r"): ox.NamedNode(iri)}))


def describe(store: ox.Store, iri: str) -> list[ox.Triple]:
    """The description of ``iri`` (see the module docstring), as pyoxigraph triples, each once (a CONSTRUCT
    writes a triple once per solution that makes it: a citation reached through two properties twice)."""
    return list(dict.fromkeys(store.query(_DESCRIBE, default_graph=description_graphs(store),
                                          substitutions={ox.Variable("r"): ox.NamedNode(iri)})))


def describe_ontology(store: ox.Store, ontology_iri: str) -> list[ox.Triple]:
    """The ontology itself: the ontology header and every term under ``{ontology_iri}/``, from the
    ontology graph, with blank-node closure (four levels: property chains and restrictions)."""
    # Oxigraph substitutes only variables of the CONSTRUCT template, so the IRI (checked by NamedNode) is
    # written into the filters as an escaped string literal.
    iri = ox.NamedNode(ontology_iri).value
    query = _ONTOLOGY.replace("?ont", str(ox.Literal(iri)))
    # in one order whatever the store (pyLODE's page follows the order it is given: an in-memory store, an
    # on-disk one and an external one return the same triples in different orders); blank nodes, whose
    # labels differ from store to store, do not count in the order
    return sorted(store.query(query, default_graph=[ox.NamedNode(str(GRAPH_ONTOLOGY))]),
                  key=lambda t: tuple("" if isinstance(x, ox.BlankNode) else str(x)
                                      for x in (t.subject, t.predicate, t.object)))


def graph_triples(store: ox.Store, graph: str) -> list[ox.Triple]:
    """Every triple of one named graph."""
    return [q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph))]


def to_rdflib(triples: Iterable[ox.Triple], graph: Optional[Graph] = None, bind: bool = True) -> Graph:
    """Copy pyoxigraph triples into an rdflib graph with Remit's prefixes bound (via N-Triples, which keeps
    blank nodes distinct and literals exact). ``bind=False``: no prefixes bound, for a caller whose writers do
    not read them (binding them costs ~0.4 ms a graph)."""
    g = graph if graph is not None else Graph()
    if bind:
        bind_all(g)
    data = ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES)
    if data:
        g.parse(data=data.decode("utf-8"), format="nt")
    return g


# Graph names re-exported for the page code (one import site).
ASSERTED, INFERRED, ONTOLOGY, REPORT = (str(GRAPH_ASSERTED), str(GRAPH_INFERRED), str(GRAPH_ONTOLOGY),
                                       str(GRAPH_REPORT))
