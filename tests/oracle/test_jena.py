"""Every ``.rq`` in queries/ is standard SPARQL: Apache Jena ARQ runs it unchanged and gives the rows Oxigraph gives.

Compared: the named queries (``queries/*.rq``), the QC queries (``queries/qc/*-violation.rq``), the rule checks
(``queries/rules/*.rq``) and the derive rules (``queries/derive/*.rq``), on these datasets ("worlds"):

* ``real`` — the real build (the session's, :func:`support.realbuild.ensure_real_build`): its ontology,
  asserted, inferred and derived graphs (the validation report is left out);
* ``fixture:<name>`` — each named query's fixture world (tests/queries/<name>/, loaded as its tests load it);
* ``checks`` — the ontology with every QC fixture (tests/qc/*/data.ttl on the data of tests/qc/tree) and
  every rule fixture (tests/revision/rules/*/fires.ttl) together, reasoned as ``kg build`` reasons, so the QC queries and rules
  have rows.

Oxigraph runs each query the way Remit runs it (named queries through :mod:`kg.query.registry`, parameters bound by
substitution, default graph = the union of :data:`kg.rdf.store.DEFAULT_GRAPHS`; QC queries and rules over the
union of the named graphs; derive rules over that union). Jena gets one N-Quads file per world holding the
same named graphs and, as its default graph, their union — what a store answering with
``default-graph-uri`` for those graphs sees — and the query text an external store receives: parameters
bound with a ``VALUES`` block (:func:`kg.query.remote.bind_with_values`). Queries are parsed as strict SPARQL 1.1.

Rows compare as multisets of (variable → term): blank nodes are one placeholder, numbers compare by
value, and cells joined with `` | `` (GROUP_CONCAT, whose order SPARQL leaves open) compare as sorted parts.
Every named query runs with its defaults (unless a parameter is required) and with each case of its
``cases.yaml``; each rule check with its defaults (today) and with fixed dates.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml
from rdflib import Graph

from kg.query.registry import bind_params, parse_named_query, select_page, term_to_json
from kg.query.terms import resolve_bindings
from kg.query.remote import bind_with_values
from kg.rdf.store import DEFAULT_GRAPHS
from support.realbuild import ensure_real_build

from oracle import jena

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "queries"
NAMED_FIXTURES = ROOT / "tests" / "queries"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: The dates the rule fixtures are written for (as tests/revision/test_rules.py runs them).
RULE_DATES = {"asOf": "2025-01-01", "contactCutoff": "2022-01-01"}


def _support():
    """tests/queries/_support.py (the named-query fixture loader), shared with test_named_queries."""
    if "_support" not in sys.modules:
        spec = importlib.util.spec_from_file_location("_support", NAMED_FIXTURES / "_support.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["_support"] = module
        spec.loader.exec_module(module)
    return sys.modules["_support"]


# --------------------------------------------------------------------------------------------- jobs

@dataclass(frozen=True)
class Job:
    world: str
    kind: str  # named | qc | rules | derive
    path: Path
    params: dict[str, str] = field(default_factory=dict)
    case: str = "defaults"

    @property
    def id(self) -> str:
        return f"{self.world}/{self.path.relative_to(QUERIES).as_posix()}[{self.case}]"

    def __hash__(self) -> int:
        return hash(self.id)


def _header_params(path: Path) -> list[dict]:
    return _support().header(path).get("params") or []


def _cases(name: str) -> dict[str, dict[str, str]]:
    f = NAMED_FIXTURES / name / "cases.yaml"
    raw = yaml.safe_load(f.read_text(encoding="utf-8")) if f.exists() else {}
    return {case: {k: str(v) for k, v in (params or {}).items()} for case, params in (raw or {}).items()}


def all_rq_files() -> list[Path]:
    return sorted(QUERIES.rglob("*.rq"))


def _in_real_sources(params: dict[str, str]) -> bool:
    """Every IRI value of a fixture case names a term the real sources write (a fixture-only IRI is an
    error on the real graph: parameters never silently miss)."""
    iris = [v for v in params.values() if v.startswith(("http://", "https://"))]
    return all(any(iri.rsplit("/", 1)[-1] in text for text in _REAL_TEXTS) for iri in iris)


_REAL_TEXTS = [f.read_text(encoding="utf-8") for d in ("data", "ontology") for f in sorted((ROOT / d).rglob("*.ttl"))]


def jobs() -> list[Job]:
    out: list[Job] = []
    named = sorted(QUERIES.glob("*.rq"))
    for path in named:
        nq = parse_named_query(path)
        runs = {} if any(p.required and p.default is None for p in nq.params) else {"defaults": {}}
        runs.update(_cases(path.stem))
        out += [Job(f"fixture:{path.stem}", "named", path, params, case) for case, params in runs.items()]
        out += [Job("real", "named", path, params, case) for case, params in runs.items() if _in_real_sources(params)]
    for world in ("real", "checks"):
        out += [Job(world, "qc", p) for p in sorted((QUERIES / "qc").glob("*-violation.rq"))]
        for p in sorted((QUERIES / "rules").glob("*.rq")):
            out.append(Job(world, "rules", p))
            dated = {d["name"]: RULE_DATES[d["name"]] for d in _header_params(p)}
            if dated:
                out.append(Job(world, "rules", p, dated, "2025-01-01"))
        out += [Job(world, "derive", p) for p in sorted((QUERIES / "derive").glob("*.rq"))]
    return out


JOBS = jobs()


# --------------------------------------------------------------------------------------------- worlds

def _served(quads) -> ox.Store:
    """A store with only the served graphs (DEFAULT_GRAPHS) of ``quads``."""
    keep = {ox.NamedNode(g) for g in DEFAULT_GRAPHS}
    store = ox.Store()
    store.extend([q for q in quads if q.graph_name in keep])
    return store


def _reasoned(files: list[Path]) -> ox.Store:
    """Ontology and vocabularies with ``files``, reasoned as ``kg build`` reasons, in the asserted graph, with the
    derived graph added (tests/queries/_support.load_store, as for one named-query fixture)."""
    g = Graph()
    for f in files:
        g.parse(f)
    return _support().load_store(g)


class Worlds:
    """Each world's Oxigraph store and the N-Quads file Jena loads (its named graphs + their union as
    the default graph), made on first use."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.stores: dict[str, ox.Store] = {}
        self.files: dict[str, Path] = {}

    def _make(self, world: str) -> ox.Store:
        if world == "real":
            out = ensure_real_build()  # the session's one real build (read once, here, into memory)
            full = ox.Store()
            full.load(path=str(out / "remit.trig"), format=ox.RdfFormat.TRIG)
            return _served(full)
        if world.startswith("fixture:"):
            return _served(_support().load_fixture(world.split(":", 1)[1]))
        assert world == "checks"
        qc, rules = ROOT / "tests" / "qc", ROOT / "tests" / "revision" / "rules"
        files = sorted((qc / "tree" / "data").rglob("*.ttl")) + sorted(qc.glob("*/data.ttl")) + sorted(rules.glob("*/fires.ttl"))
        return _reasoned(files)

    def store(self, world: str) -> ox.Store:
        if world not in self.stores:
            store = self._make(world)
            assert len(store) > 0, f"{world}: empty"
            self.stores[world] = store
        return self.stores[world]

    def file(self, world: str) -> Path:
        if world not in self.files:
            store = self.store(world)
            jena_ds = ox.Store()
            quads = list(store)
            jena_ds.extend(quads)
            jena_ds.extend([ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads])
            path = self.tmp / f"{world.replace(':', '-')}.nq"
            jena_ds.dump(str(path), format=ox.RdfFormat.N_QUADS)
            self.files[world] = path
        return self.files[world]


