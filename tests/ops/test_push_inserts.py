"""``kg push --update``: the triples of blank nodes found in two graphs go in ``INSERT { … } WHERE { BIND(1 AS ?one) }``
requests of bounded size, every node's triples (in every graph, with the nodes it links to) in one request, so
that each stays one node; the same requests on every run. Regression: one ``INSERT DATA`` of all of them, which
Virtuoso 7 refuses with a blank node in it (SP031), and as one template ran out of memory (SP030)."""

from __future__ import annotations

import pyoxigraph as ox

from kg.ops.push import insert_requests

A, I = "https://w3id.org/remit/id/graph/asserted", "https://w3id.org/remit/id/graph/inferred"


def _t(s, p, o) -> ox.Triple:
    return ox.Triple(s, ox.NamedNode("http://e/" + p), o)


def _graphs(n: int) -> dict[str, list[ox.Triple]]:
    asserted, inferred = [], []
    for i in range(n):
        b, c = ox.BlankNode(f"b{i:03d}"), ox.BlankNode(f"c{i:03d}")
        s = ox.NamedNode(f"http://e/s{i}")
        asserted += [_t(s, "citation", b), _t(b, "locator", ox.Literal(f"para {i}")), _t(b, "part", c),
                     _t(c, "note", ox.Literal("x"))]
        inferred += [_t(s, "derivedFrom", b)]
    return {A: asserted, I: inferred}


def test_each_node_whole_in_one_request_in_bounded_requests():
    graphs = _graphs(50)
    texts = insert_requests(graphs, max_triples=40)
    assert len(texts) == 7  # 50 components of 5 triples, 8 to a request
    seen: dict[str, int] = {}
    total = 0
    for k, text in enumerate(texts):
        body = text.decode("utf-8")
        assert body.startswith("INSERT {\n") and body.endswith("} WHERE { BIND(1 AS ?one) }\n")
        ds = ox.Dataset(ox.parse(body[len("INSERT {\n"):-len("} WHERE { BIND(1 AS ?one) }\n")],
                                 format=ox.RdfFormat.TRIG))
        total += len(ds)
        assert len(ds) <= 40
        for q in ds:
            for term in (q.subject, q.object):
                if isinstance(term, ox.BlankNode):
                    assert seen.setdefault(term.value, k) == k  # a node (and the node it links to) in one request
    assert total == sum(len(ts) for ts in graphs.values())
    assert insert_requests(graphs, max_triples=40) == texts  # the same requests every run


def test_a_component_larger_than_the_bound_is_not_split():
    graphs = _graphs(3)
    texts = insert_requests(graphs, max_triples=2)
    assert len(texts) == 3 and all(t.count(b"_:b") == 4 and t.count(b"_:c") == 2 for t in texts)
