"""SHACL core constraints run on Oxigraph (kg.pipeline.shacl) give exactly pyshacl's results.

Every comparison reduces each validation result to (focus node, path, value, source shape, constraint
component, severity, messages) and compares the two reports as multisets (so duplicate results count):
on every shape fixture, on the real data, on a 10k synthetic graph, and on small hand-made graphs for
each supported component and its edge cases. Unsupported features must be reported, never skipped.
"""

from __future__ import annotations

import sys
from collections import Counter
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
from rdflib import BNode, Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.term import Node

from kg.pipeline.build import Layout
from kg.pipeline.reason import infer_fast
from kg.pipeline.load import load_files, load_turtle
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, RDF, SH
from kg.pipeline.shacl import compile_shapes, run_core
from kg.ops.synth import synthesize
from kg.pipeline.validate import run_shacl
from kg.rdf.canon import dataset_store

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "shapes"))

from shapes_harness import expanded_ontology, fixture_paths  # noqa: E402

Key = tuple[Node | None, Node | None, Node | None, Node | None, Node | None, Node | None, frozenset[Node]]


@cache
def _project() -> tuple[Graph, Graph, Graph]:
    layout = Layout(root=ROOT)
    ontology, _ = load_files(layout.ontology_files)
    data, _ = load_files(layout.data_files)
    shapes, _ = load_files(layout.shape_files)
    return ontology, data, shapes


def _core(shapes: Graph) -> Graph:
    """The shapes without their SHACL-SPARQL constraints (those run elsewhere; see kg.pipeline.validate)."""
    core = Graph()
    for t in shapes:
        if t[1] != SH.sparql:
            core.add(t)
    return core


def _key(pairs: list[tuple[Node, Node]]) -> Key:
    one = {p: o for p, o in pairs if p != SH.resultMessage}
    assert len(one) == len([p for p, _ in pairs if p != SH.resultMessage]), f"a predicate twice in {pairs}"
    return (one.get(SH.focusNode), one.get(SH.resultPath), one.get(SH.value), one.get(SH.sourceShape),
            one.get(SH.sourceConstraintComponent), one.get(SH.resultSeverity),
            frozenset(o for p, o in pairs if p == SH.resultMessage))


def _reference(union: Graph, shapes: Graph) -> Counter[Key]:
    _, report, text = pyshacl.validate(union, shacl_graph=shapes, inference="none", advanced=True,
                                       do_owl_imports=False, allow_warnings=False, allow_infos=False)
    assert isinstance(report, Graph), text
    return Counter(_key(list(report.predicate_objects(r))) for r in report.subjects(RDF.type, SH.ValidationResult))


def _compare(shapes: Graph, ontology: Graph, data: Graph, inferred: Graph | None = None) -> Counter[Key]:
    """Assert run_core == pyshacl on ontology + data + inferred; return the results."""
    inferred = inferred if inferred is not None else Graph()
    jobs, problems = compile_shapes(shapes)
    assert problems == []
    store, bnodes = dataset_store({GRAPH_ONTOLOGY: ontology, GRAPH_ASSERTED: data, GRAPH_INFERRED: inferred})
    mine = Counter(_key(p) for p in run_core(store, shapes, bnodes=bnodes))
    union = Graph()
    for g in (ontology, data, inferred):
        for t in g:
            union.add(t)
    ref = _reference(union, shapes)
    if mine != ref:
        pytest.fail("results differ\nonly with Oxigraph:\n" + "\n".join(map(str, (mine - ref).keys()))
                    + "\nonly with pyshacl:\n" + "\n".join(map(str, (ref - mine).keys())))
    return mine


# --- the project's shapes ------------------------------------------------------------------------------

def test_the_project_shapes_compile_completely() -> None:
    """Every core constraint of shapes/*.shapes.ttl runs on Oxigraph, so the 1M build never needs pyshacl."""
    _, _, shapes = _project()
    jobs, problems = compile_shapes(_core(shapes))
    assert problems == []
    used = {p for p in _core(shapes).predicates() if str(p).startswith(str(SH))}
    assert {SH.minCount, SH.maxCount, SH["class"], SH.datatype, SH.nodeKind, SH.pattern, SH.maxLength,
            SH.languageIn, SH.uniqueLang} <= used
    assert {j.component for j in jobs} >= {SH.MinCountConstraintComponent, SH.ClassConstraintComponent,
                                           SH.PatternConstraintComponent, SH.UniqueLangConstraintComponent}


