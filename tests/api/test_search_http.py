"""``GET /search`` on a real ``kg serve`` (uvicorn) over a copy of the real build: the results page in the
site layout with links that resolve, JSON by Accept and by ``?format=json``, the search box on every page,
and hostile ``q`` values (FTS5 operators, quotes, NUL, markup, 8 KB) answered without a 5xx (10 KB: the URL
limit's 414 before the route runs)."""

from __future__ import annotations

import re
import shutil
from typing import Iterator

import httpx
import pytest

from support.realbuild import ROOT, ensure_real_build

from .conftest import Server, start_server, stop_server

ID = "https://w3id.org/remit/id/"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("search")
    build = tmp / "build"  # a copy: other work may rebuild build/ while this server runs
    shutil.copytree(ensure_real_build(), build, ignore=shutil.ignore_patterns("publication-cache"))
    s = start_server(build / "store", tmp, REMIT_QUERIES_DIR=str(ROOT / "queries"), REMIT_WORKERS="1")
    yield s
    stop_server(s)


def get(s: Server, path: str, **kw: object) -> httpx.Response:
    with s.client(timeout=120) as c:  # pages other than /search may be slow on a loaded machine
        return c.get(path, **kw)  # type: ignore[arg-type]


def test_results_page_links_marks_and_corrects(live: Server) -> None:
    r = get(live, "/search", params={"q": "Wandsworht"}, headers={"accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'class="govuk-service-navigation' in r.text and "Skip to main content" in r.text     # the site layout
    assert "Showing results for <strong>wandsworth</strong>" in r.text
    assert "<mark>Wandsworth</mark>" in r.text
    hrefs = re.findall(r'<p class="[^"]*search-title"><a href="([^"]+)"', r.text)
    assert hrefs[0] == "id/setting/wandsworth.html"
    # the link's target exists (its Turtle document: the HTML page's rendering time is the place pages' concern)
    doc = get(live, "/" + hrefs[0].removesuffix(".html") + ".ttl")
    assert doc.status_code == 200 and "HMP Wandsworth" in doc.text


def test_clause_results_name_their_agreement(live: Server) -> None:
    r = get(live, "/search", params={"q": "revisited within eight weeks"})
    assert r.status_code == 200
    first = re.split(r'<ol class="[^"]*search-results">', r.text, maxsplit=1)[1].split("</li>", 1)[0]
    assert 'href="id/agreement/stc-joint-inspection-framework/revisit-if-inadequate.html"' in first
    assert "agreement clause" in first
    assert re.search(r'In <a href="id/agreement/stc-joint-inspection-framework\.html"[^>]*>', first)
    assert "<mark>revisited</mark>" in first


def test_json_by_accept_and_by_format(live: Server) -> None:
    a = get(live, "/search", params={"q": "HMIP"}, headers={"accept": "application/json"})
    b = get(live, "/search", params={"q": "HMIP", "format": "json"}, headers={"accept": "text/html"})
    for r in (a, b):
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert body["query"] == "HMIP" and body["count"] == len(body["results"]) > 2
        assert {x["iri"] for x in body["results"][:2]} == {ID + "body/hmi-prisons", ID + "body/hmi-probation"}
        assert set(body["ambiguous"]) == {ID + "body/hmi-prisons", ID + "body/hmi-probation"}
        first = body["results"][0]
        assert first["url"] == "/" + first["iri"].removeprefix("https://w3id.org/remit/") + ".html"
        assert {"label", "kind", "label_html", "snippet_html", "match"} <= set(first)
    assert a.json() == b.json()
    assert get(live, "/search", params={"q": "cqc", "limit": "3", "format": "json"}).json()["count"] == 3


def test_empty_and_bad_input(live: Server) -> None:
    form = get(live, "/search", headers={"accept": "text/html"})
    assert form.status_code == 200 and 'id="search-q"' in form.text and "search-results" not in form.text
    j = get(live, "/search", params={"q": "  "}, headers={"accept": "application/json"})
    assert j.status_code == 400 and j.headers["content-type"].startswith("application/problem+json")
    assert "q" in j.json()["detail"]
    for params in ({"q": "x" * 201}, {"q": "cqc", "limit": "0"}, {"q": "cqc", "limit": "51"}, {"q": "cqc", "limit": "x"}):
        for accept in ("text/html", "application/json"):
            r = get(live, "/search", params=params, headers={"accept": accept})
            assert r.status_code == 400, (params, accept)
    assert "at most 200" in get(live, "/search", params={"q": "y" * 300, "format": "json"}).json()["detail"]
    assert get(live, "/search", params={"q": "cqc", "format": "xml"}).status_code == 200  # not json: the page


HOSTILE = ['"', '""', "*", "NEAR(cqc hiw)", "cqc OR hiw", "cqc AND", "NOT x", "-x", "^x", "label:cqc",
           "{label names}: x", "(", ")", "cqc*", "\x00", "a\x00b", "'; DROP TABLE docs; --", "%", "%00", "\\",
           "🙂", "עברית", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', " ".join(["ab"] * 66),
           "x" * 200, "x" * 8_000]


def test_a_10_kb_q_is_refused_before_any_search(live: Server) -> None:
    r = get(live, "/search", params={"q": "x" * 10_240})
    assert r.status_code == 414  # the URL limit (kg.api.limits) answers first: 8 KB
    r = get(live, "/search", params={"q": "x" * 7_000, "format": "json"})
    assert r.status_code == 400 and "7000 characters" in r.json()["detail"]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_q_never_gives_a_5xx(live: Server, q: str) -> None:
    for accept in ("text/html", "application/json"):
        r = get(live, "/search", params={"q": q}, headers={"accept": accept})
        assert r.status_code in (200, 400), (q[:40], accept, r.status_code, r.text[:300])
        assert r.status_code == 200 or "200" in r.text  # a 400 says what the limit is
        assert r.status_code == 400 or len(q) <= 200
        if accept == "text/html":
            assert "<script>alert" not in r.text and "<img src=x" not in r.text


def test_every_page_has_the_search_box(live: Server) -> None:
    for path in ("/", "/bodies.html", "/agreements.html", "/id/body/cqc.html", "/search"):
        r = get(live, path, headers={"accept": "text/html"})
        assert r.status_code == 200, path
        form = re.search(r'<form class="[^"]*site-search" role="search"[^>]* action="([^"]+)" method="get">', r.text)
        assert form, path
        target = httpx.URL(live.url + path).join(form.group(1))
        assert target.path == "/search", (path, form.group(1))
        assert 'name="q"' in r.text
