"""kg.query.registry: the named-query header, parameter checks and binding."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.query.registry import (ParamError, QueryFileError, bind_params, load_queries, page_bounds, parse_named_query,
                      select_page)

HEAD = """#+ summary: S
#+ description: >
#+   Long text.
#+ params:
#+   - name: who
#+     type: iri
#+     description: A body.
#+   - name: day
#+     type: date
#+     default: today
#+   - name: n
#+     type: int
#+     default: 3
#+   - name: kind
#+     type: string
#+     values: [a, b]
#+     required: false
"""
Q = HEAD + "SELECT * WHERE { ?who ?p ?o . FILTER(?day != ?n || ?kind) }\n"


def nq(text: str = Q):
    return parse_named_query(Path("q.rq"), text)


def test_header_parsed():
    q = nq()
    assert (q.summary, q.description) == ("S", "Long text.")
    assert [(p.name, p.type, p.default, p.required) for p in q.params] == [
        ("who", "iri", None, True), ("day", "date", "today", False), ("n", "int", "3", False),
        ("kind", "string", None, False)]


def test_bind_values_and_defaults():
    b = bind_params(nq(), {"who": "http://example.org/x"}, today=dt.date(2024, 2, 29))
    assert b == {"who": ("term", "http://example.org/x", None),  # as given: resolved by the store (kg.query.terms)
                 "day": ("literal", "2024-02-29", "http://www.w3.org/2001/XMLSchema#date"),
                 "n": ("literal", "3", "http://www.w3.org/2001/XMLSchema#integer")}


@pytest.mark.parametrize("raw,msg", [
    ({}, "'who' is required"), ({"who": "a\nb"}, "'who'.*control character"), ({"who": "x" * 1001}, "longer than"),
    ({"who": " "}, "'who': empty"),
    ({"who": "http://a/", "day": "2024-02-30"}, "not a date"), ({"who": "http://a/", "n": "1.5"}, "not an integer"),
    ({"who": "http://a/", "kind": "c"}, "not one of a, b"), ({"who": "http://a/", "zz": "1"}, "unknown parameter"),
])
def test_bad_values(raw, msg):
    with pytest.raises(ParamError, match=msg):
        bind_params(nq(), raw)


@pytest.mark.parametrize("text,msg", [
    ("#+ summary: [\nSELECT * WHERE {?s ?p ?o}", "not valid YAML"),
    ("#+ params:\n#+   - name: limit\nSELECT * WHERE {?limit ?p ?o}", "bad parameter name"),
    ("#+ params:\n#+   - name: a\n#+     type: float\nSELECT * WHERE {?a ?p ?o}", "type 'float'"),
    ("#+ params:\n#+   - name: a\nSELECT * WHERE {?s ?p ?o}", "not a variable"),
    ("#+ params:\n#+   - name: a\nSELECT ?s WHERE {?s ?p ?a}", "must be in the SELECT clause"),
    ("#+ params:\n#+   - name: a\n#+     type: int\n#+     default: x\nSELECT * WHERE {?a ?p ?o}", "not an integer"),
    ("#+ colour: red\nSELECT * WHERE {?s ?p ?o}", "unknown header key"),
    ("ASK { ?s ?p ?o }", "must be a SELECT"),
    ("SELECT * WHERE { ?s ?p }", "line 1"),
])
def test_bad_files(text, msg):
    with pytest.raises(QueryFileError, match=msg):
        nq(text)


def test_page_bounds():
    assert page_bounds(None, None) == (100, 0)
    assert page_bounds("1000", "5") == (1000, 5)
    for lim, off in (("0", None), ("1001", None), (None, "-1"), ("x", None)):
        with pytest.raises(ParamError):
            page_bounds(lim, off)


def test_binding_is_never_text(tmp_path):
    store = ox.Store()
    g = ox.NamedNode("https://w3id.org/remit/id/graph/asserted")
    ex = "http://example.org/"
    store.add(ox.Quad(ox.NamedNode(ex + "a"), ox.NamedNode(ex + "name"), ox.Literal("A"), g))
    q = parse_named_query(Path("n.rq"), "#+ params:\n#+   - name: name\nSELECT ?s ?name WHERE { ?s ?p ?name }")
    page = select_page(store, q.text, bind_params(q, {"name": "A"}), 10, 0)
    assert [r["s"]["value"] for r in page.rows] == [ex + "a"]
    evil = select_page(store, q.text, bind_params(q, {"name": '" } UNION { ?s ?p ?o } #'}), 10, 0)
    assert evil.rows == []


def test_iri_parameters_resolve_on_the_store_or_fail():
    store = ox.Store()
    g = ox.NamedNode("https://w3id.org/remit/id/graph/asserted")
    ex, label = "http://example.org/", ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    body = ox.NamedNode("https://w3id.org/remit/id/body/alpha")
    store.add(ox.Quad(body, label, ox.Literal("Alpha Inspectorate", language="en"), g))
    store.add(ox.Quad(body, ox.NamedNode(ex + "p"), ox.NamedNode(ex + "o"), g))
    q = parse_named_query(Path("n.rq"), "#+ params:\n#+   - name: who\n#+     type: iri\nSELECT ?who ?p WHERE { ?who ?p ?o }")
    full = select_page(store, q.text, bind_params(q, {"who": body.value}), 10, 0)
    assert len(full.rows) == 2 and full.params == {"who": body.value}
    for given in ("body:alpha", "id:body/alpha", "Alpha Inspectorate", "alpha inspectorate", f"<{body.value}>"):
        page = select_page(store, q.text, bind_params(q, {"who": given}), 10, 0)
        assert page.rows == full.rows and page.params == {"who": body.value}, given
    with pytest.raises(ParamError, match=r"'who': 'body:alpa' .* is not in the graph; nearest terms: body:alpha"):
        select_page(store, q.text, bind_params(q, {"who": "body:alpa"}), 10, 0)
    with pytest.raises(ParamError, match=r"'who': 'Beta' is not the label"):
        select_page(store, q.text, bind_params(q, {"who": "Beta"}), 10, 0)


def test_load_queries_reads_folder(tmp_path):
    (tmp_path / "one.rq").write_text("#+ summary: One\nSELECT * WHERE { ?s ?p ?o }\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "two.rq").write_text("SELECT * WHERE { ?s ?p ?o }\n")
    assert list(load_queries(tmp_path)) == ["one"]
    assert load_queries(tmp_path / "missing") == {}


def test_term_to_json_writes_each_kind_of_term_as_sparql_json_results() -> None:
    from kg.query.registry import term_to_json
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert term_to_json(ox.NamedNode("http://example.org/a")) == {"type": "uri", "value": "http://example.org/a"}
    assert term_to_json(ox.Literal("x")) == {"type": "literal", "value": "x"}
    assert term_to_json(ox.Literal("1", datatype=ox.NamedNode(xsd + "integer"))) == {
        "type": "literal", "value": "1", "datatype": xsd + "integer"}
    assert term_to_json(ox.Literal("chat", language="fr")) == {"type": "literal", "value": "chat", "xml:lang": "fr"}
    assert term_to_json(ox.BlankNode("b1")) == {"type": "bnode", "value": "b1"}
    t = term_to_json(ox.Triple(ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p"),
                               ox.Literal("o")))
    assert t == {"type": "triple", "value": {"subject": {"type": "uri", "value": "http://example.org/s"},
                                             "predicate": {"type": "uri", "value": "http://example.org/p"},
                                             "object": {"type": "literal", "value": "o"}}}
