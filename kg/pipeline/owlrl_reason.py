"""Reasoning: the OWL 2 RL closure of ontology + data, kept apart from what was asserted.

``infer(ontology, asserted)`` expands a *copy* of both graphs with owlrl's OWL 2 RL rules, fails with
:class:`InconsistencyError` when the closure is inconsistent, and returns only the new, informative
triples (the inferred graph). What is dropped as noise, and why:

* triples about built-in vocabulary (subjects in the ``rdf:``, ``rdfs:``, ``owl:``, ``xsd:`` namespaces):
  owlrl's axiomatic triples, the same in every closure;
* reflexive triples ``?x owl:sameAs ?x``, ``?c owl:equivalentClass ?c``, ``?c rdfs:subClassOf ?c``,
  ``?p owl:equivalentProperty ?p``, ``?p rdfs:subPropertyOf ?p`` (true of everything);
* ``?x rdf:type owl:Thing``, ``?x rdf:type rdfs:Resource``, ``?c rdfs:subClassOf owl:Thing``,
  ``owl:Nothing rdfs:subClassOf ?c`` (true of everything);
* triples whose subject is a literal (owlrl's datatype typing ``"1"^^xsd:integer rdf:type xsd:integer``,
  which is not RDF) and ``?d rdf:type rdfs:Datatype`` for XSD datatypes;
* owlrl's error-message nodes (turned into :class:`InconsistencyError` instead).

Everything else the rules derive is kept: types from sub-classes, domains and ranges; super-properties
(``remit:citation`` → ``prov:wasDerivedFrom``); inverse, symmetric and transitive properties;
``owl:sameAs`` between distinct nodes; sub-class and sub-property chains between distinct terms.
"""

from __future__ import annotations

import owlrl
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from kg.rdf.namespaces import OWL, RDF, RDFS, XSD

__all__ = ["InconsistencyError", "infer", "closure", "is_noise", "REASONER"]

#: owlrl writes inconsistencies as ``[ a err:ErrorMessage ; err:error "..." ]``.
ERR = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")
REASONER = f"owlrl {owlrl.__version__} (OWL 2 RL)"

_BUILTIN = tuple(str(ns) for ns in (RDF, RDFS, OWL, XSD))
_REFLEXIVE = {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf}
_TOP_TYPES = {OWL.Thing, RDFS.Resource}


class InconsistencyError(Exception):
    """The ontology and data together are inconsistent under OWL 2 RL."""

    def __init__(self, messages: list[str], nodes: list[Node]):
        self.messages = messages
        self.nodes = nodes
        lines = "\n".join(f"  - {m}" for m in messages)
        super().__init__(f"the ontology and data are inconsistent (OWL 2 RL):\n{lines}")


def is_noise(s: Node, p: Node, o: Node) -> bool:
    """True for closure triples that carry no information (see the module docstring)."""
    if isinstance(s, Literal):
        return True
    if isinstance(s, URIRef) and str(s).startswith(_BUILTIN):
        return True
    if p in _REFLEXIVE and s == o:
        return True
    if p == RDF.type and o in _TOP_TYPES:
        return True
    if p == RDFS.subClassOf and o in _TOP_TYPES:
        return True
    if p == RDF.type and o == RDFS.Datatype and isinstance(s, URIRef) and str(s).startswith(str(XSD)):
        return True
    if p == RDF.type and o == ERR.ErrorMessage or p == ERR.error:
        return True
    return False


def closure(ontology: Graph, asserted: Graph) -> Graph:
    """The full OWL 2 RL closure of a copy of ``ontology`` + ``asserted`` (inputs are not touched)."""
    g = Graph()
    for src in (ontology, asserted):
        for t in src:
            g.add(t)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(g)
    return g


def _inconsistencies(g: Graph) -> tuple[list[str], list[Node]]:
    messages = sorted({str(m) for e in g.subjects(RDF.type, ERR.ErrorMessage) for m in g.objects(e, ERR.error)})
    nodes: set[Node] = set(g.subjects(RDF.type, OWL.Nothing))
    for x in sorted(nodes, key=str):
        messages.append(f"{x.n3()} is inferred to be of type owl:Nothing")
    for m in messages:
        for word in m.replace("(", " ").replace(")", " ").replace(",", " ").split():
            if word.startswith(("http://", "https://")):
                nodes.add(URIRef(word.rstrip("'")))
    return messages, sorted(nodes, key=str)


def infer(ontology: Graph, asserted: Graph) -> Graph:
    """The inferred graph: closure minus asserted minus ontology minus noise.

    Raises :class:`InconsistencyError` naming the offending nodes when the closure is inconsistent.
    """
    full = closure(ontology, asserted)
    messages, nodes = _inconsistencies(full)
    if messages:
        raise InconsistencyError(messages, nodes)
    inferred = Graph()
    for s, p, o in full:
        if (s, p, o) in asserted or (s, p, o) in ontology or is_noise(s, p, o):
            continue
        inferred.add((s, p, o))
    return inferred




