"""The shapes themselves: well-formed SHACL (checked against W3C's SHACL-SHACL shapes graph that pyshacl
ships), every result-producing part carries a plain-English message and a severity, every shape is a named
IRI with a label and a comment, and every remit: term the shapes use is declared in the ontology."""

from __future__ import annotations

import re
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from kg.pipeline.load import load_turtle
from kg.rdf.namespaces import OWL, RDF, RDFS, REMIT, RSH, SH

from shapes_harness import SHAPES_DIR, node_shapes, ontology_graph, shapes_graph

SHACL_SHACL = Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl"

#: Constraint parameters of SHACL Core: a shape using any of these produces results with its own message.
CORE_PARAMETERS = {
    SH["class"], SH.datatype, SH.nodeKind, SH.minCount, SH.maxCount, SH.minExclusive, SH.minInclusive,
    SH.maxExclusive, SH.maxInclusive, SH.minLength, SH.maxLength, SH.pattern, SH.languageIn, SH.uniqueLang,
    SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals, SH["not"], SH["and"], SH["or"], SH.xone,
    SH.node, SH.qualifiedValueShape, SH.closed, SH.hasValue, SH["in"],
}
SEVERITIES = {SH.Violation, SH.Warning, SH.Info}


def _all_shapes(g: Graph) -> set:
    shapes = set(g.subjects(RDF.type, SH.NodeShape)) | set(g.subjects(RDF.type, SH.PropertyShape))
    shapes |= set(g.objects(None, SH.property)) | set(g.subjects(SH.path, None))
    return shapes


def _sparql_constraints(g: Graph) -> set:
    return set(g.objects(None, SH.sparql))


def test_shapes_files_exist_and_parse_one_by_one() -> None:
    files = sorted(SHAPES_DIR.glob("*.shapes.ttl"))
    assert len(files) >= 4
    for path in files:
        assert len(load_turtle(path).graph) > 0, f"{path.name} is empty"


def test_shapes_conform_to_shacl_shacl() -> None:
    shsh = Graph().parse(SHACL_SHACL, format="turtle")
    assert len(shsh) > 100
    conforms, _, text = pyshacl.validate(shapes_graph(), shacl_graph=shsh, inference="none")
    assert conforms, text


def test_shacl_shacl_check_would_catch_a_broken_shape() -> None:
    """The SHACL-SHACL test above can fail: a shape with two paths is reported."""
    shsh = Graph().parse(SHACL_SHACL, format="turtle")
    broken = Graph()
    broken += shapes_graph()
    broken.add((RSH["AgreementShape-party"], SH.path, REMIT.partyTo))
    conforms, _, _ = pyshacl.validate(broken, shacl_graph=shsh, inference="none")
    assert not conforms


def test_every_shape_and_sparql_constraint_is_a_named_iri_with_label_and_comment() -> None:
    g = shapes_graph()
    for node in _all_shapes(g) | _sparql_constraints(g):
        assert isinstance(node, URIRef), f"blank-node shape or constraint: {list(g.predicate_objects(node))}"
        assert str(node).startswith(str(RSH)), f"{node} is not in the rsh: namespace"
        for prop in (RDFS.label, RDFS.comment):
            values = [v for v in g.objects(node, prop) if isinstance(v, Literal) and v.language == "en"]
            assert values, f"{node.n3()} has no English {prop.n3()}"


def test_every_shape_has_a_severity_and_every_result_source_a_message() -> None:
    g = shapes_graph()
    for shape in _all_shapes(g):
        severities = set(g.objects(shape, SH.severity))
        assert len(severities) == 1 and severities <= SEVERITIES, f"{shape.n3()} needs one sh:severity"
        if any((shape, p, None) in g for p in CORE_PARAMETERS):
            messages = [m for m in g.objects(shape, SH.message) if isinstance(m, Literal) and m.language == "en"]
            assert messages, f"{shape.n3()} has constraints but no English sh:message"
    for constraint in _sparql_constraints(g):
        messages = [m for m in g.objects(constraint, SH.message) if isinstance(m, Literal) and m.language == "en"]
        assert messages, f"SPARQL constraint {constraint.n3()} has no English sh:message"
        assert g.value(constraint, SH.select) is not None, f"{constraint.n3()} has no sh:select"
    # A node shape with no constraint of its own carries no message (it would override the SPARQL ones).
    for shape in node_shapes():
        if not any((shape, p, None) in g for p in CORE_PARAMETERS):
            assert (shape, SH.message, None) not in g, f"{shape.n3()} has a message but no constraint of its own"


def test_every_node_shape_has_a_target() -> None:
    g = shapes_graph()
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
    for shape in node_shapes():
        assert any((shape, t, None) in g for t in targets), f"{shape.n3()} has no target"


