"""The ten reference analyst questions (docs/questions.md), each answered from the real graph as the sources say.

Each test runs the named query (or the search, or one SPARQL query where no named query asks it) that
docs/questions.md names, on the shared real build, and asserts the answer the fact sheet
(/work/shared/reference/domain-facts.md, rows named in each docstring) gives. Nothing here is asserted beyond
the sources: where they are silent (a lead, a date), the test asserts that the graph is silent too.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.query.registry import NamedQuery, load_queries, run_named, term_display
from kg.query.terms import ParamError
from kg.rdf.store import default_graph_nodes, open_store
from kg.search.index import INDEX_FILE
from kg.search.query import search
from support.realbuild import ROOT, ensure_real_build

REMIT = "https://w3id.org/remit/"
ID = REMIT + "id/"


@pytest.fixture(scope="module")
def store() -> ox.Store:
    return open_store(ensure_real_build() / "store")


@pytest.fixture(scope="module")
def registry() -> dict[str, NamedQuery]:
    return load_queries(ROOT / "queries")


def rows(store: ox.Store, registry: dict[str, NamedQuery], name: str, **params: str) -> list[dict[str, str]]:
    """Every row of a named query, each cell as its plain value (IRIs in full)."""
    page = run_named(store, registry[name], params, limit=1000)
    assert not page.has_more
    return [{c: term_display(r.get(c)) for c in page.columns} for r in page.rows]


def labels(rs: list[dict[str, str]], column: str) -> set[str]:
    return {r[column] for r in rs}


def ask(store: ox.Store, text: str) -> bool:
    return bool(store.query("PREFIX remit: <https://w3id.org/remit/def/> PREFIX body: <https://w3id.org/remit/id/body/> "
                            "PREFIX st: <https://w3id.org/remit/id/setting-type/> " + text,
                            default_graph=default_graph_nodes()))


def test_q1_health_care_at_hmp_parc(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Who inspects health care at HMP Parc, under which agreement, and who leads? Parc is in Wales: Healthcare
    Inspectorate Wales inspects its health care (T4), not CQC (England only: B5, T3); the agreement in force between
    HIW and HMI Prisons is their MoU, known by its title only (A8), so no lead is named; Estyn inspects education (T11)."""
    rs = rows(store, registry, "establishment", establishment=ID + "setting/parc")
    health = [r for r in rs if r["functionLabel"] == "health and social care inspection"]
    assert labels(health, "bodyLabel") == {"Healthcare Inspectorate Wales"}
    assert "Healthcare Inspectorate Wales–HMI Prisons memorandum of understanding" in health[0]["agreementLabels"]
    assert health[0]["leadLabels"] == ""  # A8: existence only, no lead stated
    assert "Care Quality Commission" not in labels(rs, "bodyLabel")
    assert ("HM Inspectorate of Prisons", "inspection") in {(r["bodyLabel"], r["functionLabel"]) for r in rs}
    assert any(r["bodyLabel"].startswith("Estyn") and r["functionLabel"] == "education inspection" for r in rs)