@pytest.mark.timeout(120)
def test_real_data() -> None:
    ontology, data, shapes = _project()
    results = _compare(_core(shapes), ontology, data, infer_fast(ontology, data))
    assert sum(results.values()) > 20


FIXTURES = fixture_paths("valid") + fixture_paths("invalid")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fixture", FIXTURES, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURES])
def test_shape_fixture(fixture: Path) -> None:
    _, _, shapes = _project()
    ontology = expanded_ontology()
    data = load_turtle(fixture).graph
    _compare(_core(shapes), ontology, data, infer_fast(ontology, data))


@pytest.mark.timeout(120)
def test_synthetic_10k(tmp_path: Path) -> None:
    synthesize(tmp_path / "synth", 10_000, seed=3)
    ontology, _, shapes = _project()
    data, _ = load_files(sorted((tmp_path / "synth").rglob("*.ttl")))
    results = _compare(_core(shapes), ontology, data, infer_fast(ontology, data))
    assert results, "the synthetic graph has planted gaps, so some results are expected"


# --- hand-made cases, one per component and edge case -----------------------------------------------

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

SHAPES = PREFIXES + """
ex:Thing a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:property ex:p-min2, ex:p-max1, ex:p-class, ex:p-date, ex:p-int, ex:p-lang, ex:p-str, ex:p-lit, ex:p-kind,
        ex:p-pattern, ex:p-len, ex:p-langin, ex:p-unique, ex:p-in, ex:p-has, ex:p-off, ex:p-inv, ex:p-seq, ex:p-alt,
        ex:p-shared, ex:p-iri-pattern, ex:p-min1 .
ex:Other a sh:NodeShape ; sh:targetNode ex:n1, ex:missing ; sh:property ex:p-shared .
ex:p-min2 sh:path ex:p ; sh:minCount 2 ; sh:message "min 2"@en, "au moins 2"@fr .
ex:p-min1 sh:path ex:label ; sh:minCount 1 ; sh:severity sh:Info ; sh:message "no label" .
ex:p-max1 sh:path ex:p ; sh:maxCount 1 ; sh:severity sh:Warning ; sh:message "max 1" .
ex:p-class sh:path ex:knows ; sh:class ex:Agent ; sh:message "class" .
ex:p-date sh:path ex:date ; sh:datatype xsd:date ; sh:message "date" .
ex:p-int sh:path ex:int ; sh:datatype xsd:integer ; sh:message "int" .
ex:p-lang sh:path ex:name ; sh:datatype rdf:langString ; sh:message "langString" .
ex:p-str sh:path ex:name ; sh:datatype xsd:string ; sh:message "string" .
ex:p-lit sh:path ex:any ; sh:datatype rdfs:Literal ; sh:message "literal" .
ex:p-kind sh:path ex:knows ; sh:nodeKind sh:IRI ; sh:message "iri" .
ex:p-pattern sh:path ex:code ; sh:pattern "^ab" ; sh:flags "i" ; sh:message "pattern" .
ex:p-iri-pattern sh:path ex:knows ; sh:pattern "example\\\\.org/[a-z]+$" ; sh:message "iri pattern" .
ex:p-len sh:path ex:code ; sh:minLength 2 ; sh:maxLength 4 ; sh:message "length" .
ex:p-langin sh:path ex:name ; sh:languageIn ( "en" "cy" ) ; sh:message "languageIn" .
ex:p-unique sh:path ex:name ; sh:uniqueLang true ; sh:message "uniqueLang" .
ex:p-in sh:path ex:status ; sh:in ( ex:open ex:closed "draft" 1 ) ; sh:message "in" .
ex:p-has sh:path ex:status ; sh:hasValue ex:open ; sh:message "hasValue" .
ex:p-off sh:path ex:p ; sh:minCount 9 ; sh:deactivated true ; sh:message "never" .
ex:p-inv sh:path [ sh:inversePath ex:knows ] ; sh:maxCount 1 ; sh:message "known by at most one" .
ex:p-seq sh:path ( ex:knows ex:date ) ; sh:datatype xsd:date ; sh:message "friend's date" .
ex:p-alt sh:path [ sh:alternativePath ( ex:code ex:status ) ] ; sh:nodeKind sh:Literal ; sh:message "alt" .
ex:p-shared sh:path ex:status ; sh:minCount 1 ; sh:message "shared" .

ex:AgentShape a sh:NodeShape ; sh:targetObjectsOf ex:knows ; sh:nodeKind sh:IRI ; sh:class ex:Agent ;
    sh:in ( ex:a ex:b ) ; sh:message "agent node" .
ex:Subjects a sh:NodeShape ; sh:targetSubjectsOf ex:code ; sh:property ex:p-code-max .
ex:p-code-max sh:path ex:code ; sh:maxCount 1 ; sh:message "one code" .
ex:Implicit a sh:NodeShape, rdfs:Class ; sh:property ex:p-implicit .
ex:p-implicit sh:path ex:p ; sh:minCount 1 ; sh:message "implicit" .
ex:Off a sh:NodeShape ; sh:targetClass ex:Thing ; sh:deactivated true ; sh:property ex:p-via-off .
ex:p-via-off sh:path ex:p ; sh:minCount 5 ; sh:message "never via a deactivated node shape" .
"""

