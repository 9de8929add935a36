"""Paging of named queries: a query with kg.query.registry's page marker computes only the page, and its pages,
put together, are exactly the whole result (in order), with or without parameters."""

from __future__ import annotations

import pytest

from kg.query.registry import PAGE_MARKER, parse_named_query, place_page, run_named

from _support import QUERIES, load_fixture, query_names

MARKED = [n for n in query_names() if PAGE_MARKER in (QUERIES / f"{n}.rq").read_text(encoding="utf-8")]


def test_place_page_replaces_the_marker_only() -> None:
    text = "SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s\n    LIMIT 1000000000000 # @page\n  } }"
    placed, paged = place_page(text, 10, 20)
    assert paged and "LIMIT 11 OFFSET 20" in placed and "@page" not in placed
    assert place_page("SELECT * WHERE { ?s ?p ?o }", 10, 0) == ("SELECT * WHERE { ?s ?p ?o }", False)


def test_some_query_uses_the_marker() -> None:
    assert "leads" in MARKED


def _values(page) -> list[list[str]]:
    return [[r[c]["value"] if c in r else "" for c in page.columns] for r in page.rows]


#: the body each query is paged with in the "body" case: one with a few rows in that query's fixture
_BODY = {"powers-without-agreement": "https://w3id.org/remit/id/body/imb",
         # two agreements with two counterparts each and one with none: pages end inside an agreement too
         "devolved-boundary": "https://w3id.org/remit/id/body/ofsted"}


@pytest.mark.parametrize("name", MARKED)
@pytest.mark.parametrize("params", [{}, {"body": "https://w3id.org/remit/id/body/hiw"}], ids=["defaults", "body"])
def test_pages_join_up_to_the_whole_result(name: str, params: dict[str, str]) -> None:
    nq = parse_named_query(QUERIES / f"{name}.rq")
    if "body" in params:
        params = {"body": _BODY.get(name, params["body"])}
    params = {k: v for k, v in params.items() if any(p.name == k for p in nq.params)}
    store = load_fixture(name)
    whole = run_named(store, nq, params, limit=1000, offset=0)
    assert not whole.has_more and len(whole.rows) >= 2, "the fixture must have a few rows to page through"
    rows, offset = [], 0
    while True:
        page = run_named(store, nq, params, limit=1, offset=offset)
        assert len(page.rows) <= 1
        rows += _values(page)
        offset += 1
        if not page.has_more:
            break
    # the same rows in the same order (keys; GROUP_CONCAT cells compared as sets)
    norm = lambda rs: [[" | ".join(sorted(v.split(" | "))) for v in r] for r in rs]  # noqa: E731
    assert norm(rows) == norm(_values(whole))
    assert run_named(store, nq, params, limit=2, offset=len(whole.rows)).rows == []
