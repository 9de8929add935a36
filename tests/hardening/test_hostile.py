"""Hostile requests on the public surface (hostile-inputs.md B1, B2, B4): each asserts the safe outcome,
not only a status — the canary received nothing, the served store's quad count and content hash are
unchanged, a worker that ran past the deadline is gone, and no error body leaks a traceback, a path or a
version. Complements tests/api (the 21 SERVICE/FROM/LOAD variants, deadline, crash, queue, budget)."""

from __future__ import annotations

import codecs
import socket
import time

import httpx
import pytest

from support.probes import process_gone, store_fingerprint

from .conftest import DEADLINE, ROW_LIMIT, assert_clean_error

pytestmark = pytest.mark.timeout(120)

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def baseline(hostile_store):
    return store_fingerprint(hostile_store)


@pytest.fixture()
def safe(server, hostile_store, canary, baseline):
    """After the test: canary untouched, store unchanged (on disk and as served), workers back."""
    yield
    assert canary.hits == [], canary.hits
    assert store_fingerprint(hostile_store) == baseline
    server.wait_idle(2)


def send(server, method: str, **kw) -> httpx.Response:
    r = httpx.request(method, server.sparql, timeout=httpx.Timeout(20.0, connect=5.0), **kw)
    if r.status_code >= 400:
        assert_clean_error(r)
    return r


def service(canary, kw: str = "SERVICE") -> str:
    return f"SELECT * WHERE {{ {kw} <{canary.url}/sparql> {{ ?s ?p ?o }} }}"


# ------------------------------------------------------------------------------ B1: encodings of SERVICE