DATA = PREFIXES + """
ex:Person rdfs:subClassOf ex:Agent .  ex:Sub rdfs:subClassOf ex:Thing .
ex:a a ex:Thing ; ex:p 1, 2 ; ex:knows ex:b ; ex:date "2020-01-05"^^xsd:date ; ex:int "12"^^xsd:integer ;
    ex:name "Alpha"@en, "Alffa"@cy ; ex:any "x" ; ex:code "ABc" ; ex:status ex:open ; ex:label "a" .
ex:b a ex:Sub, ex:Person ; ex:p 1 ; ex:knows ex:c, "lit", _:anon ; ex:date "2020-13-45"^^xsd:date, "2020" ;
    ex:int "abc"^^xsd:integer, "1.5"^^xsd:decimal ; ex:name "B"@en, "Bee"@en, "plain", "Bé"@fr, "B"@en-gb ;
    ex:any ex:c ; ex:code "xab", "toolong", "a", _:code ; ex:status ex:other, "draft", 1, "1"^^xsd:decimal .
ex:c a ex:Person ; ex:knows ex:b .
_:anon a ex:Agent .
ex:n1 ex:status ex:open .
ex:missing a ex:Thing .
ex:d a ex:Implicit .
[ a ex:Thing ; ex:p 3 ; ex:knows ex:a ; ex:status ex:closed ] .
"""


@pytest.mark.timeout(60)
def test_every_supported_component_and_edge_case() -> None:
    shapes = Graph().parse(data=SHAPES, format="turtle")
    data = Graph().parse(data=DATA, format="turtle")
    results = _compare(shapes, Graph(), data)
    by = Counter((str(k[3]).rsplit("/", 1)[-1], str(k[4]).rsplit("#", 1)[-1]) for k in results.elements())
    # Each case really produced results, so a bug that drops them all cannot pass as "equal".
    for shape in ("p-min2", "p-max1", "p-class", "p-date", "p-int", "p-lang", "p-str", "p-lit", "p-kind",
                  "p-pattern", "p-iri-pattern", "p-len", "p-langin", "p-unique", "p-in", "p-has", "p-inv",
                  "p-seq", "p-alt", "p-shared", "AgentShape", "p-code-max", "p-implicit", "p-min1"):
        assert any(s == shape for s, _ in by), f"no result from ex:{shape}"
    assert not any(s in ("p-off", "p-via-off") for s, _ in by)
    # the ill-typed date is a result, the well-typed one is not
    dates = {k[2] for k in results if str(k[3]).endswith("p-date")}
    assert {str(d) for d in dates} == {"2020-13-45", "2020"}
    # blank-node focus (the anonymous Thing) gets its results like any other
    assert any(isinstance(k[0], BNode) for k in results)
    # ex:p-shared is reached from two node shapes, both with ex:missing as a focus node: two equal results
    shared = [n for k, n in results.items() if str(k[3]).endswith("p-shared") and str(k[0]).endswith("missing")]
    assert shared == [2]