# --------------------------------------------------------------------------------------------- terms

_NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                              "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
                              "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}


def _literal(value: str, datatype: str | None, lang: str | None) -> tuple:
    if lang:
        return ("lang", value, lang.lower())
    datatype = datatype or XSD + "string"
    if datatype in _NUMERIC:
        try:
            num = Fraction(float(value)) if datatype in (XSD + "double", XSD + "float") else Fraction(Decimal(value))
            return ("num", num)
        except (ValueError, ArithmeticError):
            pass
    if " | " in value:
        value = " | ".join(sorted(value.split(" | ")))
    return ("lit", value, datatype)


def term_ox(t) -> tuple:
    if isinstance(t, ox.NamedNode):
        return ("iri", t.value)
    if isinstance(t, ox.BlankNode):
        return ("bnode",)
    if isinstance(t, ox.Literal):
        return _literal(t.value, t.datatype.value, t.language)
    raise TypeError(f"unexpected term {t!r}")


def term_json(b: dict) -> tuple:
    if b["type"] == "uri":
        return ("iri", b["value"])
    if b["type"] == "bnode":
        return ("bnode",)
    return _literal(b["value"], b.get("datatype"), b.get("xml:lang"))


Row = tuple  # sorted ((var, term), ...)


@dataclass
class Answer:
    variables: set[str]
    rows: Counter

    def __len__(self) -> int:
        return sum(self.rows.values())


