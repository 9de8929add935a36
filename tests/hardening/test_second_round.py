"""Issue 16, second round of attacks: one test (or more) per class fixed here — HTML injection and the
Content-Security-Policy (3), non-deterministic answers never cached (4), no internals on public routes (9),
the smaller ones (10), and the 404 page's label search bounded before it starts (1). Class 5 (no 500 for
bad input on any route) is tests/hardening/test_route_walk.py."""

from __future__ import annotations

import re
import shutil
import socket
import time
from urllib.parse import quote, urljoin

import httpx
import pyoxigraph as ox
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from kg.api.errors import error_response
from kg.api.headers import CONTENT_SECURITY_POLICY, is_web_link
from kg.api.named import render_table
from kg.api.pages import install
from kg.publication.publication import PublicationFailed, PublicationPending
from kg.publication.site import SUGGEST_WORDS, Site
from kg.query.registry import ResultPage
from kg.settings import Settings

from .conftest import LEAK, QUERIES, assert_clean_error, start_server, stop_server

pytestmark = pytest.mark.timeout(120)

IRI_LINKS = ["javascript:alert(document.domain)", "JaVaScRiPt:alert(1)", "data:text/html;base64,PHNjcmlwdD4=",
             "vbscript:msgbox(1)", "file:///etc/passwd"]
ECHO = """#+ summary: Rows whose values are IRIs of every scheme
SELECT ?resource WHERE { VALUES ?resource { %s <https://example.org/x> } }
""" % " ".join(f"<{v}>" for v in IRI_LINKS)
FRESH = """#+ summary: A new identifier every time
SELECT (STRUUID() AS ?u) (NOW() AS ?t) WHERE { }
"""
HOSTILE_LINKS = ["javascript:alert(document.domain)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
                 "vbscript:msgbox(1)", "java\tscript:alert(1)", " javascript:alert(1)", "file:///etc/passwd"]


def _with_queries(store, tmp, extra: dict[str, str], **env: str):
    """A server whose named queries are the fixtures' and ``extra`` (file name -> text)."""
    queries = tmp / "queries"
    shutil.copytree(QUERIES, queries)
    for name, text in extra.items():
        (queries / name).write_text(text, encoding="utf-8")
    return start_server(store, tmp, REMIT_QUERIES_DIR=str(queries), **env)


@pytest.fixture(scope="module")
def echo(hostile_store, tmp_path_factory):
    """A second server whose named queries include one that echoes an IRI and one that is non-deterministic."""
    s = _with_queries(hostile_store, tmp_path_factory.mktemp("echo"), {"echo.rq": ECHO, "fresh.rq": FRESH})
    yield s
    stop_server(s)


def html_pages(server) -> list[httpx.Response]:
    paths = ["/", "/index.html", "/matrix.html", "/agreements.html", "/bodies.html", "/ui", "/dumps/",
             "/id/no-such-thing", "/queries/label-of?format=html", "/queries/founded-before?format=html&day=x",
             "/queries/inspectors?format=html"]
    return [server.get(p, headers={"Accept": "text/html"}) for p in paths]


# ------------------------------------------------------------------------------ class 3: HTML injection, CSP

def test_a_named_query_page_links_only_http_values(echo):
    r = echo.get("/queries/echo?format=html")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert len(re.findall(r"<tr[ >]", r.text)) == len(IRI_LINKS) + 2, r.text  # header row + one per value
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', r.text)]
    assert "https://example.org/x" in hrefs
    for h in hrefs:  # an address with a scheme is http(s); the rest are the site's own pages (no scheme)
        assert h.startswith(("http://", "https://", "?")) or not re.match(r"\s*[a-zA-Z][\w+.-]*:", h), h
        if not h.startswith(("http://", "https://")):
            assert urljoin(echo.url + "/queries/echo", h).startswith(echo.url + "/"), h
    cells = re.findall(r"<td[^>]*>(.*?)</td>", r.text, re.S)
    assert [re.findall(r'href="([^"]*)"', c) for c in cells if "href" in c] == [["https://example.org/x"]]
    assert "<script>" not in r.text and "PHNjcmlwdD4" in r.text  # shown as text, not linked


