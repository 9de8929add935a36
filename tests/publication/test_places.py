"""Place pages and remit cards over a real server on the real build (issue 14): "who covers health care at HMP
Parc and who leads it" from the home page in at most three clicks, checked against the named queries' own rows;
plain English (no IRI or prefix in the visible text); the CSV downloads parse with their byte-order mark."""

from __future__ import annotations

import codecs
import csv
import html
import io
import re
from collections import deque
from pathlib import Path
from typing import Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from kg.publication import places
from kg.publication.publication import Publication
from kg.query.registry import load_queries, run_named
from kg.rdf.store import open_store
from kg.settings import Settings
from support.realbuild import ROOT

ID = "https://w3id.org/remit/id/"
PARC = ID + "setting/parc"
HTML = {"accept": "text/html"}
#: A prefixed name as the pages would leak it ("remit:Setting", "st:prison", "jur:wales").
PREFIXED = re.compile(r"\b(remit|rdfs|rdf|skos|owl|xsd|dcterms|prov|org|vcard|foaf|st|fn|jur|body|doc|setting|"
                      r"agreement|resp|provision|statute|arrangement):[A-Za-z]")


@pytest.fixture(scope="module")
def real(real_server: str) -> Iterator[httpx.Client]:
    """A client of the session's server on the real build; ``real_store`` is its store (both in
    tests/publication/conftest.py)."""
    with httpx.Client(base_url=real_server, timeout=120) as c:
        yield c


def _as_of(page: str) -> str:
    m = re.search(r'<time class="as-of" datetime="([0-9-]+)"', page)
    assert m, "the page does not say which date it used"
    return m.group(1)


def _query(store: Path, name: str, **params: str) -> list[dict[str, str]]:
    nq = load_queries(ROOT / "queries")[name]
    res = run_named(open_store(store), nq, params, limit=1000)
    return [{k: v["value"] for k, v in r.items()} for r in res.rows]


