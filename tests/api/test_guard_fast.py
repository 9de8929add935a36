"""The guard's fast path for plain lookups (kg.api.guard.fast_inspect) agrees with the full rdflib path,
and everything outside its small grammar goes to the full path."""

from __future__ import annotations

from typing import Optional

import pytest

from kg.api import guard
from kg.api.cost import CostLimits, check_cost
from kg.api.guard import QueryRefused, fast_inspect, inspect_query

GRAPHS = ["https://w3id.org/remit/id/graph/asserted"]
P = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\nPREFIX : <http://example.org/>\n"

FAST = [
    "SELECT ?p ?o WHERE { <https://w3id.org/remit/id/body/cqc> ?p ?o }",
    "select ?s where { ?s a ?t }",
    "ASK { ?s ?p ?o }",
    "ASK WHERE { ?s ?p ?o . }",
    P + "SELECT DISTINCT ?l { ?s a :C ; rdfs:label ?l , \"x # y\"@en-GB . ?s :n 5 } LIMIT 10 OFFSET 3",
    "SELECT * WHERE { ?s ?p \"a\"^^<http://www.w3.org/2001/XMLSchema#string> } OFFSET 1 LIMIT 2",
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }",                  # refused: cartesian
    P + "SELECT * WHERE { ?x a :C . ?s ?p ?o }",               # refused: cartesian
    "SELECT * WHERE { ?s ?p ?o . ?o ?q ?r }",
    "SELECT ?x WHERE { }",
    "SELECT * WHERE { ?s ?p \"é\" }",
]
SLOW = [
    "SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }",
    "SELECT * WHERE { service <http://x/> { ?s ?p ?o } }",
    "SELECT * FROM <http://x/> WHERE { ?s ?p ?o }",
    "SELECT * FROM NAMED <http://x/> WHERE { ?s ?p ?o }",
    "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://x/>",
    "SELECT * WHERE { ?s <http://x/\\u0041> ?o }",
    "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 5 LIMIT 6",
    "SELECT * WHERE { [] ?p ?o . ?s ?q [] }",
    "SELECT * WHERE { _:b ?p ?o }",
    "SELECT * WHERE { ?s ?p 1.5 }",
    "SELECT * WHERE { ?s (<http://x/p>)* ?o }",
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
    "LOAD <http://x/>",
    "INSERT DATA { <http://x/> <http://x/> <http://x/> }",
    "SELECT * WHERE { ?s ?p ?o \u0000 }",
    "SELECT * WHERE { ?s ?p ?o } VALUES ?s { <http://x/> }",
    "SELECT * WHERE { ?s A ?o }",
]


def verdict(info_or_exc: object) -> tuple[str, Optional[str]]:
    if isinstance(info_or_exc, QueryRefused):
        return "refused", info_or_exc.title
    return "ok", info_or_exc.form  # type: ignore[attr-defined]


def full(text: str) -> tuple[str, Optional[str]]:
    saved = guard.fast_inspect
    guard.fast_inspect = lambda _t: None  # type: ignore[assignment]
    try:
        info = inspect_query(text, GRAPHS)
        check_cost(info.algebra, CostLimits())
        return verdict(info)
    except QueryRefused as exc:
        return verdict(exc)
    finally:
        guard.fast_inspect = saved  # type: ignore[assignment]


@pytest.mark.parametrize("text", FAST)
def test_fast_path_agrees_with_the_full_path(text: str):
    info = fast_inspect(text)
    assert info is not None, text
    try:
        check_cost(info.algebra, CostLimits())
        fast = verdict(info)
    except QueryRefused as exc:
        fast = verdict(exc)
    assert fast == full(text)


@pytest.mark.parametrize("text", SLOW)
def test_anything_else_takes_the_full_path(text: str):
    assert fast_inspect(text) is None
