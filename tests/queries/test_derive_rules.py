"""Each build-time derive rule (``queries/derive/*.rq``) on a small fixture: the exact triples it writes
when it fires, nothing when there is nothing to derive; and :func:`kg.pipeline.derive.derive` itself."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.pipeline.derive import derive, load_rules
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_DERIVED

ROOT = Path(__file__).resolve().parents[2]
RULES = {r.name: r for r in load_rules(ROOT / "queries" / "derive")}
PREFIXES = """@prefix remit: <https://w3id.org/remit/def/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex: <https://example.org/> .
"""
R = "https://w3id.org/remit/def/"
EX = "https://example.org/"


def derived(turtle: str, rule: str) -> set[tuple[str, str, str]]:
    store = ox.Store()
    store.load(input=(PREFIXES + turtle).encode(), format=ox.RdfFormat.TURTLE,
               to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    n = derive(store, [RULES[rule]])
    quads = list(store.quads_for_pattern(None, None, None, ox.NamedNode(str(GRAPH_DERIVED))))
    assert n == len(quads)
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in quads}


def test_every_rule_is_here_with_a_header() -> None:
    assert set(RULES) == {"10-broader-or-self", "30-source-text"}
    for rule in RULES.values():
        assert rule.text.startswith("#+ summary:") and "#+ description:" in rule.text


def test_broader_or_self_fires() -> None:
    got = derived("""ex:inspection a skos:Concept .
        ex:joint ex:x ex:y ; skos:broader ex:inspection .
        ex:health skos:broader ex:joint .
        ex:other ex:p "not a concept" .""", "10-broader-or-self")
    bos = f"<{R}broaderOrSelf>"
    pairs = {("inspection", "inspection"), ("joint", "joint"), ("joint", "inspection"),
             ("health", "health"), ("health", "joint"), ("health", "inspection")}
    assert got == {(f"<{EX}{a}>", bos, f"<{EX}{b}>") for a, b in pairs}


def test_broader_or_self_is_quiet_without_concepts() -> None:
    assert derived('ex:a ex:p ex:b . ex:b rdfs:label "b" .', "10-broader-or-self") == set()


def test_source_text_fires() -> None:
    got = derived("""ex:doc rdfs:label "The MoU" .
        ex:fact remit:citation [ remit:citedDocument ex:doc ; remit:locator "para 4" ] ,
                               [ remit:citedDocument ex:unlabelled ] .""", "30-source-text")
    st = f"<{R}sourceText>"
    assert got == {(f"<{EX}fact>", st, f'"The MoU <{EX}doc>, para 4"'),
                   (f"<{EX}fact>", st, f'"{EX}unlabelled <{EX}unlabelled>"')}


def test_source_text_is_quiet_without_citations() -> None:
    assert derived('ex:doc rdfs:label "The MoU" . ex:fact ex:p ex:doc .', "30-source-text") == set()


def test_derive_clears_its_graph_and_names_a_bad_rule(tmp_path: Path) -> None:
    store = ox.Store()
    target = ox.NamedNode(str(GRAPH_DERIVED))
    store.add(ox.Quad(ox.NamedNode(EX + "stale"), ox.NamedNode(EX + "p"), ox.NamedNode(EX + "o"), target))
    assert derive(store, []) == 0  # a rebuild never keeps what earlier rules derived
    (tmp_path / "bad.rq").write_text("SELECT * WHERE { ?s ?p ?o }", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.rq: a derive rule must be a CONSTRUCT query"):
        derive(store, load_rules(tmp_path))
    (tmp_path / "bad.rq").write_text("CONSTRUCT { ?s ?p } WHERE {", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.rq: invalid SPARQL"):
        derive(store, load_rules(tmp_path))
