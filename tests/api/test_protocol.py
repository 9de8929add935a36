"""SPARQL 1.1 Protocol over HTTP against the real server: conneg, dataset, refusals, limits, description."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import pytest
import rdflib

EX = "http://example.org/"
G = "https://w3id.org/remit/id/graph/"
SELECT = f"SELECT ?s WHERE {{ ?s a <{EX}Inspectorate> }} ORDER BY ?s"
CONSTRUCT = f"CONSTRUCT WHERE {{ <{EX}beta> ?p ?o }}"


def get(server, query=None, headers=None, **params):
    if query is not None:
        params["query"] = query
    return httpx.get(server.sparql, params=params, headers=headers or {}, timeout=30)


@pytest.mark.parametrize("accept,expected", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("*/*", "application/sparql-results+json"),
    ("", "application/sparql-results+json"),
    ("text/*", "text/csv"),
    ("text/csv;q=0.5, text/tab-separated-values", "text/tab-separated-values"),
    ("application/sparql-results+xml;q=0.9, application/sparql-results+json;q=0.8", "application/sparql-results+xml"),
    ("text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", "application/sparql-results+xml"),
    ("text/turtle, text/csv;q=0.1", "text/csv"),
    ("application/sparql-results+json;q=0, */*;q=0.1", "application/sparql-results+xml"),
])
def test_select_conneg(server, accept, expected):
    r = get(server, SELECT, {"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == expected
    assert "Accept" in r.headers["vary"]
    assert EX + "alpha" in r.text


@pytest.mark.parametrize("accept,expected", [
    ("text/turtle", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("application/n-triples", "application/n-triples"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/trig", "application/trig"),
    ("*/*", "text/turtle"),
    ("application/*", "application/ld+json"),
    ("text/turtle;q=0.2, application/rdf+xml;q=0.9", "application/rdf+xml"),
    ("application/sparql-results+json, application/ld+json;q=0.5", "application/ld+json"),
])
def test_construct_conneg(server, accept, expected):
    r = get(server, CONSTRUCT, {"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == expected


@pytest.mark.parametrize("query,accept", [
    (SELECT, "text/turtle"), (SELECT, "image/png"), (CONSTRUCT, "application/sparql-results+json"),
    (CONSTRUCT, "text/csv"), (SELECT, "application/sparql-results+json;q=0, text/csv;q=0"),
])
def test_406_lists_available(server, query, accept):
    r = get(server, query, {"Accept": accept})
    assert r.status_code == 406
    if query == SELECT:
        assert "application/sparql-results+json" in r.text and "text/csv" in r.text
    else:
        assert "text/turtle" in r.text and "application/ld+json" in r.text


@pytest.mark.parametrize("fmt,expected", [("json", "application/sparql-results+json"),
                                          ("xml", "application/sparql-results+xml"), ("csv", "text/csv"),
                                          ("tsv", "text/tab-separated-values")])
def test_format_parameter_overrides_accept(server, fmt, expected):
    r = get(server, SELECT, {"Accept": "text/turtle"}, format=fmt)
    assert r.status_code == 200 and r.headers["content-type"].startswith(expected)


def test_format_for_wrong_form_is_406_and_unknown_is_400(server):
    assert get(server, SELECT, format="turtle").status_code == 406
    assert get(server, CONSTRUCT, format="csv").status_code == 406
    r = get(server, SELECT, format="pdf")
    assert r.status_code == 400 and "unknown format" in r.text


def test_post_form_and_direct(server):
    r1 = httpx.post(server.sparql, data={"query": SELECT}, headers={"Accept": "text/csv"})
    r2 = httpx.post(server.sparql, content=SELECT.encode(), headers={"Content-Type": "application/sparql-query",
                                                                      "Accept": "text/csv"})
    assert r1.status_code == r2.status_code == 200
    assert r1.text == r2.text and r1.text.splitlines()[1:] == [EX + "alpha", EX + "beta", EX + "gamma"]


def test_post_other_content_type_is_415(server):
    r = httpx.post(server.sparql, content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 415


def count(server, query, **params):
    r = get(server, query, {"Accept": "application/sparql-results+json"}, **params)
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def test_default_graph_is_union_without_report(server):
    assert count(server, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s a <{EX}ValidationReport> }}") == 0
    assert count(server, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s a <http://www.w3.org/ns/org#Organization> }}") == 3
    assert count(server, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{G}validation-report> {{ ?s ?p ?o }} }}") == 2


def test_default_graph_uri_and_named_graph_uri(server):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert count(server, q, **{"default-graph-uri": G + "inferred"}) == 3
    assert count(server, q, **{"default-graph-uri": [G + "inferred", G + "validation-report"]}) == 5
    qg = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert count(server, qg, **{"named-graph-uri": G + "inferred"}) == 1
    assert count(server, qg) == 4
    # protocol dataset replaces FROM
    assert count(server, f"SELECT (COUNT(*) AS ?n) FROM <{G}ontology> WHERE {{ ?s ?p ?o }}",
                 **{"default-graph-uri": G + "inferred"}) == 3


def test_from_a_store_graph_is_honoured(server):
    assert count(server, f"SELECT (COUNT(*) AS ?n) FROM <{G}validation-report> WHERE {{ ?s ?p ?o }}") == 2


def test_unknown_default_graph_uri_is_400(server):
    r = get(server, SELECT, **{"default-graph-uri": "http://127.0.0.1:9/evil"})
    assert r.status_code == 400 and "not a graph of this store" in r.text


def test_syntax_error_has_line_and_column(server):
    r = get(server, "SELECT * WHERE {\n  ?s ?p \n}", {"Accept": "application/json"})
    assert r.status_code == 400
    body = r.json()
    assert body["title"] == "syntax error"
    assert re.match(r"line 2, column \d+: ", body["detail"]), body["detail"]
    assert "Traceback" not in r.text and "/work" not in r.text


@pytest.mark.parametrize("shape", ["{", "(", "OPTIONAL {"])
def test_deep_nesting_is_400_not_500(server, shape):
    closer = {"{": "}", "(": ")", "OPTIONAL {": "}"}[shape]
    if shape == "(":
        q = "SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }"
    else:
        q = "SELECT * WHERE { " + shape * 3000 + " ?s ?p ?o " + closer * 3000 + " }"
    r = httpx.post(server.sparql, data={"query": q}, timeout=30)
    assert r.status_code == 400, r.text
    assert "too complex" in r.text or "syntax" in r.text


UPDATES = ["INSERT DATA { <http://a> <http://b> <http://c> }", "DELETE WHERE { ?s ?p ?o }", "CLEAR ALL",
           "DROP GRAPH <https://w3id.org/remit/id/graph/asserted>",
           "PREFIX ex: <http://example.org/>\nDELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }"]


@pytest.mark.parametrize("update", UPDATES)
def test_updates_refused_in_every_form(server, update):
    answers = [
        get(server, update),
        httpx.get(server.sparql, params={"update": update}),
        httpx.post(server.sparql, data={"update": update}),
        httpx.post(server.sparql, data={"query": update}),
        httpx.post(server.sparql, content=update.encode(), headers={"Content-Type": "application/sparql-update"}),
        httpx.post(server.sparql, content=update.encode(), headers={"Content-Type": "application/sparql-query"}),
    ]
    for r in answers:
        assert r.status_code == 400, r.text
        assert "read-only" in r.text
    assert count(server, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }") == 37


def test_body_over_limit_is_413_before_reading(server):
    big = b"query=" + b"x" * (1 << 20)
    r = httpx.post(server.sparql, content=big, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_chunked_body_over_limit_is_413(server):
    def gen():
        for _ in range(40):
            yield b"#" * 65536
    r = httpx.post(server.sparql, content=gen(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413


def test_query_over_length_limit_is_413(server):
    q = "SELECT * WHERE { ?s ?p ?o } #" + "x" * (70 * 1024)
    r = httpx.post(server.sparql, content=q.encode(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413 and "limit is 65536" in r.text


def test_url_too_long_is_414(server):
    r = get(server, "SELECT * WHERE { ?s ?p ?o } #" + "x" * 9000)
    assert r.status_code == 414
    assert httpx.get(server.url + "/health?" + "x" * 9000).status_code == 414


def test_row_cap_header_and_bodies(server):
    q = "SELECT * WHERE { ?s ?p ?o }"
    for fmt in ("json", "xml", "csv", "tsv"):
        r = get(server, q, format=fmt)
        assert r.status_code == 200
        assert r.headers["remit-result-truncated"] == "true; limit=20"
        assert "result-row-limit" in r.headers["link"]
    assert '<link href="' + server.sparql + '#result-row-limit"/>' in get(server, q, format="xml").text
    assert len(list(csv.reader(io.StringIO(get(server, q, format="csv").text)))) == 21
    small = get(server, SELECT, format="json")
    assert "remit-result-truncated" not in small.headers and "truncated" not in small.json()
    ttl = get(server, "CONSTRUCT WHERE { ?s ?p ?o }", format="turtle")
    assert ttl.headers["remit-result-truncated"] == "true; limit=20" and ttl.text.startswith("# truncated")
    assert len(rdflib.Graph().parse(data=ttl.text, format="turtle")) == 20


def test_errors_carry_no_internals(server):
    for r in (get(server, "SELEC"), httpx.get(server.url + "/nowhere"), get(server, SELECT, format="pdf")):
        assert r.status_code in (400, 404)
        for leak in ("Traceback", "File \"", "/work/", "uvicorn", "python", "0.1.0"):
            assert leak not in r.text
    assert "server" not in httpx.get(server.url + "/health").headers


def test_service_description(server):
    r = httpx.get(server.sparql)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    endpoints = list(g.objects(None, SD.endpoint))
    assert endpoints == [rdflib.URIRef(f"http://127.0.0.1:{server.port}/sparql")]
    formats = {str(o) for o in g.objects(None, SD.resultFormat)}
    assert "http://www.w3.org/ns/formats/SPARQL_Results_CSV" in formats and "http://www.w3.org/ns/formats/TriG" in formats
    names = {str(o) for o in g.objects(None, SD.name)}
    assert names == {G + x for x in ("ontology", "asserted", "inferred", "validation-report")}
    limit = rdflib.URIRef(server.sparql + "#result-row-limit")
    assert g.value(limit, rdflib.RDF.value).toPython() == 20
    assert str(g.value(rdflib.URIRef(server.sparql + "#query-time-limit"), rdflib.RDF.value)) == "PT2S"
    for accept, fmt in (("application/ld+json", "json-ld"), ("application/rdf+xml", "xml"),
                        ("application/n-triples", "nt")):
        r2 = httpx.get(server.sparql, headers={"Accept": accept})
        assert r2.headers["content-type"].startswith(accept)
        assert len(rdflib.Graph().parse(data=r2.text, format=fmt)) == len(g)
    assert httpx.get(server.sparql, headers={"Accept": "image/png"}).status_code == 406


def test_json_error_bodies_are_problem_details(server):
    r = get(server, "SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }", {"Accept": "application/json"})
    assert r.headers["content-type"] == "application/problem+json"
    assert json.loads(r.text)["status"] == 400
