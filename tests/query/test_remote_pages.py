"""Pages, linked data, VoID, dumps, search and ``POST /check`` over an external store (``kg serve --store URL``),
against the same features on the embedded store, on the real build (no mocks), on two engines.

A real Oxigraph server, then a real Virtuoso 7 (``support.servers``), each loaded by the real ``kg push`` CLI from
the shared real build; two real ``kg serve`` processes with the same public base URL: one on the build's own store,
one on the external store. Every answer
is compared between the two, produced in the same run (templates change while this is written: nothing is
compared with fixed HTML).

The real build has citation nodes (blank nodes) that an inferred triple also mentions. The Graph Store Protocol
sends one graph per request, so each such node would become two blank nodes in the store (docs/scale.md); the
push here uses ``--update`` (``INSERT … WHERE`` requests for the triples touching them), so the store holds the same
dataset and every answer is the same: pages, RDF documents, VoID, the dumps' bytes and hashes, search, checks.
"""

from __future__ import annotations

import contextlib
import json
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

from kg.ops.push import read_dataset, shared_blank_nodes
from support.realbuild import ROOT, ensure_real_build
from query.test_virtuoso import VIRTUOSO_UNSTABLE
from support.servers import free_port, oxigraph_server, spawn_serve, terminate, virtuoso_server, wait_healthy

pytestmark = pytest.mark.timeout(600)

BASE = "https://remit.example.org"
REVISION = "examples/hmi-probation-cqc-yot-revision.yaml"
HTML = {"Accept": "text/html"}


#: Pages Virtuoso 7.2.5 answers otherwise than the embedded store on the real build (a lead or a covering agreement
#: in a body's or a setting's table shown as "settled" or "none"; not yet isolated, docs/scale.md). Each must still
#: differ: when a fix makes one equal, this test fails and the entry (and the doc) must go.
#: Named queries Virtuoso 7.2.5 still answers otherwise than the embedded store on the real build, by query and the
#: parameters given ("" for its defaults), for some parameter set of test_named_queries_are_the_same_over_the_store,
#: with what it does (docs/scale.md). Each must still differ: when a fix makes one equal, that test fails and the
#: entry (and the doc) must go. (Until 2026-12-06 keyed by query alone, which let party-functions for an agreement
#: differ unnoticed, hidden behind its entry for a body.)
VIRTUOSO_NAMED_DIFFER: dict[tuple[str, str], str] = {
    ("agreement-overlaps", "agreement"): "refused, SP031 sparp_gp_deprecate(): equiv replaces filter but under deprecation",
    ("party-functions", "body"): "no row",
    ("party-functions", "agreement"): "more rows (17 for 5 for the YOT MoU): the agreement's parts joined with the "
                                      "responsibilities on a key bound in UNION branches, which Virtuoso does not join on",
    ("leads", "body"): "no row (COALESCE(sameTerm(?party, ?body), true) with ?body from the VALUES block)",
    ("remit-matrix", "body"): "no row",
    ("devolved-boundary", "body"): "as many rows, other values (not isolated)",
}

VIRTUOSO_PAGES_DIFFER = {"/id/body/cqc.html"}


class Pair:
    def __init__(self, local: str, remote: str, engine: str = "oxigraph"):
        self.local, self.remote, self.engine = local, remote, engine

    def get(self, path: str, **kw: object) -> tuple[httpx.Response, httpx.Response]:
        kw.setdefault("timeout", 120)
        return (httpx.get(self.local + path, follow_redirects=False, **kw),  # type: ignore[arg-type]
                httpx.get(self.remote + path, follow_redirects=False, **kw))  # type: ignore[arg-type]


