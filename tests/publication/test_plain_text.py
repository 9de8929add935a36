"""People get labels and plain English, never raw IRIs or prefixes: the visible text of the pages of the real
build, over the session's real server (``real_server``), has no IRI of the dataset and no prefixed name.

Regressions (session 7): a resource page showed ``remit:sourceText`` ("CSCI–Ofsted MoU <https://w3id.org/…>,
…") beside the citations it repeats; a validation message read "https://w3id.org/remit/id/body/csci has since
been succeeded …"; a locator read "which doc:hiw-welsh-prisons-briefing-2019 names"; the explanation tables of the
matrix cell pages listed functions, setting types and jurisdictions as IRIs. ``kg publish`` of the real build had
such text on 600 of its 1,180 pages.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from kg.publication.publication import Publication
from kg.publication.site import Site
from kg.rdf.store import open_store
from kg.settings import Settings
from support.realbuild import ROOT

HTML = {"accept": "text/html"}
#: A prefixed name as the pages would leak it ("remit:Setting", "doc:hiw-…", "vcard:postal-code").
PREFIXED = re.compile(r"\b(remit|rdfs|rdf|skos|owl|xsd|dcterms|prov|org|vcard|foaf|st|fn|jur|body|doc|setting|"
                      r"agreement|resp|provision|statute|arrangement|id|office|status|event):[A-Za-z]")
OURS = re.compile(r"https?://w3id\.org/remit/\S*")
#: Codes a named query returns for programs, with their words beside them (``explain``'s ``role``/``roleLabel``).
CODES = re.compile(r"(?<![-\w/])(?:responsibility-of-body[12]|agreement-area|agreement-scope|lead-rule)(?![-\w.])")
#: Per kind of page (the path's first two parts), how many pages to read: every page of the small kinds.
PER_KIND = 40
#: Pages made for linked-data publishers, where the IRIs are the content: the ontology's documentation
#: (pyLODE) and the prefix declarations of the shapes graph.
REGRESSIONS = ("/id/agreement/csci-ofsted.html", "/id/setting/rye-hill.html",
               "/matrix/immigration-removal-centre/inspection.html", "/shapes/ContactAddressShape-postalCode.html")
FOR_PUBLISHERS = re.compile(r"^/(def\.html|shapes/prefix-[^/]+\.html)$")


def visible(page: str) -> str:
    page = re.sub(r"(?s)<head>.*?</head>|<script.*?</script>|<style.*?</style>|<pre.*?</pre>|<code.*?</code>",
                  " ", page)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def leaks(text: str) -> list[str]:
    return [m.group(0) for m in OURS.finditer(text)] + [m.group(0) for m in CODES.finditer(text)] + [
        text[max(0, m.start() - 30):m.end() + 30] for m in PREFIXED.finditer(text)]


@pytest.fixture(scope="module")
def real(real_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real_server, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def paths(real_store: Path) -> list[str]:
    """Page paths of the publication, at most ``PER_KIND`` of each kind (first by path), plus every matrix cell."""
    pub = Publication(Settings(store_path=str(real_store), queries_dir=str(ROOT / "queries")),
                      store=open_store(real_store), static=True)
    site: Site = pub.site
    iris = sorted({r["s"].value for r in site.select("SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) }")})
    kinds: dict[str, list[str]] = {}
    for iri in iris:
        path = site.iri_to_path(iri)
        if path is None or FOR_PUBLISHERS.match(path + ".html"):
            continue
        kind = "/".join(path.split("/")[:3])
        kinds.setdefault(kind, []).append(path + ".html")
    out = ["/", "/matrix.html", "/agreements.html", "/bodies.html", "/network.html", "/charts/overlaps.html",
           "/places/index.html"] + pub.cell_paths()
    for kind in sorted(kinds):
        out += kinds[kind][:PER_KIND]
    # and the pages that leaked before (see the module's docstring)
    out += [p for p in REGRESSIONS if p not in out]
    return out


def test_pages_show_no_iri_of_the_dataset_and_no_prefixed_name(real: httpx.Client, paths: list[str]) -> None:
    assert len(paths) > 300 and any(p.startswith("/matrix/") for p in paths)
    assert set(REGRESSIONS) <= set(paths)
    found = {}
    for path in paths:
        r = real.get(path, headers=HTML)
        assert r.status_code == 200, path
        bad = leaks(visible(r.text))
        if bad:
            found[path] = bad[:3]
    assert not found, f"{len(found)} pages show IRIs or prefixed names: {dict(list(found.items())[:8])}"


@pytest.mark.parametrize("query", [
    "explain?body1=CQC&body2=HIW&settingType=st%3Aprison&function=fn%3Ahealth-and-social-care-inspection",
    "explain?body1=CQC&body2=Ofsted&settingType=st%3Ayouth-offending-team&function=fn%3Ainspection",
    "agreement-overlaps?agreement=agreement%3Acqc-hmi-prisons-2016",
    "overlaps", "duplications", "gaps", "leads", "contacts", "reviews-due", "powers-without-agreement",
    "devolved-boundary", "party-functions", "npm-membership", "unremade-agreements", "remit-matrix", "agreements",
])
def test_question_pages_show_labels(real: httpx.Client, query: str) -> None:
    r = real.get("/queries/" + query, headers=HTML)
    assert r.status_code == 200, (query, r.text[:300])
    assert "<table" in r.text, query  # rows were shown, not an empty answer
    bad = leaks(visible(r.text))
    assert not bad, (query, bad[:5])


def test_plain_turns_iris_and_prefixed_names_into_labels(real_store: Path) -> None:
    site = Site(Settings(store_path=str(real_store), queries_dir=str(ROOT / "queries")), store=open_store(real_store))
    assert site.plain("https://w3id.org/remit/id/body/csci has since been succeeded") == \
        "Commission for Social Care Inspection has since been succeeded"
    # "label <IRI>" (the named queries' sources): the label once; other words before an IRI: the IRI's label
    s56 = site.label("https://w3id.org/remit/id/document/s56")
    assert site.plain(f"{s56} <https://w3id.org/remit/id/document/s56>, para 3") == f"{s56}, para 3"
    assert site.plain("Lead body <https://w3id.org/remit/id/body/csci>") == \
        "Lead body Commission for Social Care Inspection"
    assert "doc:" not in site.plain("which doc:hiw-welsh-prisons-briefing-2019 names")
    # regression: a document whose label names its source-text file (an internal reference, which the words
    # before the IRI have lost) was written twice, "CQC news: CQC–HMIP MoU CQC news: CQC–HMIP MoU, news item"
    s01 = "https://w3id.org/remit/id/document/s01"
    assert "(source text" in site.label(s01)
    assert site.plain(f"{site.label(s01)} <{s01}>, news item") == "CQC news: CQC–HMIP MoU, news item"
    assert site.plain(f"see {s01}") == "see CQC news: CQC–HMIP MoU"
    # other sites' addresses are for people to follow, and stay
    assert site.plain("see https://www.gov.uk/x.") == "see https://www.gov.uk/x."
    assert site.plain("") == ""


def test_a_constraints_query_is_shown_as_written(real: httpx.Client) -> None:
    """Labels are for words, not code: the SPARQL of a SHACL-SPARQL constraint keeps its prefixed names (it read
    "IN (date, g year month, g year)" once every literal went through the labels)."""
    r = real.get("/shapes/DateDatatypeConstraint.html", headers=HTML)
    assert r.status_code == 200
    code = re.findall(r'(?s)<pre class="remit-code"><code>(.*?)</code></pre>', r.text)
    assert code and "xsd:gYearMonth" in html.unescape(code[0]) and "$this" in html.unescape(code[0])
