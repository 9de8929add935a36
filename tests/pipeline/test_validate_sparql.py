"""SHACL-SPARQL constraints run on Oxigraph (kg.pipeline.validate) give exactly pyshacl's results.

``kg.pipeline.validate.run_shacl`` moves the ``sh:sparql`` constraints out of the shapes graph pyshacl sees and
evaluates them on Oxigraph (rdflib's SPARQL engine made validation take minutes at 10k triples). The
report must not change: these tests compare the whole report graph (focus node, path, value, source
shape, source constraint, severity, messages) with pyshacl's on the real data (here) and on every shape fixture
(tests/shapes/test_shape_fixtures.py, which reads the same pyshacl report as the shape tests).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from kg.pipeline.build import Layout
from kg.pipeline.reason import infer_fast
from kg.pipeline.load import load_files
from kg.rdf.namespaces import RDF, SH
from kg.pipeline.validate import _split_sparql, run_shacl

ROOT = Path(__file__).resolve().parents[2]


@cache
def _project() -> tuple[Graph, Graph, Graph]:
    layout = Layout(root=ROOT)
    ontology, _ = load_files(layout.ontology_files)
    data, _ = load_files(layout.data_files)
    shapes, _ = load_files(layout.shape_files)
    return ontology, data, shapes


def _same(a: Graph, b: Graph) -> None:
    if not isomorphic(a, b):
        _, only_a, only_b = graph_diff(to_isomorphic(a), to_isomorphic(b))
        pytest.fail("reports differ\nonly with Oxigraph:\n" + "\n".join(map(str, sorted(only_a)[:20]))
                    + "\nonly with pyshacl:\n" + "\n".join(map(str, sorted(only_b)[:20])))


def test_every_sparql_constraint_of_the_shapes_runs_on_oxigraph() -> None:
    """So the speed-up cannot be lost silently when a shape changes."""
    _, _, shapes = _project()
    core, jobs = _split_sparql(shapes)
    assert {(j.shape, j.constraint) for j in jobs} == set(shapes.subject_objects(SH.sparql))
    assert not list(core.subject_objects(SH.sparql))


@pytest.mark.timeout(300)
def test_real_data_report_is_pyshacls() -> None:
    ontology, data, shapes = _project()
    union = Graph()
    for g in (ontology, data, infer_fast(ontology, data)):
        for t in g:
            union.add(t)
    fast = run_shacl(union, shapes, ontology)
    reference = run_shacl(union, shapes, ontology, sparql_on="pyshacl")
    assert len(list(reference.subjects(RDF.type, SH.ValidationResult))) > 20
    assert any(reference.subjects(SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
    _same(fast, reference)


def test_a_constraint_that_cannot_move_stays_with_pyshacl() -> None:
    """A query whose top-level group does not start by binding $this (here a UNION) is left to
    pyshacl, and the report is still the same."""
    shapes = Graph().parse(data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql ex:union, ex:plain .
        ex:union a sh:SPARQLConstraint ; sh:message "union {?value}" ; sh:select
            "SELECT $this ?value WHERE { { $this <http://example.org/p> ?value } UNION { $this <http://example.org/q> ?value } }" .
        ex:plain a sh:SPARQLConstraint ; sh:message "plain {?value}" ;
            sh:select "SELECT $this ?value WHERE { $this <http://example.org/p> ?value }" .
        """, format="turtle")
    data = Graph().parse(data="""
        @prefix ex: <http://example.org/> .
        ex:a a ex:C ; ex:p ex:v1, ex:v2 ; ex:q ex:v2 .  ex:b ex:p ex:v3 .
        """, format="turtle")
    core, jobs = _split_sparql(shapes)
    assert [j.constraint for j in jobs] == [URIRef("http://example.org/plain")]
    fast = run_shacl(data, shapes, Graph())
    _same(fast, run_shacl(data, shapes, Graph(), sparql_on="pyshacl"))
    messages = sorted(str(m) for m in fast.objects(None, SH.resultMessage))
    assert messages == ["plain http://example.org/v1", "plain http://example.org/v2",
                        "union http://example.org/v1", "union http://example.org/v2"]
