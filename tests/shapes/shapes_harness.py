"""Shared machinery for the shape tests: load the ontology once, expand each fixture with OWL 2 RL,
validate it with pyshacl, and compare results as (shape, focus, path, component, severity, constraint).

The ontology + vocabularies are expanded once per session; each fixture is then expanded together with
that (already closed) graph, on a copy, with kg.pipeline.owlrl_reason.closure, as the build does for the real data.
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

__all__ = [
    "ROOT", "SHAPES_DIR", "FIXTURES_DIR", "Result", "ontology_graph", "expanded_ontology", "shapes_graph",
    "node_shapes", "shape_family", "validate", "results_of", "expected_results", "fixture_paths",
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


def validate(data: Graph) -> Graph:
    """Validate data + the closure of ontology and data; returns the pyshacl report graph."""
    closed = closure(expanded_ontology(), data)
    _, report, _ = pyshacl.validate(
        closed, shacl_graph=shapes_graph(), inference="none", advanced=True, do_owl_imports=False,
        abort_on_first=False, allow_warnings=False, allow_infos=False,
    )
    if not isinstance(report, Graph):  # pyshacl returns a ValidationFailure when a shape is malformed
        raise AssertionError(f"pyshacl could not run the shapes: {report}")
    return report


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
