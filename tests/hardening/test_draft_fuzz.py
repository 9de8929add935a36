"""Property tests for the draft parsers (kg/revision/draft.py: YAML, Turtle, JSON-LD): any input gives a parsed
draft or a DraftError, never another exception and never a hang (pytest-timeout is the watchdog); a
DraftError that gives a line gives one inside the text. Inputs are arbitrary text and mutations (cuts,
insertions, duplications) of the example drafts.

Found by this fuzzing and fixed in kg/revision/draft.py: a few errors came without a line — YAML "special characters are not allowed" (PyYAML's ReaderError has a position, not a
mark) and some Turtle errors from rdflib (an unterminated quote at the end, "string index out of range").
Both are now located; ``test_errors_found_by_fuzzing_are_located`` keeps them fixed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.revision.draft import Draft, DraftError, parse_draft

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"turtle": sorted((ROOT / "examples").glob("*.ttl")), "yaml": sorted((ROOT / "examples").glob("*.y*ml")),
            "json-ld": sorted((ROOT / "examples").glob("*.jsonld"))}
NOISE = ["{", "}", "[", "]", ":", "\"", "'", "\\", "\n", "  ", "\t", "@prefix", "@context", "- ", "&a", "*a",
         "!!python/object:os.system", "<http://127.0.0.1:9/x>", "\u0000", "\ufeff", "é", "#", ";", ".", ",", "%",
         "@import", "owl:imports", "\"\"\"", "^^", "@en", "null", "true", "1e999", "[[[[[[[[[[", "{{{{{{{{"]


def seeds(fmt: str) -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in EXAMPLES[fmt]]
    return texts or [""]


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> str:
    base = draw(st.sampled_from(seeds(fmt)))
    for _ in range(draw(st.integers(0, 4))):
        if not base:
            break
        i = draw(st.integers(0, len(base)))
        op = draw(st.sampled_from(["cut", "insert", "dup"]))
        if op == "cut":
            j = draw(st.integers(i, min(len(base), i + 200)))
            base = base[:i] + base[j:]
        elif op == "insert":
            base = base[:i] + draw(st.sampled_from(NOISE) | st.text(max_size=20)) + base[i:]
        else:
            j = draw(st.integers(i, min(len(base), i + 300)))
            base = base[:j] + base[i:j] + base[j:]
    return base


def check(text: str, fmt: str) -> None:
    try:
        draft = parse_draft(text, fmt, name="fuzz")
    except DraftError as exc:
        assert exc.message, exc
        assert "Traceback" not in str(exc)
        if exc.line is not None:  # a location, when given, is inside the text
            assert 1 <= exc.line <= text.count("\n") + 2, (exc.line, exc)
        return
    assert isinstance(draft, Draft)


FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("fmt", ["turtle", "yaml", "json-ld"])
def test_examples_parse(fmt):
    assert EXAMPLES[fmt], f"no {fmt} example draft under examples/"
    for text in seeds(fmt):
        assert isinstance(parse_draft(text, fmt, name="example"), Draft)


def test_located_errors_for_ordinary_mistakes():
    for text, fmt, line in [("@prefix e: <http://e/> .\ne:a e:b e:c .\ne:a e:b ;\n", "turtle", 3),
                            ("a: 1\nb: [1, 2\nc: 3\n", "yaml", 3),
                            ('{"@id": "http://e/a",\n "http://e/p": {"@value": 1,}}', "json-ld", 2)]:
        with pytest.raises(DraftError) as exc:
            parse_draft(text, fmt, name="x")
        assert exc.value.line is not None and abs(exc.value.line - line) <= 1, (fmt, exc.value)


@pytest.mark.parametrize("text,fmt", [("\x1b", "yaml"), ('"^0', "turtle")])
def test_errors_found_by_fuzzing_are_located(text, fmt):
    """Regression: these once came without a line (YAML ReaderError; rdflib IndexError at end of input)."""
    with pytest.raises(DraftError) as exc:
        parse_draft(text, fmt, name="x")
    assert exc.value.line is not None


@pytest.mark.parametrize("fmt", ["turtle", "yaml", "json-ld"])
@FAST
@given(data=st.data())
def test_mutated_drafts_parse_or_fail_located(fmt, data):
    check(data.draw(mutated(fmt)), fmt)


@pytest.mark.parametrize("fmt", ["turtle", "yaml", "json-ld"])
@FAST
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_arbitrary_text_parses_or_fails_located(fmt, text):
    check(text, fmt)


def test_jsonld_example_is_the_turtle_agreement():
    """The JSON-LD example draft (published context by IRI) reads back isomorphic to its Turtle source."""
    from rdflib import Graph
    from rdflib.compare import isomorphic

    draft = parse_draft((ROOT / "examples" / "cqc-hmi-prisons.jsonld").read_text(encoding="utf-8"), "json-ld",
                        name="example")
    assert isomorphic(draft.graph, Graph().parse(ROOT / "data" / "agreements" / "cqc-hmi-prisons.ttl"))