def encoded_service_requests(c) -> dict[str, dict]:
    q = service(c)
    return {
        "percent-encoded GET": {"method": "GET", "params": {"query": q}},
        "every byte percent-encoded": {"method": "GET", "url_query": "query=" + "".join(f"%{b:02X}" for b in q.encode())},
        "form POST": {"method": "POST", "data": {"query": q}},
        "form POST with charset": {"method": "POST", "content": f"query={httpx.QueryParams({'q': q})['q']}".encode(),
                                   "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}},
        "sparql-query body": {"method": "POST", "content": q.encode(),
                              "headers": {"Content-Type": "application/sparql-query"}},
        "mixed case": {"method": "GET", "params": {"query": service(c, "SeRvIcE")}},
        "silent lower case": {"method": "GET", "params": {"query": service(c, "service silent")}},
        "\\u escape in keyword": {"method": "GET", "params": {"query": service(c, "\\u0053ERVICE")}},
        "\\u escapes in IRI": {"method": "GET", "params": {"query": "SELECT * WHERE { SERVICE <"
                               + "".join(f"\\u{ord(ch):04X}" for ch in c.url + "/x") + "> { ?s ?p ?o } }"}},
        "comment splits keyword": {"method": "GET", "params": {"query": f"SELECT * WHERE {{ SERV#x\nICE <{c.url}/x> {{ ?s ?p ?o }} }}"}},
        "comment before IRI": {"method": "GET", "params": {"query": f"SELECT * WHERE {{ SERVICE#x\n<{c.url}/x> {{ ?s ?p ?o }} }}"}},
        "NUL inside keyword": {"method": "GET", "params": {"query": service(c, "SERV\x00ICE")}},
        "NUL after query": {"method": "POST", "content": (q + "\x00").encode(),
                            "headers": {"Content-Type": "application/sparql-query"}},
        "UTF-16 body with BOM": {"method": "POST", "content": codecs.BOM_UTF16_LE + q.encode("utf-16-le"),
                                 "headers": {"Content-Type": "application/sparql-query"}},
        "UTF-8 BOM body": {"method": "POST", "content": codecs.BOM_UTF8 + q.encode(),
                           "headers": {"Content-Type": "application/sparql-query"}},
        "UTF-16 form": {"method": "POST", "content": ("query=" + q).encode("utf-16"),
                        "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        "duplicate query params": {"method": "GET", "params": [("query", "ASK {}"), ("query", q)]},
        "query in URL and form": {"method": "POST", "params": {"query": "ASK {}"}, "data": {"query": q}},
        "query in URL and body": {"method": "POST", "params": {"query": q}, "content": b"ASK {}",
                                  "headers": {"Content-Type": "application/sparql-query"}},
        "VALUES binds the service": {"method": "GET", "params": {"query": f"SELECT * WHERE {{ VALUES ?e {{ <{c.url}/x> }} SERVICE ?e {{ ?s ?p ?o }} }}"}},
        "GRAPH over a canary IRI": {"method": "GET", "params": {"query": f"SELECT * WHERE {{ GRAPH <{c.url}/g> {{ ?s ?p ?o }} }}"}},
        "FROM via default-graph-uri": {"method": "GET", "params": {"query": "SELECT * WHERE { ?s ?p ?o }",
                                                                  "default-graph-uri": c.url + "/g"}},
        "named-graph-uri file": {"method": "GET", "params": {"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
                                                            "named-graph-uri": "file:///etc/passwd"}},
    }


def test_service_in_every_encoding_reaches_nothing(server, canary, safe):
    for name, spec in encoded_service_requests(canary).items():
        spec = dict(spec)
        method = spec.pop("method")
        if "url_query" in spec:
            r = httpx.get(server.sparql + "?" + spec.pop("url_query"), timeout=20)
            if r.status_code >= 400:
                assert_clean_error(r)
        else:
            r = send(server, method, **spec)
        if name == "GRAPH over a canary IRI":  # an IRI naming no graph of the store: no rows, no fetch
            assert r.status_code == 200 and '"bindings": []' in r.text.replace('"bindings":[]', '"bindings": []'), r.text
            continue
        assert r.status_code == 400, (name, r.status_code, r.text[:300])
        assert "canary" not in r.text
    assert canary.hits == []


UPDATES = ["INSERT DATA { <http://e/s> <http://e/p> <http://e/o> }", "DELETE WHERE { ?s ?p ?o }", "DROP ALL",
           "CLEAR DEFAULT", "CREATE GRAPH <http://e/g>", "ADD DEFAULT TO <http://e/g>",
           "WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
           "PREFIX e: <http://e/>\ninsert data { e:s e:p e:o }", "InSeRt DaTa { <http://e/s> <http://e/p> 1 }",
           "# comment\nDELETE DATA { <http://e/s> <http://e/p> <http://e/o> } ; DROP ALL"]


def test_updates_in_every_form_change_nothing(server, safe):
    for u in UPDATES:
        for r in (send(server, "GET", params={"query": u}), send(server, "GET", params={"update": u}),
                  send(server, "POST", data={"query": u}), send(server, "POST", data={"update": u}),
                  send(server, "POST", content=u.encode(), headers={"Content-Type": "application/sparql-update"}),
                  send(server, "POST", content=u.encode(), headers={"Content-Type": "application/sparql-query"})):
            assert r.status_code == 400, (u, r.status_code, r.text[:200])


def test_graph_store_protocol_writes_are_refused(server, safe):
    for method in ("PUT", "DELETE", "PATCH"):
        for path in ("/sparql", "/sparql?graph=http://e/g", "/sparql?default"):
            r = httpx.request(method, server.url + path, content=b"<http://e/s> <http://e/p> <http://e/o> .",
                              headers={"Content-Type": "text/turtle"}, timeout=10)
            assert r.status_code == 405, (method, path, r.status_code)
            assert_clean_error(r)
    r = send(server, "POST", content=b"<http://e/s> <http://e/p> <http://e/o> .", headers={"Content-Type": "text/turtle"})
    assert r.status_code == 415


# ------------------------------------------------------------------------------ B2: evaluation DoS shapes

def test_unbounded_shapes_are_refused_before_running(server, safe):
    before = set(server.wait_idle(2)["pids"])
    cases = {
        "ORDER BY over a cartesian product": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g",
        "COUNT over a 4-way product": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }",
        "product of groups": "SELECT * WHERE { { ?a ?b ?c } { ?d ?e ?f } }",
        "path with both ends unbound": "PREFIX e: <http://e/>\nSELECT * WHERE { ?a (e:p|!e:p)* ?b }",
        "100 nested OPTIONALs": "SELECT * WHERE { ?s ?p ?o " + "OPTIONAL { ?s ?p ?o " * 100 + "}" * 100 + "}",
        "500 parentheses": "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 500 + "1" + ")" * 500 + ") }",
        "200 braces": "SELECT * WHERE " + "{ " * 200 + "?s ?p ?o" + " }" * 200,
        "600-branch UNION": "SELECT * WHERE {" + " UNION ".join(f"{{ ?s <http://e/p{i}> ?o }}" for i in range(600)) + "}",
    }
    for name, q in cases.items():
        t0 = time.monotonic()
        r = send(server, "POST", data={"query": q}, headers=JSON)
        assert r.status_code == 400, (name, r.status_code, r.text[:300])
        body = r.json()
        assert body["title"] in ("query refused: unbounded", "query too complex"), (name, body)
        assert time.monotonic() - t0 < DEADLINE + 1, name  # refused, not run to the deadline
    after = set(server.wait_idle(2)["pids"])
    assert after == before  # refusals kill no worker


