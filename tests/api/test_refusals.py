"""SERVICE, FROM/FROM NAMED of outside IRIs and LOAD are refused before evaluation: a canary listener
on 127.0.0.1 must receive nothing."""

from __future__ import annotations

import threading

import httpx
import pytest

from kg.api.guard import QueryRefused, inspect_query
from support.probes import Canary

GRAPHS = ["https://w3id.org/remit/id/graph/asserted"]


@pytest.fixture(scope="module")
def canary():
    c = Canary()
    yield c.url, c.hits
    c.close()


def variants(url: str) -> list[str]:
    return [
        f"SELECT * WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{url}/sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ SERVICE <{url}/x> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ ?a ?b ?c }} UNION {{ SERVICE SILENT <{url}/x> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{url}/x> {{ ?s ?p ?o }} }} }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c FILTER EXISTS {{ SERVICE <{url}/x> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c MINUS {{ SERVICE <{url}/x> {{ ?a ?p ?o }} }} }}",
        f"SELECT * WHERE {{ BIND(<{url}/x> AS ?svc) SERVICE ?svc {{ ?s ?p ?o }} }}",
        f"PREFIX c: <{url}/>\nSELECT * WHERE {{ SERVICE c:sparql {{ ?s ?p ?o }} }}",
        f"BASE <{url}/>\nSELECT * WHERE {{ SERVICE <sparql> {{ ?s ?p ?o }} }}",
        f"ASK {{ SERVICE <{url}/x> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ SERVICE <{url}/x> {{ ?s ?p ?o }} }} }}",
        f"DESCRIBE ?s WHERE {{ SERVICE <{url}/x> {{ ?s ?p ?o }} }}",
        f"select * where {{ service <{url}/x> {{ ?s ?p ?o }} }}",
        # \\u escapes: Oxigraph reads them only inside strings and IRIs, rdflib everywhere
        "SELECT * WHERE { BIND(\"x\\u0022) } #\" AS ?a) SERVICE <" + url + "/x> { ?s ?p ?o } }",
        f"SELECT * FROM <{url}/data.ttl> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{url}/data.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"PREFIX c: <{url}/>\nSELECT * FROM c:data WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM <{url}/a\\u0062> WHERE {{ ?s ?p ?o }}",
        f"LOAD <{url}/data.ttl>",
        f"LOAD SILENT <{url}/data.ttl> INTO GRAPH <http://example.org/g>",
    ]


def test_every_variant_refused_and_canary_untouched(server, canary):
    url, hits = canary
    for q in variants(url):
        for r in (httpx.get(server.sparql, params={"query": q}, timeout=30),
                  httpx.post(server.sparql, data={"query": q}, timeout=30),
                  httpx.post(server.sparql, data={"update": q}, timeout=30)):
            assert r.status_code == 400, (q, r.status_code, r.text)
    # control: the canary does work — a direct request reaches it
    assert hits == []
    try:
        httpx.get(url + "/control", timeout=2)
    except httpx.HTTPError:
        pass
    for _ in range(20):
        if hits:
            break
        threading.Event().wait(0.1)
    assert hits and b"/control" in hits[0]


def test_guard_unit_refusals(canary):
    url, _ = canary
    for q in variants(url):
        if q.startswith("LOAD"):
            with pytest.raises(QueryRefused, match="read-only"):
                inspect_query(q, GRAPHS)
        else:
            with pytest.raises(QueryRefused):
                inspect_query(q, GRAPHS)


def test_guard_accepts_ordinary_queries():
    assert inspect_query("SELECT * WHERE { ?s ?p \"service\" }", GRAPHS).form == "SELECT"
    assert inspect_query(f"SELECT * FROM <{GRAPHS[0]}> WHERE {{ ?s ?p ?o }}", GRAPHS).from_graphs == GRAPHS
    assert inspect_query("SELECT * WHERE { ?s ?p \"a\\\\u0022\" }", GRAPHS).form == "SELECT"
    assert inspect_query("CONSTRUCT WHERE { ?s ?p ?o }", GRAPHS).form == "CONSTRUCT"
