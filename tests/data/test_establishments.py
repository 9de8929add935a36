"""The establishments (remit:Setting) are pinned to the public pages that list them.

These tests read the real Turtle files in data/establishments/ and data/sources/ and the real ontology and
vocabularies, and check: the counts per setting type and nation are what the sources list; every setting
has a label, exactly one setting type and one jurisdiction, and located citations into documents that exist
with a source status; third-party pages are marked SRC-weak; HMP Parc is recorded as the HIW briefing states
it; nobody's coverage is typed by hand (it is derived from type, nation and dates); and the real build
reports no finding on any establishment node.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import FOAF, OWL, RDF, RDFS, XSD

from kg.pipeline.load import find_files, load_turtle
from kg.rdf.namespaces import ID_PREFIXES, REMIT

from support.realbuild import real_findings

ROOT = Path(__file__).resolve().parents[2]
ESTABLISHMENTS = ROOT / "data" / "establishments"
SOURCES = ROOT / "data" / "sources"

BODY, DOC, SETTING = ID_PREFIXES["body"], ID_PREFIXES["doc"], ID_PREFIXES["setting"]
ST, JUR = ID_PREFIXES["st"], ID_PREFIXES["jur"]


def st(slug: str) -> URIRef:
    return URIRef(ST + slug)


def jur(slug: str) -> URIRef:
    return URIRef(JUR + slug)


@cache
def data() -> Graph:
    g = Graph()
    for path in find_files([ESTABLISHMENTS]):
        g += load_turtle(path).graph
    return g


@cache
def sources() -> Graph:
    g = Graph()
    for path in find_files([SOURCES]):
        g += load_turtle(path).graph
    return g


@cache
def ontology() -> Graph:
    g = Graph()
    for path in [ROOT / "ontology" / "remit.ttl", *find_files([ROOT / "ontology" / "vocab"])]:
        g += load_turtle(path).graph
    return g


def settings() -> list[URIRef]:
    return sorted(data().subjects(RDF.type, REMIT.Setting))


def count(setting_type: str, nation: str | None = None) -> int:
    g = data()
    return sum(1 for s in settings()
               if (s, REMIT.settingType, st(setting_type)) in g and (nation is None or (s, REMIT.jurisdiction, jur(nation)) in g))


# --------------------------------------------------------------------------- counts the sources give

#: (setting type, nation) -> how many the sources list, and where.
EXPECTED = {
    # Public Health Wales: "There are six male prisons in Wales"; the HIW briefing names the six
    # (Usk & Prescoed, Cardiff, Swansea, Berwyn; Parc in the private sector).
    ("prison", "wales"): 6,
    # NOMS, 'Prisons and their resettlement providers' (prison register alpha data, lists/prison-estate):
    # 111 English rows kept (designation 'Prison' or 'Dual Designated Prison' -> prison: 105; 'Young Offender
    # Institution' -> YOI: 6), plus HMP Five Wells and HMP Fosse Way (Scribd summary, 2023) -> 107 prisons.
    ("prison", "england"): 107,
    ("young-offender-institution", "england"): 6,
    # Policing and Crime Act 2017 Explanatory Notes, Annex B: 37 police force areas in England outside
    # London; Police Act 1996 s1(2)(b),(c): the metropolitan police district and the City of London.
    # HMI Prisons press release, April 2020: BTP has one operational custody suite, in London.
    ("police-custody", "england"): 40,
    # Wikipedia, Police forces of Wales: "Wales is served by four police forces".
    ("police-custody", "wales"): 4,
    # Corporate Watch, May 2018: "Eight long-term Immigration Removal Centres", seven in England and
    # Dungavel House in Scotland.
    ("immigration-removal-centre", "england"): 7,
    ("immigration-removal-centre", "scotland"): 1,
    # Corporate Watch, 2016 and 2018: two stand-alone residential short-term holding facilities.
    ("short-term-holding-facility", "england"): 1,
    ("short-term-holding-facility", "northern-ireland"): 1,
    ("secure-training-centre", "england"): 1,
    ("secure-school", "england"): 1,
}


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: f"{k[0]}-{k[1]}")
def test_count_per_type_and_nation_matches_the_sources(key) -> None:
    assert count(*key) == EXPECTED[key]


def test_no_setting_outside_the_expected_types_and_nations() -> None:
    g = data()
    seen = Counter((str(g.value(s, REMIT.settingType))[len(ST):], str(g.value(s, REMIT.jurisdiction))[len(JUR):])
                   for s in settings())
    assert dict(seen) == EXPECTED


def test_police_custody_covers_the_43_police_areas_and_british_transport_police() -> None:
    assert count("police-custody") == 44
    operators = {data().value(s, REMIT.operatedBy) for s in settings()
                 if (s, REMIT.settingType, st("police-custody")) in data()}
    assert len(operators) == 44, "each force's custody is operated by that force, one force each"
    btp = URIRef(SETTING + "police-custody-british-transport-police")
    assert data().value(btp, REMIT.operatedBy) == URIRef(BODY + "british-transport-police")


# --------------------------------------------------------------------------- every setting is complete

@pytest.mark.parametrize("s", settings(), ids=lambda s: str(s)[len(SETTING):])
def test_every_setting_has_label_type_jurisdiction_and_citation(s: URIRef) -> None:
    g, onto = data(), ontology()
    assert str(s).startswith(SETTING)
    assert len(list(g.objects(s, RDFS.label))) == 1
    types = list(g.objects(s, REMIT.settingType))
    assert len(types) == 1 and (types[0], RDF.type, REMIT.SettingType) in onto
    nations = list(g.objects(s, REMIT.jurisdiction))
    assert len(nations) == 1 and (nations[0], RDF.type, REMIT.Jurisdiction) in onto
    citations = list(g.objects(s, REMIT.citation))
    assert citations
    for c in citations:
        assert str(g.value(c, REMIT.locator) or "").strip(), f"{s}: a citation has no locator"
        assert str(g.value(c, REMIT.quotation) or "").strip(), f"{s}: a citation has no quotation"
        assert len(str(g.value(c, REMIT.quotation))) <= 200


def test_labels_are_unique() -> None:
    labels = Counter(str(o).lower() for s in settings() for o in data().objects(s, RDFS.label))
    assert [label for label, n in labels.items() if n > 1] == []


def test_operators_and_health_boards_are_labelled_cited_organisations() -> None:
    g = data()
    orgs = set(g.objects(None, REMIT.operatedBy)) | set(g.objects(None, REMIT.healthBoard))
    assert len(orgs) >= 45
    for o in orgs:
        assert str(o).startswith(BODY)
        assert (o, RDF.type, REMIT.OtherOrganisation) in g, o
        assert g.value(o, RDFS.label) is not None, o
        assert list(g.objects(o, REMIT.citation)), f"{o} has no citation"


def test_only_declared_terms_and_no_hand_typed_coverage() -> None:
    """A setting records what it is; who covers it is derived (from type, nation and dates), never typed."""
    allowed = {RDF.type, RDFS.label, REMIT.settingType, REMIT.jurisdiction, REMIT.operatedBy, REMIT.healthBoard,
               REMIT.openedOn, REMIT.closedOn, REMIT.citation}
    g, onto = data(), ontology()
    for s in settings():
        extra = {p for p in g.predicates(s, None)} - allowed
        assert not extra, f"{s} uses {extra}"
    for p in {p for p in g.predicates() if str(p).startswith(str(REMIT))}:
        assert (p, RDF.type, OWL.ObjectProperty) in onto or (p, RDF.type, OWL.DatatypeProperty) in onto, p
    assert not list(g.subjects(RDF.type, REMIT.Responsibility))


def test_dates_are_typed_and_only_where_a_source_gives_them() -> None:
    g = data()
    dated = {(s, p): o for p in (REMIT.openedOn, REMIT.closedOn) for s, o in g.subject_objects(p)}
    assert dated == {
        (URIRef(SETTING + "parc"), REMIT.openedOn): Literal("1997-11", datatype=XSD.gYearMonth),
        (URIRef(SETTING + "brook-house-irc"), REMIT.openedOn): Literal("2009-03", datatype=XSD.gYearMonth),
        (URIRef(SETTING + "morton-hall-irc"), REMIT.closedOn): Literal("2021-07-23", datatype=XSD.date),
        (URIRef(SETTING + "five-wells"), REMIT.openedOn): Literal("2022", datatype=XSD.gYear),
        (URIRef(SETTING + "fosse-way"), REMIT.openedOn): Literal("2023", datatype=XSD.gYear),
    }


# --------------------------------------------------------------------------- HMP Parc

def test_hmp_parc_is_in_wales_operated_by_g4s_as_hiw_states() -> None:
    g = data()
    parc = URIRef(SETTING + "parc")
    assert g.value(parc, RDFS.label) == Literal("HMP Parc", lang="en")
    assert g.value(parc, REMIT.settingType) == st("prison")
    assert g.value(parc, REMIT.jurisdiction) == jur("wales")
    g4s = g.value(parc, REMIT.operatedBy)
    assert g4s == URIRef(BODY + "g4s") and g.value(g4s, RDFS.label) == Literal("G4S", lang="en")
    assert g.value(parc, REMIT.healthBoard) == URIRef(BODY + "swansea-bay-uhb")
    hiw = URIRef(DOC + "hiw-welsh-prisons-briefing-2019")
    quotes = {str(g.value(c, REMIT.quotation)) for c in g.objects(parc, REMIT.citation)
              if g.value(c, REMIT.citedDocument) == hiw}
    assert "HMP Parc, a private prison operated by G4S" in quotes


def test_welsh_public_sector_prisons_have_the_health_board_hiw_names() -> None:
    g = data()
    boards = {str(s)[len(SETTING):]: str(g.value(s, REMIT.healthBoard))[len(BODY):] for s in settings()
              if (s, REMIT.settingType, st("prison")) in g and (s, REMIT.jurisdiction, jur("wales")) in g}
    assert boards == {"berwyn": "betsi-cadwaladr-uhb", "cardiff": "cardiff-and-vale-uhb",
                      "prescoed": "aneurin-bevan-uhb", "usk": "aneurin-bevan-uhb",
                      "swansea": "swansea-bay-uhb", "parc": "swansea-bay-uhb"}


# --------------------------------------------------------------------------- English prisons and YOIs

NOMS_LIST = URIRef(DOC + "prison-register-alpha-data")
SCRIBD = URIRef(DOC + "scribd-basic-prison-information-2023")


def english_prisons() -> list[URIRef]:
    g = data()
    return [s for s in settings() if (s, REMIT.jurisdiction, jur("england")) in g
            and g.value(s, REMIT.settingType) in (st("prison"), st("young-offender-institution"))]


def test_each_english_prison_cites_its_list_row_the_list_scope_and_the_welsh_six() -> None:
    g = data()
    for s in english_prisons():
        cites = {(g.value(c, REMIT.citedDocument), str(g.value(c, REMIT.locator))) for c in g.objects(s, REMIT.citation)}
        docs = {d for d, _ in cites}
        assert URIRef(DOC + "phw-prison-health-in-wales") in docs, s
        if s in (URIRef(SETTING + "five-wells"), URIRef(SETTING + "fosse-way")):
            assert SCRIBD in docs, s
            continue
        rows = [loc for d, loc in cites if d == NOMS_LIST and loc.startswith("lists/prison-estate/prison_estate.tsv, row ")]
        assert len(rows) == 1, s
        assert (NOMS_LIST, "README.md, first paragraph") in cites, s
        operator = rows[0].split("operator '")[1].split("'")[0]
        expected = {"PSP": "hm-prison-service", "G4S": "g4s", "Serco": "serco", "Sodexo": "sodexo"}[operator]
        assert g.value(s, REMIT.operatedBy) == URIRef(BODY + expected), s
        designation = rows[0].split("designation '")[1].split("'")[0]
        assert g.value(s, REMIT.settingType) == st(
            "young-offender-institution" if designation == "Young Offender Institution" else "prison"), s


def test_english_prisons_as_the_list_gives_them() -> None:
    g = data()
    assert len(english_prisons()) == 113
    assert g.value(URIRef(SETTING + "thameside"), REMIT.operatedBy) == URIRef(BODY + "serco")
    assert g.value(URIRef(SETTING + "wetherby"), REMIT.settingType) == st("young-offender-institution")
    assert g.value(URIRef(SETTING + "wetherby"), RDFS.label) == Literal("HMYOI Wetherby", lang="en")
    # rows the list marks not in use, or that have closed without a sourced date, are left out
    for gone in ("blantyre-house", "kennet", "glen-parva"):
        assert (URIRef(SETTING + gone), RDF.type, REMIT.Setting) not in g
    # no English prison also appears as a Welsh one
    welsh = {str(g.value(s, RDFS.label)) for s in settings() if (s, REMIT.jurisdiction, jur("wales")) in g}
    assert not welsh & {str(g.value(s, RDFS.label)) for s in english_prisons()}


# --------------------------------------------------------------------------- sources

def cited_documents() -> set[URIRef]:
    g = data()
    return {d for c in g.objects(None, REMIT.citation) for d in g.objects(c, REMIT.citedDocument)}


def test_every_cited_document_exists_with_a_source_status() -> None:
    src = sources()
    docs = cited_documents()
    assert len(docs) >= 10
    for d in docs:
        assert (d, RDF.type, REMIT.SourceDocument) in src, f"{d} is not in data/sources"
        assert src.value(d, RDFS.label) is not None
        assert str(src.value(d, REMIT.sourceStatus)) in {"SRC", "SRC-weak", "DOC"}, d
        assert src.value(d, FOAF.page) is not None or src.value(d, REMIT.note) is not None, \
            f"{d} has neither an address nor a note saying why not"


def test_mirrors_and_campaign_pages_are_src_weak_and_official_pages_src() -> None:
    src = sources()
    for d in cited_documents():
        page = str(src.value(d, FOAF.page) or "")
        status = str(src.value(d, REMIT.sourceStatus))
        if any(h in page for h in ("wikimili.com", "wikipedia.org", "corporatewatch.org", "detentionforum.org.uk",
                                   "cypnow.co.uk", "g4s.com", "github.com/symroe", "scribd.com")):
            assert status == "SRC-weak", d
        if any(h in page for h in ("legislation.gov.uk", "gov.uk/government", "senedd.wales", "imb.org.uk",
                                   "publichealthwales.nhs.wales")):
            assert status == "SRC", d


# --------------------------------------------------------------------------- the real build

def test_real_build_reports_nothing_on_establishments() -> None:
    ours = {str(s) for s in settings()} | {str(o) for o in data().subjects(RDF.type, REMIT.OtherOrganisation)}
    assert len(ours) > 100
    hits = [f for f in real_findings() if any(str(v) in ours for v in f.values() if isinstance(v, str))]
    assert hits == []
