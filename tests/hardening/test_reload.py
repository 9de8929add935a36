"""Reload on SIGHUP or POST /admin/reload: only a good rebuild is served, atomically; a broken source
leaves the served graph exactly as it was and the failure is reported. Real server, real `kg build`."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from kg.pipeline.build import Layout, build

from support.probes import process_gone, served_fingerprint

from .conftest import TOKEN, Server, assert_clean_error, make_source_tree, start_server, stop_server

pytestmark = pytest.mark.timeout(240)

ASSERTED = "https://w3id.org/remit/id/graph/asserted"
COUNT_ASSERTED = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ASSERTED}> {{ ?s ?p ?o }} }}"

PREFIXES = """@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix remit: <https://w3id.org/remit/def/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def agreement(slug: str, lead: bool = True, cited: bool = True) -> str:
    """An agreement with one area; ``lead=False``: the area names no lead (the shape's Violation, a kind
    the real data has too); ``cited=False``: the body has no citation (a QC Violation of a new kind)."""
    cite = ('    remit:citation [ a remit:Citation ; remit:citedDocument '
            '<https://w3id.org/remit/id/document/mou-a> ; remit:locator "p. 1" ] .\n')
    return PREFIXES + f"""
<https://w3id.org/remit/id/agreement/{slug}> a remit:Agreement ;
    rdfs:label "Agreement {slug}"@en ;
    dcterms:date "2014-05-01"^^xsd:date ;
    remit:party <https://w3id.org/remit/id/body/{slug}-body> ;
    remit:areaOfJointWork <https://w3id.org/remit/id/agreement/{slug}/area/1> ;
{cite}
<https://w3id.org/remit/id/agreement/{slug}/area/1> a remit:AreaOfJointWork ;
    rdfs:label "Area of {slug}"@en ;
""" + (f"    remit:leadBody <https://w3id.org/remit/id/body/{slug}-body> ;\n" if lead else "") + cite + f"""
<https://w3id.org/remit/id/body/{slug}-body> a remit:Inspectorate ;
    rdfs:label "Body of {slug}"@en """ + (";\n" + cite if cited else ".\n")


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = make_source_tree(tmp_path)
    # the served graph already has a Violation (an area naming no lead), as the real data does
    (root / "data" / "agreements" / "c.ttl").write_text(agreement("c", lead=False), encoding="utf-8")
    result = build(Layout(root=root))
    assert result.manifest["findings"]["Violation"] >= 1
    return root


@pytest.fixture()
def live(tree: Path, tmp_path: Path):
    s = start_server(tree / "build" / "store", tmp_path, cwd=tree, REMIT_SOURCE_ROOT=str(tree),
                     REMIT_DATA_DIR=str(tree / "data"), REMIT_BUILD_DIR=str(tree / "build"))
    yield s
    stop_server(s)


def count(server: Server) -> int:
    r = server.get("/sparql", params={"query": COUNT_ASSERTED, "format": "json"})
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def test_admin_routes_need_the_token_and_carry_no_cors(live: Server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"},
                    {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}):
        r = live.post("/admin/reload", headers={**headers, "Origin": "https://evil.example"})
        assert r.status_code == 401, (headers, r.status_code)
        assert r.headers.get("www-authenticate") == "Bearer"
        assert not any(k.lower().startswith("access-control-") for k in r.headers)
        assert_clean_error(r)
    pre = httpx.options(live.url + "/admin/reload", timeout=10, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code in (401, 404, 405)
    assert not any(k.lower().startswith("access-control-") for k in pre.headers)
    ok = live.admin("POST", "/admin/reload")
    assert ok.status_code == 200 and ok.json()["status"] == "unchanged"
    assert not any(k.lower().startswith("access-control-") for k in ok.headers)
    assert "/admin/reload" not in live.get("/openapi.json").text


def test_no_admin_routes_without_a_token(tree: Path, tmp_path: Path):
    s = start_server(tree / "build" / "store", tmp_path, cwd=tree, REMIT_ADMIN_TOKEN="")
    try:
        for path in ("/admin/reload", "/admin/workers"):
            r = httpx.post(s.url + path, headers={"Authorization": "Bearer x"}, timeout=10)
            assert r.status_code in (404, 405), (path, r.status_code)
        assert s.get("/health").status_code == 200
    finally:
        stop_server(s)


def test_reload_switches_atomically_and_retires_old_workers(live: Server, tree: Path):
    before = count(live)
    old_pids = set(live.wait_idle(2)["pids"])
    (tree / "data" / "agreements" / "b.ttl").write_text(agreement("b", lead=False), encoding="utf-8")
    seen: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(timeout=20) as c:
            while not stop.is_set():
                r = c.get(live.sparql, params={"query": COUNT_ASSERTED, "format": "json"})
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:200]}")
                    continue
                seen.append(int(r.json()["results"]["bindings"][0]["n"]["value"]))

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    r = live.admin("POST", "/admin/reload")
    time.sleep(0.5)
    stop.set()
    for t in readers:
        t.join(30)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "reloaded", out
    after = count(live)
    assert after > before
    assert errors == []
    assert set(seen) <= {before, after} and after in seen, set(seen)  # never a mix
    st = live.wait_idle(2)
    assert not (set(st["pids"]) & old_pids)
    assert st["generation"] == 1
    for pid in old_pids:  # the old workers are really gone
        assert process_gone(pid)
    h = live.get("/health").json()
    assert h["last_reload"]["status"] == "reloaded" and h["last_reload_error"] is None
    # the service description counts the new graph too
    assert str(after) in live.get("/sparql", headers={"Accept": "text/turtle"}).text
    # pages (when present) show the new agreement
    page = live.get("/id/agreement/b", headers={"Accept": "text/html"}, follow_redirects=True)
    if page.status_code != 404:
        assert page.status_code == 200 and "Agreement b" in page.text


