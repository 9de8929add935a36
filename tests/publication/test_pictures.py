"""The pictures (/network.html, /charts/overlaps.html) on the real build: the SVG holds the expected nodes and
edges, its counts are the rows of the named queries (as tests/publication/test_matrix_agrees.py checks the
matrix), every node links to its page, labels are plain English, and the bytes do not change between renders.

The publication, its store and the query rows are shared with test_matrix_agrees (one real build per session).
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
from collections import Counter
from xml.etree import ElementTree as ET

from test_matrix_agrees import ROOT, key, publication, rows

from kg.publication import pictures
from kg.publication.publication import Publication
from kg.settings import Settings

ID = "https://w3id.org/remit/id/"
BODY, AGR, ST, JUR = ID + "body/", ID + "agreement/", ID + "setting-type/", ID + "jurisdiction/"
SVG = "{http://www.w3.org/2000/svg}"


def svg_of(page: str, cls: str) -> ET.Element:
    """The inline SVG of class ``cls`` in a page, parsed as XML (so it is also well-formed)."""
    m = re.search(r'<svg xmlns="http://www.w3.org/2000/svg" class="remit-picture %s".*?</svg>' % cls, page, re.S)
    assert m, f"no svg.{cls}"
    return ET.fromstring(m.group(0))


def links(svg: ET.Element, cls: str) -> dict[str, str]:
    """data-iri → href of the node links of a class."""
    return {a.get("data-iri", ""): a.get("href", "") for a in svg.iter(SVG + "a") if cls in a.get("class", "").split()}


def edges(svg: ET.Element) -> dict[tuple[str, str], str]:
    """(body, agreement) → "lead" or "party", as drawn."""
    out = {}
    for p in svg.iter(SVG + "path"):
        kinds = p.get("class", "").split()
        if "edge" in kinds:
            out[(p.get("data-body", ""), p.get("data-agreement", ""))] = "lead" if "edge-lead" in kinds else "party"
    return out


def resolves(page: str, href: str, iri: str) -> bool:
    """``href`` (relative to ``page``) is the HTML page of ``iri``."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), href)) == "/" + iri[len("https://w3id.org/remit/"):] + ".html"


def visible_text(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(SVG + "text")]


# --------------------------------------------------------------------------------------------- the network

def test_the_network_draws_every_agreement_its_parties_and_the_leads_the_leads_query_names() -> None:
    pub = publication()
    page = pub.page("/network.html")
    assert page is not None
    svg = svg_of(page, "remit-network")
    bodies, agreements = links(svg, "node-body"), links(svg, "node-agreement")
    # every agreement (the agreements query's rows, and the concordat, which has no party recorded), and every
    # body party to one or named lead by one
    assert set(agreements) == {r["agreement"] for r in rows("agreements")} | {AGR + "wales-health-social-care-concordat"}
    party = {(r["b"].value, r["a"].value) for r in pub.site.select(
        "SELECT ?a ?b WHERE { ?a a <https://w3id.org/remit/def/Agreement> ; <https://w3id.org/remit/def/party> ?b }")}
    lead = {(r["lead"], r["agreement"]) for r in rows("leads") if r.get("lead") and r.get("kind") != "lead assignment"}
    assert set(bodies) == {b for b, _ in party | lead}
    drawn = edges(svg)
    assert set(drawn) == party | lead
    assert {e for e, kind in drawn.items() if kind == "lead"} == lead
    # the CQC–HMI Prisons agreements: both are party to both; only the 2016 one names them lead (its lead rules)
    for a in ("cqc-hmi-prisons", "cqc-hmi-prisons-2016"):
        for b in ("cqc", "hmi-prisons"):
            assert (BODY + b, AGR + a) in drawn
    assert drawn[(BODY + "cqc", AGR + "cqc-hmi-prisons-2016")] == drawn[(BODY + "hmi-prisons", AGR + "cqc-hmi-prisons-2016")] == "lead"
    assert drawn[(BODY + "cqc", AGR + "cqc-hmi-prisons")] == drawn[(BODY + "hmi-prisons", AGR + "cqc-hmi-prisons")] == "party"
    assert drawn[(BODY + "hmi-probation", AGR + "hmi-probation-cqc-yot")] == "lead"
    assert not any(AGR + "wales-health-social-care-concordat" in e for e in drawn)
    # the lead assignment (not an agreement) is not drawn
    assert not any("assignment" in a for a in agreements)
    # each node is a link to its page; names in plain English (no IRIs, no prefixes)
    for iri, href in {**bodies, **agreements}.items():
        assert resolves("/network.html", href, iri), (iri, href)
    texts = " ".join(visible_text(svg))
    assert "http" not in texts and "body:" not in texts and "agreement:" not in texts
    assert "Care Quality Commission" in texts and "HM Inspectorate of Prisons" in texts
    # a node's text is its whole label (wrapped lines keep the space between them: the link's accessible name)
    names = {"".join(a.itertext()) for a in svg.iter(SVG + "a")}
    assert {pub.site.label(i) for i in {**bodies, **agreements}} == names
    assert "Commission for Healthcare Audit and Inspection (Healthcare Commission)" in names
    # the text alternative: title and desc named by the svg, and a table row per agreement and per body
    assert svg.get("aria-labelledby") == "network-title" and svg.get("aria-describedby") == "network-desc"
    assert svg.find(SVG + "title").text == "Bodies and the agreements they are party to"
    assert f"{len(bodies)} bodies (left) and {len(agreements)} agreements (right)" in svg.find(SVG + "desc").text
    table = page[page.index('class="govuk-table network-agreements"'):]
    assert table.count('<tr class="govuk-table__row"><th scope="row"') >= len(agreements)