def test_property_shapes_belong_to_exactly_one_node_shape() -> None:
    g = shapes_graph()
    for ps in set(g.objects(None, SH.property)):
        owners = set(g.subjects(SH.property, ps))
        assert len(owners) == 1, f"{ps.n3()} is used by {sorted(owners)}"


def test_sparql_constraints_avoid_forms_forbidden_with_pre_binding() -> None:
    """SHACL 1.0 section 5.6.1 (pre-binding): a query with a pre-bound $this must not use MINUS, VALUES
    or SERVICE; pyshacl refuses such constraints, so absence is checked here, by name."""
    g = shapes_graph()
    for c in _sparql_constraints(g):
        q = str(g.value(c, SH.select))
        for word in ("MINUS", "VALUES", "SERVICE"):
            assert not re.search(rf"\b{word}\b", q, re.I), f"{c.n3()} uses {word}"
        assert "$this" in q, f"{c.n3()} does not use $this"



def _sub_selects_not_projecting_this(query: str) -> int:
    """How many sub-selects of ``query`` do not name ``$this`` in their projection."""
    def walk(node: object) -> int:
        if isinstance(node, CompValue):
            own = 0
            if node.name == "SubSelect":
                projected = {str(p.get("var") or p.get("evar")) for p in (node.get("projection") or [])}
                own = "this" not in projected
            return own + sum(walk(v) for v in node.values())
        if isinstance(node, (str, bytes, Variable)) or not hasattr(node, "__iter__"):
            return 0
        return sum(walk(v) for v in node)  # a list, or pyparsing's results: their items

    return walk(parseQuery(query))


def test_sparql_constraints_sub_selects_return_this() -> None:
    """SHACL 1.0 section 5.6.1 (pre-binding): a sub-select must return every potentially pre-bound variable,
    so each projects $this. Regression (2026-12-04): a faster rewrite of the lead-holds constraint computed
    its tables in sub-selects without $this, which a SHACL-SPARQL processor may refuse; it was reverted."""
    assert _sub_selects_not_projecting_this(
        "SELECT $this WHERE { $this ?p ?o { SELECT ?o WHERE { ?o ?q ?r } } }") == 1
    assert _sub_selects_not_projecting_this(
        "SELECT $this WHERE { $this ?p ?o { SELECT $this ?o WHERE { $this ?q ?o } } }") == 0
    g = shapes_graph()
    for c in _sparql_constraints(g):
        q = str(g.value(c, SH.select)).replace("$PATH", "<urn:x:path>")
        assert _sub_selects_not_projecting_this(q) == 0, f"{c.n3()} has a sub-select that does not return $this"

_REMIT_IN_TEXT = re.compile(r"\bremit:([A-Za-z][\w-]*)")


def _remit_terms_used() -> set[URIRef]:
    g = shapes_graph()
    used = {t for triple in g for t in triple if isinstance(t, URIRef) and str(t).startswith(str(REMIT))}
    for c in _sparql_constraints(g):
        used |= {REMIT[m] for m in _REMIT_IN_TEXT.findall(str(g.value(c, SH.select)))}
    return used


def test_every_remit_term_in_the_shapes_is_declared_in_the_ontology() -> None:
    onto = ontology_graph()
    declared_types = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}
    used = _remit_terms_used()
    assert REMIT.leadBody in used and REMIT.areaOf in used  # the scan sees both triples and query text
    undeclared = sorted(str(t) for t in used if not (set(onto.objects(t, RDF.type)) & declared_types))
    assert not undeclared, f"remit: terms used in shapes but not declared in ontology/remit.ttl: {undeclared}"


@pytest.mark.parametrize("path", sorted(SHAPES_DIR.glob("*.shapes.ttl")), ids=lambda p: p.name)
def test_sparql_prefixes_are_declared_where_used(path: Path) -> None:
    """Each file that has SPARQL constraints declares the prefixes it uses (files load on their own)."""
    g = load_turtle(path).graph
    declared = {str(g.value(d, SH.prefix)) for d in g.objects(RSH.prefixes, SH.declare)}
    for c in set(g.objects(None, SH.sparql)) & set(g.subjects(SH.select, None)):
        assert (c, SH.prefixes, RSH.prefixes) in g
        used = set(re.findall(r"\b([a-z]+):[A-Za-z]", str(g.value(c, SH.select))))
        assert used <= declared, f"{c.n3()} in {path.name} uses undeclared prefixes {used - declared}"


def test_docs_list_every_shape() -> None:
    """docs/shapes.md has a row for every property shape and SPARQL constraint of every node shape."""
    def short(node) -> str:
        return "rsh:" + str(node)[len(str(RSH)):]

    text = (SHAPES_DIR.parent / "docs" / "shapes.md").read_text(encoding="utf-8")
    g = shapes_graph()
    missing = [short(s) for s in node_shapes() for s in [*g.objects(s, SH.property), *g.objects(s, SH.sparql)]
               if f"`{short(s)}`" not in text]
    assert not missing, f"docs/shapes.md does not list: {missing}"