@contextlib.contextmanager
def _loaded(engine: str, folder: Path, dataset: Path) -> Iterator[str]:
    """A real ``engine`` store holding ``dataset``, loaded by ``kg push --update``; yields its query URL."""
    if engine == "oxigraph":
        with oxigraph_server(folder) as base:
            args, env, url = ["--store", base + "/query", "--update", base + "/update"], dict(os.environ), base + "/query"
            _push(args, env, dataset)
            yield url
    else:  # Virtuoso: the Graph Store Protocol and SPARQL Update as the push account (digest auth)
        with virtuoso_server(folder) as v:
            args = ["--store", v.sparql, "--graph-store", v.graph_store, "--update", v.base + "/sparql-auth",
                    "--user", v.user]
            _push(args, {**os.environ, "REMIT_STORE_PASSWORD": v.password}, dataset)
            yield v.sparql


def _push(args: list[str], env: dict[str, str], dataset: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "kg.cli", "push", *args, "--dataset", str(dataset)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    build = ensure_real_build()
    engine = request.param
    tmp = tmp_path_factory.mktemp(f"remote-pages-{engine}")
    try:
        with _loaded(engine, tmp / engine, build / "remit.trig") as url:
            env = {**os.environ, "REMIT_PUBLIC_BASE_URL": BASE, "REMIT_WORKERS": "1", "REMIT_QUEUE_LIMIT": "8",
                   "REMIT_CLIENT_BUDGET_SECONDS": "10000", "REMIT_STORE_VERSION_CHECK_SECONDS": "2",
                   "REMIT_QUERY_TIMEOUT": "20"}
            ports = free_port(), free_port()
            procs = [spawn_serve(build / "store", ports[0], env, tmp / "local.log"),
                     spawn_serve(url, ports[1], env, tmp / "remote.log")]  # type: ignore[arg-type]
            try:
                for proc, port, log in zip(procs, ports, ("local.log", "remote.log")):
                    wait_healthy(proc, f"http://127.0.0.1:{port}", tmp / log, timeout=120)
                yield Pair(f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}", engine)
            finally:
                for proc in procs:
                    terminate(proc)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _links(html: str, pattern: str) -> list[str]:
    return sorted(set(re.findall(r'href="([^"]*' + pattern + r'[^"]*)"', html)))


def test_the_real_build_has_blank_nodes_in_two_graphs() -> None:
    """What makes ``--update`` matter: without it these nodes are split (the pages below would differ)."""
    graphs = read_dataset(ensure_real_build() / "remit.trig")
    assert len(shared_blank_nodes(graphs)) > 100


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
             "/ui", "/dumps/index.html", "/.well-known/void.html", "/id/body/cqc.html",
             "/id/agreement/cqc-hmi-prisons-2016.html",
             "/id/agreement/cqc-hmi-prisons-2016/commitment-coordinate-interventions.html",  # a nested citation
             "/id/agreement/hmi-probation-cqc-yot/contact-cqc.html",  # an address (a blank node's parts)
             "/id/setting/police-custody-merseyside.html", "/id/document/s37.html",
             *("/" + c for c in cells), *("/places/" + p for p in place_pages)]
    differ = set()
    for path in paths:
        local, remote = _wait_ok(pair.local + path, headers=HTML), pair.get(path, headers=HTML)[1]
        assert local.status_code == 200 and remote.status_code == 200, (path, remote.text[:500])
        if local.text != remote.text:
            differ.add(path)
    assert differ == (VIRTUOSO_PAGES_DIFFER if pair.engine == "virtuoso" else set())
    ctx = pair.get("/context.jsonld")
    assert ctx[0].json() == ctx[1].json() and ctx[1].headers["content-type"].startswith("application/ld+json")


def test_linked_data_negotiation_and_documents(pair: Pair) -> None:
    for accept in ("text/turtle", "text/html", "application/ld+json", "application/n-triples"):
        local, remote = pair.get("/id/body/cqc", headers={"Accept": accept})
        assert local.status_code == remote.status_code == 303
        assert local.headers["location"] == remote.headers["location"]
    missing = pair.get("/id/body/no-such-body", headers={"Accept": "text/plain"})
    assert missing[0].status_code == missing[1].status_code == 404
    for doc in ("/id/document/s37.nt", "/id/setting/police-custody-merseyside.ttl", "/id/body/cqc.jsonld",
                "/id/agreement/cqc-hmi-prisons-2016/commitment-coordinate-interventions.rdf",
                "/id/agreement/hmi-probation-cqc-yot/contact-cqc.nt"):
        local, remote = pair.get(doc)
        assert local.status_code == remote.status_code == 200
        assert local.content == remote.content, doc


