"""Every named query in queries/*.rq: header, parse, and exact rows on its fixture.

Each folder tests/queries/<name>/ holds ``fixture.ttl`` (added to the shared ``world.ttl``) and one or
more expected-row files: ``expected.csv`` (parameters at their defaults, i.e. unbound or today) and
``expected-<case>.csv`` whose parameters are given in ``cases.yaml`` (``<case>: {param: value}``).
Rows compare as multisets unless the query has ORDER BY, in which case order matters too; cells joined
with `` | `` compare as sets.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest
import yaml

from kg.query.registry import MAX_LIMIT, PAGE_MARKER, parse_named_query, run_named
from kg.query.window import WINDOW_MARKER

from _support import FIXTURES, QUERIES, header, load_fixture, normalise, query_names, read_expected, run

ALLOWED_TYPES = {"iri", "date", "string", "int", "bool"}


def _cases() -> list[tuple[str, str, dict[str, str]]]:
    out = []
    for name in query_names():
        folder = FIXTURES / name
        params = {}
        if (folder / "cases.yaml").exists():
            params = yaml.safe_load((folder / "cases.yaml").read_text(encoding="utf-8")) or {}
        for path in sorted(folder.glob("expected*.csv")):
            case = path.stem[len("expected-"):] if path.stem != "expected" else ""
            out.append((name, path.name, {k: str(v) for k, v in (params.get(case) or {}).items()}))
    return out


def test_every_query_has_a_fixture_folder_and_back() -> None:
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert query_names(), "no queries/*.rq"
    assert set(query_names()) == folders


@pytest.mark.parametrize("name", query_names())
def test_header_and_parse(name: str) -> None:
    path = QUERIES / f"{name}.rq"
    text = path.read_text(encoding="utf-8")
    h = header(path)
    assert isinstance(h.get("summary"), str) and h["summary"].strip(), f"{path}: no summary"
    assert isinstance(h.get("description"), str) and len(h["description"]) > 80, f"{path}: description too short"
    assert isinstance(h.get("tags"), list) and h["tags"], f"{path}: no tags"
    params = h.get("params") or []
    assert isinstance(params, list)
    for p in params:
        assert set(p) >= {"name", "type", "default", "description"}, f"{path}: incomplete param {p}"
        assert p["type"] in ALLOWED_TYPES, f"{path}: param {p['name']} has type {p['type']}"
        assert re.search(rf"\?{p['name']}\b", text), f"{path}: param {p['name']} is not a variable of the query"
    # the only LIMITs allowed are kg.query.registry's page marker (LIMIT 1000000000000 # @page), at most once,
    # and kg.query.window's window marker (LIMIT 1000000000000 # @window)
    body = text.split("\n#+", 1)[-1].split("PREFIX", 1)[-1]
    assert body.count(PAGE_MARKER) <= 1, f"{path}: more than one page marker"
    assert not re.search(r"\bLIMIT\b|\bOFFSET\b", body.replace(PAGE_MARKER, "").replace(WINDOW_MARKER, "")), \
        f"{path}: hard-coded LIMIT/OFFSET"
    assert not _lone_not_exists(text), f"{path}: FILTER NOT EXISTS alone is slow on Oxigraph; use MINUS"
    ox.Store().query(text)  # parses and runs on an empty store
    assert (FIXTURES / name / "fixture.ttl").exists(), f"no fixture for {name}"
    assert list((FIXTURES / name).glob("expected*.csv")), f"no expected rows for {name}"


@pytest.mark.parametrize("name,expected,params", _cases(), ids=lambda v: v if isinstance(v, str) else None)
def test_expected_rows(name: str, expected: str, params: dict[str, str]) -> None:
    want = read_expected(FIXTURES / name / expected)
    got = run(load_fixture(name), name, params)
    echoed = {p["name"] for p in header(QUERIES / f"{name}.rq").get("params") or []}
    columns = [c for c in (want[0].keys() if want else []) if c not in echoed]  # parameters echo the input
    got_rows = [tuple(normalise(r.get(c, "")) for c in columns) for r in got]
    want_rows = [tuple(normalise(r[c]) for c in columns) for r in want]
    if "ORDER BY" not in (QUERIES / f"{name}.rq").read_text(encoding="utf-8"):
        got_rows, want_rows = sorted(got_rows), sorted(want_rows)
    assert got_rows == want_rows, f"{name} {params}: rows differ"
    if got:
        missing = set(columns) - set(got[0])
        assert not missing, f"{name}: columns {missing} not produced"


def test_paging_is_left_to_the_runner() -> None:
    """The runner pages (limit/offset): a page is a slice of the same, ordered rows."""
    store = load_fixture("overlaps")
    nq = parse_named_query(QUERIES / "overlaps.rq")
    full = run_named(store, nq, {}, limit=MAX_LIMIT, offset=0).rows
    page = run_named(store, nq, {}, limit=2, offset=1)
    assert len(full) > 3 and page.rows == full[1:3] and page.has_more


def _lone_not_exists(text: str) -> bool:
    """A ``FILTER NOT EXISTS { … }`` that is the whole filter (MINUS does that job, faster on Oxigraph). One that
    is a term of a disjunction (``FILTER(NOT EXISTS { … } || EXISTS { … })``, "names none, or names this one")
    has no MINUS form and is allowed; so is one directly in an ``OPTIONAL`` group, which Oxigraph looks up for
    each row it extends, where a ``MINUS`` there is evaluated over the whole graph first (agreement-overlaps'
    leads, a page at 1M synthetic triples: 230 ms with ``FILTER NOT EXISTS``, 470 ms with ``MINUS``)."""
    code = re.sub(r"#[^\n]*", "", text).upper()
    for m in re.finditer(r"\bNOT\s+EXISTS\s*\{", code):
        depth, k = 0, m.start()
        while k > 0 and depth >= 0:  # the "{" of the group the filter is in
            k -= 1
            depth += {"}": 1, "{": -1}.get(code[k], 0)
        if re.search(r"\bOPTIONAL\s*$", code[:k]):
            continue
        depth, k = 0, m.end() - 1
        for k in range(m.end() - 1, len(code)):
            depth += {"{": 1, "}": -1}.get(code[k], 0)
            if depth == 0:
                break
        if not code[k + 1:].lstrip().startswith("||"):
            return True
    return False


def test_lone_not_exists_is_told_apart_from_a_disjunction() -> None:
    assert _lone_not_exists("SELECT * WHERE { ?a ?b ?c FILTER NOT EXISTS { ?a ?d ?e } }")
    assert _lone_not_exists("SELECT * WHERE { ?a ?b ?c FILTER(NOT EXISTS { ?a ?d ?e }) }")
    assert not _lone_not_exists("SELECT * WHERE { ?a ?b ?c FILTER(NOT EXISTS { ?a ?d ?e } || EXISTS { ?a ?f ?g }) }")
    assert not _lone_not_exists("SELECT * WHERE { ?a ?b ?c OPTIONAL { ?a ?d ?e FILTER NOT EXISTS { ?a ?d ?f } } }")
    assert _lone_not_exists("SELECT * WHERE { ?a ?b ?c OPTIONAL { ?a ?d ?e"
                            " { ?a ?g ?h FILTER NOT EXISTS { ?a ?d ?f } } } }")
