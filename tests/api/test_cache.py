"""The response cache of /sparql and /queries/{name} (kg/api/cache.py) on a real server: hits, ETag and
304, Vary by format, bounds, hits while every worker is busy, and a new graph version after a reload."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from kg.api.cache import ResponseCache, etag_matches
from kg.pipeline.build import Layout, build

from .conftest import DEADLINE, RUNAWAY, start_server, stop_server

pytestmark = pytest.mark.timeout(180)

Q = "SELECT ?s ?o WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o } ORDER BY ?s ?o"


def test_second_request_is_a_hit_with_identical_bytes(server):
    q = Q + " # cache-test-1"
    first = httpx.get(server.sparql, params={"query": q}, timeout=30)
    second = httpx.get(server.sparql, params={"query": q}, timeout=30)
    assert first.status_code == second.status_code == 200
    assert first.headers["remit-cache"] == "miss" and second.headers["remit-cache"] == "hit"
    assert first.content == second.content and len(first.content) > 50
    assert first.headers["etag"] == second.headers["etag"] and first.headers["etag"].startswith('"')
    assert second.headers["cache-control"].startswith("public, max-age=")
    assert second.headers["vary"] == "Accept"
    assert second.headers["content-type"] == first.headers["content-type"]
    # the same query by POST (form or body) is the same answer
    form = httpx.post(server.sparql, data={"query": q}, timeout=30)
    body = httpx.post(server.sparql, content=q, headers={"Content-Type": "application/sparql-query"}, timeout=30)
    for r in (form, body):
        assert r.status_code == 200 and r.headers["remit-cache"] == "hit" and r.content == first.content


def test_no_cache_request_is_answered_afresh(server):
    q = Q + " # cache-test-nc"
    first = httpx.get(server.sparql, params={"query": q}, timeout=30)
    for url, params in ((server.sparql, {"query": q}), (server.url + "/queries/inspectors", {"limit": "3"})):
        httpx.get(url, params=params, timeout=30)
        fresh = httpx.get(url, params=params, headers={"Cache-Control": "no-cache"}, timeout=30)
        assert fresh.status_code == 200 and fresh.headers["remit-cache"] == "miss"
        assert httpx.get(url, params=params, timeout=30).headers["remit-cache"] == "hit"
    assert fresh is not None and first.status_code == 200


def test_if_none_match_gives_304_without_body(server):
    q = Q + " # cache-test-2"
    tag = httpx.get(server.sparql, params={"query": q}, timeout=30).headers["etag"]
    r = httpx.get(server.sparql, params={"query": q}, headers={"If-None-Match": tag}, timeout=30)
    assert r.status_code == 304 and r.content == b""
    assert r.headers["etag"] == tag
    # a list, a weak form and * match too; another tag does not
    for header in (f'"nope", {tag}', "W/" + tag, "*"):
        assert httpx.get(server.sparql, params={"query": q}, headers={"If-None-Match": header},
                         timeout=30).status_code == 304
    other = httpx.get(server.sparql, params={"query": q}, headers={"If-None-Match": '"nope"'}, timeout=30)
    assert other.status_code == 200 and other.content


def test_a_different_format_has_a_different_etag(server):
    q = Q + " # cache-test-3"
    js = httpx.get(server.sparql, params={"query": q}, headers={"Accept": "application/sparql-results+json"},
                   timeout=30)
    csv = httpx.get(server.sparql, params={"query": q}, headers={"Accept": "text/csv"}, timeout=30)
    assert js.status_code == csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["remit-cache"] == "miss"  # not the JSON answer
    assert js.headers["etag"] != csv.headers["etag"]
    # format= names the same representation as the Accept header: same key, a hit
    again = httpx.get(server.sparql, params={"query": q, "format": "csv"}, timeout=30)
    assert again.headers["remit-cache"] == "hit" and again.content == csv.content
    # the JSON tag does not validate the CSV representation
    r = httpx.get(server.sparql, params={"query": q}, headers={"Accept": "text/csv", "If-None-Match": js.headers["etag"]},
                  timeout=30)
    assert r.status_code == 200 and r.content == csv.content


def test_errors_are_not_cached(server):
    q = "SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }"
    for _ in range(2):
        r = httpx.get(server.sparql, params={"query": q}, timeout=30)
        assert r.status_code == 400
        assert "etag" not in r.headers and "remit-cache" not in r.headers


def test_named_query_pages_are_cached(server):
    url = server.url + "/queries/inspectors"
    a = httpx.get(url, params={"format": "csv", "limit": "7"}, timeout=30)
    b = httpx.get(url, params={"format": "csv", "limit": "7"}, timeout=30)
    assert a.status_code == b.status_code == 200
    assert (a.headers["remit-cache"], b.headers["remit-cache"]) == ("miss", "hit")
    assert a.content == b.content
    other_page = httpx.get(url, params={"format": "csv", "limit": "7", "offset": "1"}, timeout=30)
    assert other_page.headers["remit-cache"] == "miss" and other_page.headers["etag"] != a.headers["etag"]
    as_json = httpx.get(url, params={"limit": "7"}, timeout=30)
    assert as_json.headers["etag"] != a.headers["etag"]
    assert httpx.get(url, params={"format": "csv", "limit": "7"}, headers={"If-None-Match": a.headers["etag"]},
                     timeout=30).status_code == 304


@pytest.fixture(scope="module")
def one_worker(store_dir, tmp_path_factory):
    s = start_server(store_dir, tmp_path_factory.mktemp("log"), REMIT_WORKERS="1", REMIT_QUEUE_LIMIT="0",
                     REMIT_CACHE_MAX_ENTRIES="3", REMIT_CACHE_MAX_BYTES="8192")
    yield s
    stop_server(s)


def test_a_hit_is_served_while_every_worker_is_busy(one_worker):
    """With the only worker held by a runaway (observed on the admin workers endpoint), a cached answer is
    served and an uncached query is refused; afterwards the runaway had still not answered, so both were
    answered while the worker was busy. An attempt where the runaway ended first is run again."""
    s = one_worker
    s.wait_workers(1)
    warm = httpx.get(s.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
    assert warm.status_code == 200 and warm.headers["remit-cache"] == "miss"
    for attempt in range(5):
        s.wait_workers(1)
        result: dict = {}
        t = threading.Thread(target=lambda: result.update(r=httpx.get(s.sparql, params={"query": RUNAWAY}, timeout=60)))
        t.start()
        try:
            end = time.monotonic() + 30
            while s.workers()["busy"] != 1 and not result and time.monotonic() < end:
                time.sleep(0.02)
            t0 = time.monotonic()
            hit = httpx.get(s.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
            hit_time = time.monotonic() - t0
            # a query that needs a worker gets none: the only worker is busy and nothing may wait
            busy = httpx.get(s.sparql, params={"query": f"ASK {{ ?s ?p ?s }} # busy {attempt}"}, timeout=30)
            held = not result
        finally:
            t.join(60)
        assert result["r"].status_code == 503  # the runaway met its deadline
        if not held:
            continue
        assert hit.status_code == 200 and hit.headers["remit-cache"] == "hit" and hit.content == warm.content
        assert hit_time < DEADLINE  # not behind the runaway
        assert busy.status_code == 503
        s.wait_workers(1)
        return
    pytest.fail("in 5 attempts the runaway never stayed busy while the cache was asked")


def test_the_cache_respects_its_bounds(one_worker):
    s = one_worker
    s.wait_workers(1)
    qs = [f"SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {n}" for n in (1, 2, 3, 4)]
    for q in qs:
        assert httpx.get(s.sparql, params={"query": q}, timeout=30).headers["remit-cache"] == "miss"
    # at most 3 entries: the least recently used one (LIMIT 1) is gone, the newest is there
    assert httpx.get(s.sparql, params={"query": qs[-1]}, timeout=30).headers["remit-cache"] == "hit"
    assert httpx.get(s.sparql, params={"query": qs[0]}, timeout=30).headers["remit-cache"] == "miss"
    # an answer over an eighth of the 8 KiB byte bound is answered, never kept
    big = "CONSTRUCT WHERE { ?s ?p ?o }"
    for _ in range(2):
        r = httpx.get(s.sparql, params={"query": big}, timeout=30)
        assert r.status_code == 200 and len(r.content) > 1024 and r.headers["remit-cache"] == "miss"


def test_cache_unit_bounds_by_entries_and_bytes():
    c = ResponseCache(max_entries=10, max_bytes=8 * 1000, version="v1")
    for i in range(10):
        c.put(("k", i), "v1", b"x" * 600, "text/plain")
    assert len(c) < 10 and c.bytes <= 8000  # the byte bound evicted the oldest
    assert c.get(("k", 0)) is None and c.get(("k", 9)) is not None
    assert c.put(("k", "old"), "v0", b"y", "text/plain") is None  # computed on another graph: not kept
    c.set_version("v2")
    assert len(c) == 0 and c.bytes == 0
    a, b = c.put("a", "v2", b"1", "text/plain"), ResponseCache(1, 1000, "v3").put("a", "v3", b"1", "text/plain")
    assert a is not None and b is not None and a.etag != b.etag  # the graph version is in the tag
    assert etag_matches(f'W/{a.etag}', a.etag) and not etag_matches(None, a.etag)


def test_after_a_reload_the_old_etag_no_longer_matches(tmp_path: Path):
    from hardening.conftest import make_source_tree, start_server as start_tree_server, stop_server as stop_tree
    from hardening.test_reload import COUNT_ASSERTED, agreement

    root = make_source_tree(tmp_path)
    build(Layout(root=root))
    s = start_tree_server(root / "build" / "store", tmp_path, cwd=root, REMIT_SOURCE_ROOT=str(root),
                          REMIT_DATA_DIR=str(root / "data"), REMIT_BUILD_DIR=str(root / "build"),
                          REMIT_RELOAD_FAIL_ON="none")
    try:
        params = {"query": COUNT_ASSERTED, "format": "json"}
        first = s.get("/sparql", params=params)
        hit = s.get("/sparql", params=params)
        assert hit.headers["remit-cache"] == "hit"
        tag, before = first.headers["etag"], int(first.json()["results"]["bindings"][0]["n"]["value"])
        (root / "data" / "agreements" / "z.ttl").write_text(agreement("z"), encoding="utf-8")
        r = s.admin("POST", "/admin/reload")
        assert r.status_code == 200 and r.json()["status"] == "reloaded", r.text
        after = s.get("/sparql", params=params, headers={"If-None-Match": tag})
        assert after.status_code == 200 and after.headers["remit-cache"] == "miss"
        assert after.headers["etag"] != tag
        assert int(after.json()["results"]["bindings"][0]["n"]["value"]) > before
        assert s.get("/sparql", params=params, headers={"If-None-Match": after.headers["etag"]}).status_code == 304
    finally:
        stop_tree(s)