def test_heavy_but_legal_shapes_are_bounded(server, safe):
    """Big, legal queries either answer (with the row cap said out loud) or stop at the deadline; the
    worker that ran past it is gone."""
    cases = {
        "300-branch UNION": "SELECT * WHERE {" + " UNION ".join(f"{{ ?s <http://e/p{i}> ?o }}" for i in range(300)) + "}",
        "VALUES of 2000 IRIs": "SELECT * WHERE { VALUES ?s {" + " ".join(f"<http://e/{i}>" for i in range(2000)) + "} ?s ?p ?o }",
        "IN of 8000 terms": "SELECT * WHERE { ?s ?p ?o FILTER(?o IN (" + ",".join(str(i) for i in range(8000)) + ")) }",
        "CONSTRUCT everything": "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
        "SELECT everything": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
        "DESCRIBE everything": "DESCRIBE ?s WHERE { ?s ?p ?o }",
        "joined on the predicate": "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?a{i} ?p ?b{i}" for i in range(10)) + " }",
    }
    statuses = {}
    for name, q in cases.items():
        before = set(server.wait_idle(2)["pids"])
        t0 = time.monotonic()
        r = send(server, "POST", data={"query": q})
        statuses[name] = r.status_code
        elapsed = time.monotonic() - t0
        assert elapsed < DEADLINE + 5, name
        if r.status_code == 503:
            assert r.headers["retry-after"].isdigit()
            after = set(server.wait_idle(2)["pids"])
            gone = before - after
            assert len(gone) == 1, name
            pid = gone.pop()
            assert process_gone(pid)
        else:
            assert r.status_code == 200, (name, r.status_code, r.text[:300])
            if name.endswith("everything"):
                assert r.headers["remit-result-truncated"] == f"true; limit={ROW_LIMIT}", name
    assert statuses["joined on the predicate"] == 503  # it runs for hours: stopped at the deadline


def test_huge_values_past_the_length_limit_is_413(server, safe):
    q = "SELECT * WHERE { VALUES ?s {" + " ".join(f"<http://example.org/{i}>" for i in range(4000)) + "} ?s ?p ?o }"
    assert len(q) > 64 << 10
    r = send(server, "POST", content=q.encode(), headers={"Content-Type": "application/sparql-query", **JSON})
    assert r.status_code == 413 and "65536" in r.json()["detail"]
    r = send(server, "POST", data={"query": q})
    assert r.status_code == 413


def test_client_that_disconnects_mid_query_frees_its_worker(server, safe):
    before = set(server.wait_idle(2)["pids"])
    q = httpx.QueryParams({"query": "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(
        f"?a{i} ?p ?b{i}" for i in range(10)) + " }"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(f"GET /sparql?{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.5)
    # gone within the deadline (plus the kill): the worker that ran it is dead and replaced
    after = set(server.wait_idle(2, timeout=DEADLINE + 15)["pids"])
    assert len(before - after) == 1
    for pid in before - after:
        assert process_gone(pid)


# ------------------------------------------------------------------------------ limits: 413 / 414 streaming

def _raw(port: int, head: bytes, body_parts: list[bytes], wait: float) -> tuple[bytes, float]:
    """Send a request head and some body, never finish it; return what the server answered and when."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    t0 = time.monotonic()
    try:
        s.sendall(head)
        for part in body_parts:
            s.sendall(part)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data, time.monotonic() - t0
    finally:
        s.close()


def test_declared_oversize_body_is_413_before_the_body_arrives(server, safe):
    head = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 50000000\r\n\r\n")
    data, took = _raw(server.port, head, [b"SELECT * WHERE { ?s ?p ?o } #" + b"x" * 1000], wait=10)
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    assert took < 3


def test_chunked_upload_that_never_ends_is_413_once_past_the_limit(server, safe):
    head = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"a" * 65536
    parts = [b"query=SELECT"] + [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(20)]
    parts[0] = f"{len(parts[0]):x}\r\n".encode() + parts[0] + b"\r\n"
    data, took = _raw(server.port, head, parts, wait=10)  # 1.3 MB sent, no final chunk: never finishes
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    assert took < 5


def test_long_url_is_414_and_health_is_fine(server, safe):
    r = send(server, "GET", params={"query": "ASK { ?s ?p \"" + "x" * 9000 + "\" }"})
    assert r.status_code == 414
    assert httpx.get(server.url + "/health", timeout=5).json()["status"] == "ok"


def test_error_bodies_never_leak_in_any_format(server, safe):
    requests = [
        ("GET", {"params": {"query": "SELEC broken"}}),
        ("GET", {"params": {"query": "SELECT * WHERE { ?s ?p ?o }", "format": "nonsense"}}),
        ("GET", {"params": {"query": "SELECT * WHERE { ?s ?p ?o }"}, "headers": {"Accept": "image/png"}}),
        ("POST", {"content": b"\xff\xfe\x00", "headers": {"Content-Type": "application/sparql-query"}}),
        ("POST", {"content": b"query=%FF", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        ("GET", {"params": {"query": "SELECT * WHERE { ?s ?p ?o FILTER(REGEX(?o, \"(a+)+$\")) }"}}),
    ]
    for accept in ("application/json", "text/plain", "*/*", "application/problem+json, text/html"):
        for method, kw in requests:
            kw = {**kw, "headers": {"Accept": accept, **kw.get("headers", {})}}
            r = send(server, method, **kw)
            if r.status_code >= 400:
                assert r.headers["content-type"].split(";")[0] in ("application/problem+json", "text/plain")
    for path in ("/queries/nope", "/queries/inspectors?limit=-1", "/queries/inspectors?limit=abc&setting=x",
                 "/nowhere/../../etc/passwd", "/sparql/%00"):
        r = httpx.get(server.url + path, timeout=10)
        assert r.status_code >= 400 and r.status_code < 500, (path, r.status_code)
        assert_clean_error(r)