@pytest.mark.parametrize("link", HOSTILE_LINKS + ['"><script>alert(1)</script>'])
def test_a_hostile_parameter_value_is_escaped_and_not_linked(echo, server, link):
    for s, path in ((server, "/queries/label-of"), (server, "/queries/founded-before"), (echo, "/queries/label-of")):
        r = s.get(path, params={"format": "html", "resource": link, "name": link, "day": link})
        assert "text/html" in r.headers["content-type"] and r.headers["content-security-policy"]
        assert "<script>" not in r.text
        for h in re.findall(r'href="([^"]*)"', r.text):
            assert not re.match(r"\s*[a-zA-Z][\w+.-]*:", h) or h.startswith(("http://", "https://")), h


def test_table_renderer_links_only_http():
    page = ResultPage(["r"], [{"r": {"type": "uri", "value": v}} for v in HOSTILE_LINKS + ["http://ok.example/"]],
                      10, 0, False)
    html = render_table(type("Q", (), {"summary": "s", "name": "n", "description": ""})(), page, {},
                        {"csv_url": "?format=csv", "json_url": "?format=json", "next_url": None, "prev_url": None})
    assert re.findall(r'<td[^>]*><a href="([^"]*)"', html) == ["http://ok.example/"]
    assert not any(is_web_link(v) for v in HOSTILE_LINKS)


def test_every_html_page_carries_the_content_security_policy(server):
    for r in html_pages(server):
        if "text/html" in r.headers.get("content-type", ""):
            assert r.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, r.url
            assert r.headers.get("x-content-type-options") == "nosniff"
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "content-security-policy" not in server.get("/health").headers


def test_the_query_ui_works_under_its_policy(server):
    """Every script of /ui is a same-origin file the policy allows (no inline code), and every asset loads."""
    r = server.get("/ui")
    assert r.status_code == 200 and r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
    assert len(scripts) >= 3
    srcs = []
    for attrs, body in scripts:
        if 'type="application/json"' in attrs:
            continue  # data, not code (read by /static/ui.js)
        m = re.search(r'src="([^"]+)"', attrs)
        assert m and not body.strip(), f"inline script: {body[:80]}"
        srcs.append(m.group(1))
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', r.text)
    assert any("yasgui.min.css" in s for s in styles) and any("ui.js" in s for s in srcs)
    for ref in srcs + styles:
        url = urljoin(server.url + "/ui", ref)
        assert url.startswith(server.url + "/"), url  # 'self'
        a = httpx.get(url, timeout=10)
        assert a.status_code == 200, url
        assert ("javascript" if ref.endswith(".js") else "css") in a.headers["content-type"], url
    js = httpx.get(urljoin(server.url + "/ui", [s for s in srcs if s.endswith("ui.js")][0]), timeout=10).text
    assert "remit-tabs" in js and "new Yasgui(" in js


# ------------------------------------------------------------------------------ class 4: never cached

@pytest.mark.parametrize("query", [
    "SELECT (STRUUID() AS ?u) WHERE { }",
    "select (struuid ( ) as ?u) where { }",
    "SELECT ?u WHERE { BIND(STR(UUID()) AS ?u) }",
    "SELECT ?u WHERE { BIND(STR(RAND()) AS ?u) }",
    "SELECT ?u WHERE { BIND(STR(NOW()) AS ?u) FILTER(STRUUID#x\n() != '') }",
    "SELECT (BNODE() AS ?u) WHERE { }",
])
def test_non_deterministic_answers_are_never_cached(server, query):
    seen = set()
    for _ in range(3):
        for r in (server.get("/sparql", params={"query": query, "format": "csv"}),
                  server.post("/sparql", data={"query": query}, headers={"Accept": "text/csv"})):
            assert r.status_code == 200, r.text
            assert r.headers.get("remit-cache") != "hit" and "etag" not in r.headers
            assert r.headers["cache-control"] == "no-store"
            seen.add(r.text)
    if "NOW" not in query:
        assert len(seen) == 6, seen


