"""The agreements in data/agreements/ are pinned to their source texts.

These tests read the real Turtle files (through kg.pipeline.load, which reports file:line:column on bad input),
the real ontology and vocabularies, the real source-document nodes and, where they are present, the two
source texts themselves, and check the encoding item by item: counts, ordinals, dates, leads that are
named and leads that are not, contacts, and that every fact node carries a located citation into a
document that exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import FOAF, RDF, RDFS, XSD

from kg.pipeline.load import SourceFile, find_files, load_turtle
from kg.rdf.namespaces import ID, ID_PREFIXES, REMIT, SH, VCARD

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = ROOT / "data" / "agreements"
SOURCES = ROOT / "data" / "sources"
ONTOLOGY = ROOT / "ontology"
SEEDS = ROOT / "data" / "sources" / "texts"

AGR = ID_PREFIXES["agreement"]
BODY = ID_PREFIXES["body"]
OFFICE = ID_PREFIXES["office"]
DOC = ID_PREFIXES["doc"]
FN = ID_PREFIXES["fn"]
ST = ID_PREFIXES["st"]
STATUS = ID_PREFIXES["status"]
JUR = ID_PREFIXES["jur"]

YOT = URIRef(AGR + "hmi-probation-cqc-yot")
PRISONS = URIRef(AGR + "cqc-hmi-prisons")
YOT_NS = AGR + "hmi-probation-cqc-yot/"
PRISONS_NS = AGR + "cqc-hmi-prisons/"

SEED_FILES = {
    URIRef(DOC + "seed-000"): "000_f93c0066c8dd30a1.txt",
    URIRef(DOC + "seed-001"): "001_f4d0ca04809766fb.txt",
}

# Nodes that are part of a fact node's description rather than facts of their own.
STRUCTURAL_TYPES = {REMIT.Citation, VCARD.Address, VCARD.Voice}


def _files() -> list[Path]:
    return find_files([AGREEMENTS])


@pytest.fixture(scope="module")
def sources() -> list[SourceFile]:
    return [load_turtle(p) for p in _files()]


@pytest.fixture(scope="module")
def g(sources: list[SourceFile]) -> Graph:
    merged = Graph()
    for src in sources:
        for t in src.graph:
            merged.add(t)
    return merged


@pytest.fixture(scope="module")
def documents() -> Graph:
    docs = Graph()
    for p in find_files([SOURCES]):
        for t in load_turtle(p).graph:
            docs.add(t)
    return docs


@pytest.fixture(scope="module")
def ontology() -> Graph:
    ont = Graph()
    for p in find_files([ONTOLOGY]):
        for t in load_turtle(p).graph:
            ont.add(t)
    return ont


def iri(ns: str, local: str) -> URIRef:
    return URIRef(ns + local)


def objects(g: Graph, s: URIRef, p: URIRef) -> set:
    return set(g.objects(s, p))


def lex(g: Graph, s: URIRef, p: URIRef) -> set[str]:
    return {str(o) for o in g.objects(s, p)}


def minted(g: Graph) -> Iterator[URIRef]:
    """Every IRI the agreement files describe (subjects under id/agreement/ or any other IRI subject)."""
    for s in sorted({s for s in g.subjects() if isinstance(s, URIRef)}, key=str):
        yield s


# --- every file ------------------------------------------------------------------------------------

def test_there_are_agreement_files() -> None:
    names = {p.name for p in _files()}
    assert {"hmi-probation-cqc-yot.ttl", "cqc-hmi-prisons.ttl", "stc-joint-inspection-framework.ttl",
            "police-custody-joint-inspection.ttl", "healthcare-commission-hmi-prisons.ttl", "csci-ofsted.ttl",
            "healthcare-commission-hiw.ttl", "hiw-hmi-prisons.ttl", "hmi-probation-yjb.ttl", "cqc-hmi-prisons-2016.ttl",
            "probation-oversight-2018.ttl", "probation-oversight-2023.ttl", "moj-hmi-prisons-protocol.ttl",
            "noms-ppo-joint-working-protocol.ttl", "wales-health-social-care-concordat.ttl"} <= names


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_file_parses_and_uses_only_declared_remit_terms(path: Path, ontology: Graph) -> None:
    src = load_turtle(path)  # raises SourceError with file:line:column on any bad input
    assert len(src.graph) > 0
    used = {t for triple in src.graph for t in triple if isinstance(t, URIRef) and str(t).startswith(str(REMIT))}
    undeclared = {t for t in used if (t, None, None) not in ontology}
    assert not undeclared, f"{path.name}: remit terms not declared in the ontology: {sorted(undeclared)}"


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_one_agreement_per_file_and_parts_under_its_iri(path: Path) -> None:
    src = load_turtle(path)
    agreements = set(src.graph.subjects(RDF.type, REMIT.Agreement)) | set(
        src.graph.subjects(RDF.type, REMIT.MemorandumOfUnderstanding))
    assert agreements == {iri(AGR, path.stem)}, f"{path.name} must describe exactly agreement:{path.stem}"
    for s in {s for s in src.graph.subjects() if isinstance(s, URIRef)} - agreements:
        assert str(s).startswith(AGR + path.stem + "/"), f"{path.name}: {s} is not a part of agreement:{path.stem}"


def test_no_body_office_or_vocabulary_node_is_defined_here(g: Graph) -> None:
    foreign = [s for s in g.subjects() if isinstance(s, URIRef)
               and any(str(s).startswith(ID_PREFIXES[k]) for k in ("body", "office", "st", "fn", "jur", "status",
                                                                    "doc", "provision", "statute"))]
    assert not foreign, f"nodes owned by other parts are described in data/agreements: {sorted(set(foreign))}"


def test_every_fact_node_has_a_label_and_a_located_citation(g: Graph) -> None:
    problems = []
    labels: dict[str, URIRef] = {}
    for s in minted(g):
        label = g.value(s, RDFS.label)
        if not isinstance(label, Literal) or not str(label).strip():
            problems.append(f"{s}: no rdfs:label")
        elif str(label) in labels:
            problems.append(f"{s}: label {str(label)!r} also used by {labels[str(label)]}")
        else:
            labels[str(label)] = s
        cites = list(g.objects(s, REMIT.citation))
        if not cites:
            problems.append(f"{s}: no remit:citation")
        for c in cites:
            if (c, RDF.type, REMIT.Citation) not in g:
                problems.append(f"{s}: citation {c} is not typed remit:Citation")
            if g.value(c, REMIT.citedDocument) is None:
                problems.append(f"{s}: citation without remit:citedDocument")
            loc = g.value(c, REMIT.locator)
            if loc is None or not str(loc).strip():
                problems.append(f"{s}: citation without a locator")
    assert not problems, "\n".join(problems)


def test_blank_nodes_are_only_citations_addresses_and_telephones(g: Graph) -> None:
    for b in {s for s in g.subjects() if isinstance(s, BNode)}:
        types = set(g.objects(b, RDF.type))
        assert types & STRUCTURAL_TYPES, f"blank node with types {types} should be an IRI with a label and citation"


def test_cited_documents_exist_in_data_sources(g: Graph, documents: Graph) -> None:
    cited = set(g.objects(None, REMIT.citedDocument)) | set(g.objects(None, REMIT.sourceDocument))
    assert cited
    missing = [d for d in cited if (d, RDF.type, REMIT.SourceDocument) not in documents]
    assert not missing, f"cited documents not in data/sources: {sorted(missing)}"


def test_vocabulary_terms_exist(g: Graph, ontology: Graph) -> None:
    used = {o for o in g.objects() if isinstance(o, URIRef)
            and any(str(o).startswith(ID_PREFIXES[k]) for k in ("st", "fn", "jur", "status"))}
    missing = [u for u in used if (u, None, None) not in ontology]
    assert not missing, f"concepts not in ontology/vocab: {sorted(missing)}"


def test_no_supersedes_is_asserted(g: Graph) -> None:
    # No source says that any of these agreements replaces another.
    assert list(g.triples((None, REMIT.supersedes, None))) == []


def test_status_is_unknown_everywhere_with_a_note(g: Graph) -> None:
    agreements = set(g.subjects(RDF.type, REMIT.MemorandumOfUnderstanding)) | set(g.subjects(RDF.type, REMIT.Agreement))
    assert len(agreements) == 15
    for a in agreements:
        assert objects(g, a, REMIT.status) == {iri(STATUS, "unknown")}, a
        assert any("unknown" in n.lower() for n in lex(g, a, REMIT.note)), f"{a}: status unknown without a note"


# --- the quotations are the source's words ---------------------------------------------------------

def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'")).strip()


def test_quotations_from_the_source_texts_are_verbatim(g: Graph) -> None:
    texts = {doc: _normalise((SEEDS / name).read_text(encoding="utf-8")) for doc, name in SEED_FILES.items()}
    checked = 0
    for c in g.subjects(RDF.type, REMIT.Citation):
        doc = g.value(c, REMIT.citedDocument)
        quote = g.value(c, REMIT.quotation)
        if doc in texts and quote is not None:
            assert _normalise(str(quote)) in texts[doc], f"quotation not found verbatim in {doc}: {quote!r}"
            checked += 1
    assert checked >= 30


def test_principle_headings_and_appendix_items_are_the_source_text(g: Graph) -> None:
    text = (SEEDS / SEED_FILES[URIRef(DOC + "seed-001")]).read_text(encoding="utf-8")
    for n in range(1, 6):
        heading = str(g.value(iri(YOT_NS, f"principle-{n}"), RDFS.label))
        assert re.search(rf"^{n} {re.escape(heading)}\s*$", text, re.M), f"principle {n} heading {heading!r}"
    letters = re.findall(r"^\s*- ([a-k])\. ", text, re.M)
    assert letters == list("abcdefghijk")


# --- HMI Probation–CQC YOT memorandum (source text 001) --------------------------------------------

def test_yot_identity_dates_and_source(g: Graph) -> None:
    assert (YOT, RDF.type, REMIT.MemorandumOfUnderstanding) in g
    assert objects(g, YOT, REMIT.party) == {iri(BODY, "hmi-probation"), iri(BODY, "cqc")}
    assert objects(g, YOT, REMIT.documentDate) == {Literal("2011-11", datatype=XSD.gYearMonth)}
    assert objects(g, YOT, REMIT.sourceDocument) == {iri(DOC, "seed-001")}
    assert iri(ST, "youth-offending-team") in objects(g, YOT, REMIT.scopeSettingType)
    assert objects(g, YOT, REMIT.jurisdiction) == {iri(JUR, "england")}
    lead = iri(YOT_NS, "preamble-yot-inspection-lead")
    assert objects(g, lead, REMIT.jurisdiction) == {iri(JUR, "england-and-wales")}
    assert objects(g, lead, REMIT.leadBody) == {iri(BODY, "hmi-probation")}
    assert objects(g, lead, REMIT.validFrom) == {Literal("2002", datatype=XSD.gYear)}


def test_yot_two_signatures_with_their_dates(g: Graph) -> None:
    sigs = objects(g, YOT, REMIT.signature)
    assert len(sigs) == 2
    got = {(str(g.value(s, REMIT.signatoryName)), g.value(s, REMIT.signedFor), g.value(s, REMIT.signedOn)) for s in sigs}
    assert got == {
        ("Cynthia Bower", iri(BODY, "cqc"), Literal("2012-04-12", datatype=XSD.date)),
        ("Liz Calderbank", iri(BODY, "hmi-probation"), Literal("2012-04-18", datatype=XSD.date)),
    }


def _ordinals(g: Graph, subject: URIRef, prop: URIRef) -> list[str]:
    return sorted(str(g.value(o, REMIT.ordinal)) for o in g.objects(subject, prop) if g.value(o, REMIT.ordinal))


def test_yot_counts_objectives_principles_areas(g: Graph) -> None:
    assert _ordinals(g, YOT, REMIT.objective) == ["1", "2"]
    assert len(objects(g, YOT, REMIT.objective)) == 2
    assert _ordinals(g, YOT, REMIT.principle) == ["1", "2", "3", "4", "5"]
    assert {str(g.value(iri(YOT_NS, f"principle-{n}"), RDFS.label)) for n in range(1, 6)} == {
        "Quality inspection and regulation", "Understanding each organisation and its independence",
        "Focus on results", "Pragmatism", "Being as clear as possible"}
    unnumbered = [p for p in g.objects(YOT, REMIT.principle) if g.value(p, REMIT.ordinal) is None]
    assert unnumbered == [iri(YOT_NS, "principle-always-a-lead-body")]
    assert _ordinals(g, YOT, REMIT.areaOfJointWork) == ["1", "2", "3"]
    assert len(objects(g, YOT, REMIT.areaOfJointWork)) == 3


def test_yot_area_functions(g: Graph) -> None:
    assert objects(g, iri(YOT_NS, "area-1"), REMIT.function) == {iri(FN, "inspection"), iri(FN, "thematic-inspection")}
    assert objects(g, iri(YOT_NS, "area-2"), REMIT.function) == {iri(FN, "reviews-studies-and-reports")}
    assert objects(g, iri(YOT_NS, "area-3"), REMIT.function) == {iri(FN, "advice-and-information")}
    for n in (1, 2, 3):
        assert iri(ST, "youth-offending-team") in objects(g, iri(YOT_NS, f"area-{n}"), REMIT.settingType)


def test_yot_lead_only_where_the_text_names_one(g: Graph) -> None:
    area1 = iri(YOT_NS, "area-1")
    assert objects(g, area1, REMIT.leadBody) == {iri(BODY, "hmi-probation")}
    assert objects(g, area1, REMIT.leadBasis) == {iri(YOT_NS, "lead-rule-1")}
    locators = {str(g.value(c, REMIT.locator)) for c in g.objects(area1, REMIT.citation)}
    assert any(loc.startswith("Preamble") for loc in locators)
    assert any(loc.startswith("Our approach to working together, paragraph 1") for loc in locators)
    assert objects(g, iri(YOT_NS, "area-2"), REMIT.leadBody) == set()
    assert objects(g, iri(YOT_NS, "area-3"), REMIT.leadBody) == set()
    for n in (1, 2, 3):  # contacts belong to the whole memorandum, not to an area
        assert objects(g, iri(YOT_NS, f"area-{n}"), REMIT.contactPoint) == set()


def test_yot_lead_rules_and_expert_bodies(g: Graph) -> None:
    rules = objects(g, YOT, REMIT.leadRule)
    assert {(g.value(r, REMIT.leadBody), str(g.value(r, REMIT.ordinal))) for r in rules} == {
        (iri(BODY, "hmi-probation"), "1"), (iri(BODY, "cqc"), "2")}
    assert objects(g, iri(YOT_NS, "lead-rule-2"), REMIT.function) == {
        iri(FN, "compliance-assessment"), iri(FN, "commissioning-assessment")}
    rels = {(g.value(r, REMIT.expertBody), g.value(r, REMIT.treatedAsExpertBy))
            for r in g.objects(YOT, REMIT.expertBodyRelation)}
    assert rels == {(iri(BODY, "hmi-probation"), iri(BODY, "cqc")), (iri(BODY, "cqc"), iri(BODY, "hmi-probation"))}


def test_yot_supporting_commitments(g: Graph) -> None:
    commitments = objects(g, YOT, REMIT.commitment)
    assert all((c, RDF.type, REMIT.SupportingCommitment) in g for c in commitments)
    assert {iri(YOT_NS, "commitment-share-information"), iri(YOT_NS, "commitment-coordinate-follow-up"),
            iri(YOT_NS, "commitment-joint-findings"), iri(YOT_NS, "commitment-strategic-information"),
            iri(YOT_NS, "commitment-external-communications"), iri(YOT_NS, "commitment-race-equality")} <= commitments


def test_yot_escalation(g: Graph) -> None:
    steps = {str(g.value(s, REMIT.ordinal)): s for s in g.objects(YOT, REMIT.escalationStep)}
    assert sorted(steps) == ["1", "2", "3"]
    assert objects(g, steps["3"], REMIT.escalationHolder) == {
        iri(OFFICE, "hm-chief-inspector-of-probation"), iri(OFFICE, "cqc-chief-executive")}
    assert objects(g, steps["1"], REMIT.escalationHolder) == set()


def test_yot_review_and_meetings(g: Graph) -> None:
    reviews = objects(g, YOT, REMIT.reviewCommitment)
    assert len(reviews) == 1
    review = reviews.pop()
    assert objects(g, review, REMIT.reviewInterval) == {Literal("P1Y", datatype=XSD.duration)}
    assert objects(g, review, REMIT.onRequestOfEitherParty) == {Literal(True)}
    assert _ordinals(g, review, REMIT.reviewTopic) == ["1", "2", "3"]
    meetings = objects(g, YOT, REMIT.meetingArrangement)
    assert len(meetings) == 1
    meeting = meetings.pop()
    assert objects(g, meeting, REMIT.meetingInterval) == {Literal("P6M", datatype=XSD.duration)}
    assert objects(g, meeting, REMIT.onRequestOfEitherParty) == {Literal(True)}
    protocol = g.value(YOT, REMIT.refersTo)
    assert (protocol, RDF.type, FOAF.Document) in g
    assert any("not held" in n for n in lex(g, protocol, REMIT.note))
    assert len(objects(g, YOT, REMIT.forum)) == 1


def test_yot_contacts(g: Graph) -> None:
    contacts = objects(g, YOT, REMIT.contactPoint)
    assert len(contacts) == 4
    operating = {c for c in contacts if str(g.value(c, REMIT.contactPurpose)) == "operating this memorandum"}
    # posts, not people: the names the memorandum prints are personal data (data-restricted/, docs/data-protection.md)
    assert {str(g.value(c, VCARD.fn)) for c in operating} == {
        "Youth Offending Programme Manager, Care Quality Commission",
        "Assistant Chief Inspector, Her Majesty's Inspectorate of Probation"}
    assert {str(g.value(c, VCARD.title)) for c in operating} == {"Youth Offending Programme Manager",
                                                                 "Assistant Chief Inspector"}
    phones = set()
    for c in operating:
        assert (c, RDF.type, VCARD.Individual) in g
        assert g.value(c, REMIT.informationAsOf) == Literal("2011-11", datatype=XSD.gYearMonth)
        addr = g.value(c, VCARD.hasAddress)
        assert (addr, RDF.type, VCARD.Address) in g and g.value(addr, VCARD["postal-code"]) is not None
        for tel in g.objects(c, VCARD.hasTelephone):
            assert (tel, RDF.type, VCARD.Voice) in g
            phones.add(g.value(tel, VCARD.hasValue))
    # only CQC's switchboard is public; HMI Probation's contact printed a direct line only, so it has no phone
    assert phones == {URIRef("tel:+443000616161")}
    assert g.value(iri(YOT_NS, "contact-hmi-probation"), VCARD.hasTelephone) is None
    assert any("no HMI Probation switchboard" in n for n in lex(g, iri(YOT_NS, "contact-hmi-probation"), REMIT.note))
    public = contacts - operating
    assert {g.value(c, REMIT.contactFor) for c in public} == {iri(BODY, "hmi-probation"), iri(BODY, "cqc")}
    assert {str(g.value(g.value(c, VCARD.hasAddress), VCARD["postal-code"])) for c in public} == {"SW1P 2BQ", "EC1Y 8TG"}
    assert all(g.value(c, FOAF.homepage) is not None for c in public)


def test_yot_signatories_keep_their_names_and_roles(g: Graph) -> None:
    """A signature is public: the signatories' names stay in the public data, unlike the Appendix 1 contacts."""
    sigs = objects(g, YOT, REMIT.signature)
    assert {(str(g.value(s, REMIT.signatoryName)), str(g.value(s, REMIT.signatoryRole))) for s in sigs} == {
        ("Cynthia Bower", "Chief Executive, Care Quality Commission"),
        ("Liz Calderbank", "Chief Inspector, Her Majesty's Inspectorate of Probation")}


