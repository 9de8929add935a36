"""Named-query routes on the real server and `kg query` on the same store."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import httpx

from .conftest import QUERIES

EX = "http://example.org/"


def test_list(server):
    r = httpx.get(server.url + "/queries")
    assert r.status_code == 200
    qs = {q["name"]: q for q in r.json()["queries"]}
    assert set(qs) == {"all-triples", "founded-before", "inspectors", "label-of"}
    assert qs["inspectors"]["summary"] == "Inspectorates of a setting"
    assert qs["inspectors"]["params"][0] == {"name": "setting", "type": "iri", "required": False,
                                             "description": "The setting.", "default": EX + "prison"}


def test_run_json_with_default_and_param(server):
    r = httpx.get(server.url + "/queries/inspectors")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert [b["body"]["value"] for b in r.json()["results"]["bindings"]] == [EX + "alpha", EX + "beta"]
    r = httpx.get(server.url + "/queries/inspectors", params={"setting": EX + "ward"})
    assert [b["body"]["value"] for b in r.json()["results"]["bindings"]] == [EX + "alpha", EX + "gamma"]


def test_typed_params(server):
    u = server.url + "/queries/founded-before"
    rows = lambda r: [b["body"]["value"] for b in r.json()["results"]["bindings"]]  # noqa: E731
    assert rows(httpx.get(u)) == [EX + "gamma", EX + "alpha", EX + "beta"]  # day defaults to today
    assert rows(httpx.get(u, params={"day": "2005-01-01"})) == [EX + "gamma", EX + "alpha"]
    assert rows(httpx.get(u, params={"min_staff": "40"})) == [EX + "alpha", EX + "beta"]
    assert rows(httpx.get(u, params={"name": "Beta Inspectorate"})) == [EX + "beta"]
    # injection attempts are values, not syntax
    assert rows(httpx.get(u, params={"name": '" || true || "'})) == []
    for bad in ({"day": "yesterday"}, {"day": "2005-13-01"}, {"min_staff": "4x"}, {"nope": "1"},
                {"limit": "0"}, {"limit": "1001"}, {"offset": "-1"}):
        r = httpx.get(u, params=bad, headers={"Accept": "application/json"})
        assert r.status_code == 400, bad
        assert r.json()["title"] == "bad parameter"
    r = httpx.get(server.url + "/queries/inspectors", params={"setting": "not an iri"})
    assert r.status_code == 400 and "parameter 'setting': 'not an iri' is not the label" in r.text  # never 0 rows


def test_paging(server):
    u = server.url + "/queries/all-triples"
    p1 = httpx.get(u, params={"limit": "10"}).json()
    p2 = httpx.get(u, params={"limit": "10", "offset": "10"}).json()
    assert p1["page"] == {"limit": 10, "offset": 0, "count": 10, "hasMore": True}
    assert p1["results"]["bindings"][10:] == [] and p1["results"]["bindings"] != p2["results"]["bindings"]
    last = httpx.get(u, params={"limit": "1000", "offset": "30"}).json()
    assert last["page"] == {"limit": 1000, "offset": 30, "count": 35 - 30, "hasMore": False}  # 35 = 37 - report


def test_csv_and_html(server):
    u = server.url + "/queries/inspectors"
    r = httpx.get(u, params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel keeps non-ASCII text
    assert list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[:2] == [["body", "label", "setting"],
                                                          [EX + "alpha", "Alpha Inspectorate", EX + "prison"]]
    assert httpx.get(u, headers={"Accept": "text/csv"}).text == r.text
    h = httpx.get(u, headers={"Accept": "text/html,*/*;q=0.8"})
    assert h.headers["content-type"].startswith("text/html")
    # the page for people: plain-English column titles, the label in place of the IRI, in the site layout
    assert '<th scope="col" class="govuk-table__header">Body</th>' in h.text and '<html lang="en"' in h.text
    assert re.search(r'<td class="govuk-table__cell"><a href="[^"]*" class="govuk-link[^"]*"[^>]*>Alpha Inspectorate</a>', h.text) or \
        '<td class="govuk-table__cell"><a href="http://example.org/alpha" class="govuk-link external" rel="noopener">Alpha Inspectorate</a>' in h.text, h.text
    downloads = re.findall(r'<a href="([^"]*format=(?:csv|xlsx|json)[^"]*)"', h.text)
    assert len(downloads) == 3 and h.text.index(downloads[0]) < h.text.index("<table")  # at the top
    assert httpx.get(downloads[1].replace("&amp;", "&")).content.startswith(b"PK")  # the XLSX (a zip)
    # browsers get the list of questions as a page; programs still get JSON
    lst = httpx.get(server.url + "/queries", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert lst.headers["content-type"].startswith("text/html") and "Inspectorates of a setting" in lst.text
    assert 'href="queries/inspectors"' in lst.text
    assert httpx.get(server.url + "/queries").headers["content-type"].startswith("application/json")
    assert httpx.get(u, params={"format": "pdf"}).status_code == 400
    assert httpx.get(server.url + "/queries/nope").status_code == 404


def test_cli_query(store_dir):
    base = [sys.executable, "-m", "kg.cli", "query", "--store", str(store_dir), "--queries", str(QUERIES)]
    out = subprocess.run(base + ["inspectors", "--param", f"setting={EX}ward", "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [b["body"]["value"] for b in json.loads(out.stdout)["results"]["bindings"]] == [EX + "alpha", EX + "gamma"]
    out = subprocess.run(base + ["inspectors", "--format", "csv"], capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines()[1] == f"{EX}alpha,Alpha Inspectorate,{EX}prison"
    out = subprocess.run(base + ["inspectors"], capture_output=True, text=True, timeout=60,
                         env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and "Alpha Inspectorate" in out.stdout and "Inspectorates of a setting" in out.stdout
    bad = subprocess.run(base + ["founded-before", "--param", "day=tomorrow"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "parameter 'day'" in bad.stderr


def test_html_without_required_params_is_a_form_not_an_error(server):
    """Regression: the pages linked to /queries/explain, which answered 400 to a browser (a broken link)."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        queries = c.get("/queries").json()["queries"]
        needs = [q for q in queries if any(p["required"] for p in q["params"])]
        assert needs, "the fixture queries include one with a required parameter"
        name = needs[0]["name"]
        page = c.get(f"/queries/{name}", headers={"accept": "text/html"})
        assert page.status_code == 200 and "<form" in page.text and "required" in page.text
        assert c.get(f"/queries/{name}", headers={"accept": "application/json"}).status_code == 400