def test_a_deterministic_query_is_still_cached(server):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } # now"
    server.get("/sparql", params={"query": q})
    assert server.get("/sparql", params={"query": q}).headers.get("remit-cache") == "hit"


def test_a_non_deterministic_named_query_is_never_cached(echo):
    got = [echo.get("/queries/fresh?format=csv") for _ in range(3)]
    assert all(r.status_code == 200 and r.headers["cache-control"] == "no-store" for r in got)
    assert len({r.text for r in got}) == 3


# ------------------------------------------------------------------------------ class 9: no internals

def test_dumps_not_ready_or_failed_name_no_folder(hostile_store, tmp_path, caplog):
    """The 503 (dumps being built) and the failure answer carry no absolute path; the log has it."""
    app = FastAPI()
    pub = install(app, Settings(store_path=hostile_store, queries_dir=str(QUERIES)), store=ox.Store())
    secret = tmp_path / "publication-cache" / "abc"
    outcomes = iter([PublicationPending(secret), PublicationFailed(f"the dump build did not finish to {secret}: boom")])

    def page(path: str):
        raise next(outcomes)

    pub.page = page  # type: ignore[method-assign]
    pub.void = page  # type: ignore[method-assign]
    with TestClient(app) as client:
        pending = client.get("/dumps/")
        failed = client.get("/.well-known/void")
    assert pending.status_code == 503 and pending.headers["retry-after"] == "10"
    assert failed.status_code == 500
    for r in (pending, failed):
        assert str(tmp_path) not in r.text and not LEAK.search(r.text), r.text
        assert not re.search(r"(?<![\w.])/[a-z]+/", r.text), r.text
    assert str(secret) in caplog.text


# ------------------------------------------------------------------------------ class 10: smaller ones