@pytest.mark.parametrize("breakage,expect", [
    ("syntax", "b.ttl:"),
    ("new-kind", "fact-without-source"),
])
def test_a_bad_rebuild_leaves_the_graph_and_reports(live: Server, tree: Path, breakage: str, expect: str):
    fp = served_fingerprint(live)
    bad = tree / "data" / "agreements" / "b.ttl"
    if breakage == "syntax":
        bad.write_text(agreement("b") + "\n<https://w3id.org/remit/id/x> rdfs:label \"unterminated .\n",
                       encoding="utf-8")
    else:
        bad.write_text(agreement("b", cited=False), encoding="utf-8")
    r = live.admin("POST", "/admin/reload")
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["status"] == "failed" and expect in out["detail"], out["detail"]
    assert served_fingerprint(live) == fp  # nothing changed
    h = live.get("/health").json()  # public: that it failed, not where (no file, line or folder)
    assert h["status"] == "ok" and h["last_reload_error"] is not None and expect not in str(h)
    assert h["last_reload"]["status"] == "failed" and "/" not in h["last_reload_error"]["detail"].replace(
        "GET /admin/reload", "")
    assert str(tree) not in live.get("/health").text
    full = live.admin("GET", "/admin/reload").json()  # the details: to the admin (and the log)
    assert expect in full["last_reload_error"]["detail"]
    assert httpx.get(live.url + "/admin/reload", timeout=10).status_code == 401
    assert not (tree / ".build.reload").exists()
    # fix it: the next reload succeeds and clears the error
    bad.write_text(agreement("b"), encoding="utf-8")
    r2 = live.admin("POST", "/admin/reload")
    assert r2.status_code == 200 and r2.json()["status"] == "reloaded", r2.text
    assert live.get("/health").json()["last_reload_error"] is None
    assert served_fingerprint(live) != fp


def test_sighup_reloads(live: Server, tree: Path):
    before = count(live)
    (tree / "data" / "agreements" / "d.ttl").write_text(agreement("d"), encoding="utf-8")
    live.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        h = live.get("/health").json()
        if h["last_reload"] and not h["reloading"]:
            break
        time.sleep(0.2)
    assert h["last_reload"]["status"] == "reloaded", h
    assert h["last_reload"]["trigger"] == "SIGHUP"
    assert count(live) > before
    assert live.proc.poll() is None  # SIGHUP did not end the server


def test_reload_is_refused_when_serving_from_an_external_store() -> None:
    """Regression: reload used to rebuild and switch to a local store even in remote mode."""
    import asyncio
    from types import SimpleNamespace

    from kg.api.reload import Reloader
    from kg.settings import Settings

    settings = Settings(remote_store_url="http://127.0.0.1:9/query")
    reloader = Reloader(SimpleNamespace(settings=settings))
    outcome = asyncio.run(reloader.reload("test"))
    assert not outcome.ok and "external store" in outcome.detail
    assert reloader.state()["last_reload_error"]["detail"] == outcome.detail
