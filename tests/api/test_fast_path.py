"""The ASGI shortcut for cached ``/sparql`` answers (``kg.api.sparql.CacheHitShortcut``) on a real server:
POST hits and 304s, POST bodies that are not hits reach the route intact, and every refusal the route
makes is still made while the cache holds the query. Also the per-client budget's running total."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from kg.api.limits import ClientBudget

pytestmark = pytest.mark.timeout(120)

Q = "SELECT ?s ?o WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o } ORDER BY ?s ?o"
SQ = {"Content-Type": "application/sparql-query"}


def _warm(server, q: str) -> httpx.Response:
    r = httpx.get(server.sparql, params={"query": q}, timeout=30)
    assert r.status_code == 200 and r.headers["remit-cache"] in ("miss", "hit")
    return r


def test_post_hits_and_304_from_the_shortcut(server):
    q = Q + " # fast-1"
    first = _warm(server, q)
    for r in (httpx.post(server.sparql, data={"query": q}, timeout=30),
              httpx.post(server.sparql, content=q.encode(), headers=SQ, timeout=30)):
        assert r.status_code == 200 and r.headers["remit-cache"] == "hit" and r.content == first.content
        assert r.headers["etag"] == first.headers["etag"] and r.headers["vary"] == "Accept"
        assert r.headers["content-type"] == first.headers["content-type"]
        assert int(r.headers["content-length"]) == len(first.content)
    tag = first.headers["etag"]
    for kw in ({"data": {"query": q}}, {"content": q.encode(), "headers": SQ}):
        headers = {**kw.pop("headers", {}), "If-None-Match": tag}
        r = httpx.post(server.sparql, headers=headers, timeout=30, **kw)
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == tag
    # a different negotiated format is not the JSON answer
    csv = httpx.post(server.sparql, data={"query": q}, headers={"Accept": "text/csv"}, timeout=30)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["remit-cache"] == "miss"


def test_post_misses_reach_the_route_with_their_body(server):
    _warm(server, Q + " # fast-2")  # the cache is not empty, so the shortcut reads POST bodies
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } # fast-2-miss"
    form = httpx.post(server.sparql, data={"query": q}, headers={"Accept": "application/sparql-results+json"},
                      timeout=30)
    assert form.status_code == 200 and form.headers["remit-cache"] == "miss"
    n = int(form.json()["results"]["bindings"][0]["n"]["value"])
    assert n > 10
    body = httpx.post(server.sparql, content=(q + " ").encode(), headers={**SQ, "Accept": "application/json"},
                      timeout=30)
    assert body.status_code == 200 and int(body.json()["results"]["bindings"][0]["n"]["value"]) == n


def test_refusals_still_apply_to_a_cached_query(server):
    q = Q + " # fast-3"
    _warm(server, q)
    # a query in the URL and in the body
    r = httpx.post(server.sparql, params={"query": q}, content=q.encode(), headers=SQ, timeout=30)
    assert r.status_code == 400 and "more than one query" in r.text
    # an update beside the cached query
    r = httpx.post(server.sparql, data={"query": q, "update": "CLEAR ALL"}, timeout=30)
    assert r.status_code == 400 and "read-only" in r.text
    # two query parameters
    r = httpx.post(server.sparql, content=f"query={q}&query={q}".encode(),
                   headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert r.status_code == 400
    # an unsupported body type and an update body
    r = httpx.post(server.sparql, content=q.encode(), headers={"Content-Type": "text/plain"}, timeout=30)
    assert r.status_code == 415
    r = httpx.post(server.sparql, content=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"},
                   timeout=30)
    assert r.status_code == 400
    # a body that is not UTF-8
    r = httpx.post(server.sparql, content=q.encode() + b"\xff", headers=SQ, timeout=30)
    assert r.status_code == 400 and "UTF-8" in r.text


def test_an_oversized_post_is_refused_before_its_body_while_the_cache_is_warm(server):
    _warm(server, Q + " # fast-4")
    limit = 1 << 20  # REMIT_MAX_BODY_BYTES default
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall((f"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                      f"Content-Length: {limit + 10}\r\n\r\n").encode())
        answer = sock.recv(4096)  # nothing of the body was sent: the 413 must come before it
    assert answer.startswith(b"HTTP/1.1 413")


def test_budget_running_total_matches_the_window():
    run = asyncio.run
    now = [0.0]
    b = ClientBudget(1.0, window=10.0, clock=lambda: now[0])
    for i in range(5):
        now[0] = float(i)
        run(b.record("a", 0.15))
    assert b.used("a") == pytest.approx(0.75) and run(b.retry_after("a")) is None
    now[0] = 5.0
    run(b.record("a", 0.5))  # 1.25 s in the window: over budget
    assert run(b.retry_after("a")) == 6  # under budget once the entries of t=0 and t=1 leave, at t=11
    now[0] = 10.5  # t=0 gone: 1.10 s left, still over
    assert b.used("a") == pytest.approx(1.10) and run(b.retry_after("a")) == 1
    now[0] = 11.5  # t=1 gone too: 0.95 s
    assert b.used("a") == pytest.approx(0.95) and run(b.retry_after("a")) is None
    now[0] = 100.0  # everything expired: exactly zero, no drift
    assert b.used("a") == 0.0 and run(b.retry_after("a")) is None
    assert b.used("b") == 0.0


def test_service_description_counts_every_graph_though_not_counted_at_start(server, store_dir):
    """The graph counts are computed on the first service-description request (not at start-up, where a
    full count of a million quads took seconds); they must equal the store's own counts."""
    import pyoxigraph as ox
    import rdflib

    st = ox.Store.read_only(str(store_dir))
    expected = {g.value: len(list(st.quads_for_pattern(None, None, None, g))) for g in st.named_graphs()}
    del st
    r = httpx.get(server.sparql, headers={"Accept": "text/turtle"}, timeout=30)
    assert r.status_code == 200
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
    got = {str(g.value(ng, SD.name)): int(g.value(g.value(ng, SD.graph), VOID.triples))
           for ng in g.subjects(rdflib.RDF.type, SD.NamedGraph)}
    assert got == expected and len(expected) == 4 and sum(expected.values()) > 10


