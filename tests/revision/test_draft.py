"""Drafts: located errors for every accepted syntax, refusals that never fetch, and the YAML round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from kg.revision.draft import CONTEXT_IRI, DraftError, DraftRefused, load_draft, parse_draft

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

TTL_BAD = """@prefix remit: <https://w3id.org/remit/def/> .
@prefix agreement: <https://w3id.org/remit/id/agreement/> .

agreement:x a remit:Agreement ;
    remit:party <https://w3id.org/remit/id/body/cqc>
    remit:status <https://w3id.org/remit/id/agreement-status/draft> .
"""

YAML_BAD = """id: agreement:x
type: Agreement
party:
  - body:cqc
 label: "misindented"
"""

JSON_BAD = """{
  "@context": "https://w3id.org/remit/contexts/remit-draft.context.jsonld",
  "id": "agreement:x",
  "party": ["body:cqc",]
}
"""


@pytest.mark.parametrize("text,fmt,line", [(TTL_BAD, "turtle", 6), (YAML_BAD, "yaml", 5), (JSON_BAD, "json-ld", 4)])
def test_syntax_errors_are_located(text: str, fmt: str, line: int) -> None:
    with pytest.raises(DraftError) as e:
        parse_draft(text, fmt, "my-draft")
    assert e.value.line == line and e.value.column, str(e.value)
    assert str(e.value).startswith(f"my-draft:{line}:")


def test_ill_typed_literal_is_located() -> None:
    text = "id: agreement:x\ntype: Agreement\nlastReviewed: 2024-13-45\n"
    with pytest.raises(DraftError) as e:
        parse_draft(text, "yaml", "d.yaml")
    assert e.value.line == 3 and "xsd:date" in e.value.message


def test_unknown_yaml_key_points_at_the_key_with_a_hint() -> None:
    text = "id: agreement:x\ntype: Agreement\nareaOfJointWork:\n  - id: agreement:x/area-1\n    leadbody: body:cqc\n"
    with pytest.raises(DraftError) as e:
        parse_draft(text, "yaml", "d.yaml")
    assert (e.value.line, e.value.column) == (5, 5)
    assert "leadBody" in e.value.message


def test_yaml_duplicate_keys_and_anchors_are_refused() -> None:
    with pytest.raises(DraftError) as e:
        parse_draft("id: agreement:x\nlabel: a\nlabel: b\n", "yaml", "d.yaml")
    assert e.value.line == 3
    with pytest.raises(DraftError) as e:
        parse_draft("id: agreement:x\nnote: &a [x, y]\nstatement: *a\n", "yaml", "d.yaml")
    assert e.value.line == 2 and "anchors" in e.value.message


@pytest.mark.parametrize("context", ["http://127.0.0.1:9/context.jsonld", "file:///etc/passwd", "other.jsonld",
                                     {"@import": "http://127.0.0.1:9/x.jsonld"},
                                     [CONTEXT_IRI, {"x": {"@id": "remit:x", "@context": "http://127.0.0.1:9/s"}}]])
def test_remote_or_file_contexts_are_refused(context: object) -> None:
    doc = {"@context": context, "@id": "https://w3id.org/remit/id/agreement/x"}
    with pytest.raises(DraftRefused):
        parse_draft(json.dumps(doc), "json-ld", "d.jsonld")
    import yaml

    with pytest.raises(DraftRefused):
        parse_draft(yaml.safe_dump({"@context": context, "id": "agreement:x"}), "yaml", "d.yaml")


def test_owl_imports_and_xml_are_refused() -> None:
    ttl = ("@prefix owl: <http://www.w3.org/2002/07/owl#> .\n\n"
           "<https://w3id.org/remit/id/agreement/x> owl:imports <http://127.0.0.1:9/o.ttl> .\n")
    with pytest.raises(DraftRefused) as e:
        parse_draft(ttl, "turtle", "d.ttl")
    assert e.value.line == 3
    with pytest.raises(DraftRefused):
        parse_draft('{"@id": "https://w3id.org/remit/id/agreement/x", "http://www.w3.org/2002/07/owl#imports": '
                    '{"@id": "http://127.0.0.1:9/o"}}', "json-ld", "d.jsonld")
    doctype = '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<rdf:RDF/>\n'
    for fmt in ("turtle", "yaml", "json-ld"):
        with pytest.raises(DraftRefused):
            parse_draft(doctype, fmt, "d")
    with pytest.raises(DraftRefused):
        parse_draft("<x/>", "rdf/xml", "d.rdf")


def test_published_context_iri_is_resolved_locally() -> None:
    d = parse_draft(json.dumps({"@context": CONTEXT_IRI, "id": "agreement:x", "type": "Agreement",
                                "party": "body:cqc", "documentDate": "2011-11"}), "json-ld", "d.jsonld")
    assert (URIRef("https://w3id.org/remit/id/agreement/x"), URIRef("https://w3id.org/remit/def/party"),
            URIRef("https://w3id.org/remit/id/body/cqc")) in d.graph
    assert d.location("https://w3id.org/remit/id/agreement/x") == (1, 1)


@pytest.mark.parametrize("name", ["hmi-probation-cqc-yot", "cqc-hmi-prisons"])
def test_yaml_round_trip_is_isomorphic(name: str) -> None:
    ttl = Graph().parse(ROOT / "data" / "agreements" / f"{name}.ttl")
    draft = load_draft(EXAMPLES / f"{name}.yaml")
    assert len(draft.graph) == len(ttl)
    assert isomorphic(draft.graph, ttl)


def test_revision_yaml_and_turtle_twin_agree_and_say_fictional() -> None:
    y = load_draft(EXAMPLES / "hmi-probation-cqc-yot-revision.yaml")
    t = load_draft(EXAMPLES / "hmi-probation-cqc-yot-revision.ttl")
    assert isomorphic(y.graph, t.graph)
    assert "FICTIONAL" in (EXAMPLES / "hmi-probation-cqc-yot-revision.yaml").read_text().splitlines()[0]
    notes = [str(o) for o in y.graph.objects(URIRef("https://w3id.org/remit/id/agreement/hmi-probation-cqc-yot"),
                                              URIRef("https://w3id.org/remit/def/note"))]
    assert any("FICTIONAL EXAMPLE REVISION" in n for n in notes)


def test_yaml_locations_point_at_the_mapping_with_the_id() -> None:
    d = load_draft(EXAMPLES / "hmi-probation-cqc-yot.yaml")
    line, col = d.location("https://w3id.org/remit/id/agreement/hmi-probation-cqc-yot/area-2")
    text = (EXAMPLES / "hmi-probation-cqc-yot.yaml").read_text().splitlines()
    assert text[line - 1].strip() == "- id: yot:area-2"


def test_turtle_locations_point_at_the_subject() -> None:
    d = load_draft(EXAMPLES / "hmi-probation-cqc-yot-revision.ttl")
    line, col = d.location("https://w3id.org/remit/id/agreement/hmi-probation-cqc-yot/area-3")
    text = (EXAMPLES / "hmi-probation-cqc-yot-revision.ttl").read_text().splitlines()
    assert text[line - 1][col - 1:].startswith("yot:area-3")


def test_diff_of_two_files() -> None:
    from kg.revision.diff import diff_sides, render_diff

    same = diff_sides(str(EXAMPLES / "hmi-probation-cqc-yot-revision.yaml"),
                      str(EXAMPLES / "hmi-probation-cqc-yot-revision.ttl"), raw=True)
    assert [a["change"] for a in same.agreements] == ["unchanged"] and same.raw == {"added": [], "removed": []}
    changed = diff_sides(str(EXAMPLES / "hmi-probation-cqc-yot.yaml"), str(EXAMPLES / "hmi-probation-cqc-yot-revision.ttl"))
    (a,) = changed.agreements
    assert [c["after"] for c in a["leadChanges"]] == [["HM Inspectorate of Probation (body:hmi-probation)"]]
    assert "### Lead changes" in render_diff(changed, "markdown")
    other = diff_sides(str(EXAMPLES / "cqc-hmi-prisons.yaml"), str(EXAMPLES / "hmi-probation-cqc-yot.yaml"))
    parties = other.agreements[0]["parties"]
    assert any("hmi-probation" in p for p in parties["added"]) and any("hmi-prisons" in p for p in parties["removed"])