def test_unsupported_components_are_reported_not_skipped() -> None:
    shapes = Graph().parse(data=PREFIXES + """
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true ; sh:property ex:q, ex:r, ex:z, ex:nomsg .
        ex:q sh:path ex:p ; sh:qualifiedValueShape [ sh:class ex:D ] ; sh:qualifiedMinCount 1 ; sh:message "q" .
        ex:r sh:path ex:p ; sh:or ( [ sh:datatype xsd:string ] [ sh:class ex:D ] ) ; sh:message "r" .
        ex:z sh:path [ sh:zeroOrMorePath ex:p ] ; sh:minCount 1 ; sh:message "z" .
        ex:nomsg sh:path ex:p ; sh:minCount 1 .
        """, format="turtle")
    _, problems = compile_shapes(shapes)
    text = "\n".join(problems)
    for needle in ("closed", "qualifiedValueShape", "#or", "zeroOrMorePath", "no sh:message"):
        assert needle in text, f"{needle} not reported in {problems}"
    with pytest.raises(ValueError, match="cannot run on Oxigraph"):
        run_core(ox.Store(), shapes)


# --- run_shacl(core_on="oxigraph") --------------------------------------------------------------------

def _same(a: Graph, b: Graph) -> None:
    if not isomorphic(a, b):
        _, only_a, only_b = graph_diff(to_isomorphic(a), to_isomorphic(b))
        pytest.fail("reports differ\nonly with Oxigraph:\n" + "\n".join(map(str, sorted(only_a)[:20]))
                    + "\nonly with pyshacl:\n" + "\n".join(map(str, sorted(only_b)[:20])))


@pytest.mark.timeout(120)
def test_run_shacl_core_on_oxigraph_gives_pyshacls_report() -> None:
    ontology, data, shapes = _project()
    union = Graph()
    for g in (ontology, data, infer_fast(ontology, data)):
        for t in g:
            union.add(t)
    fast = run_shacl(union, shapes, ontology, core_on="oxigraph")
    reference = run_shacl(union, shapes, ontology, core_on="pyshacl")
    reports = list(fast.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1
    assert len(list(fast.objects(reports[0], SH.result))) > 20
    _same(fast, reference)


@pytest.mark.timeout(60)
def test_run_shacl_blank_node_focus_and_fallback() -> None:
    shapes = Graph().parse(data=SHAPES, format="turtle")
    data = Graph().parse(data=DATA, format="turtle")
    _same(run_shacl(data, shapes, Graph(), core_on="oxigraph"), run_shacl(data, shapes, Graph(), core_on="pyshacl"))
    # an unsupported component: the whole core falls back to pyshacl, and the report is still pyshacl's
    shapes.parse(data=PREFIXES + 'ex:Thing sh:closed false . ex:p-min1 sh:or ( [ sh:nodeKind sh:Literal ] ) .', format="turtle")
    assert compile_shapes(shapes)[1]
    _same(run_shacl(data, shapes, Graph(), core_on="oxigraph"), run_shacl(data, shapes, Graph(), core_on="pyshacl"))
    with pytest.raises(ValueError, match="core_on"):
        run_shacl(data, shapes, Graph(), core_on="rdflib")


def test_candidate_queries_do_not_join_the_targets() -> None:
    """Regression: the Python-checked candidates of a property shape (sh:pattern, sh:datatype) were
    joined with the targets' sub-select without a shared variable, a cross product (minutes at 1M)."""
    _, _, shapes = _project()
    jobs, _ = compile_shapes(_core(shapes))
    checked = [j for j in jobs if j.values_query is not None]
    assert checked
    for j in checked:
        assert j.path is not None and "SELECT DISTINCT ?this" not in j.values_query, j.values_query
