"""Validation and derivation side by side (kg.pipeline.steps.run).

The build validates while the derive step writes ``id:graph/derived`` on another thread. That is only sound if
validation reads the input graphs (ontology, asserted, inferred) and nothing else of the store: these tests
put facts that break shapes and QC checks into the derived graph and assert that validation does not see them,
while the same facts in the asserted graph are found (the contrast: the test can fail).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.pipeline import steps
from kg.pipeline.layout import Layout
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_DERIVED

ROOT = Path(__file__).resolve().parents[2]
REMIT = "https://w3id.org/remit/def/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
BROKEN = ox.NamedNode("https://w3id.org/remit/id/agreement/not-in-the-sources")


def _broken(graph: str) -> list[ox.Quad]:
    """An agreement with no label, no parties and no citation: a missing-label QC finding and SHACL violations."""
    g = ox.NamedNode(graph)
    return [ox.Quad(BROKEN, RDF_TYPE, ox.NamedNode(REMIT + "Agreement"), g),
            ox.Quad(BROKEN, ox.NamedNode(REMIT + "reviewInterval"), ox.Literal("soon"), g)]


def _findings(store: ox.Store, loaded: steps.Loaded) -> list[tuple[str, str, str]]:
    report = steps.validate(store, loaded)
    return sorted((f.severity, f.focus, f.check) for f in report.findings)


def _reasoned() -> tuple[ox.Store, steps.Loaded]:
    store = ox.Store()
    loaded = steps.load(Layout(root=ROOT), store)
    steps.reason(store, loaded)
    return store, loaded


def test_validation_does_not_read_the_derived_graph():
    store, loaded = _reasoned()
    before = _findings(store, loaded)
    store.extend(_broken(str(GRAPH_DERIVED)))
    assert _findings(store, loaded) == before


def test_the_same_facts_asserted_are_found():
    store, loaded = _reasoned()
    before = _findings(store, loaded)
    store.extend(_broken(str(GRAPH_ASSERTED)))
    after = _findings(store, loaded)
    new = [f for f in after if f not in before]
    assert any(focus == BROKEN.value and check == "qc:missing-label" for _sev, focus, check in new), new
    assert any(focus == BROKEN.value and not check.startswith("qc:") for _sev, focus, check in new), new


def _graphs(store: ox.Store) -> dict[str, tuple[int, set[str]]]:
    """Each graph's size and its quads without blank nodes (a store's blank node ids differ from run to run)."""
    out: dict[str, tuple[int, set[str]]] = {}
    for g in store.named_graphs():
        quads = list(store.quads_for_pattern(None, None, None, g))
        plain = {str(q) for q in quads if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)}
        out[g.value] = (len(quads), plain)
    return out


def test_side_by_side_gives_what_one_after_the_other_gives():
    """``before_derive`` makes run() derive after validating; without it the two run side by side."""
    layout = Layout(root=ROOT)
    alongside = steps.run(layout, readers={"size": len})
    seen: list[int] = []
    in_turn = steps.run(layout, before_derive=lambda store, _loaded, _report: seen.append(len(store)))
    assert seen, "before_derive was not called"
    assert _graphs(alongside.store) == _graphs(in_turn.store)
    assert [f.to_dict() for f in alongside.report.findings] == [f.to_dict() for f in in_turn.report.findings]
    assert alongside.read["size"] > 0 and set(alongside.timings) >= {"load", "reason", "validate", "derive"}