def test_x_forwarded_for_from_loopback_is_not_believed(echo):
    r = echo.get("/health", headers={"X-Forwarded-For": "10.77.66.55", "X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    time.sleep(0.3)
    log = echo.log.read_text(errors="replace")
    assert "10.77.66.55" not in log
    assert re.search(r"127\.0\.0\.1:\d+ - \"GET /health", log)


def test_trusted_proxies_setting_defaults_to_none():
    assert Settings().trusted_proxies == ""


@pytest.mark.parametrize("bad_q", ["NaN", "nan", "inf", "1e0", "-1", "2", "0.0001", "1.5", "0x1", ""])
def test_an_invalid_qvalue_excludes_the_range(server, bad_q):
    r = server.get("/sparql", params={"query": "ASK {}"}, headers={
        "Accept": f"application/sparql-results+xml;q={bad_q}, application/sparql-results+json;q=0.5"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-results+json"), (
        bad_q, r.headers["content-type"])


@pytest.mark.parametrize("day", ["2024-W01-1", "2024W011", "20240101", "2024-001", "2024-1-01", "٢٠٢٤-٠١-٠١",
                                 "2024-01-01T00:00", "+2024-01-01"])
def test_only_yyyy_mm_dd_dates_are_accepted(server, day):
    r = server.get("/queries/founded-before", params={"day": day}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and "YYYY-MM-DD" in r.json()["detail"], (day, r.text[:200])
    assert server.get("/queries/founded-before", params={"day": "2024-01-01"}).status_code == 200


@pytest.mark.parametrize("query", ["limit=1&limit=2", "offset=0&offset=1", "limit=5&offset=0&limit=5"])
def test_duplicate_limit_or_offset_is_400(server, query):
    r = server.get("/queries/all-triples?" + query, headers={"Accept": "application/json"})
    assert r.status_code == 400 and "more than once" in r.json()["detail"], r.text
    assert_clean_error(r)


@pytest.mark.parametrize("path", ["/health", "/sparql", "/sparql?query=ASK%20%7B%7D", "/ui", "/queries"])
def test_head_is_answered_like_get(server, path):
    get = server.get(path)
    head = httpx.head(server.url + path, timeout=10)
    assert head.status_code == get.status_code == 200, (path, head.status_code)
    assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]


def test_every_error_status_has_a_real_title():
    for status in (408, 409, 410, 411, 412, 416, 422, 431, 501, 502, 504):
        text = error_response(None, status, "t", "d").body.decode()
        assert not text.startswith(f"{status} Error"), text
    assert error_response(None, 409, "reload in progress").body.decode().startswith("409 Conflict: reload in progress")


def test_an_oversized_request_head_is_refused_and_the_server_stays_healthy(server):
    for header in ("X-Big", "Accept"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + header.encode() + b": " + b"a" * (1 << 20) + b"\r\n\r\n")
            try:
                answer = s.recv(200)
            except ConnectionResetError:
                answer = b""
        assert not answer.startswith(b"HTTP/1.1 200"), answer
        assert answer == b"" or answer.split()[1] in (b"400", b"431"), answer
    assert server.get("/health").json()["status"] == "ok"
    ok = server.get("/health", headers={"X-Fine": "a" * 4000})
    assert ok.status_code == 200


# ------------------------------------------------------------------------------ class 1: the 404 page's search

def test_the_404_label_search_is_bounded_before_it_starts(hostile_store):
    site = Site(Settings(store_path=hostile_store, queries_dir=str(QUERIES)))
    sent: list[str] = []
    site.select = lambda q, *a, **k: sent.append(q) or []  # type: ignore[method-assign]
    words = "-".join(f"w{i:04d}x" for i in range(700))  # 4.9 KB of distinct words
    site.suggestions("/id/x.html", words)
    site.suggestions("/id/x.html", "ab" * 30 + "-" + "a" * 5000 + "-inspector")  # only a 60-character word
    assert len(sent) == 1 and len(sent[0]) < 2000, sent
    assert sent[0].count("CONTAINS") <= 2 * SUGGEST_WORDS and SUGGEST_WORDS <= 3


def test_a_long_404_path_answers_at_once(server):
    path = "/id/" + "-".join(f"w{i:04d}x" for i in range(700))
    t = time.monotonic()
    r = server.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 404 and time.monotonic() - t < 3


# ------------------------------------------------------------------------------ a named query past the deadline

SLOW = """#+ summary: Every four triples of the store, counted (far past any deadline)
#+ params:
#+   - name: subject
#+     type: iri
#+     required: false
#+     description: Only from this subject
#+   - name: word
#+     type: string
#+     required: false
#+     description: Only with this word
SELECT (COUNT(*) AS ?n) ?subject ?word WHERE { ?subject ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o } GROUP BY ?subject ?word
"""


@pytest.fixture(scope="module")
def slow(hostile_store, tmp_path_factory):
    s = _with_queries(hostile_store, tmp_path_factory.mktemp("slow"), {"slow.rq": SLOW}, REMIT_QUERY_TIMEOUT="1",
                      REMIT_CLIENT_BUDGET_SECONDS="1000")
    yield s
    stop_server(s)


def test_a_named_query_past_the_deadline_says_which_parameters_narrow_it(slow):
    """Regression (2026-12-05): the advice was the protocol's ("fewer patterns, a LIMIT"), which a named query's
    user cannot follow; it now names the parameters not given."""
    r = slow.get("/queries/slow?format=json", headers={"Accept": "application/json"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    detail = r.json()["detail"]
    assert "more than 1 s" in detail and "(subject, word)" in detail and "LIMIT" not in detail, detail
    r = slow.get("/queries/slow?format=json&word=x", headers={"Accept": "application/json"})
    assert r.status_code == 503 and "(subject)" in r.json()["detail"], r.text
    r = slow.get("/queries/slow", params={"format": "html", "word": "x"}, headers={"Accept": "text/html"})
    assert r.status_code == 503 and "(subject)" in r.text, r.text  # a person's page says it too
    # the protocol keeps its own advice
    r = slow.post("/sparql", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"},
                  headers={"Accept": "application/sparql-results+json"})
    assert r.status_code in (400, 503)  # the cost guard may refuse it first