def test_yot_eleven_cooperation_areas_a_to_k(g: Graph) -> None:
    areas = objects(g, YOT, REMIT.cooperationArea)
    assert len(areas) == 11
    assert sorted(str(g.value(a, REMIT.ordinal)) for a in areas) == list("abcdefghijk")
    for a in areas:
        assert (a, RDF.type, REMIT.CooperationArea) in g
        assert g.value(a, REMIT.statement) is not None
    assert g.value(iri(YOT_NS, "cooperation-area-c"), REMIT.function) == iri(FN, "joint-inspection")
    assert g.value(iri(YOT_NS, "cooperation-area-i"), REMIT.function) == iri(FN, "reviews-studies-and-reports")
    parts = objects(g, YOT, URIRef("http://purl.org/dc/terms/hasPart"))
    assert {iri(YOT_NS, "appendix-2-resources-condition"), iri(YOT_NS, "appendix-2-list-not-exhaustive")} <= parts


# --- CQC–HMI Prisons memorandum (source text 000) ---------------------------------------------------

def test_prisons_identity(g: Graph) -> None:
    assert (PRISONS, RDF.type, REMIT.MemorandumOfUnderstanding) in g
    assert objects(g, PRISONS, REMIT.party) == {iri(BODY, "cqc"), iri(BODY, "hmi-prisons")}
    assert objects(g, PRISONS, REMIT.sourceDocument) == {iri(DOC, "seed-000"), iri(DOC, "s01")}
    assert objects(g, PRISONS, REMIT.jurisdiction) == {iri(JUR, "england")}
    assert objects(g, PRISONS, REMIT.scopeSettingType) == {iri(ST, "prison")}
    assert objects(g, PRISONS, REMIT.describedAsRevised) == {Literal(True)}
    # The item is undated and unsigned: no date is asserted, and S02's date is only a note.
    assert objects(g, PRISONS, REMIT.documentDate) == set()
    assert objects(g, PRISONS, REMIT.signature) == set()
    assert any("S02" in n and "not confirmed by any public source" in n for n in lex(g, PRISONS, REMIT.note))