def _wait_ok(url: str, timeout: float = 180, **kw: object) -> httpx.Response:
    """The answer once it is not 503 (the embedded server builds its dumps in a background job; the remote
    one builds the search index from the store in a thread)."""
    end = time.monotonic() + timeout
    while True:
        r = httpx.get(url, timeout=120, **kw)  # type: ignore[arg-type]
        if r.status_code != 503 or time.monotonic() > end:
            return r
        time.sleep(1)


def test_void_is_counted_by_the_store(pair: Pair) -> None:
    local, remote = _wait_ok(pair.local + "/.well-known/void.ttl"), _wait_ok(pair.remote + "/.well-known/void.ttl")
    assert local.status_code == remote.status_code == 200
    assert b"void:distinctSubjects" in remote.content and b"dcat:downloadURL" in remote.content
    assert local.content == remote.content  # the counts, the dumps' sizes and hashes


def test_dumps_are_read_from_the_store_with_the_same_hashes(pair: Pair) -> None:
    for name in ("remit.ttl", "remit.nt.gz", "remit.jsonld", "remit.trig"):
        local = _wait_ok(pair.local + "/dumps/latest/" + name)
        remote = _wait_ok(pair.remote + "/dumps/latest/" + name)
        assert local.status_code == remote.status_code == 200, name
        assert local.headers["digest"] == remote.headers["digest"] and local.content == remote.content, name
        digest = httpx.get(pair.remote + "/dumps/latest/" + name + ".sha256", timeout=60)
        assert digest.status_code == 200 and digest.text.split()[0] == remote.headers["digest"].split("=", 1)[1]


def test_search_index_is_built_from_the_store(pair: Pair) -> None:
    local = _wait_ok(pair.local + "/search?q=prison&format=json")
    remote = _wait_ok(pair.remote + "/search?q=prison&format=json")
    assert local.status_code == remote.status_code == 200, remote.text
    assert remote.json()["count"] > 0
    assert local.json() == remote.json()
    page = _wait_ok(pair.remote + "/search?q=prison", headers=HTML)
    assert page.status_code == 200 and page.text == _wait_ok(pair.local + "/search?q=prison", headers=HTML).text


def test_check_reads_the_store(pair: Pair) -> None:
    text = (ROOT / REVISION).read_text(encoding="utf-8")
    params = {"replaces": "agreement:hmi-probation-cqc-yot", "asOf": "2025-01-01", "name": REVISION}
    headers = {"Content-Type": "application/yaml", "Accept": "application/json"}
    local = httpx.post(pair.local + "/check", content=text.encode(), params=params, headers=headers, timeout=300)
    remote = httpx.post(pair.remote + "/check", content=text.encode(), params=params, headers=headers, timeout=300)
    assert local.status_code == remote.status_code == 200, remote.text[:2000]
    assert remote.headers["remit-check-status"] == local.headers["remit-check-status"] == "fail"
    assert remote.json()["findings"] and remote.json()["findings"] == local.json()["findings"]
    assert remote.json()["impact"] == local.json()["impact"]


