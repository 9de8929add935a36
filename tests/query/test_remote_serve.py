"""``kg serve --store URL``: Remit's endpoint answering from a real Oxigraph server (no mocks).

A small synthetic build (``test_remote.built``) is pushed with ``kg push`` into an Oxigraph server started
here; then two real ``kg serve`` processes run side by side: one on the embedded store built from the same
dataset, one on the external store. Answers through SPARQLWrapper and the named-query routes must be equal;
the guard, the read-only rule, the deadline and the network rule must still hold in front of the store.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from SPARQLWrapper import CSV, JSON, POST, TSV, TURTLE, XML, SPARQLWrapper

from api.conftest import DEADLINE, ROW_LIMIT, RUNAWAY, Server, start_server, stop_server
from kg.rdf.store import write_store
from support.servers import free_port, oxigraph_server
from query.test_remote import ROOT, _normalise, built  # noqa: F401  (built is a fixture)

pytestmark = pytest.mark.timeout(240)

ENV = {"REMIT_QUERIES_DIR": str(ROOT / "queries"), "REMIT_WORKERS": "1", "REMIT_QUEUE_LIMIT": "4"}

BODIES = """PREFIX org: <http://www.w3.org/ns/org#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?body ?label WHERE { ?body a org:Organization ; rdfs:label ?label } ORDER BY ?body ?label"""
FEW_BODIES = BODIES + " LIMIT 7"
SETTINGS = """PREFIX remit: <https://w3id.org/remit/def/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?setting ?label WHERE { ?setting a remit:Setting ; rdfs:label ?label } ORDER BY ?setting"""  # 71 rows
CONSTRUCT = """PREFIX org: <http://www.w3.org/ns/org#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
CONSTRUCT { ?body a org:Organization ; rdfs:label ?label } WHERE { ?body a org:Organization ; rdfs:label ?label }
ORDER BY ?body LIMIT 6"""


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Oxigraph server with its own query timeout (as a deployment should set one: see docs/scale.md),
    so the runaway query of the deadline test does not keep a core busy after Remit gave up on it."""
    try:
        with oxigraph_server(tmp_path_factory.mktemp("oxigraph-serve-store"), "--timeout-s", "8") as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def store_url(built: Path, oxigraph: str) -> str:  # noqa: F811
    r = subprocess.run([sys.executable, "-m", "kg.cli", "push", "--store", oxigraph + "/query", "--dataset", str(built)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    return oxigraph + "/query"


@pytest.fixture(scope="module")
def embedded(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("embedded")
    write_store(built, tmp / "store")
    s = start_server(tmp / "store", tmp, **ENV)
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def remote(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(store_url, tmp_path_factory.mktemp("remote"), **ENV)  # type: ignore[arg-type]
    yield s
    stop_server(s)


def _ask(server: Server, query: str, fmt: str) -> tuple[bytes, dict[str, str]]:
    sw = SPARQLWrapper(server.sparql)
    sw.setMethod(POST)
    sw.setReturnFormat(fmt)
    sw.setQuery(query)
    sw.setTimeout(30)
    res = sw.query()
    return res.response.read(), dict(res.info())


def test_select_in_every_format_equals_the_embedded_store(embedded: Server, remote: Server) -> None:
    for query in (FEW_BODIES, SETTINGS):  # SETTINGS has more rows than the row limit: both cut it the same way
        for fmt in (JSON, XML, CSV, TSV):
            mine, mine_headers = _ask(embedded, query, fmt)
            theirs, their_headers = _ask(remote, query, fmt)
            # equal but for the server's own address (in the row-limit link of a truncated result)
            assert theirs.replace(remote.url.encode(), b"X") == mine.replace(embedded.url.encode(), b"X"), (query, fmt)
            assert their_headers.get("content-type") == mine_headers.get("content-type")
            assert their_headers.get("remit-result-truncated") == mine_headers.get("remit-result-truncated")
    few = SPARQLWrapper(remote.sparql)
    few.setQuery(FEW_BODIES)
    few.setReturnFormat(JSON)
    rows = few.queryAndConvert()["results"]["bindings"]
    assert len(rows) == 7 and all(r["body"]["type"] == "uri" for r in rows)
    _, headers = _ask(remote, SETTINGS, JSON)
    assert headers.get("remit-result-truncated") == f"true; limit={ROW_LIMIT}"


def test_ask_and_construct_equal_the_embedded_store(embedded: Server, remote: Server) -> None:
    for query, expected in (("ASK { ?s a <http://www.w3.org/ns/org#Organization> }", True),
                            ("ASK { <https://w3id.org/remit/id/body/no-such-body> ?p ?o }", False)):
        sw = SPARQLWrapper(remote.sparql)
        sw.setQuery(query)
        sw.setReturnFormat(JSON)
        assert sw.queryAndConvert()["boolean"] is expected
    mine, _ = _ask(embedded, CONSTRUCT, TURTLE)
    theirs, headers = _ask(remote, CONSTRUCT, TURTLE)
    assert headers["content-type"].startswith("text/turtle")
    g1, g2 = Graph().parse(data=mine, format="turtle"), Graph().parse(data=theirs, format="turtle")
    assert len(g2) == 12 and isomorphic(g1, g2)
    for fmt, rdflib_name in (("jsonld", "json-ld"), ("nt", "nt"), ("rdfxml", "xml"), ("trig", "trig")):
        r = httpx.get(remote.sparql, params={"query": CONSTRUCT, "format": fmt}, timeout=30)
        assert r.status_code == 200, r.text
        assert isomorphic(Graph().parse(data=r.content, format=rdflib_name), g1), fmt


def test_named_query_over_http_equals_the_embedded_store(embedded: Server, remote: Server) -> None:
    compared = 0
    for name, params in (("overlaps", {"asOf": "2026-01-01"}), ("agreements", {}), ("remit-matrix", {})):
        for page in ({"limit": "1000"}, {"limit": "3", "offset": "2"}):
            mine = httpx.get(f"{embedded.url}/queries/{name}", params={**params, **page, "format": "json"}, timeout=60)
            theirs = httpx.get(f"{remote.url}/queries/{name}", params={**params, **page, "format": "json"}, timeout=60)
            assert mine.status_code == theirs.status_code == 200, (name, theirs.text)
            a, b = mine.json(), theirs.json()
            assert b["head"] == a["head"] and b["page"] == a["page"], name
            assert _normalise(b["results"]["bindings"]) == _normalise(a["results"]["bindings"]), name
            compared += len(a["results"]["bindings"])
    assert compared > 0
    csv = httpx.get(f"{remote.url}/queries/overlaps", params={"asOf": "2026-01-01", "format": "csv"}, timeout=60)
    assert csv.status_code == 200 and csv.text.startswith("\ufeffbody1,")  # a byte-order mark for spreadsheets
    bad = httpx.get(f"{remote.url}/queries/overlaps", params={"settingType": "not an iri"}, timeout=30)
    assert bad.status_code == 400 and "settingType" in bad.text


class _Canary(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def canary() -> Iterator[str]:
    _Canary.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_service_and_updates_are_refused_before_the_store(remote: Server, store_url: str, canary: str) -> None:
    before = httpx.post(store_url, data={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"},
                        headers={"Accept": "application/sparql-results+json"}, timeout=30).json()
    for q in (f"SELECT * WHERE {{ SERVICE <{canary}/sparql> {{ ?s ?p ?o }} }}",
              f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE SILENT <{canary}/x> {{ ?s ?q ?v }} }} }} LIMIT 1",
              f"SELECT * FROM <{canary}/data.ttl> WHERE {{ ?s ?p ?o }}"):
        r = httpx.post(remote.sparql, data={"query": q}, timeout=30)
        assert r.status_code == 400, (q, r.text)
    for data, ctype in ((f"update=LOAD <{canary}/data.ttl>", "application/x-www-form-urlencoded"),
                        ("update=DROP ALL", "application/x-www-form-urlencoded"),
                        ("query=CLEAR ALL", "application/x-www-form-urlencoded"),
                        ("INSERT DATA { <urn:x> <urn:y> <urn:z> }", "application/sparql-update")):
        r = httpx.post(remote.sparql, content=data.encode(), headers={"Content-Type": ctype}, timeout=30)
        assert r.status_code == 400 and ("read-only" in r.text or "Update" in r.text), (data, r.text)
    time.sleep(0.3)
    assert _Canary.hits == []
    after = httpx.post(store_url, data={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"},
                       headers={"Accept": "application/sparql-results+json"}, timeout=30).json()
    assert after == before


def test_a_remote_worker_can_reach_only_the_store(store_url: str, canary: str) -> None:
    """The network rule of a remote worker (it is not in an empty namespace): in a fresh process, after
    restrict_connections, the store answers and every other host is refused."""
    script = f"""
