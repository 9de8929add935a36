"""The reference reasoner as oracle on every shape, rule and named-query fixture: owlrl (:func:`kg.pipeline.owlrl_reason.infer`)
and the default reasoner (:func:`kg.pipeline.reason.infer_fast`) infer the same triples from the expanded ontology and each
fixture of tests/shapes/ and tests/revision/rules/ and each named query's world (tests/queries/world.ttl with the query
folder's fixture.ttl), except where the default reasoner refuses the data, and there owlrl merges the values of
a functional property (``owl:sameAs``), which is why it refuses.

The fixtures are reasoned together in one owlrl run (about 3 s on a two-core machine, against about 1.4 s for each
of 55 fixtures run alone): each fixture's own IRIs (those the ontology does not mention) get a suffix of their own,
and rdflib parses each file's blank nodes apart, so two fixtures meet only through the ontology's terms, as each
meets them alone. The shape tests (tests/shapes/), the rule tests (tests/revision/test_rules.py) and the named-query
tests (tests/queries/, and the Jena oracle's fixture worlds) reason each fixture with the default reasoner, as ``kg
build`` and ``kg check`` do, and rely on this test for owlrl's agreement.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rdflib import Graph, URIRef

from kg.pipeline.load import load_turtle
from kg.pipeline.owlrl_reason import closure, infer
from kg.pipeline.reason import infer_fast
from kg.rdf.namespaces import OWL

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shapes"))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "queries"))

from shapes_harness import expanded_ontology, fast_refuses, fixture_paths  # noqa: E402
from _support import FIXTURES as NAMED_DIR, fixture_data, query_names  # noqa: E402

RULE_FIXTURES = sorted((Path(__file__).resolve().parents[1] / "revision" / "rules").glob("*/*.ttl"))
#: each named query's fixture, by its fixture.ttl (its data is world.ttl with it: :func:`_data`)
NAMED_FIXTURES = [NAMED_DIR / n / "fixture.ttl" for n in query_names() if (NAMED_DIR / n / "fixture.ttl").exists()]
FIXTURES = fixture_paths("valid") + fixture_paths("invalid") + RULE_FIXTURES + NAMED_FIXTURES


def _data(fixture: Path) -> Graph:
    """A fixture's data: the file, or for a named query's fixture.ttl, world.ttl with it (as its tests load it)."""
    return fixture_data(fixture.parent.name) if fixture in NAMED_FIXTURES else load_turtle(fixture).graph


def _apart(data: Graph, n: int, ontology_terms: set[URIRef]) -> Graph:
    """``data`` with every IRI the ontology does not mention suffixed ``--fixture-n``."""
    def rename(x: object) -> object:
        return URIRef(f"{x}--fixture-{n}") if isinstance(x, URIRef) and x not in ontology_terms else x
    out = Graph()
    for s, p, o in data:
        out.add((rename(s), rename(p), rename(o)))
    return out


def test_default_reasoner_infers_owlrls_triples_on_every_fixture_it_accepts() -> None:
    ontology = expanded_ontology()
    terms = {x for t in ontology for x in t if isinstance(x, URIRef)}
    accepted = [f for f in FIXTURES if not fast_refuses(_data(f))]
    assert len(FIXTURES) > 60 and len(RULE_FIXTURES) >= 14 and len(NAMED_FIXTURES) >= 15
    assert len(accepted) >= len(FIXTURES) - 2, [f.name for f in FIXTURES if f not in accepted]
    together = Graph()
    for n, fixture in enumerate(accepted):
        together += _apart(_data(fixture), n, terms)
    expected, got = set(infer(ontology, together)), set(infer_fast(ontology, together))
    assert len(expected) > 100, "the fixtures entail something"
    assert got == expected, (f"only owlrl: {sorted(expected - got)[:5]}\nonly the default reasoner: "
                             f"{sorted(got - expected)[:5]}")


def test_where_the_default_reasoner_refuses_owlrl_merges_a_functional_propertys_values() -> None:
    refused = [f for f in FIXTURES if fast_refuses(_data(f))]
    assert [f"{f.parent.name}/{f.name}" for f in refused] == ["ResponsibilityShape/invalid-two-holders.ttl"]
    for fixture in refused:
        data = _data(fixture)
        merged = closure(expanded_ontology(), data)
        same = {(a, b) for a, b in merged.subject_objects(OWL.sameAs) if a != b}
        assert same, f"{fixture.name}: owlrl infers no owl:sameAs, so the default reasoner should not refuse it"
