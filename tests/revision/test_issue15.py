"""Issue 15: every mistake found at its own line, nothing silently dropped, every parameter validated the same
way on the command line and over HTTP, a closed vocabulary, messages for people. Drafts are copies of
examples/hmi-probation-cqc-yot.yaml with deliberate mistakes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kg.revision.check import CheckOptions, ParamError, check_text, validate_check_params, CLI_NAMES
from kg.revision.draft import DraftError, parse_draft

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "examples" / "hmi-probation-cqc-yot.yaml").read_text(encoding="utf-8")
LINES = EXAMPLE.splitlines()
CTX = "https://w3id.org/remit/contexts/remit-draft.context.jsonld"
YOT = "agreement:hmi-probation-cqc-yot"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def with_change(old: str, new: str) -> str:
    assert EXAMPLE.count(old) >= 1, old
    return EXAMPLE.replace(old, new, 1)


def kg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))


def check(text: str, name: str = "d.yaml", fmt: str = "yaml") -> dict:
    return check_text(text, fmt, name, CheckOptions(replaces=YOT, as_of="2025-01-01"))


# ------------------------------------------------------------------------------------------- parameters

@pytest.mark.parametrize("raw,param,words", [
    ({"failOn": "violatoin"}, "failOn", "failOn 'violatoin' is not one of violation, warning, info, none (did you mean 'violation'?)"),
    ({"asOf": "0001-01-01"}, "asOf", "asOf '0001-01-01' is outside 1900-01-01..2100-12-31"),
    ({"asOf": "2025-1-1"}, "asOf", "asOf '2025-1-1' is not a date (YYYY-MM-DD)"),
    ({"contactMaxAge": "999999999"}, "contactMaxAge", "contactMaxAge '999999999': give years (3, 2.5, 3y) or months (18m)"),
    ({"contactMaxAge": "101"}, "contactMaxAge", "contactMaxAge '101': at most 100 years"),
    ({"format": "html"}, "format", "format 'html' is not one of text, json, sarif, turtle"),
    ({"inputFormat": "rdfxml"}, "inputFormat", "inputFormat 'rdfxml' is not one of turtle, json-ld, yaml"),
    ({"replaces": "nope:x"}, "replaces", "replaces 'nope:x': unknown prefix 'nope' in 'nope:x'"),
])
def test_one_validation_names_the_parameter(raw: dict, param: str, words: str) -> None:
    with pytest.raises(ParamError) as e:
        validate_check_params(raw)
    assert e.value.param == param and str(e.value) == words
    with pytest.raises(ParamError) as e:  # the command line's spelling of the same parameter
        validate_check_params(raw, CLI_NAMES)
    assert e.value.param == CLI_NAMES[param] and str(e.value).startswith(CLI_NAMES[param] + " ")


def test_unknown_http_parameter_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ParamError) as e:
        validate_check_params({"failon": "warning"}, allowed={"failOn", "asOf"})
    assert e.value.param == "failon" and "did you mean 'failOn'?" in str(e.value)


def test_cli_refuses_the_same_parameters() -> None:
    p = kg("check", "examples/hmi-probation-cqc-yot.yaml", "--fail-on", "violatoin")
    assert p.returncode == 2 and "--fail-on 'violatoin' is not one of" in p.stderr
    p = kg("check", "examples/hmi-probation-cqc-yot.yaml", "--as-of", "0001-01-01")
    assert p.returncode == 2 and "--as-of '0001-01-01' is outside 1900-01-01..2100-12-31" in p.stderr


@pytest.mark.parametrize("query,param", [({"failOn": "violatoin"}, "failOn"), ({"asOf": "0001-01-01"}, "asOf"),
                                         ({"contactMaxAge": "1" + "0" * 40}, "contactMaxAge"),
                                         ({"failon": "warning"}, "failon"), ({"format": "html"}, "format")])
def test_http_refuses_bad_parameters_with_400(server, query: dict, param: str) -> None:
    r = httpx.post(server.url + "/check", content=EXAMPLE.encode(), params=query, timeout=60,
                   headers={"Content-Type": "application/yaml", "Accept": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["parameter"] == param and param in r.json()["detail"]
    body = {"draft": EXAMPLE, "format": "yaml", **{k: v for k, v in query.items() if k != "format"}}
    if param != "format":
        r = httpx.post(server.url + "/check", json=body, timeout=60, headers={"Accept": "application/json"})
        assert r.status_code == 400 and r.json()["parameter"] == param, r.text
    r = httpx.post(server.url + "/check", json={"draft": EXAMPLE, "format": "yml"}, timeout=60,
                   headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.json()["parameter"] == "format"


# ------------------------------------------------------------------------------------------- nothing dropped

def test_yaml_id_with_a_space_is_an_error_at_its_line() -> None:
    text = with_change(f"id: {YOT}\n", "id: agreement:hmi probation\n")
    with pytest.raises(DraftError) as e:
        parse_draft(text, "yaml", "d.yaml")
    assert (e.value.line, e.value.column) == (line_of(text, "id: agreement:hmi probation"), 5)
    assert e.value.message.startswith("the id 'agreement:hmi probation' is not a valid IRI: it contains ' '")


def test_jsonld_id_with_a_space_and_nested_graph_are_errors() -> None:
    doc = '{\n  "@context": "%s",\n  "id": "agreement:a b",\n  "type": "Agreement"\n}\n' % CTX
    with pytest.raises(DraftError) as e:
        parse_draft(doc, "json-ld", "d.jsonld")
    assert e.value.line == 3 and "'agreement:a b' is not a valid IRI" in e.value.message
    nested = ('{\n  "@context": "%s",\n  "@graph": [\n    {"id": "agreement:a", "type": "Agreement",\n'
              '     "@graph": [{"id": "agreement:b", "type": "Agreement"}]}\n  ]\n}\n' % CTX)
    with pytest.raises(DraftError) as e:
        parse_draft(nested, "json-ld", "d.jsonld")
    assert e.value.line == 5 and e.value.message.startswith("@graph is accepted only at the top of a draft")


@pytest.mark.parametrize("iri,shown", [("agreement:a>b", "'>'"), ("agreement:a\u0001b", "'\\x01'")])
def test_jsonld_bad_iri_characters_are_refused_at_parse(iri: str, shown: str) -> None:
    doc = json.dumps({"@context": CTX, "id": "agreement:a", "type": "Agreement", "party": iri}, indent=1)
    with pytest.raises(DraftError) as e:
        parse_draft(doc, "json-ld", "d.jsonld")
    assert e.value.line == 5 and f"is not a valid IRI: it contains {shown}" in e.value.message


def test_turtle_u0020_escape_in_an_iri_is_refused_at_its_line() -> None:
    ttl = ("@prefix remit: <https://w3id.org/remit/def/> .\n\n"
           "<https://w3id.org/remit/id/agreement/x> a remit:Agreement ;\n"
           "    remit:party <https://w3id.org/remit/id/body/hmi\\u0020probation> .\n")
    with pytest.raises(DraftError) as e:
        parse_draft(ttl, "turtle", "d.ttl")
    assert (e.value.line, e.value.column) == (4, 17)
    assert "'https://w3id.org/remit/id/body/hmi probation' is not a valid IRI: it contains ' '" in e.value.message


def test_a_draft_without_an_agreement_is_an_error_never_a_pass() -> None:
    text = with_change("type: MemorandumOfUnderstanding\n", "")
    with pytest.raises(DraftError) as e:
        check(text)
    assert e.value.message.startswith("the draft describes no agreement")


@pytest.mark.parametrize("text", ["a: " + "[" * 1000 + "]" * 1000, "[" * 100000 + "]" * 100000])
def test_deep_nesting_is_a_located_error(text: str) -> None:
    fmt = "yaml" if text.startswith("a") else "json-ld"
    with pytest.raises(DraftError) as e:
        parse_draft(text, fmt, "d")
    assert e.value.line == 1 and "nests deeper than 64 levels" in e.value.message


# ------------------------------------------------------------------------------------------- vocabulary

def test_misspelt_party_is_named_at_its_own_line() -> None:
    text = with_change("- body:hmi-probation\n", "- body:hmi-probaton\n")
    with pytest.raises(DraftError) as e:
        check(text)
    assert (e.value.line, e.value.column) == (line_of(text, "- body:hmi-probaton"), 3) == (12, 3)
    assert e.value.message == ("unknown body body:hmi-probaton: it is neither in the graph nor defined in the draft"
                               " — did you mean body:hmi-probation or body:hmi-prisons?")


def test_misspelt_function_is_named_at_its_own_line() -> None:
    text = with_change("- fn:inspection\n", "- fn:inspecton\n")
    with pytest.raises(DraftError) as e:
        check(text)
    assert (e.value.line, e.value.column) == (19, 3)
    assert e.value.message.startswith("unknown function fn:inspecton: it is neither in the graph nor defined in the "
                                      "draft — did you mean fn:inspection")


def test_owl_same_as_chain_is_refused_before_reasoning() -> None:
    chain = "".join(f"agreement:a{i} owl:sameAs agreement:a{i + 1} .\n" for i in range(150))
    ttl = ("@prefix owl: <http://www.w3.org/2002/07/owl#> .\n@prefix remit: <https://w3id.org/remit/def/> .\n"
           "@prefix agreement: <https://w3id.org/remit/id/agreement/> .\n\nagreement:a0 a remit:Agreement .\n" + chain)
    with pytest.raises(DraftError) as e:
        check_text(ttl, "turtle", "chain.ttl", CheckOptions())
    assert (e.value.line, e.value.column) == (6, 14)
    assert e.value.message.startswith("owl:sameAs is not a term of Remit's vocabulary")


def test_unknown_predicate_gets_a_suggestion() -> None:
    text = with_change("id: yot:area-1\n", "id: yot:area-1\n  remit:leadBodi: body:cqc\n")
    with pytest.raises(DraftError) as e:
        check(text)
    assert e.value.line == line_of(text, "remit:leadBodi")
    assert "remit:leadBodi is not a term of Remit's vocabulary" in e.value.message and "remit:leadBody" in e.value.message


# ------------------------------------------------------------------------------------------- locations

def test_ill_typed_date_is_reported_at_its_key_not_at_a_quotation() -> None:
    text = with_change("signedOn: '2012-04-12'", "signedOn: 12/04/2012")
    assert "quotation: date 12/04/2012" in text  # the same text earlier, in a quotation
    with pytest.raises(DraftError) as e:
        parse_draft(text, "yaml", "d.yaml")
    assert (e.value.line, e.value.column) == (line_of(text, "signedOn: 12/04/2012"), 13) == (35, 13)
    assert e.value.message == 'ill-typed literal "12/04/2012": expected a date YYYY-MM-DD for xsd:date'


def test_unclosed_bracket_says_where_it_opened() -> None:
    text = with_change("scopeSettingType:\n- st:probation-service\n- st:youth-offending-team\n",
                       "scopeSettingType: [st:probation-service,\n  st:youth-offending-team\n")
    with pytest.raises(DraftError) as e:
        parse_draft(text, "yaml", "d.yaml")
    assert e.value.line == 16
    assert e.value.message.endswith("the '[' opened at line 14, column 19 is not closed")


# ------------------------------------------------------------------------------------------- messages

def test_messages_name_labels_and_prefixed_names_not_iris() -> None:
    data = check((ROOT / "examples" / "hmi-probation-cqc-yot-revision.yaml").read_text(encoding="utf-8"))
    messages = [f["message"] for f in data["findings"]]
    assert not [m for m in messages if "https://w3id.org/remit/" in m]
    assert any("The lead body HM Inspectorate of Probation (body:hmi-probation) holds no recorded" in m
               for m in messages), messages


# ------------------------------------------------------------------------------------------- docs

def test_docs_show_the_real_report_of_three_mistakes() -> None:
    doc = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    m = re.search(r"```\n\$ (kg check tests/revision/fixtures/three-mistakes\.yaml[^\n]*)\n(.*?)\$ echo \$\?\n(\d+)\n```",
                  doc, re.S)
    assert m, "docs/check.md shows the three-mistakes example"
    p = kg(*m.group(1).split()[1:])
    assert p.stdout + p.stderr == m.group(2) and p.returncode == int(m.group(3))
