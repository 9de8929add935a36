"""The analyst questions issue 13 names, answered from the real graph by the named queries, as the sources
say (fact sheet ../shared/reference/domain-facts.md). The fact sheet does not list "ten reference analyst
questions", so these are the questions the issue itself asks: who covers HMP Parc, under which agreement and
who leads; CQC's powers in police custody and the lead there; NPM membership on two dates; the bodies before
2009; successions (HMIC, CQC); and "HMIP" as an ambiguous acronym."""

from __future__ import annotations

import functools

import pyoxigraph as ox
import pytest

from kg.query.registry import ParamError, load_queries, run_named
from kg.rdf.store import open_store
from support.realbuild import ROOT, ensure_real_build

ID = "https://w3id.org/remit/id/"


@functools.lru_cache(maxsize=1)
def _store() -> ox.Store:
    return open_store(ensure_real_build() / "store")


def ask(name: str, **params: str) -> list[dict[str, str]]:
    nq = load_queries(ROOT / "queries")[name]
    page = run_named(_store(), nq, params, limit=1000, offset=0)
    assert not page.has_more
    return [{k: v["value"] for k, v in row.items()} for row in page.rows]


def test_who_covers_hmp_parc() -> None:
    """HMP Parc (a G4S-operated prison in Wales, opened November 1997): HMI Prisons inspects (Prison Act 1952 s5A, T01), HIW
    inspects health care (Wales), Estyn education, the IMB monitors, the PPO investigates; HIW and HMI Prisons
    have an MoU (its text is UNVERIFIED, so no lead is named); CQC (England only) does not cover it."""
    rows = ask("establishment", establishment=ID + "setting/parc", asOf="2024-01-01")
    by = {(r["body"].rsplit("/", 1)[-1], r["function"].rsplit("/", 1)[-1]): r for r in rows}
    assert by[("hmi-prisons", "inspection")]["provisionReference"] == "s5A"
    assert ("hiw", "health-and-social-care-inspection") in by
    assert ("estyn", "education-inspection") in by
    assert ("imb", "lay-monitoring") in by
    assert ("ppo", "fatal-incident-investigation") in by
    assert not {b for b, _ in by} & {"cqc", "ofsted", "hmicfrs"}, "an England-only body covers a Welsh prison"
    for key in [("hmi-prisons", "inspection"), ("hiw", "health-and-social-care-inspection")]:
        assert by[key]["agreements"] == ID + "agreement/hiw-hmi-prisons", (key, by[key]["agreements"])
        assert by[key]["leads"] == ""  # no source gives the MoU's text, so no lead is asserted
    assert all(r["sources"] for r in rows), "a row without its source"


def test_parc_before_it_opened_has_no_one() -> None:
    """Parc opened in November 1997 (the opening date the data cites): before that, nobody covers it."""
    assert ask("establishment", establishment=ID + "setting/parc", asOf="1997-10-31") == []
    assert ask("establishment", establishment=ID + "setting/parc", asOf="1997-11-30")


def test_cqc_powers_in_police_custody_and_the_lead() -> None:
    """T16: CQC has powers in police custody (HSCA 2008, health outcomes within the joint inspections). A6:
    HMICFRS leads the joint police custody programme, in which CQC takes part; no formal MoU text between
    CQC and HMICFRS is known (UNVERIFIED), so the graph records the programme, with CQC a party, and no MoU."""
    cqc = ask("remit-matrix", body=ID + "body/cqc", settingType=ID + "setting-type/police-custody", asOf="2024-01-01")
    assert cqc and any("Health and Social Care Act 2008" in r["legalBasisLabel"] for r in cqc), cqc
    overlaps = ask("overlaps", body=ID + "body/cqc", settingType=ID + "setting-type/police-custody", asOf="2024-01-01")
    leads = {r["lead"] for r in overlaps if r.get("lead")}
    assert leads == {ID + "body/hmicfrs"}, leads
    # CQC is a party to the programme that names the lead, so it is not among the bodies without an agreement
    assert ask("powers-without-agreement", body=ID + "body/cqc", settingType=ID + "setting-type/police-custody",
               asOf="2024-01-01") == []
    programme = {r["agreement"] for r in overlaps if r.get("lead")}
    assert len(programme) == 1 and "custody" in next(iter(programme))


@pytest.mark.parametrize("day,count,present,absent", [
    ("2010-01-01", "18", {"hmic", "cssiw", "care-commission", "cqc"}, {"hmicfrs", "care-inspectorate-scotland"}),
    ("2024-01-01", "21", {"hmicfrs", "ciw", "care-inspectorate-scotland"}, {"hmic", "care-commission"}),
])
def test_npm_membership_on_two_dates(day: str, count: str, present: set[str], absent: set[str]) -> None:
    """B61/pitfall 5: 18 members from the March 2009 designation, 21 from January 2017; HMIC → HMICFRS (July
    2017), Care Commission → Care Inspectorate (April 2011), CSSIW → CIW (undated: both names, one member)."""
    rows = ask("npm-membership", asOf=day)
    members = {r["member"].rsplit("/", 1)[-1] for r in rows}
    assert {r["memberCount"] for r in rows} == {count}
    assert present <= members and not members & absent, members
    assert all(r["countSources"] and r["sources"] for r in rows)


def test_npm_membership_before_the_designation_is_empty() -> None:
    assert ask("npm-membership", asOf="2008-12-31") == []


def test_before_2009_the_pre_2009_bodies_hold_and_cqc_does_not() -> None:
    """Pitfall 3: the Healthcare Commission, CSCI and MHAC were succeeded by CQC on 1 April 2009 (S37); HMIC was
    renamed HMICFRS in July 2017. As of mid-2008 HMIC holds its police custody work and CQC holds nothing."""
    matrix_2008 = ask("remit-matrix", asOf="2008-06-01")
    holders = {r["holder"].rsplit("/", 1)[-1] for r in matrix_2008}
    assert "hmic" in holders and not holders & {"cqc", "hmicfrs"}, holders
    overlaps_2008 = ask("overlaps", asOf="2008-06-01")
    bodies = {r[k].rsplit("/", 1)[-1] for r in overlaps_2008 for k in ("body1", "body2")}
    assert "hmic" in bodies and not bodies & {"cqc", "hmicfrs"}, bodies


def test_successions_resolve_in_the_remit_matrix() -> None:
    """A body that has ceased holds nothing after its end date; its successor nothing before its start."""
    assert ask("remit-matrix", body=ID + "body/hmic", asOf="2018-01-01") == []
    assert ask("remit-matrix", body=ID + "body/hmic", asOf="2017-06-30")
    assert ask("remit-matrix", body=ID + "body/cqc", asOf="2009-03-31") == []
    assert ask("remit-matrix", body=ID + "body/cqc", asOf="2009-04-01")
    assert ask("remit-matrix", body=ID + "body/hmicfrs", asOf="2017-06-30") == []


def test_hmip_is_an_ambiguous_acronym() -> None:
    """Pitfall 1: "HMIP" is HM Inspectorate of Prisons in most texts and of Probation in Ofsted's FJI guidance."""
    with pytest.raises(ParamError, match="ambiguous") as err:
        ask("remit-matrix", body="HMIP")
    assert "hmi-prisons" in str(err.value) and "hmi-probation" in str(err.value)