def _row(pairs) -> Row:
    return tuple(sorted(pairs))


# --------------------------------------------------------------------------------------------- running

def _date(value: str) -> tuple[str, str, str]:
    return ("literal", value, XSD + "date")


def _rule_bindings(job: Job) -> dict[str, tuple[str, str, str]]:
    today = dt.date.today().isoformat()
    out = {}
    for p in _header_params(job.path):
        value = job.params.get(p["name"]) or (today if str(p.get("default")) == "today" else p.get("default"))
        out[p["name"]] = _date(str(value))
    return out


def run_oxigraph(store: ox.Store, job: Job) -> tuple[str, Answer]:
    """Run ``job`` as Remit runs it; return the text Jena gets and Oxigraph's answer."""
    text = job.path.read_text(encoding="utf-8")
    if job.kind == "named":
        nq = parse_named_query(job.path)
        bindings = bind_params(nq, job.params)
        # an IRI parameter as typed is resolved to its term first (as select_page does), so Jena's VALUES block
        # holds the IRI and not the typed text as a string
        graphs = [ox.NamedNode(g) for g in DEFAULT_GRAPHS]
        bindings = resolve_bindings(
            lambda q: [{c.value: term_to_json(s[c]) for c in res.variables if s[c] is not None}
                       for res in [store.query(q, default_graph=graphs)] for s in res], bindings)
        page = select_page(store, nq.text, bindings, limit=10**7, offset=0)
        assert not page.has_more
        rows = Counter(_row((v, term_json(b)) for v, b in r.items()) for r in page.rows)
        return bind_with_values(nq.text, bindings), Answer(set(page.columns), rows)
    if job.kind in ("qc", "rules"):
        bindings = _rule_bindings(job) if job.kind == "rules" else {}
        subs = {ox.Variable(k): ox.Literal(v, datatype=ox.NamedNode(d)) for k, (_, v, d) in bindings.items()}
        result = store.query(text, use_default_graph_as_union=True, substitutions=subs)
        names = [v.value for v in result.variables]
        rows = Counter(_row((n, term_ox(s[n])) for n in names if s[n] is not None) for s in result)
        return bind_with_values(text, bindings), Answer(set(names), rows)
    assert job.kind == "derive"
    result = store.query(text, default_graph=[ox.NamedNode(g) for g in DEFAULT_GRAPHS])
    rows = Counter(_row((("s", term_ox(t.subject)), ("p", term_ox(t.predicate)), ("o", term_ox(t.object))))
                   for t in set(result))
    return text, Answer({"s", "p", "o"}, rows)


def read_jena(out: Path, kind: str) -> Answer:
    if kind == "derive":
        triples = set(ox.parse(path=str(out), format=ox.RdfFormat.N_TRIPLES))
        rows = Counter(_row((("s", term_ox(t.subject)), ("p", term_ox(t.predicate)), ("o", term_ox(t.object))))
                       for t in triples)
        return Answer({"s", "p", "o"}, rows)
    data = json.loads(out.read_text(encoding="utf-8"))
    rows = Counter(_row((v, term_json(b)) for v, b in r.items()) for r in data["results"]["bindings"])
    return Answer(set(data["head"]["vars"]), rows)


