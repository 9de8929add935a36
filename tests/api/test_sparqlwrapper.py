"""A client nobody here wrote (SPARQLWrapper) gets correct results in every format from the real server."""

from __future__ import annotations

import csv
import io
import json

import pytest
import rdflib
from rdflib.compare import isomorphic
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

EX = "http://example.org/"
SELECT = f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?body ?label WHERE {{ ?body <{EX}inspects> <{EX}prison> ; rdfs:label ?label }} ORDER BY ?body"""
EXPECTED_ROWS = [(EX + "alpha", "Alpha Inspectorate"), (EX + "beta", "Beta Inspectorate")]
CONSTRUCT = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o . FILTER(?s IN (<{EX}gamma>, <{EX}ward>)) }}"


def expected_graph() -> rdflib.Graph:
    ds = rdflib.Dataset()
    ds.parse(str(__import__("pathlib").Path(__file__).parent / "fixtures" / "dataset.trig"), format="trig")
    g = rdflib.Graph()
    for gname in ("ontology", "asserted", "inferred"):
        for s, p, o in ds.graph(rdflib.URIRef(f"https://w3id.org/remit/id/graph/{gname}")):
            if str(s) in (EX + "gamma", EX + "ward"):
                g.add((s, p, o))
    return g


def wrapper(server, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    sw = SPARQLWrapper(server.sparql)
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    sw.setMethod(method)
    sw.setTimeout(30)
    return sw


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_select_json(server, method):
    res = wrapper(server, SELECT, JSON, method).query()
    assert res.response.headers["Content-Type"].startswith("application/sparql-results+json")
    data = res.convert()
    rows = [(b["body"]["value"], b["label"]["value"]) for b in data["results"]["bindings"]]
    assert rows == EXPECTED_ROWS
    assert data["results"]["bindings"][0]["label"]["xml:lang"] == "en"


def test_select_xml(server):
    doc = wrapper(server, SELECT, XML).query().convert()
    ns = "http://www.w3.org/2005/sparql-results#"
    rows = []
    for result in doc.getElementsByTagNameNS(ns, "result"):
        vals = {b.getAttribute("name"): b.firstChild.firstChild.data for b in result.getElementsByTagNameNS(ns, "binding")}
        rows.append((vals["body"], vals["label"]))
    assert rows == EXPECTED_ROWS


def test_select_csv(server):
    raw = wrapper(server, SELECT, CSV).query().convert()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert rows[0] == ["body", "label"]
    assert [tuple(r) for r in rows[1:]] == EXPECTED_ROWS


def test_select_tsv(server):
    raw = wrapper(server, SELECT, TSV).query().convert()
    lines = raw.decode("utf-8").strip().split("\n")
    assert lines[0].split("\t") == ["?body", "?label"]
    assert lines[1].split("\t") == [f"<{EX}alpha>", '"Alpha Inspectorate"@en']


def test_select_csv_escapes_quotes_and_commas(server):
    q = f"SELECT ?l WHERE {{ <{EX}gamma> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"
    raw = wrapper(server, q, CSV).query().convert()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert rows == [["l"], ['Gamma "quoted", with comma']]


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_ask(server, fmt):
    yes = wrapper(server, f"ASK {{ <{EX}alpha> ?p ?o }}", fmt).query().convert()
    no = wrapper(server, f"ASK {{ <{EX}nobody> ?p ?o }}", fmt).query().convert()
    if fmt == JSON:
        assert yes["boolean"] is True and no["boolean"] is False
    else:
        assert yes.getElementsByTagName("boolean")[0].firstChild.data == "true"
        assert no.getElementsByTagName("boolean")[0].firstChild.data == "false"


@pytest.mark.parametrize("fmt,ctype", [(TURTLE, "text/turtle"), (N3, "text/turtle"), (RDFXML, "application/rdf+xml"),
                                       (JSONLD, "application/ld+json")])
def test_construct_formats(server, fmt, ctype):
    res = wrapper(server, CONSTRUCT, fmt).query()
    assert res.response.headers["Content-Type"].startswith(ctype)
    g = res.convert()
    if not isinstance(g, rdflib.Graph):
        g = rdflib.Graph().parse(data=g, format={TURTLE: "turtle", N3: "turtle"}.get(fmt, "turtle"))
    assert len(g) == len(expected_graph()) > 5
    assert isomorphic(g, expected_graph())


@pytest.mark.parametrize("fmt,rdflib_fmt", [("nt", "nt"), ("trig", "trig"), ("turtle", "turtle"),
                                            ("jsonld", "json-ld"), ("rdfxml", "xml")])
def test_construct_by_format_parameter(server, fmt, rdflib_fmt):
    sw = wrapper(server, CONSTRUCT, TURTLE)
    sw.setOnlyConneg(True)
    sw.addParameter("format", fmt)
    raw = sw.query().response.read()
    if rdflib_fmt == "trig":
        ds = rdflib.Dataset().parse(data=raw, format="trig")
        g = rdflib.Graph()
        for s, p, o, _ in ds.quads():
            g.add((s, p, o))
    else:
        g = rdflib.Graph().parse(data=raw, format=rdflib_fmt)
    assert isomorphic(g, expected_graph())


def test_describe(server):
    raw = wrapper(server, f"DESCRIBE <{EX}beta>", TURTLE).query().convert()
    g = rdflib.Graph().parse(data=raw, format="turtle")
    assert (rdflib.URIRef(EX + "beta"), rdflib.RDFS.label, rdflib.Literal("Beta Inspectorate", lang="en")) in g
    assert all(str(s) == EX + "beta" for s in g.subjects())


def test_json_truncation_is_visible(server):
    data = wrapper(server, "SELECT * WHERE { ?s ?p ?o }", JSON).query().convert()
    assert len(data["results"]["bindings"]) == 20
    assert data["truncated"] == {"limit": 20}
    assert data["head"]["link"] == [server.sparql + "#result-row-limit"]
    json.dumps(data)