def test_html_page_keeps_the_choices_and_pages(server):
    """The page for people: the form keeps the values asked (its GET address is the permalink), the parameters
    are not repeated as columns, and previous/next links page through the rows with the same choices."""
    with httpx.Client(base_url=server.url, timeout=30, headers={"Accept": "text/html"}) as c:
        page = c.get("/queries/founded-before", params={"day": "2005-01-01", "min_staff": "1"})
        assert page.status_code == 200
        assert re.search(r'<input[^>]*type="date"[^>]*name="day"[^>]*value="2005-01-01"', page.text), page.text
        assert re.search(r'<input[^>]*name="min_staff"[^>]*value="1"', page.text)
        heads = re.findall(r'<th scope="col" class="govuk-table__header">([^<]*)</th>', page.text)
        assert "Founded" in heads and "Day" not in heads and "Min staff" not in heads
        first = c.get("/queries/all-triples", params={"limit": "10"})
        nxt = re.search(r'href="([^"]*)" rel="next"', first.text).group(1).replace("&amp;", "&")
        assert "offset=10" in nxt and "limit=10" in nxt and 'rel="prev"' not in first.text
        second = httpx.get(nxt, headers={"Accept": "text/html"}, timeout=30)
        assert second.status_code == 200 and 'rel="prev"' in second.text and "from row 11" in second.text
