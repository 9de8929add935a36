"""The bodies, offices, statutes, successions and responsibilities are pinned to their sources.

These tests read the real Turtle files in data/bodies/ and data/legislation/ (through kg.pipeline.load, which
reports file:line:column on bad input), the real ontology, vocabularies and source-document nodes, and
check: only declared terms are used; every node minted there has a label and a located citation into a
document that exists; legislation.gov.uk identifiers are well formed and taken from a cited source's
address, never guessed; nothing rests on an UNVERIFIED fact; and the key facts of the fact sheet
(shared/reference/domain-facts.md) are encoded as the sources state them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, RDF, RDFS, SKOS, XSD

from kg.pipeline.load import SourceFile, find_files, load_turtle
from kg.rdf.namespaces import ID_PREFIXES, REMIT, sparql_prologue

ROOT = Path(__file__).resolve().parents[2]
BODIES = ROOT / "data" / "bodies"
LEGISLATION = ROOT / "data" / "legislation"
SOURCES = ROOT / "data" / "sources"
ONTOLOGY = ROOT / "ontology"

BODY = ID_PREFIXES["body"]
OFFICE = ID_PREFIXES["office"]
DOC = ID_PREFIXES["doc"]
FN = ID_PREFIXES["fn"]
ST = ID_PREFIXES["st"]
JUR = ID_PREFIXES["jur"]
STATUTE = ID_PREFIXES["statute"]
PROVISION = ID_PREFIXES["provision"]
ARRANGEMENT = ID_PREFIXES["arrangement"]
RESP = ID_PREFIXES["resp"]
EVENT = ID_PREFIXES["event"]

#: Kinds of node this part of the graph mints; each must be labelled and cited.
MINTED = tuple(ID_PREFIXES[k] for k in ("body", "office", "statute", "provision", "arrangement", "resp", "event", "membership"))

#: Source documents the fact sheet marks as third-party copies or indirect statements (SRC-weak rows).
WEAK_DOCS = {URIRef(DOC + s) for s in ("s12", "s32", "s35", "s95", "s102", "s105", "s107", "s111")}

LEG_ID = re.compile(r"^http://www\.legislation\.gov\.uk/id/(ukpga|uksi|asc|anaw|mwa|asp|nia|nisi|ssi|wsi)/[A-Za-z0-9/\-]+$")


def b(slug: str) -> URIRef:
    return URIRef(BODY + slug)


def r(slug: str) -> URIRef:
    return URIRef(RESP + slug)


@pytest.fixture(scope="module")
def sources() -> list[SourceFile]:
    files = find_files([BODIES, LEGISLATION])
    assert {p.name for p in files} >= {"bodies.ttl", "offices.ttl", "successions.ttl", "responsibilities.ttl", "statutes.ttl"}
    return [load_turtle(p) for p in files]


@pytest.fixture(scope="module")
def data(sources: list[SourceFile]) -> Graph:
    g = Graph()
    for s in sources:
        g += s.graph
    return g


@pytest.fixture(scope="module")
def context() -> Graph:
    """The ontology, vocabularies and source documents the data points into."""
    g = Graph()
    for p in find_files([ONTOLOGY, SOURCES]):
        g += load_turtle(p).graph
    return g


@pytest.fixture(scope="module")
def world(data: Graph, context: Graph) -> Graph:
    return data + context


def minted(data: Graph) -> set[URIRef]:
    return {s for s in data.subjects() if isinstance(s, URIRef) and str(s).startswith(MINTED)}


def citations(g: Graph, node: URIRef) -> list[dict]:
    out = []
    for c in g.objects(node, REMIT.citation):
        out.append({
            "doc": g.value(c, REMIT.citedDocument),
            "locator": g.value(c, REMIT.locator),
            "status": g.value(c, REMIT.sourceStatus),
            "quotation": g.value(c, REMIT.quotation),
        })
    return out


# --- well-formedness -------------------------------------------------------------------------------------

def test_only_declared_remit_terms(data: Graph, context: Graph) -> None:
    declared = {s for s in context.subjects() if isinstance(s, URIRef) and str(s).startswith(str(REMIT))}
    used = {t for triple in data for t in (triple[1], triple[2]) if isinstance(t, URIRef) and str(t).startswith(str(REMIT))}
    assert used, "no remit: terms used at all"
    assert used - declared == set()


def test_every_referenced_id_resolves(world: Graph, data: Graph) -> None:
    """Every id: IRI the data points to (body, provision, document, concept ...) is described somewhere."""
    described = {s for s in world.subjects(RDFS.label)} | {s for s in world.subjects(SKOS.prefLabel)}
    dangling = set()
    for _, p, o in data:
        if isinstance(o, URIRef) and str(o).startswith("https://w3id.org/remit/id/") and o not in described:
            dangling.add((p, o))
    assert dangling == set()


def test_every_minted_node_is_labelled_and_cited(data: Graph, context: Graph) -> None:
    docs = set(context.subjects(RDF.type, REMIT.SourceDocument))
    nodes = minted(data)
    assert len(nodes) > 150
    for node in nodes:
        assert data.value(node, RDFS.label), f"{node} has no rdfs:label"
        cs = citations(data, node)
        assert cs, f"{node} has no remit:citation"
        for c in cs:
            assert c["doc"] in docs, f"{node} cites {c['doc']}, which is not a source document"
            assert c["locator"] and str(c["locator"]).strip(), f"{node} has a citation without a locator"
            assert str(c["status"]) in {"SRC", "SRC-weak", "DOC"}, f"{node}: citation status {c['status']!r}"
            if c["quotation"] is not None:
                assert len(str(c["quotation"])) <= 200


def test_citations_are_typed_blank_nodes(data: Graph) -> None:
    cits = list(data.objects(None, REMIT.citation))
    assert len(cits) > 300
    for c in cits:
        assert isinstance(c, BNode)
        assert (c, RDF.type, REMIT.Citation) in data


def test_labels_are_unique_per_type(data: Graph) -> None:
    seen: dict[tuple, URIRef] = {}
    for node in minted(data):
        for t in data.objects(node, RDF.type):
            key = (t, str(data.value(node, RDFS.label)).lower())
            assert key not in seen, f"{node} and {seen[key]} share the label {key[1]!r}"
            seen[key] = node


# --- provenance rules -------------------------------------------------------------------------------------

def test_nothing_rests_on_unverified(data: Graph) -> None:
    """No citation is UNVERIFIED and no Wikidata identifier (all QIDs are UNVERIFIED, row B65) appears."""
    assert not list(data.subjects(REMIT.sourceStatus, Literal("UNVERIFIED")))
    for s, p, o in data:
        assert "wikidata" not in str(o).lower()
        assert p != OWL.sameAs


def test_weak_sources_are_cited_as_weak(data: Graph) -> None:
    """A fact from a SRC-weak row is cited with remit:sourceStatus "SRC-weak"."""
    found = 0
    for c in data.subjects(REMIT.citedDocument):
        if data.value(c, REMIT.citedDocument) in WEAK_DOCS:
            found += 1
            assert str(data.value(c, REMIT.sourceStatus)) == "SRC-weak", c
    assert found >= 10


def test_unverified_rows_are_left_out(data: Graph) -> None:
    # B40: HIW founding date and section; B51: IMB website; B55: PPO founding year; B58: ICVA legal form;
    # B59: the Lay Observers' section of the Criminal Justice Act 1991.
    assert data.value(b("hiw"), REMIT.establishedBy) is None
    assert data.value(b("imb"), FOAF.homepage) is None
    assert data.value(b("ppo"), REMIT.establishedBy) is None
    assert data.value(b("icva"), REMIT.legalStatus) is None
    cja91 = URIRef(PROVISION + "criminal-justice-act-1991")
    assert data.value(cja91, REMIT.provisionReference) is None
    assert not [p for p in data.subjects(REMIT.statute, URIRef(STATUTE + "criminal-justice-act-1991")) if p != cja91]
    # T15: HMI Prisons' part of police custody inspection has no sourced provision.
    assert data.value(r("hmi-prisons-joint-inspection-police-custody-ew"), REMIT.legalBasis) is None


# --- legislation -------------------------------------------------------------------------------------------

def test_legislation_ids_are_well_formed_and_sourced(data: Graph, context: Graph) -> None:
    """Every legislationId is on the /id/ pattern; a statute's year and number come from a cited source's
    address, and a provision's identifier extends its statute's."""
    ids = list(data.subject_objects(REMIT.legislationId))
    assert len(ids) >= 40
    for node, lid in ids:
        assert isinstance(lid, URIRef) and LEG_ID.match(str(lid)), (node, lid)
        if (node, RDF.type, REMIT.Statute) in data:
            path = str(lid).split("/id/", 1)[1]
            pages = [str(context.value(c["doc"], FOAF.page)) for c in citations(data, node)]
            assert any(path in page for page in pages), f"{node}: {path} is in no cited source address {pages}"
        else:
            statute = data.value(node, REMIT.statute)
            sid = data.value(statute, REMIT.legislationId)
            assert sid is not None, f"{node} has an identifier but its statute {statute} has none"
            assert str(lid) == str(sid) or str(lid).startswith(str(sid) + "/"), (node, lid, sid)


def test_statutes_without_a_sourced_number_have_no_identifier(data: Graph) -> None:
    for slug in ("police-act-1996", "mental-health-act-1983", "criminal-justice-act-1982", "crime-and-disorder-act-1998",
                 "immigration-asylum-and-nationality-act-2006", "immigration-and-asylum-act-1999", "education-act-2005",
                 "care-standards-act-2000", "children-act-2004", "regulation-and-inspection-of-social-care-wales-act-2016"):
        statute = URIRef(STATUTE + slug)
        assert (statute, RDF.type, REMIT.Statute) in data, slug
        assert data.value(statute, REMIT.legislationId) is None, slug


def test_prison_act_provisions(data: Graph) -> None:
    s5a = URIRef(PROVISION + "prison-act-1952-s5a")
    assert str(data.value(s5a, REMIT.provisionReference)) == "s5A"
    assert data.value(s5a, REMIT.statute) == URIRef(STATUTE + "prison-act-1952")
    assert data.value(s5a, REMIT.legislationId) == URIRef("http://www.legislation.gov.uk/id/ukpga/Geo6and1Eliz2/15-16/52/section/5A")
    assert data.value(s5a, REMIT.insertedBy) == URIRef(PROVISION + "criminal-justice-act-1982-s57")
    assert data.value(URIRef(PROVISION + "prison-act-1952-sch-a1"), REMIT.insertedBy) == URIRef(PROVISION + "police-and-justice-act-2006-s28")
    sch1a = URIRef(PROVISION + "criminal-justice-and-court-services-act-2000-sch-1a")
    assert data.value(sch1a, REMIT.insertedBy) == URIRef(PROVISION + "police-and-justice-act-2006-s31")
    para7 = URIRef(PROVISION + "education-and-inspections-act-2006-sch13-para7")
    assert str(data.value(para7, REMIT.provisionReference)) == "Sch 13 para 7"
    assert any(str(c["locator"]) == "s5A(2)" and c["doc"] == URIRef(DOC + "s05")
               for c in citations(data, r("hmi-prisons-inspection-prison-ew")))


def test_arrangements(data: Graph) -> None:
    yot = URIRef(ARRANGEMENT + "yot-lead-assignment-2002")
    assert (yot, RDF.type, REMIT.Arrangement) in data
    assert data.value(yot, DCTERMS.date) == Literal("2002", datatype=XSD.gYear)
    cs = citations(data, yot)
    assert any(c["doc"] == URIRef(DOC + "seed-001") and "preamble" in str(c["locator"]) for c in cs)
    for slug in ("ppo-terms-of-reference", "mctc-inspection-arrangement", "estyn-invitation", "uk-npm-designation"):
        assert (URIRef(ARRANGEMENT + slug), RDF.type, REMIT.Arrangement) in data, slug


# --- bodies and offices ------------------------------------------------------------------------------------

def test_the_two_hmips_are_distinct(data: Graph) -> None:
    prisons, probation = b("hmi-prisons"), b("hmi-probation")
    assert str(data.value(prisons, RDFS.label)) == "HM Inspectorate of Prisons"
    assert str(data.value(probation, RDFS.label)) == "HM Inspectorate of Probation"
    pa = {str(a) for a in data.objects(prisons, REMIT.acronym)}
    pb = {str(a) for a in data.objects(probation, REMIT.acronym)}
    assert pa == {"HMIP", "HMI Prisons"} and pb == {"HMI Probation", "HMIP"}
    for node in (prisons, probation):
        assert any("ambigu" in str(n).lower() for n in data.objects(node, REMIT.note)), node
        assert (node, RDF.type, REMIT.Inspectorate) in data
    assert data.value(URIRef(OFFICE + "hm-chief-inspector-of-prisons"), REMIT.officeOf) == prisons
    assert data.value(URIRef(OFFICE + "hm-chief-inspector-of-probation"), REMIT.officeOf) == probation


def test_cqc_established_by_hsca_2008_s1_1(data: Graph) -> None:
    cqc = b("cqc")
    prov = data.value(cqc, REMIT.establishedBy)
    assert str(data.value(prov, REMIT.provisionReference)) == "s1(1)"
    statute = data.value(prov, REMIT.statute)
    assert str(data.value(statute, RDFS.label)) == "Health and Social Care Act 2008"
    assert data.value(statute, REMIT.legislationId) == URIRef("http://www.legislation.gov.uk/id/ukpga/2008/14")
    assert data.value(cqc, REMIT.jurisdiction) == URIRef(JUR + "england")
    assert (cqc, RDF.type, REMIT.Regulator) in data
    assert data.value(cqc, FOAF.homepage) == URIRef("https://cqc.org.uk/")


def test_body_types_follow_the_sources(data: Graph) -> None:
    assert (b("hmicfrs"), RDF.type, REMIT.Inspectorate) in data
    assert (b("hmicfrs"), RDF.type, REMIT.Regulator) not in data  # "an inspectorate, not a regulator" (S34)
    assert (b("hmi-prisons"), RDF.type, REMIT.Regulator) not in data
    assert (b("ppo"), RDF.type, REMIT.Ombudsman) in data
    for slug in ("imb", "boards-of-visitors", "icv-schemes", "lay-observers"):
        assert (b(slug), RDF.type, REMIT.LayMonitoringBody) in data, slug


def test_required_bodies_and_offices_exist(data: Graph) -> None:
    bodies = ("cqc", "hmi-prisons", "hmi-probation", "ofsted", "hmic", "hmicfrs", "hiw", "ciw", "cssiw", "estyn",
              "healthcare-commission", "csci", "mhac", "imb", "boards-of-visitors", "ppo", "icv-schemes", "icva",
              "lay-observers", "yjb", "cjini", "uk-npm")
    for slug in bodies:
        assert any(True for _ in data.triples((b(slug), RDF.type, None))), slug
    for slug in ("hm-chief-inspector-of-prisons", "hm-chief-inspector-of-probation", "cqc-chief-executive",
                 "hm-chief-inspector-of-education-wales"):
        office = URIRef(OFFICE + slug)
        assert (office, RDF.type, REMIT.Office) in data, slug
    estyn_ci = URIRef(OFFICE + "hm-chief-inspector-of-education-wales")
    assert data.value(estyn_ci, REMIT.officeOf) == b("estyn")
    assert data.value(estyn_ci, REMIT.establishedBy) == URIRef(PROVISION + "education-act-2005-s19")
    assert data.value(b("estyn"), REMIT.establishedBy) is None  # not a body corporate (S69)


# --- successions -------------------------------------------------------------------------------------------

def succeeded_by(world: Graph, org: URIRef) -> set[URIRef]:
    q = sparql_prologue() + "SELECT ?n WHERE { ?o org:changedBy/org:resultingOrganization ?n }"
    return {row.n for row in world.query(q, initBindings={"o": org})}


def test_hmic_renamed_hmicfrs_july_2017(data: Graph) -> None:
    event = URIRef(EVENT + "hmic-renamed-hmicfrs")
    assert (event, RDF.type, REMIT.Renaming) in data
    assert data.value(event, DCTERMS.date) == Literal("2017-07", datatype=XSD.gYearMonth)
    assert data.value(event, ORG.originalOrganization) == b("hmic")
    assert data.value(event, ORG.resultingOrganization) == b("hmicfrs")
    assert succeeded_by(data, b("hmic")) == {b("hmicfrs")}
    statuses = {(c["doc"], str(c["status"])) for c in citations(data, event)}
    assert (URIRef(DOC + "s35"), "SRC-weak") in statuses and (URIRef(DOC + "s36"), "SRC") in statuses


def test_cqc_succeeds_three_commissions(data: Graph) -> None:
    event = URIRef(EVENT + "cqc-succeeds-commissions-2009")
    assert (event, RDF.type, REMIT.Succession) in data
    assert set(data.objects(event, ORG.originalOrganization)) == {b("healthcare-commission"), b("csci"), b("mhac")}
    assert data.value(event, DCTERMS.date) == Literal("2009-04-01", datatype=XSD.date)
    assert data.value(event, REMIT.legalBasis) == URIRef(PROVISION + "health-and-social-care-act-2008-s1-2")
    for slug in ("healthcare-commission", "csci", "mhac"):
        assert succeeded_by(data, b(slug)) == {b("cqc")}


def test_boards_of_visitors_and_cssiw(data: Graph) -> None:
    assert succeeded_by(data, b("boards-of-visitors")) == {b("imb")}
    dated = URIRef(EVENT + "boards-of-visitors-named-imb-2003")
    statutory = URIRef(EVENT + "boards-of-visitors-renamed-imb-oma-2007")
    assert data.value(dated, DCTERMS.date) == Literal("2003-04", datatype=XSD.gYearMonth)
    assert data.value(statutory, REMIT.legalBasis) == URIRef(PROVISION + "offender-management-act-2007-s26")
    assert data.value(statutory, DCTERMS.date) is None  # the source gives no commencement date
    cssiw = URIRef(EVENT + "cssiw-renamed-ciw")
    assert succeeded_by(data, b("cssiw")) == {b("ciw")}
    assert data.value(cssiw, DCTERMS.date) is None  # S63 gives no date


# --- responsibilities --------------------------------------------------------------------------------------

def test_every_responsibility_is_complete(data: Graph, context: Graph) -> None:
    resps = set(data.subjects(RDF.type, REMIT.Responsibility))
    assert len(resps) >= 60
    functions = set(context.subjects(SKOS.inScheme, URIRef(ID_PREFIXES["scheme"] + "functions")))
    settings = set(context.subjects(SKOS.inScheme, URIRef(ID_PREFIXES["scheme"] + "setting-types")))
    jurisdictions = set(context.subjects(SKOS.inScheme, URIRef(ID_PREFIXES["scheme"] + "jurisdictions")))
    for node in resps:
        holders = list(data.objects(node, REMIT.holder))
        assert len(holders) == 1, node
        assert str(holders[0]).startswith((BODY, OFFICE)) and data.value(holders[0], RDFS.label), node
        fns = list(data.objects(node, REMIT.function))
        assert len(fns) == 1 and fns[0] in functions, node
        assert [s for s in data.objects(node, REMIT.settingType)] and set(data.objects(node, REMIT.settingType)) <= settings, node
        assert [j for j in data.objects(node, REMIT.jurisdiction)] and set(data.objects(node, REMIT.jurisdiction)) <= jurisdictions, node
        if data.value(node, REMIT.legalBasis) is None:
            assert any("legal basis" in str(n).lower() for n in data.objects(node, REMIT.note)), f"{node}: no basis and no note"
        for lb in data.objects(node, REMIT.legalBasis):
            assert (lb, RDF.type, REMIT.StatutoryProvision) in data or (lb, RDF.type, REMIT.Arrangement) in data, (node, lb)


def test_prison_overlap_between_cqc_and_hmi_prisons(world: Graph) -> None:
    """The overlap the CQC-HMI Prisons MoU exists for: same or narrower function, same setting type,
    jurisdictions one within the other."""
    q = sparql_prologue() + """
    SELECT ?a ?b WHERE {
      ?a remit:holder body:hmi-prisons ; remit:function ?fa ; remit:settingType st:prison ; remit:jurisdiction ?ja .
      ?b remit:holder body:cqc ; remit:function ?fb ; remit:settingType st:prison ; remit:jurisdiction ?jb .
      ?fb skos:broader* ?fa .
      ?jb skos:broader* ?ja .
    }"""
    pairs = {(row.a, row.b) for row in world.query(q)}
    assert (r("hmi-prisons-inspection-prison-ew"), r("cqc-health-and-social-care-inspection-prison-eng")) in pairs


def test_key_responsibilities(data: Graph) -> None:
    hmip = r("hmi-prisons-inspection-prison-ew")
    assert data.value(hmip, REMIT.holder) == b("hmi-prisons")
    assert data.value(hmip, REMIT.function) == URIRef(FN + "inspection")
    assert data.value(hmip, REMIT.jurisdiction) == URIRef(JUR + "england-and-wales")
    assert data.value(hmip, REMIT.legalBasis) == URIRef(PROVISION + "prison-act-1952-s5a")
    assert any("HM Chief Inspector of Prisons" in str(n) for n in data.objects(hmip, REMIT.note))

    cqc = r("cqc-health-and-social-care-inspection-prison-eng")
    assert data.value(cqc, REMIT.jointWith) == b("hmi-prisons")
    assert any(c["doc"] == URIRef(DOC + "seed-000") and c["locator"] == Literal("paragraph 2") for c in citations(data, cqc))

    # Source text 000's "youth offending institutions" normalised to young offender institutions.
    yoi = r("cqc-health-and-social-care-inspection-yoi-eng")
    assert data.value(yoi, REMIT.settingType) == URIRef(ST + "young-offender-institution")
    assert any("youth offending institutions" in str(n) for n in data.objects(yoi, REMIT.note))
    for setting in ("prison", "yoi", "police-custody", "irc"):
        for fn in ("regulation", "health-and-social-care-inspection"):
            assert (r(f"cqc-{fn}-{setting}-eng"), RDF.type, REMIT.Responsibility) in data, (fn, setting)

    # HMI Prisons in joint police custody inspections until July 2022 (S42).
    custody = r("hmi-prisons-joint-inspection-police-custody-ew")
    assert data.value(custody, REMIT.validUntil) == Literal("2022-07", datatype=XSD.gYearMonth)
    assert data.value(custody, REMIT.validFrom) == Literal("2008", datatype=XSD.gYear)

    # Source text 001: the YOT lead assigned by the Secretary of State in 2002.
    yot = r("hmi-probation-joint-inspection-yot-ew")
    assert data.value(yot, REMIT.legalBasis) == URIRef(ARRANGEMENT + "yot-lead-assignment-2002")
    assert data.value(yot, REMIT.validFrom) == Literal("2002", datatype=XSD.gYear)
    assert data.value(r("hmi-probation-inspection-yot-ew"), REMIT.legalBasis) == URIRef(PROVISION + "criminal-justice-and-court-services-act-2000-s7-6")

    # STC: Ofsted leads under EIA 2006 Sch 13 para 7, jointly with HMI Prisons and CQC.
    stc = r("ofsted-joint-inspection-stc-eng")
    assert data.value(stc, REMIT.legalBasis) == URIRef(PROVISION + "education-and-inspections-act-2006-sch13-para7")
    assert set(data.objects(stc, REMIT.jointWith)) == {b("hmi-prisons"), b("cqc")}

    # CQC's MHA monitoring under s120 as substituted by HSCA 2008 Sch 3; HIW in Wales.
    mha = URIRef(PROVISION + "mental-health-act-1983-s120")
    assert data.value(r("cqc-mental-health-act-monitoring-mh-detention-eng"), REMIT.legalBasis) == mha
    assert data.value(mha, REMIT.insertedBy) == URIRef(PROVISION + "health-and-social-care-act-2008-sch3")
    assert data.value(r("hiw-mental-health-act-monitoring-mh-detention-wal"), REMIT.jurisdiction) == URIRef(JUR + "wales")


def test_bad_turtle_is_reported_with_a_location(tmp_path: Path) -> None:
    """A typo in a bodies file is reported as file:line:column, not swallowed."""
    from kg.pipeline.load import SourceError

    bad = tmp_path / "bodies.ttl"
    bad.write_text("@prefix body: <https://w3id.org/remit/id/body/> .\nbody:cqc a body:x ;\n  rdfs:label \"x\" .\n")
    with pytest.raises(SourceError) as info:
        load_turtle(bad)
    assert info.value.line == 3 and "rdfs" in str(info.value)