def test_prisons_four_areas_with_no_lead_and_no_contact(g: Graph) -> None:
    areas = objects(g, PRISONS, REMIT.areaOfJointWork)
    assert len(areas) == 4
    functions = {a: objects(g, a, REMIT.function) for a in areas}
    assert functions[iri(PRISONS_NS, "area-1")] == {iri(FN, "regulation"), iri(FN, "health-and-social-care-inspection")}
    assert functions[iri(PRISONS_NS, "area-2")] == {iri(FN, "reviews-studies-and-reports")}
    assert functions[iri(PRISONS_NS, "area-3")] == {iri(FN, "advice-and-information")}
    assert functions[iri(PRISONS_NS, "area-4")] == {iri(FN, "collaborative-working")}
    nodes = {s for s in g.subjects() if isinstance(s, URIRef) and str(s).startswith(PRISONS_NS)} | {PRISONS}
    for n in nodes:
        assert objects(g, n, REMIT.leadBody) == set(), f"{n}: the item names no lead body"
        assert objects(g, n, REMIT.contactPoint) == set(), f"{n}: the item names no contact"
    assert objects(g, PRISONS, REMIT.leadRule) == set()


def test_prisons_objectives_commitments_forum_review(g: Graph) -> None:
    assert len(objects(g, PRISONS, REMIT.objective)) == 3
    assert len(objects(g, PRISONS, REMIT.commitment)) == 2
    forums = objects(g, PRISONS, REMIT.forum)
    assert len(forums) == 1
    forum = forums.pop()
    assert str(g.value(forum, RDFS.label)) == "Joint Police Programmes Board"
    assert {str(g.value(c, REMIT.sourceStatus)) for c in g.objects(forum, REMIT.citation)} == {"DOC"}
    review = g.value(PRISONS, REMIT.reviewCommitment)
    assert review is not None and objects(g, review, REMIT.reviewInterval) == set()
    assert g.value(review, REMIT.statement) is not None


