"""Browsers get pages, machines get RDF (issue 14): ``GET /sparql`` without a query, on a real server."""

from __future__ import annotations

import pytest

from kg.api.conneg import GRAPH_FORMATS, browser_wants_html

CHROMIUM = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("accept,html", [
    (CHROMIUM, True),
    (FIREFOX, True),
    ("text/html", True),
    ("text/html, application/rdf+xml", True),            # a tie: the page
    ("application/rdf+xml, text/html;q=0.5", False),     # RDF/XML explicitly preferred
    ("text/turtle", False),
    ("*/*", False),                                       # nothing says a person is reading
    ("", False),
    (None, False),
    ("text/*", False),                                    # text/html only through a wildcard
    ("text/html;q=0", False),
    ("application/xhtml+xml, text/turtle;q=0.5", True),
])
def test_the_rule(accept, html):
    assert browser_wants_html(accept, GRAPH_FORMATS) is html


def test_a_browser_opening_sparql_gets_the_query_editor(server):
    with server.client(follow_redirects=False) as c:
        r = c.get("/sparql", headers={"Accept": CHROMIUM})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "ui" and "Accept" in r.headers["vary"]
        assert r.content == b""  # no sparql.rdf to download
        page = c.get("/sparql", headers={"Accept": CHROMIUM}, follow_redirects=True)
        assert str(page.url) == server.url + "/ui"
        assert page.headers["content-type"].startswith("text/html")
        assert "Query Remit" in page.text
        head = c.head("/sparql", headers={"Accept": FIREFOX})
        assert head.status_code == 303 and head.headers["location"] == "ui"


@pytest.mark.parametrize("accept,media", [
    ("text/turtle", "text/turtle"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/rdf+xml, text/html;q=0.5", "application/rdf+xml"),
    ("*/*", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
])
def test_machines_still_get_the_service_description(server, accept, media):
    r = server.client().get("/sparql", headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    assert "sparql-service-description" in r.text or "ns/sparql-service-description" in r.text


def test_a_browser_with_a_query_or_a_format_still_gets_data(server):
    c = server.client()
    r = c.get("/sparql", params={"format": "turtle"}, headers={"Accept": CHROMIUM})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    r = c.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": CHROMIUM})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-results+xml")
