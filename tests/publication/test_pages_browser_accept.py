"""``/.well-known/void``: a readable page for a browser, VoID in RDF for machines (issue 14), real server."""

from __future__ import annotations

import re

import httpx
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, VOID

CHROMIUM = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
DATASET = URIRef("https://w3id.org/remit/id/dataset")
#: rdflib's parser for each media type a document is served in
PARSER = {"text/turtle": "turtle", "application/rdf+xml": "xml", "application/ld+json": "json-ld",
          "application/n-triples": "nt"}


def _describes_the_dataset(text: str, media: str) -> bool:
    """The document parses in its media type and says what the dataset is (the IRI may be written whole or as
    a prefixed name, so the text alone does not tell)."""
    g = Graph().parse(data=text, format=PARSER[media])
    return (DATASET, RDF.type, VOID.Dataset) in g and g.value(DATASET, DCTERMS.title) is not None


def test_a_browser_gets_a_readable_dataset_page(client: httpx.Client) -> None:
    r = client.get("/.well-known/void", headers={"accept": CHROMIUM})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html") and "Accept" in r.headers["vary"]
    assert "attachment" not in r.headers.get("content-disposition", "")
    html = r.text
    turtle = Graph().parse(data=client.get("/.well-known/void", headers={"accept": "text/turtle"}).text,
                           format="turtle")
    assert re.search(r"<h1[^>]*>About the dataset</h1>", html)
    assert "Remit: who oversees what in places of detention in England and Wales" in html
    assert "Open Government Licence v3.0" in html
    for sub in turtle.objects(DATASET, VOID.subset):  # each graph with its count, as the VoID says
        name, n = str(sub).rsplit("/", 1)[-1], int(turtle.value(sub, VOID.triples))
        row = re.search(rf"<code[^>]*>{name}</code></td><td[^>]*>([^<]*)</td><td class=\"[^\"]*\bnum\">([\d,]+)</td>", html)
        assert row, name
        assert row.group(1) and int(row.group(2).replace(",", "")) == n
    assert 'href="../dumps/remit-' in html and 'href="../ui"' in html and "/sparql</code>" in html
    assert "void:" not in html and "dcat:" not in html  # plain English, no prefixes
    for link in re.findall(r'href="(\.\./[^"#]+)"', html):  # every link on the page works
        target = client.get(httpx.URL(client.base_url).join("/.well-known/").join(link))
        assert target.status_code == 200, link


@pytest.mark.parametrize("accept,media", [
    ("text/turtle", "text/turtle"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/rdf+xml, text/html;q=0.5", "application/rdf+xml"),
    ("application/ld+json", "application/ld+json"),
    ("*/*", "text/turtle"),
    ("", "text/turtle"),
])
def test_machines_get_rdf(client: httpx.Client, accept: str, media: str) -> None:
    r = client.get("/.well-known/void", headers={"accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert _describes_the_dataset(r.text, media)


def test_format_parameter_wins_over_a_browser_accept(client: httpx.Client) -> None:
    r = client.get("/.well-known/void", params={"format": "nt"}, headers={"accept": CHROMIUM})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/n-triples")
    page = client.get("/.well-known/void.html")
    assert page.status_code == 200 and re.search(r"<h1[^>]*>About the dataset</h1>", page.text)


@pytest.mark.parametrize("value,media", [
    ("ttl", "text/turtle"), ("turtle", "text/turtle"), ("rdf", "application/rdf+xml"),
    ("rdfxml", "application/rdf+xml"), ("xml", "application/rdf+xml"), ("jsonld", "application/ld+json"),
    ("nt", "application/n-triples"),
])
def test_every_graph_format_name_is_served(client: httpx.Client, value: str, media: str) -> None:
    """Regression: ``?format=ttl``, ``rdf`` and ``rdfxml`` answered 406 (the format names and the file
    extensions these documents are keyed by did not meet); the same on a resource's own IRI."""
    r = client.get("/.well-known/void", params={"format": value}, headers={"accept": CHROMIUM})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    assert _describes_the_dataset(r.text, media)
    body = client.get("/id/body/fixture-alpha", params={"format": value}, headers={"accept": CHROMIUM},
                      follow_redirects=True)  # 303 to the document in that format
    assert body.status_code == 200, body.text
    assert body.headers["content-type"].split(";")[0] == media
    assert "fixture-alpha" in body.text


def test_format_on_a_resource_iri(client: httpx.Client) -> None:
    """``?format=`` on a bare IRI picks the document it is sent to (html too); an unknown name is a 400."""
    r = client.get("/id/body/fixture-alpha", params={"format": "html"}, headers={"accept": "text/turtle"})
    assert r.status_code == 303 and r.headers["location"] == "fixture-alpha.html"
    bad = client.get("/id/body/fixture-alpha", params={"format": "bogus"})
    assert bad.status_code == 400 and "bogus" in bad.text
