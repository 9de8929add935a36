"""Reasoning: OWL 2 RL closure kept apart from the asserted triples, noise dropped, inconsistency named."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, PROV, RDF, RDFS

from kg.pipeline.owlrl_reason import InconsistencyError, infer

ONT = """
@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix remit: <https://w3id.org/remit/def/> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix org: <http://www.w3.org/ns/org#> .
remit:Inspectorate a owl:Class ; rdfs:subClassOf org:Organization .
remit:Agreement a owl:Class ; owl:disjointWith remit:Inspectorate .
remit:citation a owl:ObjectProperty ; rdfs:subPropertyOf prov:wasDerivedFrom ; rdfs:range remit:Citation .
remit:party a owl:ObjectProperty ; owl:inverseOf remit:partyTo .
"""
DATA = """
@prefix remit: <https://w3id.org/remit/def/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/remit/id/body/cqc> a remit:Inspectorate ; remit:citation [ remit:locator "x" ] .
<https://w3id.org/remit/id/agreement/a> a remit:Agreement ; remit:party <https://w3id.org/remit/id/body/cqc> ;
    remit:count "3"^^xsd:integer .
"""
REMIT = "https://w3id.org/remit/def/"
CQC = URIRef("https://w3id.org/remit/id/body/cqc")


def graphs(extra: str = "") -> tuple[Graph, Graph]:
    return Graph().parse(data=ONT, format="turtle"), Graph().parse(data=DATA + extra, format="turtle")


def test_inferred_is_informative_and_disjoint_from_asserted():
    ont, data = graphs()
    n_ont, n_data = len(ont), len(data)
    inf = infer(ont, data)
    assert (len(ont), len(data)) == (n_ont, n_data)  # inputs untouched
    assert (CQC, RDF.type, URIRef("http://www.w3.org/ns/org#Organization")) in inf
    assert (CQC, URIRef(REMIT + "partyTo"), URIRef("https://w3id.org/remit/id/agreement/a")) in inf
    cite = data.value(CQC, URIRef(REMIT + "citation"))
    assert (CQC, PROV.wasDerivedFrom, cite) in inf and (cite, RDF.type, URIRef(REMIT + "Citation")) in inf
    for t in inf:
        assert t not in data and t not in ont
        s, p, o = t
        assert not isinstance(s, Literal)
        assert not str(s).startswith(("http://www.w3.org/2002/07/owl#", "http://www.w3.org/2000/01/rdf-schema#",
                                      "http://www.w3.org/1999/02/22-rdf-syntax-ns#"))
        assert o not in (OWL.Thing, RDFS.Resource)
        assert not (p in (OWL.sameAs, OWL.equivalentClass, RDFS.subClassOf, RDFS.subPropertyOf) and s == o)
    assert len(inf) == 4


def test_individual_of_two_disjoint_classes_is_inconsistent():
    ont, data = graphs(f"<{CQC}> a <{REMIT}Agreement> .\n")
    with pytest.raises(InconsistencyError) as exc:
        infer(ont, data)
    assert CQC in exc.value.nodes
    assert "Disjoint classes" in str(exc.value) and str(CQC) in str(exc.value)


def test_owl_nothing_member_is_inconsistent():
    ont, data = graphs(f"<{CQC}> a <http://www.w3.org/2002/07/owl#Nothing> .\n")
    with pytest.raises(InconsistencyError) as exc:
        infer(ont, data)
    assert CQC in exc.value.nodes