def test_q2_who_leads_on_health_care_in_prisons_in_england(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Who leads on health care in prisons in England? The CQC–HMI Prisons MoU of December 2016 (A1, S02), signed by
    Peter Clarke and David Behan: HMI Prisons leads on offender services meeting expectations, including their
    health and social-care aspects; CQC on providers' compliance with the registration and regulated-activity rules.
    Which version the undated news item (seed 000) describes is not known: its areas name no lead."""
    leads = rows(store, registry, "leads")
    mou = [r for r in leads if r["agreement"] == ID + "agreement/cqc-hmi-prisons-2016"]
    by_lead = {r["leadLabel"]: set(r["functionLabels"].split(" | ")) for r in mou}
    assert "health and social care inspection" in by_lead["HM Inspectorate of Prisons"]
    assert by_lead["Care Quality Commission"] == {"compliance assessment"}
    assert all("S02" in r["sources"] or "s02" in r["sources"] for r in mou)
    news = [r for r in leads if r["agreement"] == ID + "agreement/cqc-hmi-prisons"]
    assert news and labels(news, "leadLabel") == {"none named"}
    signed = {r["agreement"]: r["signatories"] for r in rows(store, registry, "agreements", body=ID + "body/cqc")}
    assert "Peter Clarke" in signed[ID + "agreement/cqc-hmi-prisons-2016"]
    assert "David Behan" in signed[ID + "agreement/cqc-hmi-prisons-2016"]


def test_q3_who_leads_multi_agency_yot_inspection(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Who leads multi-agency inspection of youth offending teams, and how does the lead split by function? HMI
    Probation, by the Secretary of State's assignment of 2002 (A3: seed 001, corroborated by S59); in the 2011
    memorandum HMI Probation leads on whether services meet the standards, CQC on registered providers'
    compliance and on how services are commissioned."""
    leads = rows(store, registry, "leads")
    assignment = [r for r in leads if r["agreement"] == ID + "arrangement/yot-lead-assignment-2002"]
    assert labels(assignment, "leadLabel") == {"HM Inspectorate of Probation"}
    assert "2002" in assignment[0]["areaStatement"] and "joint inspection" in assignment[0]["functionLabels"]
    rules = {r["leadLabel"]: set(r["functionLabels"].split(" | ")) for r in leads
             if r["agreement"] == ID + "agreement/hmi-probation-cqc-yot" and r["kind"] == "lead rule"}
    assert "inspection" in rules["HM Inspectorate of Probation"]
    assert rules["Care Quality Commission"] == {"compliance assessment", "commissioning assessment"}


def _npm(store: ox.Store, registry: dict[str, NamedQuery], day: str) -> list[dict[str, str]]:
    return rows(store, registry, "npm-membership", asOf=day)


def test_q4_npm_members_then_and_now(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Who was in the UK NPM in 2010, and who is now? 18 members at designation (S17), 21 now (fact sheet section 5
    item 5); HMIC became HMICFRS in 2017 and CSSIW became CIW (section 5 item 3); the Independent Reviewer of
    Terrorism Legislation joined on 12 January 2017 (S19). No source dates the CSSIW renaming, so both names are
    members on both days (one member)."""
    then, now = _npm(store, registry, "2010-01-01"), _npm(store, registry, "2024-01-01")
    assert labels(then, "memberCount") == {"18"} and labels(now, "memberCount") == {"21"}
    t, n = labels(then, "acronym"), labels(now, "acronym")
    assert "HMIC" in t and "HMICFRS" not in t and "IRTL" not in t
    assert "HMICFRS" in n and "HMIC" not in n and "IRTL" in n
    renamed = {r["acronym"]: r["renamedTo"] for r in then}
    assert renamed["HMIC"] == "HM Inspectorate of Constabulary and Fire & Rescue Services"
    assert renamed["CSSIW"] == "Care Inspectorate Wales"
    assert {r["acronym"]: r["renamedFrom"] for r in now}["HMICFRS"] == "HM Inspectorate of Constabulary"


def test_q5_police_custody_in_2008_and_today(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Who inspected police custody in 2008, and who does today? The joint programme began in 2008 with HMIC and HMI
    Prisons (T15, A6); HMIC is HMICFRS from 2017; HMI Prisons took part until July 2022 (S42, section 5 item 7);
    CQC, which exists from 1 April 2009 (B4), covers health (T16); independent custody visitors throughout (T17).
    Today is the data date (the default asOf)."""
    setting = ID + "setting-type/police-custody"
    then = rows(store, registry, "remit-matrix", settingType=setting, asOf="2008-06-01")
    now = rows(store, registry, "remit-matrix", settingType=setting)
    assert labels(then, "holderLabel") == {"HM Inspectorate of Prisons", "HM Inspectorate of Constabulary",
                                          "Independent custody visiting schemes"}
    assert labels(now, "holderLabel") == {"HM Inspectorate of Constabulary and Fire & Rescue Services",
                                         "Care Quality Commission", "Independent custody visiting schemes"}
    hmip = [r for r in then if r["holderLabel"] == "HM Inspectorate of Prisons"]
    assert hmip[0]["validUntil"] == "2022-07"


def test_q6_cqc_powers_in_police_custody_without_an_mou_with_the_lead(
        store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Does CQC have powers in police custody without a memorandum of understanding with the lead? Yes: CQC holds
    health and social care inspection there (T16, HSCA 2008); HMICFRS leads the joint custody programme (A6, S42);
    the programme is the only arrangement CQC and HMICFRS share, and no memorandum between them is sourced (A6: a
    formal MoU text is UNVERIFIED), so the graph records the programme as an agreement that is not a memorandum,
    with no signature."""
    matrix = rows(store, registry, "remit-matrix", settingType=ID + "setting-type/police-custody",
                  body=ID + "body/cqc")
    assert "health and social care inspection" in labels(matrix, "functionLabel")
    leads = rows(store, registry, "leads")
    programme = ID + "agreement/police-custody-joint-inspection"
    assert labels([r for r in leads if r["agreement"] == programme], "leadLabel") == {
        "HM Inspectorate of Constabulary and Fire & Rescue Services"}
    shared = {r["agreement"] for r in rows(store, registry, "agreements", body=ID + "body/cqc")
              if "HM Inspectorate of Constabulary and Fire & Rescue Services" in r["parties"]}
    assert shared == {programme}
    assert not ask(store, "ASK { ?mou a remit:MemorandumOfUnderstanding ; remit:party body:cqc, body:hmicfrs }")
    assert not ask(store, f"ASK {{ <{programme}> remit:signature ?s }}")


def test_q7_who_covers_immigration_removal_centres(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Who covers immigration removal centres? HMI Prisons inspects (Prison Act 1952 s5A(5A); Immigration, Asylum
    and Nationality Act 2006 s46: T22), IMBs monitor (T23), CQC inspects health care (T24), the PPO investigates
    deaths and complaints (T25)."""
    rs = rows(store, registry, "remit-matrix", settingType=ID + "setting-type/immigration-removal-centre")
    pairs = {(r["holderLabel"], r["functionLabel"]) for r in rs}
    assert {("HM Inspectorate of Prisons", "inspection"), ("Independent Monitoring Boards", "lay monitoring"),
            ("Care Quality Commission", "health and social care inspection"),
            ("Prisons and Probation Ombudsman", "fatal incident investigation"),
            ("Prisons and Probation Ombudsman", "complaints handling")} <= pairs
    assert {"s5A(5A)", "s46"} <= {r["provisionReference"] for r in rs if r["holderLabel"] == "HM Inspectorate of Prisons"}


def test_q8_agreements_overdue_for_review(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Which agreements are overdue for review? Only the HMI Probation–CQC YOT memorandum states a review: every year
    (A3, seed 001), from its last signature on 18 April 2012, so due 18 April 2013 and overdue on the data date.
    The others state no review date (their status is "no date", not "not due")."""
    rs = rows(store, registry, "reviews-due")
    overdue = [r for r in rs if r["reviewStatus"] == "overdue"]
    assert [r["agreement"] for r in overdue] == [ID + "agreement/hmi-probation-cqc-yot"]
    assert (overdue[0]["baseDate"], overdue[0]["nextReview"]) == ("2012-04-18", "2013-04-18")
    assert labels([r for r in rs if r not in overdue], "reviewStatus") <= {"no date", "no stated review"}
    # on a day before the review fell due, it is not overdue
    early = rows(store, registry, "reviews-due", asOf="2013-01-01")
    assert "overdue" not in labels(early, "reviewStatus")


def test_q9_whom_to_contact_at_cqc_about_yot_inspections(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Whom do I contact at CQC about youth offending team inspections? The memorandum (A3, seed 001, November 2011)
    names CQC's Youth Offending Programme Manager, reached through CQC's switchboard; the named official and the
    direct line are personal data, kept out of the public graph."""
    rs = rows(store, registry, "contacts", agreement=ID + "agreement/hmi-probation-cqc-yot")
    cqc = [r for r in rs if r["contactForLabel"] == "Care Quality Commission" and r["contactTitle"]]
    assert labels(cqc, "contactTitle") == {"Youth Offending Programme Manager"}
    assert labels(cqc, "telephone") == {"Switchboard: 03000 616161 (tel:+443000616161)"}
    assert labels(cqc, "informationAsOf") == {"2011-11"}
    assert int(cqc[0]["ageYears"]) == 12  # November 2011 to the data date (2024-05-20)


def test_q10_hmip_is_ambiguous(store: ox.Store, registry: dict[str, NamedQuery]) -> None:
    """Who is "HMIP"? Two bodies: HM Inspectorate of Prisons (S01, S04) and, in Ofsted's guidance, HM Inspectorate
    of Probation (S59): fact sheet section 5 item 1. A look-up by the acronym says so and picks neither."""
    hits = search(ensure_real_build() / INDEX_FILE, "HMIP")
    assert {h.label for h in hits.ambiguous} == {"HM Inspectorate of Prisons", "HM Inspectorate of Probation"}
    with pytest.raises(ParamError) as err:
        rows(store, registry, "agreements", body="HMIP")
    assert "HM Inspectorate of Prisons" in str(err.value) and "HM Inspectorate of Probation" in str(err.value)