@dataclass
class Outcome:
    oxigraph: Answer
    jena: Answer | None
    error: str | None
    text: Path


@pytest.fixture(scope="session")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Worlds:
    return Worlds(tmp_path_factory.mktemp("jena-worlds"))


@pytest.fixture(scope="session")
def outcomes(worlds: Worlds, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every job on Oxigraph and on Jena (one JVM for all): the jobs are handed to Jena as each world is
    ready, the real build first, so Jena answers while the next worlds are made."""
    tmp = tmp_path_factory.mktemp("jena-jobs")
    ox_answers: dict[str, tuple[Answer, Path, Path]] = {}

    def feed():
        for i, job in sorted(enumerate(JOBS), key=lambda ij: (ij[1].world != "real", ij[1].world, ij[0])):
            text, answer = run_oxigraph(worlds.store(job.world), job)
            qfile, out = tmp / f"{i:03d}.rq", tmp / f"{i:03d}.out"
            qfile.write_text(text, encoding="utf-8")
            ox_answers[job.id] = (answer, qfile, out)
            yield worlds.file(job.world), qfile, out

    jena.run_batch(feed())
    result = {}
    for job in JOBS:
        answer, qfile, out = ox_answers[job.id]
        err = out.with_name(out.name + ".error")
        if err.exists():
            result[job.id] = Outcome(answer, None, err.read_text(encoding="utf-8"), qfile)
        else:
            result[job.id] = Outcome(answer, read_jena(out, job.kind), None, qfile)
    return result


# --------------------------------------------------------------------------------------------- tests

def test_every_rq_file_is_compared() -> None:
    compared = {j.path for j in JOBS}
    assert compared == set(all_rq_files()), "a .rq file in queries/ is not in the Jena comparison"
    assert len(compared) >= 30


def test_each_rq_file_has_rows_somewhere(outcomes: dict[str, Outcome]) -> None:
    """The comparison means something: every query answers with rows on at least one world."""
    silent = [p.relative_to(QUERIES).as_posix() for p in all_rq_files()
              if not any(len(outcomes[j.id].oxigraph) for j in JOBS if j.path == p)]
    assert not silent, f"no rows on any world (the comparison would prove little): {silent}"


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.id)
def test_jena_gives_the_same_rows(job: Job, outcomes: dict[str, Outcome]) -> None:
    o = outcomes[job.id]
    assert o.error is None, f"Jena refused or failed on {job.id} (query sent: {o.text}): {o.error}"
    assert o.jena is not None
    assert o.jena.variables == o.oxigraph.variables, f"{job.id}: variables differ"
    only_ox = o.oxigraph.rows - o.jena.rows
    only_jena = o.jena.rows - o.oxigraph.rows
    assert not only_ox and not only_jena, (
        f"{job.id}: {len(o.oxigraph)} rows on Oxigraph, {len(o.jena)} on Jena, "
        f"{len(only_ox)} only on Oxigraph, {len(only_jena)} only on Jena; {_closest(only_ox, only_jena)}")


def _closest(only_ox: Counter, only_jena: Counter) -> str:
    """The first row only Oxigraph gave against the most similar row only Jena gave: the cells that differ."""
    if not only_ox or not only_jena:
        return f"e.g. {next(iter(only_ox or only_jena))}"
    a = dict(next(iter(only_ox)))
    b = max((dict(r) for r in only_jena), key=lambda r: sum(a.get(k) == v for k, v in r.items()))
    diff = {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
    return f"nearest pair differs in (Oxigraph, Jena): {diff}"


def test_the_debian_cli_agrees_with_the_batch_driver(worlds: Worlds, outcomes: dict[str, Outcome]) -> None:
    """One query through Debian's own ``arq.sparql`` gives what JenaBatch.java gave (the driver adds nothing)."""
    job = next(j for j in JOBS if j.world == "fixture:overlaps" and j.case != "defaults")
    o = outcomes[job.id]
    done = jena.arq_cli(worlds.file(job.world), o.text)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    cli = Counter(_row((v, term_json(b)) for v, b in r.items()) for r in data["results"]["bindings"])
    assert sum(cli.values()) > 0
    assert o.jena is not None and cli == o.jena.rows
