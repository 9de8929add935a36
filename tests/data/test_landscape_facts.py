"""The facts added for issue 13, item by item with their citations.

Read from the real Turtle files (data/agreements, data/bodies, data/legislation, data/sources, ontology):
the December 2016 CQC–HMI Prisons memorandum (S02) kept apart from the undated seed-000 item; the
agreements of fact-sheet rows A11, A13, A14, A16 and A18; responsibilities T18, T19 and T41; HMI Prisons'
Schedule A1 duties; and the UK NPM's membership over time, as dated org:Membership nodes that follow
renamings and successions, and as sourced member counts (18 in 2009, 21 from 2017).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, ORG, RDF, RDFS, XSD

from kg.pipeline.load import find_files, load_turtle
from kg.rdf.namespaces import ID_PREFIXES, REMIT, sparql_prologue

ROOT = Path(__file__).resolve().parents[2]

AGR = ID_PREFIXES["agreement"]
BODY = ID_PREFIXES["body"]
OFFICE = ID_PREFIXES["office"]
DOC = ID_PREFIXES["doc"]
FN = ID_PREFIXES["fn"]
ST = ID_PREFIXES["st"]
JUR = ID_PREFIXES["jur"]
RESP = ID_PREFIXES["resp"]
PROVISION = ID_PREFIXES["provision"]
ARRANGEMENT = ID_PREFIXES["arrangement"]
MEMBERSHIP = ID_PREFIXES["membership"]
P16 = AGR + "cqc-hmi-prisons-2016/"


def u(ns: str, local: str) -> URIRef:
    return URIRef(ns + local)


@pytest.fixture(scope="module")
def g() -> Graph:
    graph = Graph()
    for p in find_files([ROOT / "data", ROOT / "ontology"]):
        graph += load_turtle(p).graph
    return graph


def cites(g: Graph, node: URIRef) -> set[tuple[URIRef, str, str | None, str | None]]:
    out = set()
    for c in g.objects(node, REMIT.citation):
        q = g.value(c, REMIT.quotation)
        st = g.value(c, REMIT.sourceStatus)
        out.add((g.value(c, REMIT.citedDocument), str(g.value(c, REMIT.locator)),
                 None if q is None else str(q), None if st is None else str(st)))
    return out


def docs(g: Graph, node: URIRef) -> set[URIRef]:
    return {c[0] for c in cites(g, node)}


def notes(g: Graph, node: URIRef) -> str:
    return " ".join(str(n) for n in g.objects(node, REMIT.note))


# --- the December 2016 CQC–HMI Prisons memorandum (S02) -----------------------------------------------

A2016 = u(AGR, "cqc-hmi-prisons-2016")
SEED = u(AGR, "cqc-hmi-prisons")


def test_2016_memorandum_is_its_own_agreement_from_s02(g: Graph) -> None:
    assert (A2016, RDF.type, REMIT.MemorandumOfUnderstanding) in g
    assert set(g.objects(A2016, REMIT.party)) == {u(BODY, "cqc"), u(BODY, "hmi-prisons")}
    assert set(g.objects(A2016, REMIT.sourceDocument)) == {u(DOC, "s02")}
    assert docs(g, A2016) == {u(DOC, "s02")}
    assert g.value(A2016, DCTERMS.date) == Literal("2016-12", datatype=XSD.gYearMonth)
    # no date beyond the report's month is invented
    for p in (REMIT.documentDate, REMIT.validFrom):
        assert g.value(A2016, p) is None
    assert set(g.objects(A2016, REMIT.scopeSettingType)) == {u(ST, "prison")}


def test_2016_and_seed_000_are_not_merged_and_the_link_is_unverified(g: Graph) -> None:
    assert A2016 != SEED and (SEED, RDF.type, REMIT.MemorandumOfUnderstanding) in g
    assert (A2016, DCTERMS.relation, SEED) in g and (SEED, DCTERMS.relation, A2016) in g
    assert not list(g.triples((A2016, REMIT.supersedes, None))) and not list(g.triples((SEED, REMIT.supersedes, None)))
    assert "not confirmed by any public source" in notes(g, A2016) and "seed" not in str(g.value(A2016, REMIT.sourceDocument))
    assert "(December 2016)" in notes(g, SEED)
    # the seed-000 record still names no lead: the lead rules belong to the 2016 record only
    assert list(g.objects(SEED, REMIT.leadRule)) == []


def test_2016_lead_rules_as_s02_states_them(g: Graph) -> None:
    rules = {g.value(r, REMIT.leadBody): r for r in g.objects(A2016, REMIT.leadRule)}
    assert set(rules) == {u(BODY, "hmi-prisons"), u(BODY, "cqc")}
    hmip, cqc = rules[u(BODY, "hmi-prisons")], rules[u(BODY, "cqc")]
    assert set(g.objects(hmip, REMIT.function)) == {u(FN, "inspection"), u(FN, "health-and-social-care-inspection")}
    assert set(g.objects(cqc, REMIT.function)) == {u(FN, "compliance-assessment")}
    for r in (hmip, cqc):
        assert g.value(r, REMIT.settingType) == u(ST, "prison")
    assert cites(g, hmip) == {(u(DOC, "s02"), "News item dated 22.12.16, paragraph 6, sentence 2",
                               "including their health and social care aspects, meet expectations", "SRC")}
    assert cites(g, cqc) == {(u(DOC, "s02"), "News item dated 22.12.16, paragraph 6, sentence 3",
                              "comply with registration and regulated activity regulations", "SRC")}


def test_2016_signatories_schedule_and_meetings(g: Graph) -> None:
    sigs = {(str(g.value(s, REMIT.signatoryName)), str(g.value(s, REMIT.signatoryRole)), g.value(s, REMIT.signedFor))
            for s in g.objects(A2016, REMIT.signature)}
    assert sigs == {("Peter Clarke", "chief inspector of prisons", u(BODY, "hmi-prisons")),
                    ("David Behan", "chief executive of the CQC", u(BODY, "cqc"))}
    for s in g.objects(A2016, REMIT.signature):
        assert g.value(s, REMIT.signedOn) is None  # S02 gives no signing date
        assert {c[1] for c in cites(g, s)} == {"News item dated 22.12.16, paragraph 7"}
    schedule = u(P16, "commitment-schedule-six-months-ahead")
    assert schedule in set(g.objects(A2016, REMIT.commitment))
    assert ("six months in advance" in {c[2] for c in cites(g, schedule)}.pop())
    meeting = g.value(A2016, REMIT.meetingArrangement)
    assert meeting == u(P16, "meetings") and g.value(meeting, REMIT.meetingInterval) is None
    assert {c[2] for c in cites(g, meeting)} == {"will meet regularly"}
    # posts are recorded, the named meeting leads are not
    assert "head of healthcare inspection" in str(g.value(meeting, REMIT.statement))
    assert "Tarbuck" not in g.serialize(format="nt") and "Nigel Thompson" not in g.serialize(format="nt")


# --- the other agreements (rows A11, A13, A14, A16, A18) -------------------------------------------------

def test_a13_probation_oversight_two_versions_not_merged(g: Graph) -> None:
    v18, v23 = u(AGR, "probation-oversight-2018"), u(AGR, "probation-oversight-2023")
    parties = {u(BODY, "moj"), u(BODY, "hmpps"), u(BODY, "hmi-probation")}
    assert set(g.objects(v18, REMIT.party)) == parties == set(g.objects(v23, REMIT.party))
    assert g.value(v18, REMIT.validFrom) == Literal("2018-04", datatype=XSD.gYearMonth)
    assert g.value(v23, REMIT.validFrom) == Literal("2023-08", datatype=XSD.gYearMonth)
    assert u(DOC, "s55") in docs(g, v18) and docs(g, v23) == {u(DOC, "s54")}
    assert (v18, REMIT.supersedes, None) not in g and (v23, REMIT.supersedes, None) not in g
    assert (v23, DCTERMS.relation, v18) in g


@pytest.mark.parametrize("slug,parties,doc,status", [
    ("moj-hmi-prisons-protocol", {"moj", "hmi-prisons"}, "s89", "SRC"),
    ("noms-ppo-joint-working-protocol", {"noms", "ppo"}, "s103", "SRC-weak"),
    ("wales-health-social-care-concordat", set(), "s108", "SRC-weak"),
])
def test_existence_only_agreements(g: Graph, slug: str, parties: set[str], doc: str, status: str) -> None:
    a = u(AGR, slug)
    assert set(g.objects(a, REMIT.party)) == {u(BODY, p) for p in parties}
    assert set(g.objects(a, REMIT.sourceDocument)) == {u(DOC, doc)}
    assert {c[3] for c in cites(g, a)} == {status}
    for p in (REMIT.areaOfJointWork, REMIT.leadRule, REMIT.signature, REMIT.documentDate, REMIT.reviewCommitment):
        assert g.value(a, p) is None, (slug, p)


def test_a16_document_is_marked_weak(g: Graph) -> None:
    assert str(g.value(u(DOC, "s103"), REMIT.sourceStatus)) == "SRC-weak"


def test_a11_npm_governance_as_arrangements(g: Graph) -> None:
    tor = u(ARRANGEMENT, "npm-steering-group-terms-of-reference")
    con = u(ARRANGEMENT, "npm-constitution-2023")
    assert (tor, RDF.type, REMIT.Arrangement) in g and (con, RDF.type, REMIT.Arrangement) in g
    assert g.value(tor, DCTERMS.date) == Literal("2012-01", datatype=XSD.gYearMonth)
    assert g.value(con, DCTERMS.date) == Literal("2023", datatype=XSD.gYear)
    assert docs(g, tor) == {u(DOC, "s22"), u(DOC, "s24"), u(DOC, "s21")}
    assert {c[2] for c in cites(g, con)} == {"according to the Constitution agreed by members in 2023"}
    assert "rotating Chair" in str(g.value(con, DCTERMS.description))
    # not agreements: no NPM member becomes a party to an agreement with every other member
    assert (tor, RDF.type, REMIT.Agreement) not in g and not list(g.objects(tor, REMIT.party))


# --- responsibilities T18, T19, T41 and the CQC police custody question ----------------------------------

def test_t18_tact_custody(g: Graph) -> None:
    irtl = u(RESP, "irtl-reviews-tact-custody-ew")
    assert g.value(irtl, REMIT.holder) == u(OFFICE, "independent-reviewer-of-terrorism-legislation")
    assert g.value(irtl, REMIT.legalBasis) == u(PROVISION, "police-reform-act-2002-s51-1a")
    assert docs(g, irtl) == {u(DOC, "s74"), u(DOC, "s43")}
    for holder, other in (("hmicfrs", "hmi-prisons"), ("hmi-prisons", "hmicfrs")):
        r = u(RESP, f"{holder}-joint-inspection-tact-custody-ew")
        assert g.value(r, REMIT.holder) == u(BODY, holder) and g.value(r, REMIT.jointWith) == u(BODY, other)
        assert g.value(r, REMIT.settingType) == u(ST, "tact-custody")
        assert g.value(r, REMIT.legalBasis) is None and "legal basis" in notes(g, r)
    assert (u(ST, "tact-custody"), URIRef("http://www.w3.org/2004/02/skos/core#broader"), u(ST, "police-custody")) in g


def test_t19_border_force_custody(g: Graph) -> None:
    for holder in ("hmicfrs", "hmi-prisons"):
        r = u(RESP, f"{holder}-joint-inspection-border-force-custody-ew")
        assert g.value(r, REMIT.settingType) == u(ST, "border-force-custody")
        assert u(DOC, "s43") in docs(g, r)
        assert "British Transport Police" in notes(g, r)


def test_t41_jtai_four_inspectorates_under_children_act_s20(g: Graph) -> None:
    holders = {"ofsted", "cqc", "hmicfrs", "hmi-probation"}
    for h in holders:
        r = u(RESP, f"{h}-joint-inspection-local-area-child-protection-eng")
        assert g.value(r, REMIT.legalBasis) == u(PROVISION, "children-act-2004-s20")
        assert g.value(r, REMIT.jurisdiction) == u(JUR, "england")
        assert set(g.objects(r, REMIT.jointWith)) == {u(BODY, o) for o in holders - {h}}
        assert u(DOC, "s100") in docs(g, r)
    # S58 (October 2022) names three inspectorates; HMI Probation rests on S100 only
    assert docs(g, u(RESP, "hmi-probation-joint-inspection-local-area-child-protection-eng")) == {u(DOC, "s100")}


def test_schedule_a1_is_linked_to_hmi_prisons(g: Graph) -> None:
    sch = u(PROVISION, "prison-act-1952-sch-a1")
    assert (u(BODY, "hmi-prisons"), REMIT.legalBasis, sch) in g
    office = u(OFFICE, "hm-chief-inspector-of-prisons")
    assert {sch, u(PROVISION, "prison-act-1952-sch-a1-para1"), u(PROVISION, "prison-act-1952-sch-a1-para3")} <= set(
        g.objects(office, REMIT.legalBasis))
    assert u(DOC, "s08") in docs(g, office)


def test_cqc_has_powers_in_police_custody_but_no_memorandum_with_the_lead(g: Graph) -> None:
    """CQC holds responsibilities for police custody under HSCA 2008; HMICFRS leads the custody programme;
    no memorandum of understanding between them is recorded (the programme is a remit:Agreement only)."""
    q = sparql_prologue() + """
    SELECT DISTINCT ?r ?lead WHERE {
      ?r remit:holder body:cqc ; remit:settingType st:police-custody ;
         remit:legalBasis provision:health-and-social-care-act-2008 .
      ?agreement remit:leadRule/remit:leadBody ?lead ; remit:scopeSettingType st:police-custody .
      FILTER NOT EXISTS { ?mou a remit:MemorandumOfUnderstanding ; remit:party body:cqc, ?lead }
    }"""
    rows = {(row.r, row.lead) for row in g.query(q)}
    assert (u(RESP, "cqc-health-and-social-care-inspection-police-custody-eng"), u(BODY, "hmicfrs")) in rows


def test_hmip_acronym_is_carried_by_both_inspectorates(g: Graph) -> None:
    owners = set(g.subjects(REMIT.acronym, Literal("HMIP")))
    assert owners == {u(BODY, "hmi-prisons"), u(BODY, "hmi-probation")}


# --- UK NPM membership over time --------------------------------------------------------------------------

NPM = u(BODY, "uk-npm")

MEMBERS_AT = sparql_prologue() + """
SELECT DISTINCT ?m WHERE {
  ?ms a org:Membership ; org:organization ?npm ; org:member ?m .
  OPTIONAL { ?ms remit:validFrom ?from } OPTIONAL { ?ms remit:validUntil ?until }
  FILTER(!BOUND(?from) || SUBSTR(STR(?from), 1, STRLEN(STR(?from))) <= SUBSTR(?day, 1, STRLEN(STR(?from))))
  FILTER(!BOUND(?until) || STR(?until) >= SUBSTR(?day, 1, STRLEN(STR(?until))))
  # a renamed body and its new name are one member: drop the old name when the new one is a member then
  FILTER NOT EXISTS {
    ?m org:changedBy ?e . ?e a remit:Renaming ; org:resultingOrganization ?m2 .
    ?ms2 a org:Membership ; org:organization ?npm ; org:member ?m2 .
    OPTIONAL { ?ms2 remit:validFrom ?from2 }
    FILTER(!BOUND(?from2) || STR(?from2) <= SUBSTR(?day, 1, STRLEN(STR(?from2))))
  }
}"""

COUNT_AT = sparql_prologue() + """
SELECT ?n WHERE {
  ?c a remit:MemberCount ; remit:countOf ?npm ; remit:memberCount ?n ; remit:validFrom ?from .
  OPTIONAL { ?c remit:validUntil ?until }
  FILTER(STR(?from) <= SUBSTR(?day, 1, STRLEN(STR(?from))))
  FILTER(!BOUND(?until) || STR(?until) >= SUBSTR(?day, 1, STRLEN(STR(?until))))
}"""


def members_at(g: Graph, day: str) -> set[str]:
    return {str(r.m).rsplit("/", 1)[1] for r in g.query(MEMBERS_AT, initBindings={"npm": NPM, "day": Literal(day)})}


def count_at(g: Graph, day: str) -> list[int]:
    return [int(r.n) for r in g.query(COUNT_AT, initBindings={"npm": NPM, "day": Literal(day)})]


def test_npm_member_count_18_at_designation_and_21_now(g: Graph) -> None:
    assert count_at(g, "2009-03-31") == [18]
    assert count_at(g, "2016-07-01") == [20]
    assert count_at(g, "2017-01-12") == [21]
    assert count_at(g, "2026-12-01") == [21]
    assert count_at(g, "2008-12-31") == []


def test_npm_counts_are_cited(g: Graph) -> None:
    c2009 = u(MEMBERSHIP, "uk-npm-count-2009")
    assert (u(DOC, "s17"), "OPCAT: paragraph 3", "designating 18 visiting or inspecting bodies", "SRC") in cites(g, c2009)
    c2017 = u(MEMBERSHIP, "uk-npm-count-2017")
    assert {u(DOC, "s19"), u(DOC, "s20"), u(DOC, "s23")} == docs(g, c2017)
    assert g.value(c2017, REMIT.memberCount) == Literal(21, datatype=XSD.nonNegativeInteger)


def test_npm_named_members_follow_successions(g: Graph) -> None:
    at_2009 = members_at(g, "2009-03-31")
    assert len(at_2009) == 16  # S17 names 16 of the 18; the other two are UNVERIFIED
    assert {"hmic", "care-commission", "childrens-commissioner-england", "cjini", "imb-northern-ireland"} <= at_2009
    assert not {"hmicfrs", "care-inspectorate-scotland", "independent-reviewer-of-terrorism-legislation"} & at_2009
    now = members_at(g, "2026-12-01")
    assert {"hmicfrs", "care-inspectorate-scotland", "independent-reviewer-of-terrorism-legislation"} <= now
    assert not {"hmic", "care-commission"} & now
    # CSSIW → CIW is undated (S63 gives no date): the lineage counts once at any date, under one of its names
    for day in (at_2009, now):
        assert len({"cssiw", "ciw"} & day) == 1
    assert len(now) == 17
    assert members_at(g, "2017-06-30") >= {"hmic"} and "hmicfrs" in members_at(g, "2017-07-31")


def test_npm_memberships_are_dated_and_cited(g: Graph) -> None:
    memberships = set(g.subjects(RDF.type, ORG.Membership))
    assert len(memberships) == 20
    for ms in memberships:
        assert g.value(ms, ORG.organization) == NPM
        assert g.value(ms, ORG.member) is not None and g.value(ms, RDFS.label) is not None
        assert cites(g, ms), ms
    hmic = u(MEMBERSHIP, "uk-npm-hmic")
    assert g.value(hmic, REMIT.validUntil) == Literal("2017-07", datatype=XSD.gYearMonth)
    hmicfrs = u(MEMBERSHIP, "uk-npm-hmicfrs")
    assert g.value(hmicfrs, REMIT.validFrom) == Literal("2017-07", datatype=XSD.gYearMonth)
    assert {c[2] for c in cites(g, hmicfrs)} >= {"as part of the National Preventative Mechanism"}
    assert g.value(u(MEMBERSHIP, "uk-npm-ciw"), REMIT.validFrom) is None  # the renaming is undated
    assert list(g.objects(NPM, ORG.hasMember)) == []  # no undated membership left
    # Lay Observers appear only in SRC-weak 2014 slides without a start date: no membership
    assert not list(g.subjects(ORG.member, u(BODY, "lay-observers")))