def test_prisons_context_normalises_setting_types(g: Graph) -> None:
    ctx = iri(PRISONS_NS, "context-cqc-criminal-justice-remit")
    assert objects(g, ctx, REMIT.settingType) == {
        iri(ST, "prison"), iri(ST, "young-offender-institution"), iri(ST, "police-custody"),
        iri(ST, "immigration-removal-centre")}
    assert iri(ST, "youth-offending-team") not in objects(g, ctx, REMIT.settingType)
    # Context, not responsibilities: those belong to data/bodies/.
    assert list(g.subjects(RDF.type, REMIT.Responsibility)) == []
    assert list(g.triples((None, REMIT.holdsResponsibility, None))) == []


# --- the other agreements -------------------------------------------------------------------------

def test_stc_framework_ofsted_lead_on_its_legal_basis(g: Graph) -> None:
    a = iri(AGR, "stc-joint-inspection-framework")
    assert objects(g, a, REMIT.party) == {iri(BODY, "ofsted"), iri(BODY, "hmi-prisons"), iri(BODY, "cqc")}
    assert objects(g, a, REMIT.validFrom) == {Literal("2019-04-01", datatype=XSD.date)}
    assert objects(g, a, REMIT.scopeSettingType) == {iri(ST, "secure-training-centre")}
    rule = g.value(a, REMIT.leadRule)
    assert g.value(rule, REMIT.leadBody) == iri(BODY, "ofsted")
    assert g.value(rule, REMIT.legalBasis) == iri(ID_PREFIXES["provision"], "education-and-inspections-act-2006-sch13-para7")
    assert {g.value(c, REMIT.citedDocument) for c in g.objects(a, REMIT.citation)} == {
        iri(DOC, "s77"), iri(DOC, "s76"), iri(DOC, "s78")}


