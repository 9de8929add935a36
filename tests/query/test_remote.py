"""kg push and kg.query.remote against a real Oxigraph server started by the test (no mocks).

The server (``.venv/bin/oxigraph serve``) runs on a free loopback port with a temporary store; a small
synthetic build is pushed into it twice (PUT replaces: same counts), then every named query runs through
SPARQLWrapper (kg.query.remote) and through the embedded store (kg.query.registry) and the rows must be equal.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.pipeline.derive import derive, load_rules
from kg.pipeline.reason import materialise
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from kg.ops.push import PushError, graph_store_url, push, read_dataset
from kg.query.registry import load_queries, run_named
from kg.query.terms import ParamError
from kg.query.remote import RemoteError, RemoteStore, bind_with_values, run_named_remote
from kg.ops.synth import synthesize
from kg.rdf import datadate
from support.servers import free_port, oxigraph_server

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(180)




@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset reasoned like the build does: build/remit.trig-like TriG file."""
    tmp = tmp_path_factory.mktemp("remote-build")
    synthesize(tmp / "data", 3000, seed=7)
    store = ox.Store()
    for f in sorted((ROOT / "ontology").glob("*.ttl")) + sorted((ROOT / "ontology" / "vocab").glob("*.ttl")):
        store.load(path=str(f), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ONTOLOGY)))
    for f in sorted((tmp / "data").rglob("*.ttl")):
        store.load(path=str(f), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    materialise(store)
    derive(store, load_rules(ROOT / "queries" / "derive"))  # as kg build: the queries read id:graph/derived
    datadate.record(store)  # as kg build: the data date, every asOf's default
    store.dump(str(tmp / "remit.trig"), format=ox.RdfFormat.TRIG)
    return tmp / "remit.trig"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    location = tmp_path_factory.mktemp("oxigraph-store")
    try:
        with oxigraph_server(location) as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))
    shutil.rmtree(location, ignore_errors=True)


def _counts(base: str) -> dict[str, int]:
    remote = RemoteStore(base + "/query")
    return {g: remote.count(g) for g in (str(GRAPH_ONTOLOGY), str(GRAPH_ASSERTED), str(GRAPH_INFERRED))}


def test_push_is_idempotent(built: Path, server: str) -> None:
    local = {g: len(set(ts)) for g, ts in read_dataset(built).items()}
    seen: list[tuple[str, int, int]] = []
    first = push(built, graph_store_url(server + "/query"), server + "/query",
                 progress=lambda g, done, total: seen.append((g, done, total)))
    assert {g.graph: g.stored for g in first.graphs} == local
    assert all(g.status in (201, 204) for g in first.graphs)
    assert seen and seen[-1][1] == seen[-1][2]  # progress reached the total
    once = _counts(server)
    second = push(built, server + "/store", server + "/query")
    assert _counts(server) == once == {g: local[g] for g in once}
    assert all(g.status == 204 for g in second.graphs)  # replaced, not created


def _normalise(rows: list[dict]) -> list[dict]:
    """GROUP_CONCAT joins values in an order SPARQL leaves open; compare the parts as sets."""
    out = []
    for row in rows:
        r = {}
        for k, v in row.items():
            v = dict(v)
            if v.get("type") == "literal" and " | " in v["value"]:
                v["value"] = " | ".join(sorted(v["value"].split(" | ")))
            r[k] = v
        out.append(r)
    return out


def sample_overlap(store: ox.Store) -> dict[str, str]:
    """Real values for required parameters (explain): the first overlap of the synthetic graph. A term
    that is not in the graph is an error, so the sample must come from the graph itself."""
    nq = load_queries(ROOT / "queries")["overlaps"]
    row = run_named(store, nq, {"asOf": "2026-01-01"}, 1, 0).rows[0]
    sample = {"body1": row["body1"]["value"], "body2": row["body2"]["value"], "settingType": row["settingType"]["value"],
              "function": row["function1"]["value"]}
    setting = next(iter(store.query("PREFIX remit: <https://w3id.org/remit/def/> SELECT ?s WHERE { GRAPH ?g { ?s a remit:Setting } } LIMIT 1")), None)
    if setting is not None:  # establishment: a setting of the graph
        sample["establishment"] = setting[0].value
    return sample


def test_named_queries_match_the_embedded_store(built: Path, server: str) -> None:
    push(built, server + "/store", server + "/query")
    embedded = ox.Store()
    embedded.load(path=str(built), format=ox.RdfFormat.TRIG)
    remote = RemoteStore(server + "/query")
    registry = load_queries(ROOT / "queries")
    assert {"overlaps", "duplications"} <= set(registry)
    nonempty = 0
    sample = sample_overlap(embedded)
    for name, nq in sorted(registry.items()):
        params = {"asOf": "2026-01-01"} if any(p.name == "asOf" for p in nq.params) else {}
        # required parameters (explain) get a real example: an overlap of the graph
        params.update({p.name: sample[p.name] for p in nq.params if p.required and p.name in sample})
        if any(p.required and p.name not in params for p in nq.params):  # no such term in this graph:
            with pytest.raises(ParamError) as mine_err:  # both sides refuse with the same message
                run_named(embedded, nq, params, 10, 0)
            with pytest.raises(ParamError) as their_err:
                run_named_remote(remote, nq, params, 10, 0)
            assert str(mine_err.value) == str(their_err.value), name
            continue
        for limit, offset in ((1000, 0), (3, 2)):
            mine = run_named(embedded, nq, params, limit, offset)
            theirs = run_named_remote(remote, nq, params, limit, offset)
            assert theirs.columns == mine.columns, name
            assert (theirs.has_more, len(theirs.rows)) == (mine.has_more, len(mine.rows)), (name, limit, offset)
            assert _normalise(theirs.rows) == _normalise(mine.rows), (name, limit, offset)
        nonempty += bool(mine.rows)
    assert nonempty >= 3