def test_diff_reads_the_store(pair: Pair) -> None:
    """An agreement named by its IRI comes from the store's asserted graph, not from data/."""
    body = {"old": "agreement:hmi-probation-cqc-yot",
            "new": {"draft": (ROOT / REVISION).read_text(encoding="utf-8"), "format": "yaml", "name": REVISION}}
    local = httpx.post(pair.local + "/diff", json=body, headers={"Accept": "application/json"}, timeout=300)
    remote = httpx.post(pair.remote + "/diff", json=body, headers={"Accept": "application/json"}, timeout=300)
    assert local.status_code == remote.status_code == 200, remote.text[:2000]
    assert remote.json()["agreements"] and remote.json() == local.json()
    gone = httpx.post(pair.remote + "/diff", json={**body, "old": "agreement:no-such-agreement"}, timeout=300,
                      headers={"Accept": "application/json"})
    assert gone.status_code == 400 and "no-such-agreement" in gone.text


def _named_parameter_sets(store: ox.Store) -> list[tuple[str, dict[str, str]]]:
    """Every named query with its default parameters (the required ones from the real data), and the parameter
    sets the pages ask: ``establishment`` for a few settings (a setting page: police-custody-merseyside among
    them), ``contacts``, ``leads``, ``party-functions`` and ``agreement-overlaps`` for four agreements of different
    kinds (an agreement page, the contacts of a setting page), ``explain`` for every fourth overlap of the
    ``overlaps`` answer (a matrix cell), and the body-scoped questions for the bodies of a few body pages."""
    from kg.query.registry import load_queries, run_named

    registry = load_queries(ROOT / "queries")

    def column(query: str) -> list[str]:
        return [r[0].value for r in store.query(query, use_default_graph_as_union=True)]

    remit, setting = "https://w3id.org/remit/def/", "https://w3id.org/remit/id/setting/"
    # four agreements of different kinds (not all 15: on Virtuoso the whole set took 215 s of a 2-CPU test run): with
    # areas, contacts and a lead (the YOT MoU), a programme with a lead rule and no contact (police custody, the
    # setting page's agreement), the 2016 prison MoU, and a concordat with neither areas nor leads
    agreement = "https://w3id.org/remit/id/agreement/"
    agreements = [agreement + a for a in ("hmi-probation-cqc-yot", "police-custody-joint-inspection",
                                          "cqc-hmi-prisons-2016", "wales-health-social-care-concordat")]
    every_agreement = set(column(f"SELECT DISTINCT ?a WHERE {{ ?a a <{remit}Agreement> }}"))
    settings = [setting + s for s in ("police-custody-merseyside", "altcourse", "parc", "wetherby")]
    bodies = ["https://w3id.org/remit/id/body/" + b for b in ("cqc", "hmi-prisons", "hmi-probation", "hmicfrs")]
    known = set(column(f"SELECT DISTINCT ?s WHERE {{ ?s a <{remit}Setting> }}"))
    assert set(agreements) <= every_agreement and set(settings) <= known, set(settings) - known
    overlaps = run_named(store, registry["overlaps"], {}, 1000, 0).rows
    explain = sorted({(o["body1"]["value"], o["body2"]["value"], o["settingType"]["value"], o["function1"]["value"])
                      for o in overlaps})[::4]  # every fourth overlap (a matrix cell each), not all
    sets: list[tuple[str, dict[str, str]]] = []
    for name, nq in sorted(registry.items()):
        required = [p.name for p in nq.params if p.required]
        if name == "establishment":
            sets += [(name, {"establishment": s}) for s in settings]
        elif name == "explain":
            sets += [(name, dict(zip(("body1", "body2", "settingType", "function"), e))) for e in explain]
        else:
            assert not required, f"{name}: add its required parameters here"
            sets.append((name, {}))
        names = {p.name for p in nq.params}
        if "agreement" in names:
            sets += [(name, {"agreement": a}) for a in agreements]
        # two bodies, not four, for the questions a body page asks of every agreement, and for the two slowest on
        # Virtuoso (devolved-boundary 6.6 s and powers-without-agreement 3.6 s a set there, 2026-12-06)
        if "body" in names and name not in ("leads", "agreement-overlaps", "party-functions", "contacts",
                                            "devolved-boundary", "powers-without-agreement"):
            sets += [(name, {"body": b}) for b in bodies]
        elif "body" in names:
            sets += [(name, {"body": b}) for b in bodies[:2]]
    assert len(explain) > 5 and len(sets) > 50
    return sets


