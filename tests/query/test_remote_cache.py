"""The response cache of ``kg serve --store URL``, keyed by the version ``kg push`` records (no mocks).

A real Oxigraph server; build A (the small synthetic build of ``test_remote``) is pushed with the real CLI,
two real ``kg serve --store`` processes answer from it (a web tier scaled out over one store), with the
version check every second. Then build B (A with one body's label changed) is pushed: within a few seconds
both instances answer B's label, from a cache emptied by the new version. While the store holds no version
(the metadata graph deleted, as during a push) nothing is cached.
"""

from __future__ import annotations

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

from api.conftest import Server, start_server, stop_server
from kg.ops.push import dataset_version
from kg.query.remote import RemoteStore
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_META
from support.servers import oxigraph_server
from query.test_remote import ROOT, built  # noqa: F401  (built is a fixture)

pytestmark = pytest.mark.timeout(180)

CHECK_SECONDS = 1
ENV = {"REMIT_QUERIES_DIR": str(ROOT / "queries"), "REMIT_WORKERS": "1", "REMIT_QUEUE_LIMIT": "4",
       "REMIT_STORE_VERSION_CHECK_SECONDS": str(CHECK_SECONDS)}
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
NEW_LABEL = "Synthetic body renamed for build B"


def _first_body(dataset: Path) -> tuple[str, str]:
    store = ox.Store()
    store.load(path=str(dataset), format=ox.RdfFormat.TRIG)
    row = next(iter(store.query(
        f"SELECT ?b ?l WHERE {{ GRAPH <{GRAPH_ASSERTED}> {{ ?b <{RDFS_LABEL}> ?l }} FILTER(STRSTARTS(STR(?b), 'https://w3id.org/remit/id/body/synth-')) }} "
        "ORDER BY ?b LIMIT 1")))
    return row["b"].value, row["l"].value