def test_police_custody_lead_and_dates(g: Graph) -> None:
    a = iri(AGR, "police-custody-joint-inspection")
    assert (a, RDF.type, REMIT.Agreement) in g and (a, RDF.type, REMIT.MemorandumOfUnderstanding) not in g
    assert objects(g, a, REMIT.validFrom) == {Literal("2008", datatype=XSD.gYear)}
    rule = g.value(a, REMIT.leadRule)
    assert g.value(rule, REMIT.leadBody) == iri(BODY, "hmicfrs")
    assert {g.value(c, REMIT.citedDocument) for c in g.objects(rule, REMIT.citation)} == {iri(DOC, "s42")}
    involvement = iri(AGR, "police-custody-joint-inspection/hmi-prisons-involvement")
    assert objects(g, involvement, REMIT.validUntil) == {Literal("2022-07", datatype=XSD.gYearMonth)}
    assert any("MoU" in n or "memorandum" in n for n in lex(g, a, REMIT.note))


def test_hmi_probation_yjb_from_the_rows_only(g: Graph) -> None:
    a = iri(AGR, "hmi-probation-yjb")
    assert objects(g, a, REMIT.party) == {iri(BODY, "hmi-probation"), iri(BODY, "yjb")}
    assert objects(g, a, URIRef("http://purl.org/dc/terms/date")) == {Literal("2023-11", datatype=XSD.gYearMonth)}
    assert objects(g, a, REMIT.documentDate) == set()
    for p in (REMIT.areaOfJointWork, REMIT.leadRule, REMIT.contactPoint, REMIT.signature, REMIT.reviewCommitment):
        assert objects(g, a, p) == set()