import urllib.request
from kg.api.remote_backend import restrict_connections
restrict_connections({store_url!r})
with urllib.request.urlopen({store_url!r} + "?query=ASK%7B%7D", timeout=10) as r:
    print("store", r.status)
for url in ({canary!r} + "/leak", "http://localhost:{canary.rsplit(':', 1)[1]}/leak", "http://example.org/"):
    try:
        urllib.request.urlopen(url, timeout=5)
        print("reached", url)
    except Exception as exc:
        print("refused", type(exc).__name__, exc)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60,
                       env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "store 200"
    assert len(lines) == 4 and all(line.startswith("refused") for line in lines[1:]), r.stdout
    assert "may only" in r.stdout
    assert _Canary.hits == []


def test_pages_are_served_from_a_remote_store(embedded: Server, remote: Server) -> None:
    """The publication over the store (kg.api.remote_site; the full comparison is test_remote_pages.py)."""
    for path in ("/", "/def.html", "/ui", "/agreements.html"):
        r = httpx.get(remote.url + path, timeout=60, headers={"Accept": "text/html"})
        assert r.status_code == 200, (path, r.text[:300])
        assert r.text == httpx.get(embedded.url + path, timeout=60, headers={"Accept": "text/html"}).text, path
    r = httpx.get(remote.url + "/id/body/no-such-body", timeout=30, headers={"Accept": "text/plain"})
    assert r.status_code == 404
    sd = httpx.get(remote.sparql, headers={"Accept": "text/turtle"}, timeout=30)
    assert sd.status_code == 200 and "void:triples" in sd.text  # the service description counts the store's graphs