def test_asof_defaults_to_the_pushed_data_date(built: Path, server: str) -> None:
    """After ``kg push`` the external store answers the data date the build recorded, and a named query given no
    ``asOf`` answers as of that day there, as on the embedded store (never the clock)."""
    push(built, server + "/store", server + "/query")
    embedded = ox.Store()
    embedded.load(path=str(built), format=ox.RdfFormat.TRIG)
    day = datadate.compute(embedded).isoformat()
    remote = RemoteStore(server + "/query")
    assert [r["d"]["value"] for r in remote.select(datadate.RECORDED_QUERY)[1]] == [day]
    nq = load_queries(ROOT / "queries")["overlaps"]
    theirs = run_named_remote(remote, nq, {}, 1000, 0)
    assert theirs.params["asOf"] == day
    assert theirs.rows == run_named_remote(remote, nq, {"asOf": day}, 1000, 0).rows
    assert len(theirs.rows) == len(run_named(embedded, nq, {}, 1000, 0).rows) > 0


def test_parameters_are_bound_not_pasted(built: Path, server: str) -> None:
    push(built, server + "/store", server + "/query")
    registry = load_queries(ROOT / "queries")
    nq = registry["overlaps"]
    embedded = ox.Store()
    embedded.load(path=str(built), format=ox.RdfFormat.TRIG)
    st = "https://w3id.org/remit/id/setting-type/prison"
    params = {"settingType": st, "asOf": "2026-01-01"}
    mine = run_named(embedded, nq, params, 1000, 0)
    theirs = run_named_remote(RemoteStore(server + "/query"), nq, params, 1000, 0)
    assert _normalise(theirs.rows) == _normalise(mine.rows)
    assert all(r["settingType"]["value"] == st for r in theirs.rows)
    # a hostile string value stays a literal
    text = bind_with_values('SELECT ?x WHERE { BIND(?q AS ?x) }', {"q": ("literal", '"} } DROP ALL #', None)})
    cols, rows = RemoteStore(server + "/query").select(text)
    assert rows == [{"x": {"type": "literal", "value": '"} } DROP ALL #'}}]


def test_errors_are_clear(built: Path, server: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RemoteError, match="cannot reach the store"):
        RemoteStore(dead + "/query").select("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    with pytest.raises(RemoteError, match="rejected the query"):
        RemoteStore(server + "/query").select("SELECT * WHERE { ?s ?p }")
    with pytest.raises(PushError, match="refused graph"):
        push(built, server + "/no-such-path", None)
    with pytest.raises(PushError, match="no built dataset"):
        push(tmp_path / "missing.trig", server + "/store", None)
    with pytest.raises(PushError, match="cannot send graph"):
        push(built, dead + "/store", None)


def test_cli_push_and_query(built: Path, server: str) -> None:
    kg = [sys.executable, "-m", "kg.cli"]
    r = subprocess.run(kg + ["push", "--store", server + "/query", "--dataset", str(built)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "pushed" in r.stdout and "in the store" in r.stdout
    r = subprocess.run(kg + ["query", "overlaps", "--store", server + "/query", "--format", "csv",
                             "-p", "asOf=2026-01-01"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("body1,")
    dead = f"http://127.0.0.1:{free_port()}/query"
    r = subprocess.run(kg + ["query", "overlaps", "--store", dead], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 3 and "cannot reach the store" in r.stderr


def test_values_binding_reaches_minus_groups_and_sub_selects() -> None:
    """Regression: the external-store path binds parameters with a VALUES block, which a MINUS group or
    a sub-select does not see; `duplications` with asOf=1999-01-01 then judged agreements in force on
    today's date (18 rows instead of 23). Every named query with an `asOf` parameter, bound that way,
    now gives the embedded store's rows on the real data."""
    from support.realbuild import ensure_real_build

    from kg.query.registry import bind_params
    from kg.rdf.store import default_graph_nodes, open_store

    store = open_store(ensure_real_build() / "store")
    compared = 0
    for name, nq in load_queries(ROOT / "queries").items():
        if "asOf" not in {p.name for p in nq.params}:
            continue
        required = {"establishment": "https://w3id.org/remit/id/setting/parc"}  # a real establishment
        for as_of in ("1999-01-01", "2012-06-01"):
            params = {"asOf": as_of, **{p.name: required[p.name] for p in nq.params if p.required and p.name in required}}
            mine = run_named(store, nq, params, limit=1000, offset=0)
            bound = {k: ("iri", v[1], None) if v[0] == "term" else v for k, v in bind_params(nq, params).items()}
            text = bind_with_values(nq.text, bound)  # the IRIs are given in full: resolved as they are
            res = store.query(text, default_graph=default_graph_nodes())
            names = [v.value for v in res.variables]
            theirs = sorted(tuple(str(row[v]) if row[v] is not None else "" for v in names) for row in res)
            ours = sorted(tuple(str(r[v]["value"]) if v in r else "" for v in names) for r in mine.rows)
            assert len(theirs) == len(ours), (name, as_of)
            compared += len(ours)
    assert compared > 50
    text = bind_with_values("SELECT * WHERE { ?s ?p ?o MINUS { ?s ?q ?asOf } { SELECT ?x WHERE { ?x ?y ?z } } }",
                            {"asOf": ("literal", "2020-01-01", "http://www.w3.org/2001/XMLSchema#date")})
    assert text.count("VALUES") == 2 and text.index("MINUS { VALUES") > 0
