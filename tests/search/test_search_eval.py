"""The evaluation set (``search-eval.yaml``, 46 queries: acronyms, misspelt names, agreements, clause texts,
setting types and functions) on the real build's index: mean recall@5 at least the set's threshold, the
expected first result first, and the ambiguous acronym HMIP answered with both inspectorates."""

from __future__ import annotations

from kg.search.query import search
from search.evaluation import evaluate, load_cases, threshold
from support.realbuild import ensure_real_build

ID = "https://w3id.org/remit/id/"


def _index():
    return ensure_real_build() / "search.sqlite"


def test_the_set_is_large_enough_and_covers_each_kind_of_query() -> None:
    cases = load_cases()
    assert len(cases) >= 30
    whys = " ".join(c.why for c in cases)
    for kind in ("acronym", "misspelt", "agreement", "clause", "establishment", "setting type", "function"):
        assert kind in whys, kind


def test_recall_at_5_meets_the_threshold() -> None:
    index = _index()
    outcomes = evaluate(lambda q: [h.iri for h in search(index, q, 5).hits])
    recall = sum(o.recall for o in outcomes) / len(outcomes)
    misses = [(o.case.q, [t.removeprefix(ID) for t in o.top]) for o in outcomes if o.recall < 1]
    assert recall >= threshold(), f"recall@5 {recall:.3f} < {threshold()}; misses: {misses}"


def test_the_expected_first_result_comes_first() -> None:
    index = _index()
    outcomes = [o for o in evaluate(lambda q: [h.iri for h in search(index, q, 5).hits]) if o.case.first]
    assert len(outcomes) >= 25
    wrong = [(o.case.q, o.top[:1]) for o in outcomes if not o.first_ok]
    # at most one in twenty may slip to second place as the data grows; none did when the set was written
    assert len(wrong) <= len(outcomes) // 20, wrong


def test_misspelt_names_are_corrected_and_reported() -> None:
    for q, iri, fixed in (("Wandsworht", "setting/wandsworth", "wandsworth"), ("Ofstead", "body/ofsted", "ofsted"),
                          ("Harmondsworht", "setting/harmondsworth-irc", "harmondsworth")):
        res = search(_index(), q, 5)
        assert res.hits and res.hits[0].iri == ID + iri, (q, [h.iri for h in res.hits])
        assert res.corrected == fixed
        assert "<mark>" in res.hits[0].label_html + res.hits[0].snippet_html  # the match is marked


def test_an_ambiguous_acronym_gives_every_body_it_names() -> None:
    res = search(_index(), "HMIP", 5)
    assert {h.iri for h in res.hits[:2]} == {ID + "body/hmi-prisons", ID + "body/hmi-probation"}
    assert {h.iri for h in res.ambiguous} == {ID + "body/hmi-prisons", ID + "body/hmi-probation"}
    assert all(h.match == "exact name" for h in res.hits[:2])
    assert not search(_index(), "CQC", 5).ambiguous


def test_an_agreement_comes_before_its_own_clauses() -> None:
    res = search(_index(), "police custody joint inspection", 10)
    iris = [h.iri for h in res.hits]
    agreement = ID + "agreement/police-custody-joint-inspection"
    assert agreement in iris
    clauses = [i for i, h in enumerate(res.hits) if h.parent == agreement]
    assert clauses and iris.index(agreement) < clauses[0]
    clause = res.hits[clauses[0]]
    assert clause.kind == "agreement clause" and clause.parent_label
