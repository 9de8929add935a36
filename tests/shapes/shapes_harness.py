"""Shared machinery for the shape tests: load the ontology once, expand each fixture with OWL 2 RL,
validate it with pyshacl, and compare results as (shape, focus, path, component, severity, constraint).

The ontology + vocabularies are expanded once per session (owlrl); each fixture is then reasoned together with
that (already closed) graph as ``kg build`` reasons: by the default reasoner, :func:`kg.pipeline.reason.infer_fast`,
unless it refuses the data (a functional property with two values, which OWL 2 RL merges with ``owl:sameAs``), and
then by owlrl (:func:`kg.pipeline.owlrl_reason.closure`), as ``kg build --reference`` does. That the two reasoners
give the same triples on every fixture the default one accepts is tests/oracle/test_fixture_reasoning.py. (Until
2026-12-06 owlrl reasoned every fixture here: about 1.4 s each on a two-core machine, 55 fixtures.)
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pyshacl
from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.pipeline.load import load_turtle
from kg.rdf.namespaces import RDF, SH
from kg.pipeline.owlrl_reason import closure
from kg.pipeline.reason import inconsistencies, infer_fast

__all__ = [
    "ROOT", "SHAPES_DIR", "FIXTURES_DIR", "Result", "ontology_graph", "expanded_ontology", "shapes_graph",
    "node_shapes", "shape_family", "reasoned", "fast_refuses", "validate", "fixture_report", "results_of", "expected_results", "fixture_paths",
]

ROOT = Path(__file__).resolve().parents[2]
SHAPES_DIR = ROOT / "shapes"
FIXTURES_DIR = Path(__file__).resolve().parent


class Result(NamedTuple):
    """One validation result, reduced to what a fixture's expectation states."""

    shape: Node
    focus: Node
    path: Node | None
    component: Node
    severity: Node
    constraint: Node | None  # the SPARQL constraint, for sh:SPARQLConstraintComponent results only

    def show(self) -> str:
        def s(n: Node | None) -> str:
            return "-" if n is None else n.n3()
        return (f"shape={s(self.shape)} focus={s(self.focus)} path={s(self.path)} "
                f"component={s(self.component)} severity={s(self.severity)} constraint={s(self.constraint)}")


@cache
def ontology_graph() -> Graph:
    g = Graph()
    for path in [ROOT / "ontology" / "remit.ttl", *sorted((ROOT / "ontology" / "vocab").glob("*.ttl"))]:
        g += load_turtle(path).graph
    return g


@cache
def expanded_ontology() -> Graph:
    """The OWL 2 RL closure of ontology + vocabularies, computed once per session."""
    return closure(ontology_graph(), Graph())


@cache
def shapes_graph() -> Graph:
    g = Graph()
    for path in sorted(SHAPES_DIR.glob("*.shapes.ttl")):
        g += load_turtle(path).graph
    return g


def node_shapes() -> list[URIRef]:
    g = shapes_graph()
    return sorted((s for s in g.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)), key=str)


def shape_family(shape: URIRef) -> set[Node]:
    """A node shape and its property shapes: the results a fixture folder is about."""
    return {shape, *shapes_graph().objects(shape, SH.property)}


def fast_refuses(data: Graph) -> bool:
    """Whether the default reasoner refuses ``data`` with the ontology (``kg build`` stops; ``--reference`` reasons)."""
    return bool(inconsistencies(expanded_ontology(), data, Graph()))


def reasoned(data: Graph) -> Graph:
    """Ontology + ``data`` + what ``kg build`` infers from them (the default reasoner, or owlrl where it refuses)."""
    ontology = expanded_ontology()
    if fast_refuses(data):
        return closure(ontology, data)
    union = Graph()
    for g in (ontology, data, infer_fast(ontology, data)):
        for t in g:
            union.add(t)
    return union


def validate(data: Graph) -> Graph:
    """Validate data + the closure of ontology and data (:func:`reasoned`); returns the pyshacl report graph."""
    closed = reasoned(data)
    _, report, _ = pyshacl.validate(
        closed, shacl_graph=shapes_graph(), inference="none", advanced=True, do_owl_imports=False,
        abort_on_first=False, allow_warnings=False, allow_infos=False,
    )
    if not isinstance(report, Graph):  # pyshacl returns a ValidationFailure when a shape is malformed
        raise AssertionError(f"pyshacl could not run the shapes: {report}")
    return report


@cache
def fixture_report(fixture: Path) -> tuple[Graph, Graph]:
    """A fixture file reasoned (:func:`reasoned`) and its pyshacl report (:func:`validate`), computed once per
    process: the shape tests check the report's results and that ``kg build``'s validator gives the same report
    (tests/shapes/test_shape_fixtures.py, one file, so one process). Read-only for callers."""
    closed = reasoned(load_turtle(fixture).graph)
    _, report, _ = pyshacl.validate(
        closed, shacl_graph=shapes_graph(), inference="none", advanced=True, do_owl_imports=False,
        abort_on_first=False, allow_warnings=False, allow_infos=False,
    )
    if not isinstance(report, Graph):
        raise AssertionError(f"pyshacl could not run the shapes: {report}")
    return closed, report


def _result(g: Graph, r: Node) -> Result:
    component = g.value(r, SH.sourceConstraintComponent)
    constraint = g.value(r, SH.sourceConstraint) if component == SH.SPARQLConstraintComponent else None
    return Result(g.value(r, SH.sourceShape), g.value(r, SH.focusNode), g.value(r, SH.resultPath),
                  component, g.value(r, SH.resultSeverity), constraint)


def results_of(report: Graph, family: set[Node] | None = None) -> Counter[Result]:
    """The results in a report (optionally only those whose source shape is in ``family``)."""
    out: Counter[Result] = Counter()
    for r in report.subjects(RDF.type, SH.ValidationResult):
        res = _result(report, r)
        if family is None or res.shape in family:
            out[res] += 1
    return out


def expected_results(path: Path) -> Counter[Result]:
    """The results an ``invalid-*.expected.ttl`` sidecar lists (W3C SHACL test-suite style)."""
    g = load_turtle(path).graph
    return results_of(g)


def fixture_paths(kind: str) -> list[Path]:
    """``valid`` or ``invalid`` fixtures, every folder under tests/shapes/ (sidecars excluded)."""
    return sorted(p for p in FIXTURES_DIR.glob(f"*/{kind}-*.ttl") if not p.name.endswith(".expected.ttl"))
