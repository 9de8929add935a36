"""Search follows the served build: after a reload (``POST /admin/reload``, a real ``kg build`` in a child) the
new build's index answers ``/search``; a server on an external store with no local build answers 503 in
plain words. Real servers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg.pipeline.build import Layout, build
from support.servers import oxigraph_server

from .conftest import assert_clean_error, make_source_tree, start_server, stop_server

pytestmark = pytest.mark.timeout(300)

ID = "https://w3id.org/remit/id/"
KESTREL = """@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix remit: <https://w3id.org/remit/def/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://w3id.org/remit/id/body/kestrel> a remit:Inspectorate ;
    rdfs:label "Kestrel Inspectorate of Aviaries"@en ;
    skos:altLabel "KIA" ;
    remit:citation [ a remit:Citation ; remit:citedDocument <https://w3id.org/remit/id/document/mou-a> ;
                     remit:locator "p. 1" ] .
"""


def _json(server, q: str):
    return server.get("/search", params={"q": q, "format": "json"})


def test_a_reload_switches_search_to_the_new_index(tmp_path: Path) -> None:
    root = make_source_tree(tmp_path)
    build(Layout(root=root))
    assert (root / "build" / "search.sqlite").is_file()
    live = start_server(root / "build" / "store", tmp_path, cwd=root, REMIT_SOURCE_ROOT=str(root),
                        REMIT_DATA_DIR=str(root / "data"), REMIT_BUILD_DIR=str(root / "build"))
    try:
        before = _json(live, "Kestrel Inspectorate")
        assert before.status_code == 200
        assert ID + "body/kestrel" not in [r["iri"] for r in before.json()["results"]]
        (root / "data" / "kestrel.ttl").write_text(KESTREL, encoding="utf-8")
        r = live.admin("POST", "/admin/reload", timeout=240)
        assert r.status_code == 200 and r.json()["status"] == "reloaded", r.text
        after = _json(live, "Kestrel Inspectorate")
        assert after.status_code == 200
        assert after.json()["results"][0]["iri"] == ID + "body/kestrel"
        assert _json(live, "KIA").json()["results"][0]["iri"] == ID + "body/kestrel"
        assert _json(live, "Kestral").json()["corrected"] == "kestrel"  # the new vocabulary corrects too
    finally:
        stop_server(live)


def test_an_external_store_without_a_local_index_answers_503(tmp_path: Path) -> None:
    root = make_source_tree(tmp_path)
    build(Layout(root=root))
    store = tmp_path / "oxi"
    shutil.copytree(root / "build" / "store", store)
    elsewhere = tmp_path / "empty"  # the server's working folder has no build/ (no build/search.sqlite)
    elsewhere.mkdir()
    with oxigraph_server(store) as url:
        live = start_server(url + "/query", tmp_path, cwd=elsewhere)  # type: ignore[arg-type]  # a URL: kept as text
        try:
            j = _json(live, "cqc")
            assert j.status_code == 503 and j.headers["content-type"].startswith("application/problem+json")
            assert "external SPARQL store" in j.json()["detail"]
            assert_clean_error(j)
            h = live.get("/search", params={"q": "cqc"}, headers={"accept": "text/html"})
            assert h.status_code == 503 and "external SPARQL store" in h.text
            assert_clean_error(h)
        finally:
            stop_server(live)
