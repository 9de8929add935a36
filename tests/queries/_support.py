"""Helpers for the named-query tests: load a fixture with the ontology under OWL 2 RL, run a query.

A fixture is expanded together with the ontology and vocabularies by owlrl (OWL 2 RL), then loaded
into an in-memory pyoxigraph store, the derive rules (``queries/derive``) add ``id:graph/derived`` as
``kg build`` does, and the query runs over that union, as it does over the built store.
Parameters are bound the way the registry binds them: pyoxigraph ``substitutions``.
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache
from pathlib import Path

import owlrl
import pyoxigraph as ox
import yaml
from rdflib import Graph, Literal

from kg.pipeline.derive import derive, load_rules
from kg.rdf.namespaces import GRAPH_ASSERTED
from kg.query.registry import MAX_LIMIT, parse_named_query, run_named

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "queries"
FIXTURES = Path(__file__).resolve().parent

__all__ = ["ROOT", "QUERIES", "FIXTURES", "header", "query_names", "load_fixture", "run", "read_expected", "normalise"]

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


@lru_cache(maxsize=1)
def _ontology() -> Graph:
    """Ontology + vocabularies, expanded once per session."""
    g = Graph()
    g.parse(ROOT / "ontology" / "remit.ttl")
    for p in sorted((ROOT / "ontology" / "vocab").glob("*.ttl")):
        g.parse(p)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(g)
    return g


@lru_cache(maxsize=None)
def load_fixture(name: str) -> ox.Store:
    """The expanded fixture of one query folder, in an in-memory store."""
    g = Graph()
    for t in _ontology():
        g.add(t)
    g.parse(FIXTURES / "world.ttl")
    g.parse(FIXTURES / name / "fixture.ttl")
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(g)
    clean = Graph()
    for t in g:
        if not isinstance(t[0], Literal):  # owlrl types literals (not RDF); the build drops them too
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