@pytest.mark.parametrize("slug,parties,docs", [
    ("healthcare-commission-hmi-prisons", {"healthcare-commission", "hmi-prisons"}, {"s03"}),
    ("healthcare-commission-hiw", {"healthcare-commission", "hiw"}, {"s03"}),
    ("hiw-hmi-prisons", {"hiw", "hmi-prisons"}, {"s52", "s108"}),
    ("csci-ofsted", {"csci", "ofsted"}, {"s56"}),
])
def test_existence_records_assert_only_what_the_row_gives(g: Graph, slug: str, parties: set[str], docs: set[str]) -> None:
    a = iri(AGR, slug)
    assert objects(g, a, REMIT.party) == {iri(BODY, p) for p in parties}
    assert objects(g, a, REMIT.sourceDocument) == {iri(DOC, d) for d in docs}
    for p in (REMIT.areaOfJointWork, REMIT.leadRule, REMIT.contactPoint, REMIT.documentDate, REMIT.signature,
              REMIT.objective, REMIT.reviewCommitment, REMIT.supersedes):
        assert objects(g, a, p) == set(), f"{slug}: {p} asserted from an existence-only row"
    assert any("not confirmed by any public source" in n or "not held" in n for n in lex(g, a, REMIT.note))


# --- validation reports the gaps the texts leave --------------------------------------------------

