"""IRI parameters that cannot silently miss (issue 12): `kg query` on the real build, in process and against an
external Oxigraph server holding the same build, and kg.query.terms.resolve_term on the real store.

Each value form (full IRI, prefixed name with a slash in the local part, label, acronym) must give the rows the
full IRI gives; a term that is not in the graph, or a label naming two terms, is an error naming the parameter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app
from kg.ops.push import push
from kg.query.registry import term_to_json
from kg.query.remote import run_named_query_remote
from kg.query.terms import ParamError, resolve_term
from kg.rdf.store import default_graph_nodes, open_store
from support.realbuild import ROOT, ensure_real_build
from support.servers import oxigraph_server

ID = "https://w3id.org/remit/id/"
runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["query", *args, "--store", str(ensure_real_build() / "store"),
                               "--format", "json", "--limit", "1000"])


def _rows(*args: str) -> list[dict]:
    r = _run(*args)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["results"]["bindings"]


def test_prefixed_setting_type_with_a_slash_gives_the_full_iri_rows() -> None:
    full = _rows("overlaps", "-p", f"settingType={ID}setting-type/prison")
    assert len(full) > 0
    assert _rows("overlaps", "-p", "settingType=id:setting-type/prison") == full
    assert _rows("overlaps", "-p", "settingType=st:prison") == full
    assert _rows("overlaps", "-p", f"settingType=<{ID}setting-type/prison>") == full
    assert _rows("overlaps", "-p", "settingType=prison") == full  # its label


def test_prefixed_function_and_jurisdiction_filter_the_gaps() -> None:
    full = _rows("gaps", "-p", f"function={ID}function/inspection", "-p", f"jurisdiction={ID}jurisdiction/england")
    prefixed = _rows("gaps", "-p", "function=id:function/inspection", "-p", "jurisdiction=id:jurisdiction/england")
    assert prefixed == full
    # a function or jurisdiction that matches nothing makes every setting type a gap: the filter really applied
    store = open_store(ensure_real_build() / "store")
    setting_types = len(list(store.query("SELECT DISTINCT ?s WHERE { ?s a <https://w3id.org/remit/def/SettingType> }",
                                         default_graph=default_graph_nodes())))
    assert 0 < len(full) < setting_types
    assert {r["jurisdictionAsked"]["value"] for r in prefixed} == {ID + "jurisdiction/england"}
    wales = _rows("gaps", "-p", "jurisdiction=Wales")
    assert wales == _rows("gaps", "-p", f"jurisdiction={ID}jurisdiction/wales")
    assert {r["jurisdictionAsked"]["value"] for r in wales} == {ID + "jurisdiction/wales"}


def test_acronym_and_label_of_a_body() -> None:
    full = _rows("agreements", "-p", f"body={ID}body/cqc")
    assert len(full) > 0
    assert _rows("agreements", "-p", "body=CQC") == full
    assert _rows("agreements", "-p", "body=cqc") == full  # regardless of case, when it names one term
    assert _rows("agreements", "-p", "body=Care Quality Commission") == full
    assert _rows("agreements", "-p", "body=body:cqc") == full


def test_misspelt_iri_is_an_error_with_the_nearest_terms() -> None:
    r = _run("overlaps", "-p", f"settingType={ID}setting-type/prisn")
    assert r.exit_code == 2
    assert "parameter 'settingType'" in r.output and "is not in the graph" in r.output
    assert "nearest terms: st:prison" in r.output
    r = _run("overlaps", "-p", "settingType=st:prisons")
    assert r.exit_code == 2 and "nearest terms: st:prison" in r.output
    r = _run("agreements", "-p", "body=Care Qualty Commission")
    assert r.exit_code == 2
    assert "parameter 'body'" in r.output and 'nearest terms: body:cqc ("Care Quality Commission")' in r.output


def test_ambiguous_acronym_names_both_bodies() -> None:
    r = _run("agreements", "-p", "body=HMIP")
    assert r.exit_code == 2
    assert "parameter 'body': 'HMIP' is ambiguous" in r.output
    assert 'body:hmi-prisons ("HM Inspectorate of Prisons")' in r.output
    assert 'body:hmi-probation ("HM Inspectorate of Probation")' in r.output


def _select(store):
    graphs = default_graph_nodes()

    def select(q: str) -> list[dict]:
        res = store.query(q, default_graph=graphs)
        cols = [v.value for v in res.variables]
        return [{c: term_to_json(s[c]) for c in cols if s[c] is not None} for s in res]
    return select


def test_resolve_term_forms_on_the_real_store() -> None:
    select = _select(open_store(ensure_real_build() / "store"))
    assert resolve_term(select, "HMP Parc", "x") == ID + "setting/parc"
    assert resolve_term(select, "Wales", "x") == ID + "jurisdiction/wales"
    assert resolve_term(select, "jur:wales", "x") == ID + "jurisdiction/wales"
    assert resolve_term(select, "setting:parc", "x") == ID + "setting/parc"
    assert resolve_term(select, "agreement:cqc-hmi-prisons", "x") == ID + "agreement/cqc-hmi-prisons"
    assert resolve_term(select, "  fn:inspection ", "x") == ID + "function/inspection"
    for bad, words in [("nowhere:x", "is not in the graph"), ("st:", "not a prefixed name"),
                       ("<not an iri>", "not an absolute IRI"), ("a\nb", "control character"), ("", "empty")]:
        with pytest.raises(ParamError, match=words) as exc:
            resolve_term(select, bad, "p")
        assert "parameter 'p'" in str(exc.value)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory):
    location = tmp_path_factory.mktemp("oxigraph-terms")
    trig = ensure_real_build() / "remit.trig"
    with oxigraph_server(location) as base:
        push(trig, base + "/store", base + "/query")
        yield base + "/query"
    shutil.rmtree(location, ignore_errors=True)


@pytest.mark.timeout(180)
def test_remote_store_resolves_the_same_way(remote: str) -> None:
    def rows(**params: str) -> list[dict]:
        _, page = run_named_query_remote("overlaps", params, store_url=remote, queries_dir=ROOT / "queries",
                                         limit=1000)
        return page.rows
    full = rows(settingType=f"{ID}setting-type/prison")
    assert len(full) > 0
    assert rows(settingType="id:setting-type/prison") == full == rows(settingType="st:prison")
    with pytest.raises(ParamError, match=r"parameter 'settingType'.*not in the graph.*nearest terms: st:prison"):
        rows(settingType="st:prisn")
    with pytest.raises(ParamError, match="'HMIP' is ambiguous.*body:hmi-prisons.*body:hmi-probation"):
        rows(body="HMIP")
    _, page = run_named_query_remote("agreements", {"body": "CQC"}, store_url=remote, queries_dir=ROOT / "queries")
    assert page.rows and page.params["body"] == ID + "body/cqc"