def _visible(page: str) -> str:
    page = re.sub(r"(?s)<head>.*?</head>|<script.*?</script>|<style.*?</style>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _card_rows(page: str) -> list[list[str]]:
    """The cells (visible text) of each row of the card's tables (one row per body and function)."""
    rows = []
    for table in re.findall(r'(?s)<table class="[^"]*\bcard">.*?</table>', page):
        for tr in re.findall(r"(?s)<tbody[^>]*>.*?</tbody>", table)[0].split("</tr>"):
            if "<td" in tr:
                rows.append([_visible(td).strip() for td in re.findall(r"(?s)<td[^>]*>(.*?)</td>", tr)])
    return rows


def test_parc_card_lists_what_the_named_queries_say(real: httpx.Client, real_store: Path) -> None:
    r = real.get("/id/setting/parc.html")
    assert r.status_code == 200
    day = _as_of(r.text)
    expected = _query(real_store, "establishment", establishment=PARC, asOf=day)
    assert len(expected) >= 10, "the establishment query should list the bodies covering HMP Parc"
    rows = _card_rows(r.text)
    assert len(rows) == len(expected), (len(rows), len(expected))
    for e in expected:
        match = [c for c in rows if c[0] == e["functionLabel"] and c[1] == e["bodyLabel"]]
        assert len(match) == 1, f"no card row for {e['bodyLabel']} / {e['functionLabel']}"
        function, body, power, agreements, lead, sources = match[0]
        assert power == (e["legalBasisLabel"] or "not recorded"), (power, e["legalBasisLabel"])
        assert sorted(filter(None, e["agreementLabels"].split(" | "))) == sorted(
            a for a in agreements.split(", ") if a != "none"), (agreements, e["agreementLabels"])
        for name in filter(None, e["leadLabels"].split(" | ")):
            assert name in lead, (name, lead)
        assert sources.startswith("Sources (") and e["sources"], "a row without its sources"
    # who covers health care at HMP Parc, and who leads it: HIW, under the 2003 Act, with the HIW-HMI Prisons
    # MoU; the duplications query lists HIW and HMI Prisons on prisons in Wales with no lead named
    health = [c for c in rows if c[0] == "health and social care inspection"]
    assert len(health) == 1 and health[0][1] == "Healthcare Inspectorate Wales"
    assert "Health and Social Care (Community Health and Standards) Act 2003" in health[0][2]
    assert "Healthcare Inspectorate Wales–HMI Prisons memorandum of understanding" in health[0][3]
    dups = _query(real_store, "duplications", settingType=ID + "setting-type/prison", asOf=day)
    pair = [d for d in dups if {d["body1"], d["body2"]} == {ID + "body/hiw", ID + "body/hmi-prisons"}
            and d["jurisdiction"] == ID + "jurisdiction/wales"]
    assert pair, "the duplications query no longer lists HIW and HMI Prisons in Welsh prisons"
    assert "No lead named" in health[0][4] and "HM Inspectorate of Prisons" in health[0][4]
    # an England-only body never appears on a Welsh prison's card
    assert not [c for c in rows if c[1] in ("Care Quality Commission", "Ofsted")]
    assert "What is missing" in r.text and "No lead named for health and social care inspection" in _visible(r.text)


def test_every_place_page_is_within_three_clicks_of_home(real: httpx.Client, real_store: Path) -> None:
    home = real.get("/", headers=HTML)
    pub = Publication(Settings(store_path=str(real_store), queries_dir=str(ROOT / "queries")), store=open_store(real_store))
    wanted = {p for p in places.place_paths(pub.site) if p.endswith(".html")}
    wanted |= {"/id/setting/" + e.rsplit("/", 1)[-1] + ".html" for e in places.establishment_iris(pub.site)}
    assert any("/places/prison/wales.html" == p for p in wanted) and "/id/setting/parc.html" in wanted
    origin = urlsplit(str(home.url)).netloc
    depth = {"/": 0}
    queue = deque(["/"])
    # breadth first, so the depth a page is first found at is its fewest clicks; it stops once every wanted page
    # is found (every card is rendered by other tests and by kg publish; here only the links count)
    while queue and not wanted <= set(depth):  # only the links a reader takes towards places
        path = queue.popleft()
        if depth[path] == 3:
            continue
        page = real.get(path, headers=HTML)
        assert page.status_code == 200, path
        for href in re.findall(r'href="([^"#]+)', page.text):
            target = urlsplit(urljoin(str(page.url), href))
            if target.netloc != origin or not target.path.endswith(".html"):
                continue
            if target.path.startswith(("/places/", "/id/setting/", "/id/setting-type/")) or target.path == "/matrix.html":
                if target.path not in depth:
                    depth[target.path] = depth[path] + 1
                    queue.append(target.path)
    missing = sorted(wanted - set(depth))
    assert not missing, f"{len(missing)} place pages are more than three clicks from home: {missing[:10]}"
    assert depth["/places/prison/wales.html"] == 1 and depth["/id/setting/parc.html"] == 2


@pytest.mark.parametrize("path", ["/id/setting/parc.html", "/places/prison/wales.html",
                                  "/places/police-custody/england.html", "/places/index.html", "/"])
def test_place_pages_show_labels_never_iris_or_prefixes(real: httpx.Client, path: str) -> None:
    page = real.get(path, headers=HTML)
    assert page.status_code == 200
    text = _visible(page.text)
    assert "w3id.org" not in text and "http://" not in text and "https://" not in text, path
    leaked = PREFIXED.findall(text)
    assert not leaked, (path, leaked[:5])
    assert "<details" in page.text or path in ("/places/index.html", "/"), "sources are not folded under the rows"


def test_csv_downloads_parse_with_their_bom(real: httpx.Client, real_store: Path) -> None:
    r = real.get("/places/establishments/parc.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    day = _as_of(real.get("/id/setting/parc.html").text)
    expected = _query(real_store, "establishment", establishment=PARC, asOf=day)
    assert len(rows) == len(expected) and {x["Establishment"] for x in rows} == {"HMP Parc"}
    health = [x for x in rows if x["Function"] == "health and social care inspection"]
    assert health and health[0]["Body"] == "Healthcare Inspectorate Wales" and health[0]["Lead status"] == "No lead named"
    assert all(x["Sources"] for x in rows)
    place = real.get("/places/prison/wales.csv")
    assert place.content.startswith(codecs.BOM_UTF8)
    prows = list(csv.DictReader(io.StringIO(place.content.decode("utf-8-sig"))))
    assert {x["Place"] for x in prows} == {"Prisons in Wales"} and any(x["Body"] == "Healthcare Inspectorate Wales" for x in prows)
    est = real.get("/places/prison/wales-establishments.csv")
    names = {x["Establishment"] for x in csv.DictReader(io.StringIO(est.content.decode("utf-8-sig")))}
    assert "HMP Parc" in names and "HMP Berwyn" in names
    assert real.get("/places/prison/scotland.csv").status_code == 404
    assert real.get("/places/establishments/no-such-place.csv").status_code == 404
