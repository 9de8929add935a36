"""``kg.rdf.store.MergedCopy``: the query workers answer a query over the default graphs (ontology, asserted,
inferred, derived) from one graph in memory holding their union, and every other query (a ``GRAPH`` pattern,
``FROM``, the protocol's dataset, the validation report) from the built store itself, with the same answers."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.query.registry import bind_params, load_queries, select_page
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_REPORT
from kg.rdf.store import DEFAULT_GRAPHS, MemoryCopy, MergedCopy, copy_to_memory, default_graph_nodes, names_graphs, open_store
from support.realbuild import ROOT, ensure_real_build

QUERIES = load_queries(ROOT / "queries")


@pytest.mark.parametrize("text, expected", [
    ("SELECT * { GRAPH ?g { ?s ?p ?o } }", True),
    ("select * {graph<http://x>{?s ?p ?o}}", True),
    ("PREFIX id: <http://x#> SELECT * { GRAPH id:g { ?s ?p ?o } }", True),
    ("PREFIX : <http://x#> SELECT * {GRAPH :g {?s ?p ?o}}", True),
    ("PREFIX skos: <http://x/core#> SELECT * { GRAPH ?g { ?s skos:p ?o } }", True),  # '#' in an IRI is no comment
    ("SELECT ?graph { ?graph a ?t }", False),                         # a variable's name
    ("SELECT * { ?s <http://x/GRAPH> ?o } # GRAPH ?g", False),        # an IRI, a comment
    ("SELECT * { ?s ?p 'GRAPH ?g' }", False),                         # a string
    ("PREFIX id: <http://x/> SELECT * { id:graph/x ?p ?o }", False),  # a prefixed name
])
def test_a_graph_pattern_is_told_from_the_word_elsewhere(text: str, expected: bool) -> None:
    assert names_graphs(text) is expected


def test_no_named_query_has_a_graph_pattern() -> None:
    """Every named query is answered from the merged copy (one with a GRAPH pattern would be, correctly, slower)."""
    assert [name for name, nq in QUERIES.items() if names_graphs(nq.text)] == []


@pytest.fixture(scope="module")
def stores() -> tuple[ox.Store, MergedCopy]:
    built = ensure_real_build() / "store"
    return copy_to_memory(open_store(built)), MergedCopy(open_store(built))


#: Values for the named queries with required parameters (the real data's terms).
PARAMS = {
    "establishment": {"establishment": "https://w3id.org/remit/id/setting/parc"},
    "explain": {"body1": "https://w3id.org/remit/id/body/cqc", "body2": "https://w3id.org/remit/id/body/hmi-prisons",
                "settingType": "https://w3id.org/remit/id/setting-type/prison",
                "function": "https://w3id.org/remit/id/function/health-and-social-care-inspection"},
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_named_query_answers_alike_from_the_merged_copy(stores: tuple[ox.Store, MergedCopy], name: str) -> None:
    full, merged = stores
    nq = QUERIES[name]
    assert merged.answers(nq.text, {"default_graph": default_graph_nodes()})
    bindings = bind_params(nq, PARAMS.get(name, {}))
    one = select_page(full, nq.text, bindings, 1000, 0)
    other = select_page(merged, nq.text, bindings, 1000, 0)
    assert one.rows, f"{name}: no rows on the real data, so the comparison says nothing"
    assert (one.columns, one.rows, one.has_more) == (other.columns, other.rows, other.has_more)


def test_a_query_naming_graphs_is_answered_from_the_store_itself(stores: tuple[ox.Store, MergedCopy]) -> None:
    full, merged = stores
    report = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH_REPORT}> {{ ?s ?p ?o }} }}"
    dg = default_graph_nodes()
    assert not merged.answers(report, {"default_graph": dg})
    n = next(iter(merged.query(report, default_graph=dg)))["n"]
    assert int(n.value) > 0 and n == next(iter(full.query(report, default_graph=dg)))["n"]
    # the report is not in the default graph, from the copy or from the store
    ask = "ASK { ?r a <http://www.w3.org/ns/shacl#ValidationReport> }"
    assert merged.answers(ask, {"default_graph": dg})
    assert not bool(merged.query(ask, default_graph=dg)) and not bool(full.query(ask, default_graph=dg))
    # other datasets: named graphs given, another default graph, the union of every graph
    one = [ox.NamedNode(str(GRAPH_ASSERTED))]
    for kwargs in ({"default_graph": one}, {"default_graph": dg, "named_graphs": one}, {"use_default_graph_as_union": True}, {}):
        assert not merged.answers(ask, dict(kwargs))
    assert bool(merged.query(ask, use_default_graph_as_union=True))


def test_the_union_is_a_set_of_triples(tmp_path: Path) -> None:
    """A triple in two of the default graphs is one triple of their merge (Oxigraph's list of graphs gives it twice)."""
    s, p, o = ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p"), ox.Literal("o")
    store = ox.Store()
    for g in (GRAPH_ASSERTED, GRAPH_INFERRED):
        store.add(ox.Quad(s, p, o, ox.NamedNode(str(g))))
    merged = MergedCopy(store)
    dg = [ox.NamedNode(g) for g in DEFAULT_GRAPHS]
    assert len(list(merged.query("SELECT * { ?s ?p ?o }", default_graph=dg))) == 1
    assert len(list(store.query("SELECT * { ?s ?p ?o }", default_graph=dg))) == 2
    assert len(merged) == 2  # the store's quads, as before


def test_a_server_copy_with_merge_is_a_merged_copy(tmp_path: Path) -> None:
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p"), ox.Literal("o"),
                      ox.NamedNode(str(GRAPH_ASSERTED))))
    held = MemoryCopy(store, 1, merge=True)  # room for one copy: the store itself answers the rest
    assert held.copied.wait(10)
    assert isinstance(held.store, MergedCopy) and held.store.full is store
    held = MemoryCopy(store, 2, merge=True)  # room for two: the store copied into memory too
    assert held.copied.wait(10)
    assert isinstance(held.store, MergedCopy) and held.store.full is not store and len(held.store.full) == 1
    plain = MemoryCopy(store, 10)
    assert plain.copied.wait(10) and isinstance(plain.store, ox.Store) and plain.store is not store
