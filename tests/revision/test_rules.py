"""Each rule check in queries/rules/ fires on its fixture (fires.ttl) and stays quiet on the good one (quiet.ttl).

A fixture is reasoned together with the ontology and vocabularies and queried with pyoxigraph, the way kg check runs
the rules: by the default reasoner (kg.pipeline.reason.infer_fast; owlrl where it refuses the data), as of
2025-01-01, contacts stale before 2022-01-01. owlrl's agreement on these fixtures is tests/oracle/test_fixture_reasoning.py
(until 2026-12-06 owlrl reasoned each fixture here, about 1.4 s a run).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import Graph

from kg.pipeline.build import Layout
from kg.rdf.canon import dataset_store
from kg.revision.check import load_rules, run_rules
from kg.pipeline.load import load_files, load_turtle
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from kg.pipeline.owlrl_reason import infer
from kg.pipeline.reason import inconsistencies, infer_fast

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "rules"
RULES = {r.name: r for r in load_rules(ROOT / "queries" / "rules")}
AS_OF = dt.date(2025, 1, 1)
CUTOFF = dt.date(2022, 1, 1)


@lru_cache(maxsize=1)
def ontology() -> Graph:
    g, _ = load_files(Layout(root=ROOT).ontology_files)
    return g


def run(rule_name: str, fixture: Path) -> list:
    data = load_turtle(fixture).graph
    refused = inconsistencies(ontology(), data, Graph())
    inferred = infer(ontology(), data) if refused else infer_fast(ontology(), data)
    store, bnodes = dataset_store({GRAPH_ONTOLOGY: ontology(), GRAPH_ASSERTED: data, GRAPH_INFERRED: inferred})
    return run_rules(store, [RULES[rule_name]], AS_OF, CUTOFF, bnodes)


def test_the_required_rules_exist() -> None:
    assert {"conflicting-leads", "lead-without-function", "party-succeeded", "duplicated-area", "review-overdue",
            "stale-contact", "scope-setting-without-function"} <= set(RULES)


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_header_and_fixtures(name: str) -> None:
    rule = RULES[name]
    assert rule.severity in ("Violation", "Warning", "Info")
    assert rule.summary and rule.description
    assert "NOT EXISTS" not in re.sub(r"#.*", "", rule.text).upper(), "use MINUS rather than FILTER NOT EXISTS"
    assert (FIXTURES / name / "fires.ttl").is_file() and (FIXTURES / name / "quiet.ttl").is_file()


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_fires(name: str) -> None:
    rows = run(name, FIXTURES / name / "fires.ttl")
    assert rows, f"{name} did not fire on its fixture"
    for r in rows:
        assert r.message and str(r.focus).startswith("https://w3id.org/remit/id/")
        assert r.agreement is not None


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_quiet(name: str) -> None:
    rows = run(name, FIXTURES / name / "quiet.ttl")
    assert rows == [], f"{name} fired on the good fixture: {[r.message for r in rows]}"


def test_review_overdue_message_names_the_due_date() -> None:
    rows = run("review-overdue", FIXTURES / "review-overdue" / "fires.ttl")
    assert "due by 2024-06-30" in rows[0].message


def test_contact_cutoff_is_a_parameter() -> None:
    data = FIXTURES / "stale-contact" / "fires.ttl"
    g = load_turtle(data).graph
    store, b = dataset_store({GRAPH_ONTOLOGY: ontology(), GRAPH_ASSERTED: g, GRAPH_INFERRED: infer(ontology(), g)})
    assert run_rules(store, [RULES["stale-contact"]], AS_OF, dt.date(2011, 10, 1), b) == []
    assert len(run_rules(store, [RULES["stale-contact"]], AS_OF, dt.date(2011, 12, 1), b)) == 1