# ------------------------------------------------------------------ a GET miss: the route's handler, unrouted

@pytest.mark.parametrize("params, status", [
    ({"query": Q + " # lane-ok"}, 200),
    ({"query": Q + " # lane-json", "format": "json"}, 200),
    ({"query": "SELECT * WHERE { ?s ?p }"}, 400),  # syntax error, named by the worker
    ({"query": "ASK {}", "update": "CLEAR ALL"}, 400),  # updates refused
    ({"query": "ASK {}", "format": "no-such-format"}, 400),
    ({"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "csv"}, 406),
    ({"query": "ASK {}", "default-graph-uri": "urn:no-such-graph"}, 400),
], ids=["select", "format", "syntax", "update", "unknown-format", "not-acceptable", "unknown-graph"])
def test_a_get_miss_answers_as_the_routed_post(server, params, status):
    """A GET whose query is not cached goes from the shortcut straight to the route's handler
    (``SparqlEndpoint.protocol_get``); it must answer exactly as the routed POST form of the same request
    (status, body, type, headers that matter) -- and the POST is then a hit only where the GET kept one."""
    get = httpx.get(server.sparql, params=params, timeout=30)
    post = httpx.post(server.sparql, data=params, headers={"Cache-Control": "no-cache"}, timeout=30)
    assert get.status_code == post.status_code == status, (get.text, post.text)
    assert get.headers["content-type"] == post.headers["content-type"]
    assert get.content == post.content
    assert get.headers.get("vary") == post.headers.get("vary")
    if status == 200:
        assert get.headers["remit-cache"] == "miss" and get.headers["etag"] == post.headers["etag"]
    else:
        assert "remit-cache" not in get.headers and "remit-cache" not in post.headers
