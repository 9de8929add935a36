"""Validation: the QC queries (one fixture each, exact rows), SHACL findings in plain English, the
report formats and `kg validate` exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from kg.pipeline.build import Layout
from kg.pipeline.steps import run
from kg.findings.render import render
from kg.findings.model import short
from kg.pipeline.validate import SH, load_qc_queries

ROOT = Path(__file__).resolve().parents[2]
QC = Path(__file__).parents[1] / "qc"
CASES = sorted(p.name for p in QC.iterdir() if (p / "expected.json").is_file())


def make_tree(tmp: Path) -> Path:
    root = tmp / "tree"
    shutil.copytree(QC / "tree", root)
    shutil.copytree(ROOT / "queries" / "qc", root / "queries" / "qc")
    return root


def test_every_qc_query_has_a_header_and_a_fixture():
    queries = load_qc_queries(ROOT / "queries" / "qc")
    assert len(queries) >= 7
    for q in queries:
        assert q.summary and q.description and q.severity in ("Violation", "Warning", "Info")
        assert "FILTER NOT EXISTS" not in q.text.upper()
        assert q.name in CASES, f"no fixture tests/qc/{q.name}/"


def test_good_tree_has_no_findings(tmp_path):
    report = run(Layout(root=make_tree(tmp_path)), derived=False).report
    assert report.findings == []
    assert report.conforms


@pytest.mark.parametrize("name", CASES)
def test_qc_query_fires_on_its_fixture(tmp_path, name):
    root = make_tree(tmp_path)
    shutil.copy(QC / name / "data.ttl", root / "data" / f"{name}.ttl")
    report = run(Layout(root=root), derived=False).report
    expected = json.loads((QC / name / "expected.json").read_text())
    got = sorted([f.focus, f.message] for f in report.findings if f.check == f"qc:{name}")
    want = sorted([focus, phrase] for focus, phrase in expected)
    assert len(got) == len(want), got
    for (gf, gm), (wf, wp) in zip(got, want):
        assert gf == wf
        assert gm.endswith(wp + "."), (gm, wp)
    others = [f for f in report.findings if f.check != f"qc:{name}"]
    assert others == [], [f.message for f in others]


def test_shacl_findings_are_plain_english_and_grouped(tmp_path):
    root = make_tree(tmp_path)
    (root / "data" / "agreements" / "a2.ttl").write_text(
        "@prefix remit: <https://w3id.org/remit/def/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<https://w3id.org/remit/id/agreement/a> remit:areaOfJointWork <https://w3id.org/remit/id/agreement/a/area/2> .\n"
        "<https://w3id.org/remit/id/agreement/a/area/2> a remit:AreaOfJointWork ;\n"
        "    rdfs:label \"Expert advice\"@en ;\n"
        "    remit:citation [ a remit:Citation ; remit:citedDocument <https://w3id.org/remit/id/document/mou-a> ;\n"
        "        remit:locator \"Areas for joint work, item 2\" ] .\n")
    report = run(Layout(root=root), derived=False).report
    assert [f.severity for f in report.findings] == ["Violation"]
    f = report.findings[0]
    area = short(URIRef("https://w3id.org/remit/id/agreement/a/area/2"))
    assert f.message == f'"Expert advice" ({area}) has no lead body (remit:leadBody).'
    assert f.agreement == "https://w3id.org/remit/id/agreement/a" and f.agreement_label == "Agreement A"
    assert f.area == "https://w3id.org/remit/id/agreement/a/area/2"
    assert f.document_label == "Memorandum A" and f.locator == "Areas for joint work, item 2"
    assert f.location and f.location.endswith("a2.ttl:4:1")
    text = render(report, "text")
    assert "Agreement: Agreement A" in text and "VIOLATION" in text
    assert "source: Memorandum A, Areas for joint work, item 2" in text
    assert "1 violation, 0 warnings, 0 infos" in text
    data = json.loads(render(report, "json"))
    assert data["counts"] == {"Violation": 1, "Warning": 0, "Info": 0} and data["conforms"] is False
    g = Graph().parse(data=render(report, "turtle"), format="turtle")
    assert len(list(g.subjects(None, SH.ValidationResult))) == 1


def test_shape_message_is_used(tmp_path):
    root = make_tree(tmp_path)
    text = (root / "data" / "agreements" / "a.ttl").read_text()
    (root / "data" / "agreements" / "a.ttl").write_text(text.replace('dcterms:date "2012-03-01"^^xsd:date ;', ""))
    report = run(Layout(root=root), derived=False).report
    assert [(f.severity, f.message) for f in report.findings] == [
        ("Warning", f'"Agreement A" ({short(URIRef("https://w3id.org/remit/id/agreement/a"))}) '
                    "does not say when it was made (dcterms:date).")]


def kg(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=120)


def test_validate_exit_codes(tmp_path):
    root = make_tree(tmp_path)
    assert kg(root, "validate").returncode == 0
    warn = tmp_path / "warn.ttl"  # only a Warning: the agreement's date is missing
    warn.write_text("@prefix remit: <https://w3id.org/remit/def/> .\n"
                    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
                    "<https://w3id.org/remit/id/agreement/b> a remit:Agreement ; rdfs:label \"B\"@en ;\n"
                    "  remit:citation [ a remit:Citation ; remit:citedDocument <https://w3id.org/remit/id/document/mou-a> ;\n"
                    "  remit:locator \"p\" ] .\n")
    bad = tmp_path / "bad.ttl"  # a Violation: an inspectorate without a source
    bad.write_text("@prefix remit: <https://w3id.org/remit/def/> .\n"
                   "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
                   "<https://w3id.org/remit/id/body/q> a remit:Inspectorate ; rdfs:label \"Q\"@en .\n")
    assert kg(root, "validate", str(warn)).returncode == 0
    assert kg(root, "validate", str(warn), "--fail-on", "warning").returncode == 1
    r = kg(root, "validate", str(bad))
    assert r.returncode == 1 and "VIOLATION" in r.stdout and "with no source" in r.stdout
    assert kg(root, "validate", str(bad), "--fail-on", "none").returncode == 0
    r = kg(root, "validate", str(bad), "--format", "json")
    assert json.loads(r.stdout)["counts"]["Violation"] == 1
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix remit: <https://w3id.org/remit/def/> .\n<https://w3id.org/remit/id/x> remit:p .\n")
    r = kg(root, "validate", str(broken))
    assert r.returncode == 2 and f"{broken}:2:" in r.stderr


def test_citation_is_chosen_by_content_not_blank_node_label() -> None:
    """Regression: the citation of a finding was the first by blank-node label, which changes from one
    parse to the next; it is now the first by (document, locator)."""
    from rdflib import BNode, Graph, Literal, URIRef

    from kg.rdf.namespaces import REMIT
    from kg.pipeline.validate import _citation

    node = URIRef("https://w3id.org/remit/id/body/x")
    for first, second in (("a", "z"), ("z", "a")):
        g = Graph()
        for label, doc, loc in ((first, "s02", "para 2"), (second, "s01", "para 9")):
            c = BNode(label)
            g.add((node, REMIT.citation, c))
            g.add((c, REMIT.citedDocument, URIRef("https://w3id.org/remit/id/document/" + doc)))
            g.add((c, REMIT.locator, Literal(loc)))
        assert _citation(node, g) == (URIRef("https://w3id.org/remit/id/document/s01"), "para 9")


def test_location_prefers_the_subject_line_at_column_0(tmp_path) -> None:
    """Regression: a term listed first as an indented object was located there, not where its
    description starts."""
    from kg.pipeline.load import load_turtle, locate_term
    from rdflib import URIRef

    f = tmp_path / "a.ttl"
    f.write_text("@prefix ex: <https://example.org/> .\nex:a ex:parts\n    ex:b ,\n    ex:c .\n\nex:b ex:p ex:q .\n")
    src = load_turtle(f)
    assert locate_term(URIRef("https://example.org/b"), [src])[1:] == (6, 1)