def _rows(pair: Pair, name: str, params: dict[str, str]) -> tuple[object, object]:
    """The answer of ``/queries/NAME`` in JSON from both servers: its columns, page and rows as a multiset."""
    def answer(base: str) -> object:
        r = httpx.get(f"{base}/queries/{name}", params={**params, "limit": "1000", "format": "json"}, timeout=120)
        if r.status_code != 200:
            return ("status", r.status_code, r.text[:300])
        data = r.json()
        rows = sorted(json.dumps({k: v for k, v in row.items()}, sort_keys=True) for row in data["results"]["bindings"])
        return data["head"]["vars"], data["page"], rows
    return answer(pair.local), answer(pair.remote)


def _cells_that_differ(mine: list[str], theirs: list[str]) -> dict[str, object]:
    """The cells of the first row only the embedded store has and the first only the store has that differ (rows
    as JSON text), or the first such row when there is none on one side."""
    if not mine or not theirs:
        return {"embedded only": mine[:1], "store only": theirs[:1]}
    a, b = json.loads(mine[0]), json.loads(theirs[0])
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def test_named_queries_are_the_same_over_the_store(pair: Pair) -> None:
    """Every named query on the real build gives the embedded store's rows: with its default parameters, and with
    the parameters the pages ask (``_named_parameter_sets``). Rows are compared as multisets (the order of rows
    the query does not sort is not compared). A cell that is a `` | ``-joined GROUP_CONCAT list is compared as
    text: SPARQL leaves GROUP_CONCAT's order undefined, and every store's answer has its list cells sorted by
    ``kg.query.registry.ordered_lists`` before it is served, so equal text is equal sets here (no query of Remit
    defines the order of a list). Regression: on Virtuoso 7.2.5, agreements, contacts, gaps, leads and
    unremade-agreements differed with their defaults (", , " in addresses and signatories, 20 gaps for 9, a kind ""
    for none, no sources), unremade-agreements for a body had no row and the police custody agreement was missing
    from establishment's answer; the adapters in kg.query.remote and the query rewrites named in docs/scale.md fixed
    them. What Virtuoso still answers otherwise is VIRTUOSO_NAMED_DIFFER."""
    store = ox.Store.read_only(str(ensure_real_build() / "store"))
    differ: dict[tuple[str, str], dict[str, object]] = {}
    for name, params in _named_parameter_sets(store):
        local, remote = _rows(pair, name, params)
        assert isinstance(local, tuple) and local[0] != "status", (name, params, local)
        if local != remote:
            mine, theirs = set(local[2]), set(remote[2]) if remote[0] != "status" else set()
            differ.setdefault((name, ",".join(sorted(params))), {})[str(sorted(params.items()))] = (
                remote if remote[0] == "status" else
                {"rows": (len(local[2]), len(remote[2])), "columns": local[0] == remote[0],
                 "cells that differ": _cells_that_differ(sorted(mine - theirs), sorted(theirs - mine))})
    expected = VIRTUOSO_NAMED_DIFFER if pair.engine == "virtuoso" else {}
    if pair.engine == "virtuoso":  # where Virtuoso's answer is not stable: the columns, and no more rows
        for key in [k for k in differ if k[0] in VIRTUOSO_UNSTABLE and k not in expected]:
            differ[key] = {p: v for p, v in differ[key].items()
                           if not (isinstance(v, dict) and v["columns"] and v["rows"][1] <= v["rows"][0])}
        differ = {k: v for k, v in differ.items() if v}
    unexpected = {f"{k[0]} ({k[1] or 'defaults'})": v for k, v in differ.items() if k not in expected}
    assert unexpected == {}, json.dumps(unexpected, indent=1)[:6000]
    assert set(expected) <= set(differ), f"now the same on {pair.engine}: {set(expected) - set(differ)}: drop them here and in docs"
