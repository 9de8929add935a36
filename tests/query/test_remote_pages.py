"""Pages, linked data, VoID, dumps, search and ``POST /check`` over an external store (``kg serve --store URL``),
against the same features on the embedded store, on the real build (no mocks).

One real Oxigraph server, loaded by the real ``kg push`` CLI from the shared real build; two real ``kg serve``
processes with the same public base URL: one on the build's own store, one on the Oxigraph server. Every answer
is compared between the two, produced in the same run (templates change while this is written: nothing is
compared with fixed HTML).

The real build has citation nodes (blank nodes) that an inferred triple also mentions: the Graph Store Protocol
sends one graph per request, so in the external store each such node is two blank nodes (docs/scale.md). What
that changes is asserted here exactly: a resource's nested "derived from" citation, its RDF document's blank
nodes, the dumps' blank-node lines (so their hashes) and VoID's distinct subject/object counts. Everything
else is equal.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pyoxigraph as ox
import pytest

from support.realbuild import ROOT, ensure_real_build
from support.servers import free_port, oxigraph_server, spawn_serve, terminate, wait_healthy

pytestmark = pytest.mark.timeout(600)

BASE = "https://remit.example.org"
REVISION = "examples/hmi-probation-cqc-yot-revision.yaml"
HTML = {"Accept": "text/html"}


class Pair:
    def __init__(self, local: str, remote: str):
        self.local, self.remote = local, remote

    def get(self, path: str, **kw: object) -> tuple[httpx.Response, httpx.Response]:
        kw.setdefault("timeout", 120)
        return (httpx.get(self.local + path, follow_redirects=False, **kw),  # type: ignore[arg-type]
                httpx.get(self.remote + path, follow_redirects=False, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    build = ensure_real_build()
    tmp = tmp_path_factory.mktemp("remote-pages")
    try:
        with oxigraph_server(tmp / "oxigraph") as base:
            r = subprocess.run([sys.executable, "-m", "kg.cli", "push", "--store", base + "/query",
                                "--dataset", str(build / "remit.trig")], capture_output=True, text=True, cwd=ROOT,
                               timeout=300)
            assert r.returncode == 0, r.stderr
            env = {**os.environ, "REMIT_PUBLIC_BASE_URL": BASE, "REMIT_WORKERS": "1", "REMIT_QUEUE_LIMIT": "8",
                   "REMIT_CLIENT_BUDGET_SECONDS": "10000", "REMIT_STORE_VERSION_CHECK_SECONDS": "2"}
            ports = free_port(), free_port()
            procs = [spawn_serve(build / "store", ports[0], env, tmp / "local.log"),
                     spawn_serve(base + "/query", ports[1], env, tmp / "remote.log")]  # type: ignore[arg-type]
            try:
                for proc, port, log in zip(procs, ports, ("local.log", "remote.log")):
                    wait_healthy(proc, f"http://127.0.0.1:{port}", tmp / log, timeout=120)
                yield Pair(f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
            finally:
                for proc in procs:
                    terminate(proc)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _links(html: str, pattern: str) -> list[str]:
    return sorted(set(re.findall(r'href="([^"]*' + pattern + r'[^"]*)"', html)))


def _nt(body: bytes, fmt: ox.RdfFormat) -> tuple[set[str], int]:
    """The triples without blank nodes (as N-Triples lines) and the number with one."""
    plain, blank = set(), 0
    for t in ox.parse(body, format=fmt):
        if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
            blank += 1
        else:
            plain.add(f"{t.subject} {t.predicate} {t.object}")
    return plain, blank


def test_pages_are_the_same_over_the_store(pair: Pair) -> None:
    home = pair.get("/", headers=HTML)
    assert home[0].status_code == home[1].status_code == 200
    assert home[0].text == home[1].text
    matrix = pair.get("/matrix.html")[0].text
    places = pair.get("/places/index.html")[0].text
    cells = _links(matrix, "matrix/")[:2]
    place_pages = [p for p in _links(places, ".html") if p.count("/") == 1][:2]
    assert cells and place_pages
    paths = ["/index.html", "/agreements.html", "/bodies.html", "/matrix.html", "/places/index.html", "/def.html",
             "/ui", "/id/body/cqc.html", "/id/setting/police-custody-merseyside.html",
             "/id/document/s37.html",
             *("/" + c for c in cells), *("/places/" + p for p in place_pages)]
    for path in paths:
        local, remote = pair.get(path, headers=HTML)
        assert local.status_code == 200 and remote.status_code == 200, (path, remote.text[:500])
        assert local.text == remote.text, path
    ctx = pair.get("/context.jsonld")
    assert ctx[0].json() == ctx[1].json() and ctx[1].headers["content-type"].startswith("application/ld+json")


def test_linked_data_negotiation_and_documents(pair: Pair) -> None:
    for accept in ("text/turtle", "text/html", "application/ld+json", "application/n-triples"):
        local, remote = pair.get("/id/body/cqc", headers={"Accept": accept})
        assert local.status_code == remote.status_code == 303
        assert local.headers["location"] == remote.headers["location"]
    missing = pair.get("/id/body/no-such-body", headers={"Accept": "text/plain"})
    assert missing[0].status_code == missing[1].status_code == 404
    local, remote = pair.get("/id/document/s37.nt")  # no blank node in it: the same bytes
    assert local.status_code == remote.status_code == 200 and local.content == remote.content
    for doc in ("/id/setting/police-custody-merseyside.ttl", "/id/body/cqc.jsonld"):
        local, remote = pair.get(doc)
        assert local.status_code == remote.status_code == 200
        fmt = ox.RdfFormat.TURTLE if doc.endswith(".ttl") else ox.RdfFormat.JSON_LD
        (lp, lb), (rp, rb) = _nt(local.content, fmt), _nt(remote.content, fmt)
        assert lp and lp == rp and rb >= lb, doc  # citations are blank nodes: see the next test


def test_split_citation_nodes_change_only_what_they_touch(pair: Pair) -> None:
    """A commitment's citation is mentioned by an inferred prov:wasDerivedFrom: in the external store that
    mention is a second blank node carrying only the inferred triples."""
    for page in ("/id/agreement/cqc-hmi-prisons-2016/commitment-coordinate-interventions",
                 "/id/agreement/hmi-probation-cqc-yot/contact-cqc"):  # a commitment, a contact (with its address)
        local, remote = pair.get(page + ".html")
        assert local.status_code == remote.status_code == 200
        cites = re.compile(r"<cite\b.*?</cite>", re.S)
        assert cites.findall(local.text) and cites.findall(local.text) == cites.findall(remote.text)
        strip = re.compile(r'<dl class="remit-nested">.*?</dl>', re.S)  # the nested blank-node values
        assert local.text != remote.text and strip.sub("", local.text) == strip.sub("", remote.text)
        local, remote = pair.get(page + ".nt")
        (lp, lb), (rp, rb) = _nt(local.content, ox.RdfFormat.N_TRIPLES), _nt(remote.content, ox.RdfFormat.N_TRIPLES)
        assert lp == rp and rb >= lb  # the same IRI triples; the copy's own triples added


def test_void_is_counted_by_the_store(pair: Pair) -> None:
    local, remote = _wait_ok(pair.local + "/.well-known/void.ttl"), _wait_ok(pair.remote + "/.well-known/void.ttl")
    assert local.status_code == remote.status_code == 200

    def stats(body: bytes) -> dict[str, str]:
        out = {}
        for t in ox.parse(body, format=ox.RdfFormat.TURTLE):
            if str(t.subject) == "<https://w3id.org/remit/id/dataset>" and "void#" in t.predicate.value:
                if isinstance(t.object, ox.Literal):
                    out[t.predicate.value.split("#")[1]] = t.object.value
        return out

    ls, rs = stats(local.content), stats(remote.content)
    assert set(ls) >= {"triples", "entities", "properties", "classes", "distinctSubjects", "distinctObjects"}
    same = {k for k in ls if ls[k] == rs.get(k)}
    assert {"entities", "properties", "classes"} <= same, (ls, rs)
    # each split citation node is one more distinct subject (it carries inferred triples) and object
    assert int(rs["distinctSubjects"]) >= int(ls["distinctSubjects"])


def _wait_ok(url: str, timeout: float = 180) -> httpx.Response:
    end = time.monotonic() + timeout
    while True:
        r = httpx.get(url, timeout=120)
        if r.status_code == 200 or time.monotonic() > end:
            return r
        time.sleep(1)


def test_search_index_is_built_from_the_store(pair: Pair) -> None:
    local = _wait_ok(pair.local + "/search?q=prison&format=json")
    remote = _wait_ok(pair.remote + "/search?q=prison&format=json")
    assert local.status_code == remote.status_code == 200, remote.text
    assert remote.json()["count"] > 0
    assert local.json() == remote.json()


def test_dumps_are_read_from_the_store(pair: Pair) -> None:
    local = _wait_ok(pair.local + "/dumps/latest/remit.nt.gz")
    remote = _wait_ok(pair.remote + "/dumps/latest/remit.nt.gz")
    assert local.status_code == remote.status_code == 200
    lp, lb = _nt(gzip.decompress(local.content), ox.RdfFormat.N_TRIPLES)
    rp, rb = _nt(gzip.decompress(remote.content), ox.RdfFormat.N_TRIPLES)
    assert lp == rp  # every triple without a blank node, byte for byte
    # as many blank-node triples, but a split citation node's inferred triples are on its copy, which gets
    # another label (a digest of the node's own quads): so the dumps' bytes and hashes differ
    assert rb == lb and local.content != remote.content
    digest = httpx.get(pair.remote + "/dumps/latest/remit.nt.gz.sha256", timeout=60)
    assert digest.status_code == 200 and digest.text.split()[0] == remote.headers["digest"].split("=", 1)[1]


def test_check_reads_the_store(pair: Pair) -> None:
    text = (ROOT / REVISION).read_text(encoding="utf-8")
    params = {"replaces": "agreement:hmi-probation-cqc-yot", "asOf": "2025-01-01", "name": REVISION}
    headers = {"Content-Type": "application/yaml", "Accept": "application/json"}
    local = httpx.post(pair.local + "/check", content=text.encode(), params=params, headers=headers, timeout=300)
    remote = httpx.post(pair.remote + "/check", content=text.encode(), params=params, headers=headers, timeout=300)
    assert local.status_code == remote.status_code == 200, remote.text[:2000]
    assert remote.headers["remit-check-status"] == local.headers["remit-check-status"] == "fail"
    assert remote.json()["findings"] == local.json()["findings"]
    assert remote.json()["impact"] == local.json()["impact"]
