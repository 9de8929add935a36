"""Linked-data publication over a real server: crawl, content negotiation, dumps, VoID, the 3-click path."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from rdflib import Dataset, Graph, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, RDF, VOID

from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY

ID = "https://w3id.org/remit/id/"
SPDX = Namespace("http://spdx.org/rdf/terms#")
HTML = {"accept": "text/html"}
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "link", "script", "img"):
                self.links.append(a[key] or "")


def parse_links(html: str) -> Links:
    p = Links()
    p.feed(html)
    return p


def test_crawl_finds_no_broken_link(client: httpx.Client, server: str) -> None:
    origin = urlsplit(server).netloc
    seen: set[str] = set()
    queue = deque([server + "/"])
    ids: dict[str, set[str]] = {}
    fragments: list[tuple[str, str, str]] = []
    broken: list[str] = []
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        r = client.get(url, headers=BROWSER, follow_redirects=True)
        if r.status_code != 200:
            broken.append(f"{url} -> {r.status_code}")
            continue
        if not r.headers["content-type"].startswith("text/html"):
            continue
        page = parse_links(r.text)
        ids[str(r.url).split("#")[0]] = page.ids
        for href in page.links:
            target = urljoin(str(r.url), href)
            parts = urlsplit(target)
            if parts.netloc != origin or parts.scheme not in ("http", "https"):
                continue
            clean = target.split("#")[0]
            if parts.fragment:
                fragments.append((str(r.url), clean, parts.fragment))
            if clean not in seen:
                queue.append(clean)
    assert not broken, "broken links:\n" + "\n".join(broken)
    missing = [f"{src} -> {dst}#{frag}" for src, dst, frag in fragments if dst in ids and frag not in ids[dst]]
    assert not missing, "links to anchors that do not exist:\n" + "\n".join(missing[:20])
    pages = [u for u in seen if "/id/" in u]
    assert len(pages) > 20, f"the crawl reached only {len(pages)} resource pages"
    assert any(u.endswith("/matrix.html") for u in seen) and any("/def.html" in u for u in seen)


KINDS = {
    "body": "/id/body/fixture-alpha",
    "agreement": "/id/agreement/fixture-alpha-beta",
    "area": "/id/agreement/fixture-alpha-beta/area-1",
    "concept": "/id/setting-type/prison",
    "document": "/id/document/fixture-mou",
    "ontology": "/def",
    "term": "/def/AreaOfJointWork",
    "shape": "/shapes/AreaOfJointWorkShape",
}
ACCEPTS = {
    "text/html": ("html", "text/html"),
    "text/turtle": ("ttl", "turtle"),
    "application/ld+json": ("jsonld", "json-ld"),
    "application/n-triples": ("nt", "nt"),
    "application/rdf+xml": ("rdf", "xml"),
    "*/*": ("ttl", "turtle"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("accept", sorted(ACCEPTS))
def test_conneg_matrix(client: httpx.Client, kind: str, accept: str) -> None:
    path = KINDS[kind]
    ext, rdflib_format = ACCEPTS[accept]
    r = client.get(path, headers={"accept": accept})
    assert r.status_code == 303, (path, accept, r.status_code)
    assert "Accept" in r.headers.get("vary", ""), r.headers
    location = urljoin(str(r.url), r.headers["location"])
    if kind == "term" and ext == "html":
        assert location.split("#")[0].endswith("/def.html") and "#" in location
    else:
        assert location.endswith(f"{path}.{ext}"), location
    doc = client.get(location)
    assert doc.status_code == 200
    media = {"html": "text/html", "ttl": "text/turtle", "jsonld": "application/ld+json",
             "nt": "application/n-triples", "rdf": "application/rdf+xml"}[ext]
    assert doc.headers["content-type"].split(";")[0] == media
    iri = URIRef("https://w3id.org/remit" + path)
    if ext == "html":
        assert "<h1" in doc.text and ("<main" in doc.text or 'role="main"' in doc.text)
        return
    g = Graph().parse(data=doc.content, format=rdflib_format, publicID="https://example.invalid/")
    assert (iri, None, None) in g, f"{path} as {ext}: no triples about {iri}"


def test_documents_carry_labels_incoming_links_and_provenance(client: httpx.Client) -> None:
    g = Graph().parse(data=client.get("/id/agreement/fixture-alpha-beta/area-1.ttl").text, format="turtle")
    area = URIRef(ID + "agreement/fixture-alpha-beta/area-1")
    REMIT = Namespace("https://w3id.org/remit/def/")
    cit = g.value(area, REMIT.citation)
    assert str(g.value(cit, REMIT.locator)) == "Areas for joint work, item 1"
    doc = g.value(cit, REMIT.citedDocument)
    assert g.value(doc, URIRef("http://www.w3.org/2000/01/rdf-schema#label")) is not None
    assert g.value(doc, URIRef("http://xmlns.com/foaf/0.1/page")) == URIRef("https://example.org/fixture-mou")
    lead = g.value(area, REMIT.leadBody)
    assert str(g.value(lead, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))) == "Fixture Inspectorate Alpha"
    # incoming link from the agreement, with its label
    agreement = URIRef(ID + "agreement/fixture-alpha-beta")
    assert (agreement, REMIT.areaOfJointWork, area) in g
    assert g.value(agreement, URIRef("http://www.w3.org/2000/01/rdf-schema#label")) is not None


def test_unknown_iri_is_a_404_page_with_suggestions(client: httpx.Client) -> None:
    r = client.get("/id/body/fixture-alfa", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "fixture-alpha.html" in r.text and "Fixture Inspectorate Alpha" in r.text
    r = client.get("/id/body/fixture-alfa.ttl")
    assert r.status_code == 404
    r = client.get("/id/body/fixture-alfa", headers={"accept": "text/turtle"})
    assert r.status_code == 404 and "fixture-alfa" in r.text


def test_not_acceptable_lists_the_documents(client: httpx.Client) -> None:
    r = client.get("/id/body/fixture-alpha", headers={"accept": "image/png"})
    assert r.status_code == 406 and "Accept" in r.headers["vary"]
    assert "fixture-alpha.ttl" in r.text


def _served_dataset(fixture_dir: Path) -> Dataset:
    ds = Dataset()
    ds.parse(fixture_dir / "fixture.trig", format="trig")
    return ds


def _union(ds: Dataset) -> Graph:
    g = Graph()
    for name in (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED):
        for t in ds.graph(URIRef(str(name))):
            g.add(t)
    return g


def test_void_and_dumps(client: httpx.Client, server: str, fixture_dir: Path) -> None:
    r = client.get("/.well-known/void")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    assert "Accept" in r.headers["vary"]
    void = Graph().parse(data=r.text, format="turtle")
    ds_iri = URIRef(ID + "dataset")
    assert (ds_iri, RDF.type, VOID.Dataset) in void and (ds_iri, RDF.type, DCAT.Dataset) in void
    assert void.value(ds_iri, VOID.sparqlEndpoint) == URIRef(server + "/sparql")
    assert void.value(ds_iri, URIRef("http://purl.org/dc/terms/license")) == URIRef(
        "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")
    served = _served_dataset(fixture_dir)
    union = _union(served)
    assert int(void.value(ds_iri, VOID.triples)) == len(union)
    assert list(void.objects(ds_iri, VOID.classPartition)) and list(void.objects(ds_iri, VOID.propertyPartition))
    svc = URIRef(server + "/sparql#service")
    assert (svc, RDF.type, DCAT.DataService) in void and (svc, DCAT.servesDataset, ds_iri) in void
    dumps = sorted(void.objects(ds_iri, VOID.dataDump))
    assert {str(d).rsplit(".", 1)[-1] for d in dumps} == {"ttl", "gz", "jsonld", "trig"}
    for dump in dumps:
        url = str(dump)
        assert re.search(r"/dumps/remit-[0-9][^/]*\.(ttl|nt\.gz|jsonld|trig)$", url), url
        body = client.get(url)
        assert body.status_code == 200
        dist = void.value(predicate=DCAT.downloadURL, object=dump)
        assert int(void.value(dist, DCAT.byteSize)) == len(body.content)
        checksum = void.value(void.value(dist, SPDX.checksum), SPDX.checksumValue)
        digest = hashlib.sha256(body.content).hexdigest()
        assert str(checksum) == digest
        sha_file = client.get(url + ".sha256").text
        assert sha_file.split()[0] == digest and sha_file.split()[1] == url.rsplit("/", 1)[1]
        latest = client.get(re.sub(r"/remit-[^/]*?\.(ttl|nt\.gz|jsonld|trig)$", r"/latest/remit.\1", url))
        assert latest.status_code == 200 and latest.content == body.content
        if url.endswith(".trig"):
            got = Dataset()
            got.parse(data=body.content, format="trig")
            for name in (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED):
                assert isomorphic(got.graph(URIRef(str(name))), served.graph(URIRef(str(name)))), name
            continue
        data = gzip.decompress(body.content) if url.endswith(".gz") else body.content
        assert not url.endswith(".gz") or body.content[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
        fmt = {"ttl": "turtle", "gz": "nt", "jsonld": "json-ld"}[url.rsplit(".", 1)[-1]]
        g = Graph().parse(data=data, format=fmt)
        assert isomorphic(g, union), f"{url} is not the served graph"


def test_dumps_are_reproducible_across_store_loads(tmp_path: Path) -> None:
    from fixture import build_fixture

    from kg.publication.publish import build_dumps
    from kg.rdf.store import open_store

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = build_dumps(open_store(build_fixture(tmp_path / "a")), "t")
    b = build_dumps(open_store(build_fixture(tmp_path / "b")), "t")
    assert [(d.name, d.sha256) for d in a] == [(d.name, d.sha256) for d in b]


def test_context_is_generated_from_prefixes_and_ontology(client: httpx.Client) -> None:
    ctx = client.get("/context.jsonld").json()["@context"]
    assert ctx["remit"] == "https://w3id.org/remit/def/" and ctx["body"] == ID + "body/"
    assert ctx["leadBody"] == {"@id": "https://w3id.org/remit/def/leadBody"}
    assert ctx["locator"] == {"@id": "https://w3id.org/remit/def/locator"}
    assert ctx["status"] == ID + "agreement-status/"  # the prefix wins over remit:status


def test_three_clicks_from_matrix_to_the_clause_naming_a_lead(client: httpx.Client) -> None:
    matrix = client.get("/matrix.html")
    assert matrix.status_code == 200
    cell = re.search(r'<td class="cell-[a-z-]+"><a href="([^"]+)" aria-label="inspection for prison', matrix.text)
    assert cell, "no matrix cell for inspection × prison"
    url1 = urljoin(str(matrix.url), cell.group(1))  # click 1
    explain = client.get(url1)
    assert explain.status_code == 200 and "Fixture Inspectorate Alpha" in explain.text
    area = re.search(r'<td[^>]*><a href="([^"]+area-1\.html)"[^>]*>Joint inspection of prison healthcare</a></td>', explain.text)
    assert area, "the explanation does not link the agreement area"
    url2 = urljoin(url1, area.group(1))  # click 2
    page = client.get(url2)
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", " ", page.text)
    assert "lead body" in text and "Fixture Inspectorate Alpha" in text
    assert "Areas for joint work, item 1" in text, "the area page does not cite the clause"
    assert "https://example.org/fixture-mou" in page.text  # link to the public copy


def test_agreement_page(client: httpx.Client) -> None:
    r = client.get("/id/agreement/fixture-alpha-beta.html")
    text = r.text
    for expected in ("Fixture Inspectorate Alpha", "Fixture Regulator Beta", "A. Fixture", "2011-11-01",
                     "No lead named", "Area of joint work names no lead body",
                     "Sharing inspection schedules", "joint-work@example.org", "Areas for joint work, item 2"):
        assert expected in text, expected
    assert "DESCRIBE" in text and "ui?query=" in text
    # statuses are judged on the data's own date (2011-11-01, the signature), not the clock: a yearly review
    # counted from that signature is not yet due (test_publish checks "Review overdue" with --as-of 2099)
    assert "Next review due 2012-11-01" in text and "Review overdue" not in text
    # regression: a contact's vCard address and telephone are blank nodes; they render as text and tel: links,
    # never as links to blank-node labels
    assert "1 Fixture Street, Fixtureton" in text and 'href="tel:+44-0000-000000"' in text


def test_body_page(client: httpx.Client) -> None:
    text = client.get("/id/body/fixture-beta.html").text
    for expected in ("Fixture Regulator Beta", "Functions by setting type and jurisdiction", "registration",
                     "Fixture memorandum of understanding between Alpha and Beta", "Overlaps with other bodies",
                     "Fixture Inspectorate Alpha"):
        assert expected in text, expected


def test_home_lists_named_queries_and_data(client: httpx.Client) -> None:
    r = client.get("/", headers=HTML)
    assert r.status_code == 200 and "Accept" in r.headers["vary"]
    assert 'href="queries/overlaps"' in r.text and 'href="ui"' in r.text and ".well-known/void" in r.text
    r = client.get("/", headers={"accept": "text/turtle"})
    assert r.status_code == 303 and r.headers["location"].endswith(".well-known/void")


def test_pages_are_accessible_by_structure(client: httpx.Client) -> None:
    for path in ("/index.html", "/matrix.html", "/id/agreement/fixture-alpha-beta.html", "/id/body/fixture-alpha.html",
                 "/agreements.html", "/bodies.html", "/ui"):
        html = client.get(path).text
        assert re.search(r'<html lang="en"[ >]', html) and re.search(r'class="[^"]*skip-link[^"]*" href="#main"', html), path
        assert '<main id="main"' in html and "<nav" in html and "<header" in html and "<footer" in html, path
        assert len(re.findall(r"<h1[ >]", html)) == 1, path
        levels = [int(x) for x in re.findall(r"<h([1-6])[ >]", html)]
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), f"{path}: heading levels skip: {levels}"
        assert "<img" not in html or all('alt="' in tag for tag in re.findall(r"<img[^>]*>", html)), path


def test_ui_serves_yasgui_from_node_modules(client: httpx.Client) -> None:
    r = client.get("/ui")
    assert r.status_code == 200
    assert "cdn" not in r.text.lower()
    js = client.get("/ui/assets/yasgui.min.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    tabs = json.loads(re.search(r'<script type="application/json" id="remit-tabs">(.*?)</script>', r.text, re.S)
                      .group(1).replace("<\\/", "</"))
    assert {t["name"] for t in tabs} >= {"overlaps", "duplications"}


_DUMP_HASHES = """
import sys
sys.path.insert(0, {here!r})
from pathlib import Path
from kg.publication.describe import describe_ontology
from kg.publication.publish import build_dumps, jsonld_context
from kg.rdf.store import open_store
st = open_store(Path({store!r}))
for d in build_dumps(st, "t", jsonld_context(describe_ontology(st, "https://w3id.org/remit/def"))):
    print(d.name, d.sha256)
"""


def test_dumps_are_identical_across_processes(store_path: Path) -> None:
    """Regression: rdflib's JSON-LD writer followed hash-seeded set order, so two processes wrote
    different bytes for the same data."""
    import subprocess
    import sys

    code = _DUMP_HASHES.format(here=str(Path(__file__).parent), store=str(store_path))
    outs = []
    for seed in ("1", "2"):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           env={**__import__("os").environ, "PYTHONHASHSEED": seed})
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1] and outs[0].count("\n") == 4


def test_head_requests(client: httpx.Client) -> None:
    r = client.head("/id/body/fixture-alpha", headers={"accept": "text/turtle"})
    assert r.status_code == 303 and r.headers["location"].endswith("fixture-alpha.ttl")
    r = client.head("/id/body/fixture-alpha.ttl")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle") and r.content == b""