def test_the_columns_are_ordered_against_crossings() -> None:
    assert pictures.crossings(["a", "b"], ["x", "y"], [("a", "y"), ("b", "x")]) == 1
    assert pictures.crossings(["a", "b"], ["x", "y"], [("a", "x"), ("b", "y")]) == 0
    assert pictures.order_bipartite(["a", "b"], ["x", "y"], [("a", "y"), ("b", "x")]) in ((["a", "b"], ["y", "x"]),
                                                                                       (["b", "a"], ["x", "y"]))
    net = pictures.network(publication().site)
    pairs = [(e.body, e.agreement) for e in net.edges]
    left, right = pictures.order_bipartite(net.bodies, net.agreements, pairs)
    assert sorted(left) == sorted(net.bodies) and sorted(right) == sorted(net.agreements)
    assert pictures.crossings(left, right, pairs) < pictures.crossings(net.bodies, net.agreements, pairs) / 2


# --------------------------------------------------------------------------------------------- the chart

def test_the_chart_counts_the_rows_of_the_overlaps_and_duplications_queries_per_setting_type_and_nation() -> None:
    pub = publication()
    page = pub.page("/charts/overlaps.html")
    assert page is not None
    svg = svg_of(page, "remit-chart")
    bars = {(a.get("data-setting-type"), a.get("data-jurisdiction")): (int(a.get("data-overlaps")), int(a.get("data-duplications")))
            for a in svg.iter(SVG + "a") if a.get("class") == "bar"}
    overlaps = {key(r): r for r in rows("overlaps")}
    dups = {key(r) for r in rows("duplications")}
    expected_over = Counter((r["settingType"], r.get("jurisdiction", "")) for r in overlaps.values())
    expected_dup = Counter((overlaps[k]["settingType"], overlaps[k].get("jurisdiction", "")) for k in dups)
    assert {k: v[0] for k, v in bars.items()} == dict(expected_over)
    assert {k: v[1] for k, v in bars.items() if v[1]} == dict(expected_dup)
    assert sum(v[0] for v in bars.values()) == len(overlaps) > 10
    # nations kept apart: a Welsh overlap is never counted under England, nor an England-and-Wales one in either
    assert any(j == JUR + "wales" for _, j in bars) and any(j == JUR + "england" for _, j in bars)
    # the totals are the matrix's
    matrix = {k: int(v) for k, v in re.findall(r'data-total="([a-z]+)">(\d+)<', pub.page("/matrix.html"))}
    totals = {k: int(v) for k, v in re.findall(r'data-total="([a-z]+)">(\d+)<', page)}
    assert totals == matrix
    # the table under the chart: one row per bar with the same numbers, and every overlap listed once
    table = {(html.unescape(s), html.unescape(j)): (int(o), int(d)) for s, j, o, d in re.findall(
        r'<tr class="govuk-table__row" id="[^"]+" data-setting-type="([^"]+)" data-jurisdiction="([^"]*)">.*?'
        r'data-overlaps="(\d+)".*?data-duplications="(\d+)"', page)}
    assert table == bars
    listed = [html.unescape(k) for k in re.findall(r'<tr class="govuk-table__row pair[^"]*" data-key="([^"]+)"', page)]
    assert sorted(listed) == sorted(overlaps)
    flagged = [html.unescape(k) for k in re.findall(r'<tr class="govuk-table__row pair pair-duplication" data-key="([^"]+)"', page)]
    assert sorted(flagged) == sorted(dups)
    # each bar opens its row of the table; each setting type links to its page; labels in plain English
    for a in svg.iter(SVG + "a"):
        if a.get("class") == "bar":
            assert a.get("href", "").startswith("#") and f'id="{a.get("href")[1:]}"' in page
    setting_types = links(svg, "node-setting-type")
    assert set(setting_types) == {st for st, _ in bars}
    for iri, href in setting_types.items():
        assert resolves("/charts/overlaps.html", href, iri), (iri, href)
    texts = visible_text(svg)
    assert "Prison" in texts and "Wales" in texts and "England and Wales" in texts
    assert not any("http" in t or "setting-type" in t for t in texts)


def test_the_pages_are_the_same_bytes_when_rendered_again() -> None:
    day = publication().site.as_of
    again = Publication(Settings(store_path=ROOT / "build" / "store"), static=True, as_of=day)
    for path in pictures.PAGE_PATHS:
        assert again.page(path) == publication().page(path), path


def test_an_earlier_day_has_its_own_overlaps() -> None:
    """The chart follows the status date, as the matrix does (HMIC held youth offending team inspection in 2015)."""
    def bodies(page: str) -> set[str]:
        return {w for k in re.findall(r'data-key="([^"]+)"', page) for w in html.unescape(k).split(" ")}
    assert BODY + "hmic" in bodies(publication(dt.date(2015, 1, 1)).page("/charts/overlaps.html"))
    assert BODY + "hmic" not in bodies(publication().page("/charts/overlaps.html"))


def test_a_network_too_large_to_read_keeps_its_tables(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    site = publication().site
    monkeypatch.setattr(pictures, "MAX_DRAWN", 10)
    v = pictures.network_view(site, "/network.html")
    assert v["svg"] is None and len(v["agreements"]) == v["counts"]["agreements"] > 10
    page = site.render("network.html", "/network.html", v=v)
    assert "<svg xmlns" not in page and "too large to draw readably (more than 10 names)" in page
    assert page.count('<tr class="govuk-table__row"><th scope="row"') == v["counts"]["agreements"] + v["counts"]["bodies"]
