"""Issue 16, the remaining classes: answers capped by bytes (2), budgets that charge only worker time and
jobs cancelled when their client goes (6), memory bounds that count keys (7), dead workers dropped,
replaced and their job retried (8), the dump job reaped (10), and two event-loop stalls (1: a multipart
body of many parts, a huge Accept header)."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time

import httpx
import psutil
import pyoxigraph as ox
import pytest

from kg.api import jobs
from kg.api.cache import LruDict, ResponseCache, approx_size
from kg.api.jobs import run_job, store_graphs
from kg.api.sparql import SparqlEndpoint
from kg.publication.publication import Publication, PublicationPending
from kg.settings import Settings
from support.probes import process_gone

from .conftest import API_FIXTURES, assert_clean_error, start_server, stop_server

pytestmark = pytest.mark.timeout(180)

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?a{i} ?p ?b{i}" for i in range(10)) + " }"
NUMBERS = " ".join(str(i) for i in range(40))
#: 37 quads x 40 x 40: about 59,000 rows, 24 MB of SPARQL JSON from a 300-character query
BIG_SELECT = f"SELECT ?s ?p ?o ?a ?b WHERE {{ GRAPH ?g {{ ?s ?p ?o }} VALUES ?a {{ {NUMBERS} }} VALUES ?b {{ {NUMBERS} }} }}"
BIG_CONSTRUCT = ("CONSTRUCT { ?s ?p ?v } WHERE { GRAPH ?g { ?s ?p ?o } VALUES ?a { " + NUMBERS + " } "
                 "BIND(CONCAT(STR(?o), ' ', STR(?a)) AS ?v) }")
COST = {"max_depth": 16, "max_operators": 1000, "guard": True}


@pytest.fixture(scope="module")
def memory_store() -> tuple[ox.Store, list[str]]:
    store = ox.Store()
    store.load(path=str(API_FIXTURES / "dataset.trig"), format=ox.RdfFormat.TRIG)
    return store, store_graphs(store)


def _job(query: str, fmt: str, cap: int, **extra: object) -> dict:
    return {"kind": "sparql", "query": query, "row_limit": 10 ** 7, "formats": [fmt], "max_answer_bytes": cap,
            "cost": COST, "endpoint": "http://x/sparql", **extra}


def _in_thread(fn, *args):
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(r=fn(*args)), daemon=True)
    t.start()
    return t, out


# ------------------------------------------------------------------------------ class 2: answers capped by bytes

@pytest.mark.parametrize("query,fmt", [(BIG_SELECT, f) for f in ("json", "xml", "csv", "tsv")]
                         + [(BIG_CONSTRUCT, f) for f in ("turtle", "nt", "jsonld", "rdfxml", "trig")])
def test_an_answer_is_cut_at_the_byte_limit_in_every_format(memory_store, query, fmt):
    cap = 8192
    out = run_job(*memory_store, _job(query, fmt, cap))
    assert out["status"] == 200, out
    body = out["body"]
    assert 0 < len(body) <= cap
    assert out["headers"]["Remit-Result-Truncated"] == f"true; max-bytes={cap}"
    assert out["headers"]["Link"] == '<http://x/sparql#result-byte-limit>; rel="describedby"'
    if fmt == "json":
        doc = json.loads(body)
        assert doc["truncated"] == {"maxBytes": cap} and doc["head"]["link"] == ["http://x/sparql#result-byte-limit"]
        assert len(doc["results"]["bindings"]) > 10
    elif fmt in ("turtle", "nt", "trig"):
        first = body.split(b"\n", 1)[0].decode()
        assert first.startswith("# truncated: only the first ") and f"{cap} bytes" in first
        rdf = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "trig": ox.RdfFormat.TRIG}[fmt]
        assert len(list(ox.parse(body, format=rdf))) > 10  # whole triples, a valid document
    elif fmt in ("csv", "tsv"):
        assert body.count(b"\n") > 10 and body.endswith(b"\n")


def test_an_answer_under_the_byte_limit_is_whole_and_unflagged(memory_store):
    out = run_job(*memory_store, _job("SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } }", "json", 1 << 20))
    assert out["status"] == 200 and "Remit-Result-Truncated" not in out["headers"]
    assert len(json.loads(out["body"])["results"]["bindings"]) == len(memory_store[0])


@pytest.fixture(scope="module")
def capped(hostile_store, tmp_path_factory):
    s = start_server(hostile_store, tmp_path_factory.mktemp("capped"), REMIT_MAX_ANSWER_BYTES="8192",
                     REMIT_ROW_LIMIT="1000000")
    yield s
    stop_server(s)


def test_the_byte_limit_over_http_and_in_the_service_description(capped):
    r = capped.get("/sparql", params={"query": BIG_SELECT, "format": "json"})
    assert r.status_code == 200 and len(r.content) <= 8192
    assert r.headers["remit-result-truncated"] == "true; max-bytes=8192"
    assert r.json()["truncated"] == {"maxBytes": 8192}
    sd = capped.get("/sparql", headers={"Accept": "text/turtle"})
    assert "result-byte-limit" in sd.text and "8192" in sd.text


def test_a_worker_gives_its_memory_back_after_a_large_answer(hostile_store, tmp_path):
    """A 16 MiB answer: the web process stays responsive while it is read (off the event loop), and
    afterwards the worker holds no more than REMIT_WORKER_MAX_RSS_GROWTH_MB past what it held at start
    (it frees the answer, and exits to be replaced when its memory grew anyway)."""
    # the worker's copy of the store into memory made at once (not REMIT_STORE_COPY_DELAY_SECONDS later), so that
    # the memory measured at start is the worker's whole working memory: a copy made during the answer is growth
    # this test does not measure (regression: with the 3 s default the base was taken before the copy)
    s = start_server(hostile_store, tmp_path, REMIT_WORKERS="1", REMIT_QUERY_TIMEOUT="60", REMIT_ROW_LIMIT="10000000",
                     REMIT_MAX_ANSWER_BYTES=str(16 << 20), REMIT_WORKER_MAX_RSS_GROWTH_MB="8",
                     REMIT_STORE_COPY_DELAY_SECONDS="0")
    try:
        before = s.wait_idle(1)["pids"][0]
        base = psutil.Process(before).memory_info().rss
        t, out = _in_thread(lambda: httpx.post(s.sparql, data={"query": BIG_SELECT},
                                               headers={"Accept": "application/sparql-results+json"}, timeout=120))
        slowest = 0.0
        while t.is_alive():
            t0 = time.monotonic()
            assert s.get("/health").status_code == 200
            slowest = max(slowest, time.monotonic() - t0)
            time.sleep(0.05)
        t.join()
        r = out["r"]
        assert r.status_code == 200 and r.headers["remit-result-truncated"] == f"true; max-bytes={16 << 20}"
        assert (15 << 20) < len(r.content) <= 16 << 20
        assert slowest < 1.0, slowest
        after = s.wait_idle(1)["pids"][0]
        rss = psutil.Process(after).memory_info().rss
        assert rss <= base + (8 << 20) + (4 << 20), (before, after, base >> 20, rss >> 20)
        if after != before:
            assert s.workers()["recycled"] == 1 and process_gone(before)
    finally:
        stop_server(s)


# ------------------------------------------------------------------------------ class 6: fair budgets, cancellation

@pytest.fixture()
def one_worker(hostile_store, tmp_path):
    s = start_server(hostile_store, tmp_path, REMIT_WORKERS="1", REMIT_QUEUE_LIMIT="8", REMIT_QUERY_TIMEOUT="4",
                     REMIT_CLIENT_BUDGET_SECONDS="3", REMIT_TRUSTED_PROXIES="127.0.0.1")
    yield s
    stop_server(s)


def test_time_waiting_in_the_queue_is_not_charged(one_worker):
    """Another client's runaway holds the only worker for its 4 s deadline; a client whose tiny queries
    waited behind it has used milliseconds of worker time, not its 3 s budget, and is never refused."""
    s = one_worker
    s.wait_idle(1)
    hostile = {"X-Forwarded-For": "10.0.0.1"}
    runaways = [_in_thread(lambda: s.get("/sparql", params={"query": RUNAWAY}, headers=hostile))[0]]
    assert _until(lambda: s.workers()["busy"] == 1, 5)
    victim = {"X-Forwarded-For": "10.0.0.2"}
    t0 = time.monotonic()
    first = s.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers=victim)
    waited = time.monotonic() - t0
    assert first.status_code == 200 and waited > 3, waited  # it really waited longer than its whole budget
    for i in range(5):
        r = s.get("/sparql", params={"query": f"ASK {{ ?s ?p {i} }}"}, headers=victim)
        assert r.status_code == 200, (i, r.status_code, r.text)
    for t in runaways:
        t.join(30)


def _open(port: int, query: str) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(f"GET /sparql?{httpx.QueryParams({'query': query})} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return conn


def _until(check, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_closing_the_connection_cancels_queued_and_running_jobs(hostile_store, tmp_path):
    s = start_server(hostile_store, tmp_path, REMIT_WORKERS="1", REMIT_QUEUE_LIMIT="8", REMIT_QUERY_TIMEOUT="8")
    try:
        worker = s.wait_idle(1)["pids"][0]
        running = _open(s.port, RUNAWAY)
        assert _until(lambda: s.workers()["busy"] == 1, 5)
        queued = [_open(s.port, RUNAWAY + f" # {i}") for i in range(3)]
        assert _until(lambda: s.workers()["waiting"] == 3, 5), s.workers()
        for c in queued:
            c.close()
        assert _until(lambda: s.workers()["waiting"] == 0, 1.5), s.workers()  # they left the queue
        assert s.workers()["busy_pids"] == [worker]
        running.close()
        assert _until(lambda: process_gone(worker), 2.0)  # stopped long before its 8 s deadline
        t0 = time.monotonic()
        assert s.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).status_code == 200
        assert time.monotonic() - t0 < 5
        assert worker not in s.wait_idle(1)["pids"]
    finally:
        stop_server(s)


# ------------------------------------------------------------------------------ class 7: bounds that count keys

def test_the_response_cache_counts_its_keys():
    cache = ResponseCache(max_entries=1000, max_bytes=1 << 20, version="v")
    for i in range(100):  # 100 distinct 60 KB queries with tiny answers: 6 MB of keys
        cache.put(("sparql", f"ASK {{ ?s ?p {i} }} #" + "x" * 60_000, (), (), "json"), "v", b"true", "text/plain")
    assert cache.bytes <= 1 << 20
    kept = sum(approx_size(k) for k in cache._items)
    assert 10 < len(cache) < 20 and kept <= cache.bytes, (len(cache), kept, cache.bytes)


def test_the_guard_memo_is_bounded_by_bytes(memory_store):
    jobs._GUARD_MEMO = None
    for i in range(80):  # distinct 40 KB texts
        out = run_job(*memory_store, _job(f'ASK {{ ?s ?p "{i}{"y" * 40_000}" }}', "json", 0, guard_memo_bytes=1 << 20))
        assert out["status"] == 200
    memo = jobs._guard_memo()
    assert memo.bytes <= 1 << 20 and 10 < len(memo) < 30, (memo.bytes, len(memo))
    assert sum(approx_size(k) for k in memo) <= memo.bytes
    jobs._GUARD_MEMO = None


def test_the_web_process_memos_are_bounded_by_bytes(hostile_store):
    ep = SparqlEndpoint(Settings(store_path=hostile_store, cache_max_bytes=8 << 20))
    for i in range(200):
        ep.query_families.put(f"SELECT * WHERE {{ ?s ?p {i} }} #" + "z" * 60_000, "results")
        ep._negotiated.put(("results", "text/csv;q=0.5, " + "a/b, " * 800 + str(i), ()), "csv")
    assert ep.query_families.bytes <= 1 << 20 and len(ep.query_families) < 20
    assert ep._negotiated.bytes <= 1 << 20 and len(ep._negotiated) < 300


def test_lru_dict_keeps_nothing_larger_than_its_bound():
    d = LruDict(10, max_bytes=1000)
    d.put("k" * 2000, 1)
    assert len(d) == 0 and d.bytes == 0
    d.put("a", 1)
    d.put("a", 2)
    assert d.get("a") == 2 and d.bytes == approx_size("a") + approx_size(2) + 100


# ------------------------------------------------------------------------------ class 8: health that tells the truth

def test_a_worker_killed_while_idle_is_dropped_replaced_and_no_query_fails(server):
    before = server.wait_idle(2)["pids"]
    psutil.Process(before[0]).kill()
    for i in range(6):  # at once: none of them may meet the dead worker
        r = server.get("/sparql", params={"query": f"ASK {{ ?s ?p {i} }}"})
        assert r.status_code == 200, (i, r.status_code, r.text)
    assert _until(lambda: before[0] not in server.workers()["pids"], 1.0)
    after = server.wait_idle(2)["pids"]
    assert before[0] not in after and before[1] in after and process_gone(before[0])


def test_health_lists_only_live_workers(server):
    before = server.wait_idle(2)["pids"]
    for pid in before:
        psutil.Process(pid).kill()
    seen: list[int] = []

    def no_dead() -> bool:
        body = server.get("/health").json()
        pids = server.workers()["pids"]
        seen.append(body["workers"])
        return not set(before) & set(pids) and body["workers"] == len(pids)

    assert _until(no_dead, 1.0), seen
    after = server.wait_idle(2)["pids"]
    assert not set(before) & set(after)
    assert server.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).status_code == 200


# ------------------------------------------------------------------------------ class 10: the dump job is reaped

def test_a_finished_dump_job_leaves_no_zombie_after_a_reload(hostile_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(hostile_store, store)
    pub = Publication(Settings(store_path=store, queries_dir=API_FIXTURES / "queries"))
    with pytest.raises(PublicationPending):
        pub.dumps()
    job = pub._job
    assert job is not None
    pub.__init__(pub.settings)  # what a reload does (kg.api.reload): the old job is forgotten

    def reaped() -> bool:
        return not psutil.pid_exists(job.pid)

    assert _until(reaped, 120), psutil.Process(job.pid).status()


# ------------------------------------------------------------------------------ class 1: bounded before it starts

def test_a_multipart_diff_of_many_parts_is_refused_before_parsing(server):
    part = b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n"
    body = part * ((1 << 20) // len(part) - 1) + b"--b--\r\n"
    assert len(body) <= 1 << 20
    t, out = _in_thread(lambda: server.post("/diff", content=body,
                                            headers={"Content-Type": "multipart/form-data; boundary=b"}))
    health = []
    while t.is_alive():
        t0 = time.monotonic()
        server.get("/health")
        health.append(time.monotonic() - t0)
        time.sleep(0.02)
    t.join()
    r = out["r"]
    assert r.status_code == 400 and "parts; at most 8" in r.text, r.text
    assert_clean_error(r)
    assert r.elapsed.total_seconds() < 2 and max(health, default=0) < 1


def test_a_multipart_diff_with_its_three_parts_is_still_read(server):
    files = {"old": ("a.ttl", b"not turtle at all", "text/turtle"), "new": ("b.ttl", b"also not", "text/turtle")}
    r = server.post("/diff", files=files)
    assert r.status_code == 400 and "parts" not in r.text, r.text


@pytest.mark.parametrize("path", ["/sparql?query=ASK%20%7B%7D", "/queries", "/", "/ui"])
def test_a_long_accept_header_is_refused_before_negotiation(server, path):
    accept = ", ".join(f"type{i}/sub{i};q=0.{i % 9 + 1}" for i in range(600))  # about 14 KiB
    t0 = time.monotonic()
    r = server.get(path, headers={"Accept": accept})
    assert r.status_code == 431 and "Accept header too long" in r.text, r.text
    assert time.monotonic() - t0 < 1
    assert_clean_error(r)
    assert server.get(path, headers={"Accept": "*/*"}).status_code < 400
