"""Personal data stays out of everything public (issue 13, "Personal data").

Seed 001 names two officials in its Appendix 1 and prints one direct line. The real data is built once
(into a temporary folder, the sources of this checkout): the names and the line are in
``restricted.trig`` only, never in ``remit.trig``, the store, the report, the manifest, the dumps, VoID or
the static site ``kg publish`` writes; a live ``kg serve`` on that build answers ``/sparql`` (every graph,
the graph list, ``named-graph-uri``), the pages, the dumps, VoID and the named queries without them, and
``GET /admin/restricted`` gives them only with the admin token. README, docs and examples name posts only.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef

from kg.paths import PROJECT_ROOT as ROOT
from kg.pipeline.build import BuildError, Layout, build
from kg.pipeline.layout import RESTRICTED_FILE, source_hash
from kg.pipeline.restricted import check_not_public, load_restricted, personal_values
from kg.publication.publish import build_dumps, void_graph
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_RESTRICTED, REMIT, VCARD
from kg.rdf.store import open_store
from kg.api.admin import RESTRICTED_FILE as ADMIN_RESTRICTED_FILE
from support.realbuild import ensure_real_build

#: What must never be public: the two officials' names and the direct line, as printed and as an IRI.
PERSONAL = ("Julie Fox", "Fergus Currie", "0161 869 1301", "+441618691301")
TOKEN = "test-restricted-admin-token"
YOT = "https://w3id.org/remit/id/agreement/hmi-probation-cqc-yot/"


def _leaks(text: str) -> list[str]:
    return [p for p in PERSONAL if p in text]


def _file_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def built() -> Path:
    """The session's real build (built once, shared with the other packages' tests): read, never written."""
    out = ensure_real_build()
    assert (out / RESTRICTED_FILE).is_file()
    return out


# --- the build ---------------------------------------------------------------------------------------


def test_restricted_trig_holds_the_officials_and_the_direct_line(built: Path) -> None:
    text = (built / RESTRICTED_FILE).read_text(encoding="utf-8")
    assert _leaks(text) == list(PERSONAL)
    ds = ox.Store()
    ds.load(path=str(built / RESTRICTED_FILE), format=ox.RdfFormat.TRIG)
    assert {q.graph_name.value for q in ds} == {str(GRAPH_RESTRICTED)}
    g = Graph().parse(data=ds.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(str(GRAPH_RESTRICTED))),
                      format="nt")
    officials = {str(g.value(o, VCARD.fn)): s for s, o in g.subject_objects(REMIT.namedOfficial)}
    assert officials == {"Julie Fox": URIRef(YOT + "contact-hmi-probation"),
                         "Fergus Currie": URIRef(YOT + "contact-cqc")}
    for official in g.objects(None, REMIT.namedOfficial):  # each with its citation into Appendix 1
        citation = g.value(official, REMIT.citation)
        assert str(g.value(citation, REMIT.citedDocument)).endswith("/document/seed-001")
        assert str(g.value(citation, REMIT.locator)).startswith("Appendix 1")


def test_no_public_artefact_of_the_build_holds_personal_data(built: Path) -> None:
    for name in ("remit.trig", "report.ttl", "report.json", "manifest.json"):
        assert _leaks((built / name).read_text(encoding="utf-8")) == [], name
    trig = (built / "remit.trig").read_text(encoding="utf-8")
    assert str(GRAPH_RESTRICTED) not in trig and str(REMIT.namedOfficial) not in trig
    # signatures are public: the signatories keep their names
    assert '"Cynthia Bower"' in trig and '"Liz Calderbank"' in trig
    store = open_store(built / "store")
    graphs = {r[0].value for r in store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}
    assert str(GRAPH_ASSERTED) in graphs and str(GRAPH_RESTRICTED) not in graphs
    hits = list(store.query(
        "SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } FILTER(" +
        " || ".join(f'CONTAINS(STR(?o), "{p}") || CONTAINS(STR(?s), "{p}")' for p in PERSONAL) + ") }"))
    assert hits == []
    # the public contact points are posts: role and organisation, CQC's switchboard, no direct line
    fn = {r[0].value: r[1].value for r in store.query(
        "PREFIX vcard: <http://www.w3.org/2006/vcard/ns#> SELECT ?c ?fn WHERE { GRAPH ?g { ?c vcard:fn ?fn "
        f"FILTER(?c IN (<{YOT}contact-cqc>, <{YOT}contact-hmi-probation>)) }} }}")}
    assert fn == {YOT + "contact-cqc": "Youth Offending Programme Manager, Care Quality Commission",
                  YOT + "contact-hmi-probation": "Assistant Chief Inspector, Her Majesty's Inspectorate of Probation"}


def test_dumps_and_void_hold_no_personal_data(built: Path) -> None:
    store = open_store(built / "store")
    dumps = build_dumps(store, "0.0.0-test")
    assert sorted(ext for d in dumps for ext in ("ttl", "nt.gz", "jsonld", "trig") if d.name.endswith("." + ext)) == [
        "jsonld", "nt.gz", "trig", "ttl"]
    for d in dumps:
        data = gzip.decompress(d.data) if d.compressed else d.data
        assert _leaks(data.decode("utf-8")) == [], d.name
        assert "Cynthia Bower" in data.decode("utf-8"), d.name  # a signature is public
    void = void_graph(store, "http://example.org", "0.0.0-test", dumps).serialize(format="turtle")
    assert _leaks(void) == [] and str(GRAPH_RESTRICTED) not in void


def test_kg_publish_site_holds_no_personal_data(built: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "publish", str(site), "--store", str(built / "store"),
                           "--as-of", "2025-01-01"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = [p for p in site.rglob("*") if p.is_file()]
    assert len(files) > 100 and any(p.name.endswith(".nt.gz") for p in files)
    leaking = {p.relative_to(site).as_posix(): _leaks(_file_text(p)) for p in files}
    assert {k: v for k, v in leaking.items() if v} == {}
    page = site / "id" / "agreement" / "hmi-probation-cqc-yot.html"
    assert "Assistant Chief Inspector" in page.read_text(encoding="utf-8")


def test_the_restricted_sources_are_in_the_source_hash(tmp_path: Path) -> None:
    copy = tmp_path / "data-restricted"
    copy.mkdir()
    original = (ROOT / "data-restricted" / "contacts.ttl").read_text(encoding="utf-8")
    (copy / "contacts.ttl").write_text(original, encoding="utf-8")
    same, listing = source_hash(Layout(root=ROOT, restricted=copy))
    assert same == source_hash(Layout(root=ROOT, restricted=copy))[0]
    assert {"path": "data-restricted/contacts.ttl", "sha256": hashlib.sha256(original.encode()).hexdigest()} in \
        source_hash(Layout(root=ROOT))[1]
    (copy / "contacts.ttl").write_text(original.replace("Tel: 0161", "Tel:  0161"), encoding="utf-8")
    assert source_hash(Layout(root=ROOT, restricted=copy))[0] != same


def test_a_build_of_other_data_annexes_nothing(tmp_path: Path) -> None:
    """tests/qc/tree has no YOT contact points: the restricted statements have nothing to hang off."""
    tree = ROOT / "tests" / "qc" / "tree"
    layout = Layout(root=tree, out=tmp_path / "build", restricted=ROOT / "data-restricted")
    build(layout, force=True)
    text = (tmp_path / "build" / RESTRICTED_FILE).read_text(encoding="utf-8")
    assert f"<{GRAPH_RESTRICTED}> {{" in text and _leaks(text) == []


def _store_with(*quads: tuple[str, str, object]) -> ox.Store:
    store = ox.Store()
    g = ox.NamedNode(str(GRAPH_ASSERTED))
    for s, p, o in quads:
        store.add(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), o, g))  # type: ignore[arg-type]
    return store


def test_a_restricted_name_or_line_in_the_public_data_stops_the_build() -> None:
    public = _store_with((YOT + "contact-hmi-probation", str(VCARD.title), ox.Literal("Assistant Chief Inspector")))
    restricted = load_restricted(Layout(root=ROOT), public)
    names, details = personal_values(restricted)
    assert names == {"Julie Fox"}  # the CQC contact is not in this public store, so nothing is annexed to it
    assert URIRef("tel:+441618691301") in details and Literal("Tel: 0161 869 1301") in details
    check_not_public(public, restricted)  # nothing leaked: no error
    for leak in (ox.Literal("Julie Fox"), ox.Literal("Julie Fox", language="en"), ox.NamedNode("tel:+441618691301"),
                 ox.Literal("Tel: 0161 869 1301")):
        leaky = _store_with((YOT + "contact-hmi-probation", str(VCARD.title), ox.Literal("Assistant Chief Inspector")),
                            (YOT + "contact-hmi-probation", str(VCARD.fn), leak))
        with pytest.raises(BuildError, match="personal data from data-restricted/ is also in the public data"):
            check_not_public(leaky, restricted)
    # a signature is public: the same name as a signatory is not a leak
    signed = _store_with((YOT + "contact-hmi-probation", str(VCARD.title), ox.Literal("Assistant Chief Inspector")),
                         (YOT + "signature-x", str(REMIT.signatoryName), ox.Literal("Julie Fox")))
    check_not_public(signed, restricted)


def test_docs_readme_and_examples_name_posts_not_officials() -> None:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(p for p in (ROOT / "examples").rglob("*")
                                                                             if p.is_file())]
    files += [p for p in (ROOT / "data").rglob("*.ttl")]  # the public data
    files += sorted((ROOT / "data" / "sources" / "texts").glob("*.txt"))  # the source-text copies (Appendix 1 withheld)
    assert len(files) > 20
    leaking = {p.relative_to(ROOT).as_posix(): _leaks(p.read_text(encoding="utf-8")) for p in files}
    assert {k: v for k, v in leaking.items() if v} == {}
    protection = (ROOT / "docs" / "data-protection.md").read_text(encoding="utf-8")
    for needed in ("data-restricted/contacts.ttl", "build/restricted.trig", "/admin/restricted", "id:graph/restricted"):
        assert needed in protection


def test_admin_module_names_the_same_file_as_the_pipeline() -> None:
    assert ADMIN_RESTRICTED_FILE == RESTRICTED_FILE


# --- a live server on the build ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(store: Path, log: Path, token: str | None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMIT_")}
    env.update(REMIT_WORKERS="1", REMIT_QUERIES_DIR=str(ROOT / "queries"))
    if token:
        env["REMIT_ADMIN_TOKEN"] = token
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--store", str(store)], cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def _wait(proc: subprocess.Popen, url: str, log: Path, path: str, ok: int = 200, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError("server exited: " + log.read_text()[-3000:])
        try:
            if httpx.get(url + path, timeout=5).status_code == ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{path} not ready: " + log.read_text()[-3000:])


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def live(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("live") / "server.log"
    proc, url = _serve(built / "store", log, TOKEN)
    try:
        _wait(proc, url, log, "/health")
        _wait(proc, url, log, "/.well-known/void")  # the dumps and VoID come from a job after start
        yield url
    finally:
        _stop(proc)


def _select(c: httpx.Client, query: str, **params: str) -> list[dict]:
    r = c.get("/sparql", params={"query": query, **params}, headers={"accept": "application/sparql-results+json"})
    assert r.status_code == 200, r.text
    assert _leaks(r.text) == []
    return r.json()["results"]["bindings"]


def test_live_sparql_has_no_personal_data(live: str) -> None:
    contains = " || ".join(f'CONTAINS(STR(?o), "{p}")' for p in PERSONAL)
    with httpx.Client(base_url=live, timeout=120) as c:
        assert _select(c, f"SELECT ?s ?p ?o WHERE {{ ?s ?p ?o FILTER({contains}) }}") == []
        assert _select(c, f"SELECT ?g ?s ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o FILTER({contains}) }} }}") == []
        graphs = {b["g"]["value"] for b in _select(c, "SELECT DISTINCT ?g WHERE { GRAPH ?g {} }")}
        assert str(GRAPH_ASSERTED) in graphs and str(GRAPH_RESTRICTED) not in graphs
        assert _select(c, f"SELECT * WHERE {{ GRAPH <{GRAPH_RESTRICTED}> {{ ?s ?p ?o }} }}") == []
        r = c.get("/sparql", params={"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
                                     "named-graph-uri": str(GRAPH_RESTRICTED)})
        assert r.status_code == 400 and "is not a graph of this store" in r.text and _leaks(r.text) == []
        assert _select(c, f"SELECT * WHERE {{ GRAPH ?g {{ ?s <{REMIT.namedOfficial}> ?o }} }}") == []
        # the public side is there: the post, and a signatory's name
        posts = _select(c, f"SELECT ?fn WHERE {{ <{YOT}contact-hmi-probation> <{VCARD.fn}> ?fn }}")
        assert [b["fn"]["value"] for b in posts] == ["Assistant Chief Inspector, Her Majesty's Inspectorate of Probation"]
        assert _select(c, f'SELECT ?s WHERE {{ ?s <{REMIT.signatoryName}> "Liz Calderbank" }}') != []


def test_live_pages_dumps_void_and_queries_have_no_personal_data(live: str) -> None:
    with httpx.Client(base_url=live, timeout=300) as c:
        paths = ["/id/agreement/hmi-probation-cqc-yot.html", "/id/agreement/hmi-probation-cqc-yot.ttl",
                 "/id/agreement/hmi-probation-cqc-yot.jsonld",
                 "/id/agreement/hmi-probation-cqc-yot/contact-hmi-probation.html",
                 "/id/agreement/hmi-probation-cqc-yot/contact-hmi-probation.ttl",
                 "/id/agreement/hmi-probation-cqc-yot/contact-cqc.html", "/id/document/seed-001.html",
                 "/agreements.html", "/.well-known/void", "/.well-known/void.jsonld", "/dumps/",
                 "/queries/contacts?agreement=" + YOT[:-1]]
        paths += [f"/dumps/latest/remit.{ext}" for ext in ("ttl", "nt.gz", "jsonld", "trig")]
        for path in paths:
            r = c.get(path)
            assert r.status_code == 200, (path, r.status_code)
            body = gzip.decompress(r.content).decode() if path.endswith(".gz") else r.text
            assert _leaks(body) == [], path
        page = c.get("/id/agreement/hmi-probation-cqc-yot/contact-hmi-probation.html").text
        assert "Assistant Chief Inspector" in page
        assert c.get("/admin/restricted.trig").status_code == 404
        assert "/admin/restricted" not in c.get("/openapi.json").text


def test_admin_restricted_only_with_the_token(live: str) -> None:
    with httpx.Client(base_url=live, timeout=60) as c:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
            r = c.get("/admin/restricted", headers=headers)
            assert r.status_code == 401 and _leaks(r.text) == [], headers
        r = c.get("/admin/restricted", headers={"authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/trig")
        assert r.headers["cache-control"] == "no-store"
        assert _leaks(r.text) == list(PERSONAL)
        assert f"<{GRAPH_RESTRICTED}> {{" in r.text


def test_admin_restricted_is_absent_without_an_admin_token(built: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    proc, url = _serve(built / "store", log, None)
    try:
        _wait(proc, url, log, "/health")
        r = httpx.get(url + "/admin/restricted", headers={"authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert r.status_code == 404 and _leaks(r.text) == []
    finally:
        _stop(proc)
