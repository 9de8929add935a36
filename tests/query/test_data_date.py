"""``asOf`` defaults to the build's data date, not the clock: the build records it (``id:dataset remit:dataDate``,
the latest date the asserted data states) and every named query given no ``asOf`` answers as of that day, on the
CLI (here) and over HTTP and on the pages (tests/publication/test_data_date_pages.py, on the session's server).
A date before 2009 still works."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app
from kg.query.registry import bind_params, load_queries, run_named
from kg.rdf import datadate
from kg.rdf.store import open_store
from support.realbuild import ROOT, ensure_real_build

runner = CliRunner()
QUERIES = ROOT / "queries"


@pytest.fixture(scope="module")
def built() -> Path:
    return ensure_real_build()


@pytest.fixture(scope="module")
def data_day(built: Path) -> str:
    store = open_store(built / "store")
    rows = list(store.query(datadate.RECORDED_QUERY, use_default_graph_as_union=True))
    assert len(rows) == 1, "the build records exactly one data date"
    day = rows[0]["d"].value
    # the recorded date is the latest date stated in the asserted data (computed afresh), and not today
    assert day == datadate.compute(store).isoformat()
    assert dt.date.fromisoformat(day) < dt.date.today()
    return day


def test_every_asof_defaults_to_the_data_date() -> None:
    """No named query's ``asOf`` defaults to the clock."""
    registry = load_queries(QUERIES)
    dated = {name: p.default for name, nq in registry.items() for p in nq.params if p.name == "asOf"}
    assert len(dated) >= 9
    assert set(dated.values()) == {"data-date"}, dated


def _cli(*args: str) -> str:
    r = runner.invoke(app, ["query", *args, "--store", str(ensure_real_build() / "store"), "--format", "csv"])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize("name,params", [
    ("npm-membership", []),
    ("reviews-due", []),
    ("remit-matrix", ["-p", "settingType=st:police-custody"]),
    ("establishment", ["-p", "establishment=setting:parc"]),
])
def test_cli_without_asof_answers_as_of_the_data_date(data_day: str, name: str, params: list[str]) -> None:
    default = _cli(name, *params, "--limit", "1000")
    assert default == _cli(name, *params, "-p", f"asOf={data_day}", "--limit", "1000")
    assert default.count("\n") > 1  # rows, not only a header
    # and the day matters: an answer as of 2008 differs (so the comparison above could fail)
    if name in ("npm-membership", "remit-matrix"):
        assert default != _cli(name, *params, "-p", "asOf=2008-06-01", "--limit", "1000")


def test_a_date_before_2009_still_works(data_day: str) -> None:
    """HMIC held police custody inspection in 2008; CQC (from 1 April 2009) nothing yet; HMICFRS after 2017."""
    out = _cli("remit-matrix", "-p", "settingType=st:police-custody", "-p", "asOf=2008-06-01", "-c", "holderLabel")
    assert "HM Inspectorate of Constabulary\r\n" in out or "HM Inspectorate of Constabulary\n" in out
    assert "Care Quality Commission" not in out
    now = _cli("remit-matrix", "-p", "settingType=st:police-custody", "-c", "holderLabel")
    assert "HM Inspectorate of Constabulary and Fire & Rescue Services" in now


def test_the_resolved_date_is_reported_and_never_the_clock(built: Path, data_day: str) -> None:
    nq = load_queries(QUERIES)["reviews-due"]
    assert bind_params(nq, {})["asOf"][0] == "data-date"  # read by the store that runs the query
    page = run_named(open_store(built / "store"), nq, {})
    assert page.params["asOf"] == data_day


def test_coalesce_now_is_deterministic_once_the_parameter_is_bound() -> None:
    """The response cache keeps an answer whose only clock is ``COALESCE(?asOf, NOW())`` with ``asOf`` bound."""
    from kg.api.cache import nondeterministic_unless_bound

    q = "SELECT ?d WHERE { BIND(SUBSTR(STR(COALESCE(?asOf, NOW())), 1, 10) AS ?d) }"
    assert nondeterministic_unless_bound(q, [])
    assert not nondeterministic_unless_bound(q, ["asOf"])
    assert nondeterministic_unless_bound(q, ["other"])
    assert nondeterministic_unless_bound(q.replace("}", "BIND(RAND() AS ?r) }"), ["asOf"])
    assert nondeterministic_unless_bound(q.replace("}", "BIND(NOW() AS ?t) }"), ["asOf"])


def test_a_store_without_the_recorded_date_counts_no_next_review_date() -> None:
    """Regression: a store holding the derived graph but not the recorded date (one made with
    kg.pipeline.derive.derive alone, as tests/publication/fixture.py does) computes the date from the dated
    literals of its served graphs, and a derived next review date (queries/derive/50-review-schedule.rq), a day no
    source states, is not one of them: the date stays the latest the data state (2011-11-01, not 2012-11-01)."""
    import pyoxigraph as ox

    from kg.pipeline.derive import derive, load_rules
    from kg.rdf.namespaces import GRAPH_ASSERTED

    store = ox.Store()
    store.load(input=b"""@prefix remit: <https://w3id.org/remit/def/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        <https://example.org/mou> a remit:Agreement ; remit:documentDate "2011-11"^^xsd:gYearMonth ;
            remit:reviewCommitment [ remit:reviewInterval "P1Y"^^xsd:duration ] .""",
               format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    derive(store, load_rules(QUERIES / "derive"))
    assert {q.object.value for q in store.quads_for_pattern(None, ox.NamedNode(str(datadate.NEXT_REVIEW_DATE)), None)} \
        == {"2012-11-01"}
    assert datadate.data_date(store) == dt.date(2011, 11, 1)
