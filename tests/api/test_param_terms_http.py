"""IRI parameters that cannot silently miss (issue 12), over HTTP: a real `kg serve` (uvicorn, query workers)
on the real build and the real named queries. Prefixed names, labels and acronyms give the full IRI's rows; a
term not in the graph or an ambiguous acronym is a 400 problem document naming the parameter."""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest

from support.realbuild import ROOT, ensure_real_build

from .conftest import Server, start_server, stop_server

ID = "https://w3id.org/remit/id/"
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(ensure_real_build() / "store", tmp_path_factory.mktemp("log"),
                     REMIT_QUERIES_DIR=str(ROOT / "queries"), REMIT_QUERY_TIMEOUT="20")
    yield s
    stop_server(s)


def _get(server: Server, name: str, **params: str) -> httpx.Response:
    return httpx.get(f"{server.url}/queries/{name}", params={**params, "limit": "1000"}, headers=JSON, timeout=30)


def _rows(server: Server, name: str, **params: str) -> list[dict]:
    r = _get(server, name, **params)
    assert r.status_code == 200, r.text
    return r.json()["results"]["bindings"]


def test_prefixed_names_and_labels_give_the_full_iri_rows(real: Server) -> None:
    full = _rows(real, "overlaps", settingType=ID + "setting-type/prison")
    assert len(full) > 0
    assert _rows(real, "overlaps", settingType="id:setting-type/prison") == full
    assert _rows(real, "overlaps", settingType="st:prison") == full
    gaps = _rows(real, "gaps", function=ID + "function/inspection", jurisdiction=ID + "jurisdiction/wales")
    assert _rows(real, "gaps", function="id:function/inspection", jurisdiction="Wales") == gaps
    assert {r["jurisdictionAsked"]["value"] for r in gaps} == {ID + "jurisdiction/wales"}
    r = _get(real, "agreements", body="CQC")
    assert r.status_code == 200 and r.json()["params"]["body"] == ID + "body/cqc"  # shown as resolved
    assert r.json()["results"]["bindings"] == _rows(real, "agreements", body=ID + "body/cqc") != []


def test_a_term_not_in_the_graph_is_a_400_naming_the_parameter(real: Server) -> None:
    r = _get(real, "overlaps", settingType=ID + "setting-type/prisn")
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["title"] == "bad parameter"
    assert problem["detail"].startswith("parameter 'settingType': ")
    assert "is not in the graph" in problem["detail"] and "nearest terms: st:prison" in problem["detail"]
    text = httpx.get(f"{real.url}/queries/overlaps", params={"settingType": "st:prisn", "format": "csv"})
    assert text.status_code == 400 and "nearest terms: st:prison" in text.text
    form = httpx.get(f"{real.url}/queries/overlaps", params={"settingType": "st:prisn", "format": "html"})
    assert form.status_code == 400 and "<form" in form.text and "nearest terms: st:prison" in form.text


def test_an_ambiguous_acronym_is_a_400_naming_both(real: Server) -> None:
    r = _get(real, "agreements", body="HMIP")
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "parameter 'body': 'HMIP' is ambiguous" in detail
    assert "body:hmi-prisons" in detail and "body:hmi-probation" in detail