def test_deadline_stops_a_slow_remote_query_and_health_stays_up(remote: Server) -> None:
    result: dict[str, object] = {}

    def slow() -> None:
        t0 = time.monotonic()
        result["response"] = httpx.post(remote.sparql, data={"query": RUNAWAY}, timeout=60,
                                        headers={"Accept": "application/json"})
        result["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    health = []
    while t.is_alive():
        t0 = time.monotonic()
        r = httpx.get(remote.url + "/health", timeout=5)
        health.append((r.status_code, time.monotonic() - t0))
        time.sleep(0.2)
    t.join()
    response = result["response"]
    assert isinstance(response, httpx.Response)
    assert response.status_code == 503 and response.json()["title"] == "query timed out", response.text
    assert "Retry-After" in response.headers
    assert DEADLINE <= float(result["seconds"]) < DEADLINE + 10  # type: ignore[arg-type]
    assert health and all(code == 200 and took < 1.0 for code, took in health)
    # the worker was replaced and answers again
    end = time.monotonic() + 30
    while True:
        r = httpx.post(remote.sparql, data={"query": FEW_BODIES}, timeout=30,
                       headers={"Accept": "application/sparql-results+json"})
        if r.status_code == 200 or time.monotonic() > end:
            break
        time.sleep(0.3)
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 7


def test_serve_refuses_an_unreachable_store() -> None:
    dead = f"http://127.0.0.1:{free_port()}/query"
    r = subprocess.run([sys.executable, "-m", "kg.cli", "serve", "--port", str(free_port()), "--store", dead],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 3 and "cannot reach the store" in r.stderr


def test_check_reads_the_current_graph_from_the_store(store_url: str, tmp_path: Path) -> None:
    """kg check --store URL: the "before" side of the impact is the store's graph (here the synthetic
    build), not data/: its overlaps are exactly the store's overlaps."""
    from kg.query.registry import load_queries
    from kg.query.remote import RemoteStore, run_named_remote

    # The draft is a revision of an agreement in the store's (synthetic) graph: a draft may only name
    # bodies, functions and setting types of the current graph, which here is the store's, not data/.
    agreement = "https://w3id.org/remit/id/agreement/synth-agreement-00001"
    from rdflib import URIRef

    from kg.query.remote import asserted_graph
    from kg.revision.diff import agreement_subgraph

    current = asserted_graph(store_url)
    part = agreement_subgraph(current, URIRef(agreement))
    assert (URIRef(agreement), None, None) in part
    text = part.serialize(format="turtle")
    draft = tmp_path / "revision.ttl"
    draft.write_text(text, encoding="utf-8")
    kg = [sys.executable, "-m", "kg.cli", "check", str(draft), "--replaces", agreement,
          "--format", "json", "--fail-on", "none", "--as-of", "2026-01-01"]
    r = subprocess.run(kg + ["--store", store_url], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert r.returncode == 0, r.stderr
    impact = json.loads(r.stdout)["impact"]
    nq = load_queries(ROOT / "queries")["overlaps"]
    page = run_named_remote(RemoteStore(store_url), nq, {"asOf": "2026-01-01"}, 1000, 0)
    keys = ("body1", "function1", "body2", "function2", "settingType", "jurisdiction", "agreement")
    expected = {tuple(row.get(k, {}).get("value", "") for k in keys) for row in page.rows}
    assert len(expected) > 0 and impact["overlaps"]["before"] == len(expected)
    dead = f"http://127.0.0.1:{free_port()}/query"
    r = subprocess.run(kg + ["--store", dead], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 3 and "cannot reach the store" in r.stderr
    r = subprocess.run(kg + ["--store", "build/store"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2 and "not the http(s) URL" in r.stderr
