"""Helpers for the named-query tests: load a fixture with the ontology under OWL 2 RL, run a query.

A fixture (``world.ttl`` + the query folder's ``fixture.ttl``) is reasoned together with the expanded ontology and
vocabularies as ``kg build`` reasons (tests/shapes/shapes_harness.reasoned: the default reasoner, owlrl where it
refuses the data; that the two agree on every fixture is tests/oracle/test_fixture_reasoning.py; until 2026-12-06
owlrl reasoned each fixture here, 1.3-4 s each), then loaded into an in-memory pyoxigraph store, the derive rules
(``queries/derive``) add ``id:graph/derived`` as ``kg build`` does, and the query runs over that union, as it does
over the built store.
Parameters are bound the way the registry binds them: pyoxigraph ``substitutions``.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import yaml
from rdflib import Graph, Literal

from kg.pipeline.derive import derive, load_rules
from kg.rdf.namespaces import GRAPH_ASSERTED
from kg.query.registry import MAX_LIMIT, parse_named_query, run_named

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shapes"))

from shapes_harness import reasoned  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "queries"
FIXTURES = Path(__file__).resolve().parent

__all__ = ["ROOT", "QUERIES", "FIXTURES", "header", "query_names", "fixture_data", "load_fixture", "load_store", "run", "read_expected", "normalise"]

_HEADER_LINE = re.compile(r"^#\+ ?(.*)$")


def header(path: Path) -> dict:
    """The YAML header of a ``.rq`` file (the leading ``#+`` lines)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _HEADER_LINE.match(line)
        if not m:
            break
        lines.append(m.group(1))
    return yaml.safe_load("\n".join(lines)) or {}


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERIES.glob("*.rq"))


def fixture_data(name: str) -> Graph:
    """The asserted data of one query folder's fixture: ``world.ttl`` and its ``fixture.ttl``."""
    g = Graph()
    g.parse(FIXTURES / "world.ttl")
    g.parse(FIXTURES / name / "fixture.ttl")
    return g


@lru_cache(maxsize=None)
def load_fixture(name: str) -> ox.Store:
    """The reasoned fixture of one query folder (:func:`load_store` of :func:`fixture_data`)."""
    return load_store(fixture_data(name))


def load_store(data: Graph) -> ox.Store:
    """``data`` reasoned with the ontology (ontology, data and what the build infers) in the asserted graph of an
    in-memory store, with the derived graph that ``kg build`` adds."""
    clean = Graph()
    for t in reasoned(data):
        if not isinstance(t[0], Literal):  # owlrl (where the default reasoner refuses) types literals; the build drops them
            clean.add(t)
    store = ox.Store()
    # into the asserted graph, so the registry's default graph (ontology + asserted + inferred) sees it
    store.load(clean.serialize(format="nt"), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    # the build-time derived facts (queries/derive/*.rq, id:graph/derived), as `kg build` writes them
    derive(store, load_rules(QUERIES / "derive"))
    return store


def run(store: ox.Store, name: str, params: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Run ``queries/<name>.rq`` through the registry (kg.query.registry: header parsing, parameter checks,
    substitution, default graph); rows as dicts of strings ('' = unbound)."""
    nq = parse_named_query(QUERIES / f"{name}.rq")
    page = run_named(store, nq, params or {}, limit=MAX_LIMIT, offset=0)
    assert not page.has_more, f"{name}: more than {MAX_LIMIT} rows on a fixture"
    return [{c: r[c]["value"] if c in r else "" for c in page.columns} for r in page.rows]


def normalise(value: str) -> str:
    """Concatenated cells compare as sets: sort the ' | ' separated parts."""
    if " | " in value:
        return " | ".join(sorted(value.split(" | ")))
    return value


def read_expected(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [dict(row) for row in csv.DictReader(f)]


def to_csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in columns})
    return out.getvalue()
