"""The cost guard refuses obviously unbounded shapes and never a legitimate analyst query."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.api.cost import CostLimits, check_cost, measure
from kg.api.guard import QueryRefused, inspect_query
from kg.query.registry import load_queries
from kg.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = ["https://w3id.org/remit/id/graph/asserted"]
P = "PREFIX p: <http://example.org/>\n"


def limits() -> CostLimits:
    s = Settings()
    return CostLimits(max_depth=s.max_query_depth, max_operators=s.max_query_operators, guard=s.cost_guard)


def _analyst_queries() -> list[tuple[str, str]]:
    named = load_queries(ROOT / "queries")
    out = [(f"queries/{n}.rq", q.text) for n, q in sorted(named.items())]
    out += [(f"queries/qc/{f.name}", f.read_text(encoding="utf-8")) for f in sorted((ROOT / "queries/qc").glob("*.rq"))]
    return out


@pytest.mark.parametrize("name,text", _analyst_queries(), ids=lambda x: x if x.endswith(".rq") else "")
def test_analyst_queries_pass_the_guard(name, text):
    """Every named query (its text as served: parameters are bound by substitution, so with default
    parameters the text is unchanged) and every QC query passes the default limits and the guard."""
    info = inspect_query(text, GRAPHS)
    check_cost(info.algebra, limits())  # raises if refused
    depth, ops = measure(info.algebra)
    assert depth <= limits().max_depth and ops <= limits().max_operators


def test_there_are_analyst_queries():
    names = {n for n, _ in _analyst_queries()}
    assert {"queries/overlaps.rq", "queries/gaps.rq", "queries/duplications.rq"} <= names


UNBOUNDED = {
    "two-way cartesian": ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }", "cartesian product"),
    "ORDER BY cartesian": ("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g",
                           "cartesian product"),
    "cartesian of groups": ("SELECT * WHERE { { ?a ?b ?c } { ?d ?e ?f } } ORDER BY ?a", "cartesian product"),
    "whole graph x typed": (P + "SELECT * WHERE { ?x a p:C . ?s ?p ?o }", "cartesian product"),
    "chain x whole graph": ("SELECT * WHERE { ?a ?b ?c . ?c ?x ?y . ?d ?e ?f }", "cartesian product"),
    "blank node cartesian": ("SELECT * WHERE { [] ?b ?c . ?d ?e [] }", "cartesian product"),
    "mixed-case keywords": ("sElEcT * wHeRe { ?a ?b ?c . ?d ?e ?f } OrDeR bY ?a", "cartesian product"),
    "comments split it": ("SELECT * WHERE { ?a ?b ?c #x\n . #y\n ?d ?e ?f }", "cartesian product"),
    "CONSTRUCT cartesian": ("CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }", "cartesian product"),
    "path both ends unbound": (P + "SELECT * WHERE { ?a (p:p|!p:p)* ?b }", "both ends unbound"),
    "path plus unbound": (P + "SELECT ?a WHERE { ?a (p:p/p:p/p:p)+ ?b }", "both ends unbound"),
    "path inverse unbound": (P + "ASK { ?a ^(p:p|!p:p)* ?b }", "both ends unbound"),
    "100 nested groups": ("SELECT * WHERE { ?s ?p ?o " + "{ ?s ?p ?o " * 20 + "}" * 20 + "}", "nested"),
    "operators": ("SELECT * WHERE {" + " UNION ".join(f"{{ ?s <http://example.org/p{i}> ?o }}"
                                                       for i in range(600)) + "}", "operators"),
}


@pytest.mark.parametrize("case", sorted(UNBOUNDED))
def test_unbounded_shapes_are_refused_with_the_reason(case):
    text, reason = UNBOUNDED[case]
    with pytest.raises(QueryRefused) as exc:
        check_cost(inspect_query(text, GRAPHS).algebra, limits())
    assert exc.value.status == 400
    assert reason in str(exc.value)
    assert "Traceback" not in str(exc.value)


BOUNDED = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 10",
    "CONSTRUCT WHERE { ?s ?p ?o }",
    P + "SELECT * WHERE { ?a p:q ?b . ?b ?p ?o }",
    P + "SELECT * WHERE { p:x (p:p|!p:p)* ?b }",
    P + "SELECT * WHERE { ?a a p:C ; p:broader* ?b }",
    P + "SELECT * WHERE { ?a a p:C . ?b a p:D }",  # both parts have constants: bounded by the data
    P + "SELECT * WHERE { VALUES ?a { p:x } ?a p:broader+ ?b }",
    "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?a{i} ?p ?b{i}" for i in range(4)) + " }",
]


@pytest.mark.parametrize("text", BOUNDED)
def test_bounded_shapes_pass(text):
    check_cost(inspect_query(text, GRAPHS).algebra, limits())


def test_guard_can_be_turned_off_but_complexity_limits_stay():
    off = CostLimits(max_depth=16, max_operators=1000, guard=False)
    check_cost(inspect_query(UNBOUNDED["two-way cartesian"][0], GRAPHS).algebra, off)
    with pytest.raises(QueryRefused, match="operators"):
        check_cost(inspect_query(UNBOUNDED["operators"][0], GRAPHS).algebra, off)