def test_shapes_report_exactly_the_unnamed_leads_and_contacts(g: Graph, ontology: Graph, documents: Graph) -> None:
    from kg.pipeline.owlrl_reason import closure
    from kg.pipeline.validate import run_shacl

    shapes_file = ROOT / "shapes" / "agreement.shapes.ttl"
    assert shapes_file.is_file(), f"{shapes_file} is needed to check the reported gaps"
    shapes = load_turtle(shapes_file).graph
    data = Graph()
    for t in g:
        data.add(t)
    for t in documents:
        data.add(t)
    report = run_shacl(closure(ontology, data), shapes, ontology)
    results = list(report.subjects(RDF.type, SH.ValidationResult))

    def on(node: URIRef, path: URIRef | None = None) -> list:
        return [r for r in results if report.value(r, SH.focusNode) == node
                and (path is None or report.value(r, SH.resultPath) == path)]

    assert on(iri(YOT_NS, "area-1")) == []  # lead named (preamble + lead rule 1), contacts at agreement level
    for n in (2, 3):
        assert len(on(iri(YOT_NS, f"area-{n}"), REMIT.leadBody)) == 1
    for n in (1, 2, 3, 4):
        area = iri(PRISONS_NS, f"area-{n}")
        assert len(on(area, REMIT.leadBody)) == 1
        assert len(on(area)) >= 2  # no lead and nobody to contact


# --- integration with the other parts ---------------------------------------------------------------

def test_referenced_bodies_offices_and_provisions_are_defined_elsewhere(g: Graph) -> None:
    defined = Graph()
    for p in find_files([ROOT / "data" / "bodies", ROOT / "data" / "legislation"]):
        for t in load_turtle(p).graph:
            defined.add(t)
    refs = {o for o in g.objects() if isinstance(o, URIRef)
            and any(str(o).startswith(ID_PREFIXES[k]) for k in ("body", "office", "provision"))}
    assert iri(BODY, "hmi-probation") in refs and iri(OFFICE, "cqc-chief-executive") in refs
    missing = sorted(r for r in refs if (r, RDF.type, None) not in defined)
    assert not missing, f"referenced but not defined in data/bodies or data/legislation: {missing}"


def test_files_are_canonically_formatted() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "kg.cli", "fmt", "--check", *map(str, _files())],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