@pytest.fixture(scope="module")
def build_b(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """Build A with the label of its first synthetic body changed (asserted graph)."""
    body, label = _first_body(built)
    store = ox.Store()
    store.load(path=str(built), format=ox.RdfFormat.TRIG)
    g = ox.NamedNode(str(GRAPH_ASSERTED))
    store.remove(ox.Quad(ox.NamedNode(body), ox.NamedNode(RDFS_LABEL), ox.Literal(label), g))
    store.add(ox.Quad(ox.NamedNode(body), ox.NamedNode(RDFS_LABEL), ox.Literal(NEW_LABEL), g))
    out = tmp_path_factory.mktemp("build-b") / "remit.trig"
    store.dump(str(out), format=ox.RdfFormat.TRIG)
    return out


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with oxigraph_server(tmp_path_factory.mktemp("oxigraph-cache")) as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _push(dataset: Path, store: str) -> str:
    r = subprocess.run([sys.executable, "-m", "kg.cli", "push", "--store", store, "--dataset", str(dataset)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    m = re.search(r"version (sha256:[0-9a-f]{64})", r.stdout)
    assert m, r.stdout
    return m.group(1)


@pytest.fixture(scope="module")
def servers(built: Path, oxigraph: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:  # noqa: F811
    store = oxigraph + "/query"
    assert _push(built, store) == dataset_version(built)
    started: list[Server] = []
    try:
        for i in range(2):
            started.append(start_server(store, tmp_path_factory.mktemp(f"serve-{i}"), **ENV))  # type: ignore[arg-type]
        yield started
    finally:
        for s in started:
            stop_server(s)


def _get(server: Server, query: str) -> httpx.Response:
    r = httpx.get(server.sparql, params={"query": query}, headers={"Accept": "application/sparql-results+json"},
                  timeout=30)
    assert r.status_code == 200, r.text
    return r


def _label(r: httpx.Response) -> str:
    return r.json()["results"]["bindings"][0]["l"]["value"]


def _wait_for(server: Server, query: str, label: str, timeout: float) -> float:
    """Seconds until ``server`` answers ``label``; fails after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if _label(_get(server, query)) == label:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"{server.url} still answers {_label(_get(server, query))!r} after {timeout} s")


def test_push_records_the_version_in_the_meta_graph(built: Path, oxigraph: str, servers: list[Server]) -> None:  # noqa: F811
    remote = RemoteStore(oxigraph + "/query")
    assert remote.version() == dataset_version(built)
    assert remote.count(str(GRAPH_META)) == 1
    # the metadata graph is not in the default graph of the queries
    r = _get(servers[0], f"ASK {{ ?s <http://www.w3.org/ns/dcat#version> ?v }}")
    assert r.json()["boolean"] is False


def test_cache_follows_a_push_on_every_instance(built: Path, build_b: Path, oxigraph: str,  # noqa: F811
                                                servers: list[Server]) -> None:
    body, label_a = _first_body(built)
    query = f"SELECT ?l WHERE {{ <{body}> <{RDFS_LABEL}> ?l }}"
    one, two = servers
    first, again = _get(one, query), _get(one, query)
    assert _label(first) == _label(again) == label_a
    assert (first.headers["remit-cache"], again.headers["remit-cache"]) == ("miss", "hit")
    assert again.content == first.content
    assert f"max-age={CHECK_SECONDS}" in again.headers["cache-control"]  # clients keep it no longer than a check
    other = _get(two, query)
    assert other.content == first.content and other.headers["etag"] == first.headers["etag"]  # same store, same tag
    assert _get(two, query).headers["remit-cache"] == "hit"
    # the body's page (rendered over the store, kg.api.remote_site), cached per version like the answers
    page = "/id/body/" + body.rsplit("/", 1)[1] + ".html"
    pages = [httpx.get(s.url + page, timeout=60) for s in (one, two, one)]
    assert all(r.status_code == 200 and label_a in r.text for r in pages)
    assert pages[0].text == pages[1].text and pages[2].headers.get("remit-cache") == "hit"

    version_b = _push(build_b, oxigraph + "/query")
    assert version_b == dataset_version(build_b) != dataset_version(built)
    waited = [_wait_for(s, query, NEW_LABEL, timeout=10 * CHECK_SECONDS) for s in servers]
    assert max(waited) <= 5 * CHECK_SECONDS, waited
    time.sleep(2 * CHECK_SECONDS)  # the version written last is seen: answers are kept again (a miss, then hits)
    for s in servers:
        _get(s, query)
    after = [_get(s, query) for s in servers]
    assert all(_label(r) == NEW_LABEL and r.headers["remit-cache"] == "hit" for r in after)
    assert after[0].headers["etag"] == after[1].headers["etag"] != first.headers["etag"]
    # the page too: every instance renders B's label (the publication started afresh on the new version)
    end = time.monotonic() + 10 * CHECK_SECONDS
    while time.monotonic() < end and not all(NEW_LABEL in httpx.get(s.url + page, timeout=60).text for s in servers):
        time.sleep(0.2)
    pages = [httpx.get(s.url + page, timeout=60) for s in servers]
    assert all(r.status_code == 200 and NEW_LABEL in r.text and label_a not in r.text for r in pages)
    assert pages[0].text == pages[1].text
    # the named-query route is cached and equal on both instances too
    named = [httpx.get(f"{s.url}/queries/agreements", params={"format": "json", "limit": "5"}, timeout=60)
             for s in (one, two, one)]
    assert all(r.status_code == 200 for r in named)
    assert named[0].content == named[1].content == named[2].content and named[2].headers["remit-cache"] == "hit"


def test_no_version_no_cache(build_b: Path, oxigraph: str, servers: list[Server]) -> None:
    """Without a version in the store (as while a push runs, or after a failed one) nothing is kept."""
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://www.w3.org/ns/org#Organization> }"
    assert _get(servers[0], query).headers.get("remit-cache") in ("miss", "hit")
    r = httpx.delete(oxigraph + "/store", params={"graph": str(GRAPH_META)}, timeout=30)
    assert r.status_code in (200, 204)
    time.sleep(3 * CHECK_SECONDS)
    for _ in range(2):
        r = _get(servers[0], query)
        assert "remit-cache" not in r.headers and "etag" not in r.headers
    _push(build_b, oxigraph + "/query")
    time.sleep(3 * CHECK_SECONDS)
    assert [_get(servers[0], query).headers.get("remit-cache") for _ in range(2)] == ["miss", "hit"]
