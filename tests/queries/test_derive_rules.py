"""Each build-time derive rule (``queries/derive/*.rq``) on a small fixture: the exact triples it writes
when it fires, nothing when there is nothing to derive; and :func:`kg.pipeline.derive.derive` itself."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.pipeline.derive import derive, load_rules
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_DERIVED

ROOT = Path(__file__).resolve().parents[2]
RULES = {r.name: r for r in load_rules(ROOT / "queries" / "derive")}
PREFIXES = """@prefix remit: <https://w3id.org/remit/def/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex: <https://example.org/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
R = "https://w3id.org/remit/def/"
EX = "https://example.org/"


def derived(turtle: str, rule: str) -> set[tuple[str, str, str]]:
    store = ox.Store()
    store.load(input=(PREFIXES + turtle).encode(), format=ox.RdfFormat.TURTLE,
               to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    n = derive(store, [RULES[rule]])
    quads = list(store.quads_for_pattern(None, None, None, ox.NamedNode(str(GRAPH_DERIVED))))
    assert n == len(quads)
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in quads}


def test_every_rule_is_here_with_a_header() -> None:
    assert set(RULES) == {"10-broader-or-self", "20-active-period", "25-setting-coverage", "30-source-text",
                          "40-overlap", "45-overlap-agreement", "45-overlap-lead-rule", "46-overlap-scope",
                          "47-overlap-assignment", "48-overlap-label", "49-agreement-ground", "49-ground-overlap",
                          "50-review-schedule"}
    for rule in RULES.values():
        assert rule.text.startswith("#+ summary:") and "#+ description:" in rule.text


def test_broader_or_self_fires() -> None:
    got = derived("""ex:inspection a skos:Concept .
        ex:joint ex:x ex:y ; skos:broader ex:inspection .
        ex:health skos:broader ex:joint .
        ex:other ex:p "not a concept" .""", "10-broader-or-self")
    bos = f"<{R}broaderOrSelf>"
    pairs = {("inspection", "inspection"), ("joint", "joint"), ("joint", "inspection"),
             ("health", "health"), ("health", "joint"), ("health", "inspection")}
    assert got == {(f"<{EX}{a}>", bos, f"<{EX}{b}>") for a, b in pairs}


def test_broader_or_self_is_quiet_without_concepts() -> None:
    assert derived('ex:a ex:p ex:b . ex:b rdfs:label "b" .', "10-broader-or-self") == set()


def test_source_text_fires() -> None:
    got = derived("""ex:doc rdfs:label "The MoU" .
        ex:fact remit:citation [ remit:citedDocument ex:doc ; remit:locator "para 4" ] ,
                               [ remit:citedDocument ex:unlabelled ] .""", "30-source-text")
    st = f"<{R}sourceText>"
    assert got == {(f"<{EX}fact>", st, f'"The MoU <{EX}doc>, para 4"'),
                   (f"<{EX}fact>", st, f'"{EX}unlabelled <{EX}unlabelled>"')}


def test_source_text_is_quiet_without_citations() -> None:
    assert derived('ex:doc rdfs:label "The MoU" . ex:fact ex:p ex:doc .', "30-source-text") == set()


XSD = "http://www.w3.org/2001/XMLSchema#"


def test_active_period_fires() -> None:
    got = derived("""ex:old org:changedBy ex:renaming .
        ex:renaming dcterms:date "2017-07"^^xsd:gYearMonth ; org:resultingOrganization ex:new .
        ex:new org:resultedFrom ex:renaming .
        ex:older org:changedBy ex:early , ex:late , ex:undated ; remit:dissolved "2010-01-01"^^xsd:date .
        ex:early org:originalOrganization ex:older ; dcterms:date "2003-04"^^xsd:gYearMonth .
        ex:late dcterms:date "2007"^^xsd:gYear .
        ex:merger org:originalOrganization ex:kept ; org:resultingOrganization ex:kept ;
            dcterms:date "2005-01-01"^^xsd:date .""", "20-active-period")
    assert got == {(f"<{EX}old>", f"<{R}activeUntil>", f'"2017-07"^^<{XSD}gYearMonth>'),
                   (f"<{EX}new>", f"<{R}activeFrom>", f'"2017-07"^^<{XSD}gYearMonth>'),
                   # the earliest of dissolution and the dated events; an undated event gives nothing
                   (f"<{EX}older>", f"<{R}activeUntil>", f'"2003-04"^^<{XSD}gYearMonth>')}


def test_active_period_is_quiet_without_dated_changes() -> None:
    assert derived("""ex:old org:changedBy ex:renaming . ex:renaming org:resultingOrganization ex:new .
        ex:kept org:changedBy ex:m ; org:resultedFrom ex:m . ex:m dcterms:date "2005"^^xsd:gYear .""",
                   "20-active-period") == set()


COVERAGE_WORLD = """
    ex:prison skos:broader ex:detention . ex:wales skos:broader ex:ew . ex:england skos:broader ex:ew .
    ex:ew-body remit:jurisdiction ex:ew . ex:wales-body remit:jurisdiction ex:wales .
    ex:eng-body remit:jurisdiction ex:england . ex:late-body remit:activeFrom "2009-04-01"^^xsd:date .
    ex:gone-body remit:activeUntil "2017-07"^^xsd:gYearMonth .
    ex:r-ew a remit:Responsibility ; remit:holder ex:ew-body ; remit:settingType ex:prison .
    ex:r-wales a remit:Responsibility ; remit:holder ex:wales-body ; remit:settingType ex:prison .
    ex:r-eng a remit:Responsibility ; remit:holder ex:eng-body ; remit:settingType ex:prison .
    ex:r-all a remit:Responsibility ; remit:holder ex:ew-body ; remit:settingType ex:detention .
    ex:r-own-jur a remit:Responsibility ; remit:holder ex:eng-body ; remit:jurisdiction ex:wales ;
        remit:settingType ex:prison .
    ex:r-ended a remit:Responsibility ; remit:holder ex:ew-body ; remit:settingType ex:prison ;
        remit:validUntil "1997-10"^^xsd:gYearMonth .
    ex:r-same-month a remit:Responsibility ; remit:holder ex:ew-body ; remit:settingType ex:prison ;
        remit:validUntil "1997-11-30"^^xsd:date .
    ex:r-late a remit:Responsibility ; remit:holder ex:late-body ; remit:jurisdiction ex:ew ;
        remit:settingType ex:prison .
    ex:r-gone a remit:Responsibility ; remit:holder ex:gone-body ; remit:jurisdiction ex:ew ;
        remit:settingType ex:prison .
"""


def test_setting_coverage_fires() -> None:
    # rule 25 reads rule 10's broaderOrSelf, as kg build runs them in order
    store = ox.Store()
    store.load(input=(PREFIXES + COVERAGE_WORLD + """
        ex:parc a remit:Setting ; remit:settingType ex:prison ; remit:jurisdiction ex:wales ;
            remit:openedOn "1997-11"^^xsd:gYearMonth .
        ex:closed a remit:Setting ; remit:settingType ex:prison ; remit:jurisdiction ex:england ;
            remit:closedOn "2008-12-31"^^xsd:date .""").encode(), format=ox.RdfFormat.TURTLE,
               to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    derive(store, [RULES["10-broader-or-self"], RULES["25-setting-coverage"]])
    got = {(str(q.subject)[len(EX) + 1:-1], str(q.object)[len(EX) + 1:-1])
           for q in store.quads_for_pattern(None, ox.NamedNode(R + "coveredBy"), None, None)}
    assert got == {("parc", r) for r in ("r-ew", "r-wales", "r-all", "r-own-jur", "r-same-month", "r-late", "r-gone")} \
        | {("closed", r) for r in ("r-ew", "r-eng", "r-all", "r-ended", "r-same-month", "r-gone")}


def test_setting_coverage_is_quiet_without_a_nation_or_type() -> None:
    store = ox.Store()
    store.load(input=(PREFIXES + COVERAGE_WORLD + """
        ex:nowhere a remit:Setting ; remit:settingType ex:prison .
        ex:untyped a remit:Setting ; remit:jurisdiction ex:wales .
        ex:scottish a remit:Setting ; remit:settingType ex:prison ; remit:jurisdiction ex:scotland .""").encode(),
               format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    derive(store, [RULES["10-broader-or-self"], RULES["25-setting-coverage"]])
    assert not list(store.quads_for_pattern(None, ox.NamedNode(R + "coveredBy"), None, None))


def test_derive_clears_its_graph_and_names_a_bad_rule(tmp_path: Path) -> None:
    store = ox.Store()
    target = ox.NamedNode(str(GRAPH_DERIVED))
    store.add(ox.Quad(ox.NamedNode(EX + "stale"), ox.NamedNode(EX + "p"), ox.NamedNode(EX + "o"), target))
    assert derive(store, []) == 0  # a rebuild never keeps what earlier rules derived
    (tmp_path / "bad.rq").write_text("SELECT * WHERE { ?s ?p ?o }", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.rq: a derive rule must be a CONSTRUCT query"):
        derive(store, load_rules(tmp_path))
    (tmp_path / "bad.rq").write_text("CONSTRUCT { ?s ?p } WHERE {", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.rq: invalid SPARQL"):
        derive(store, load_rules(tmp_path))



def test_derived_triples_keep_the_blank_nodes_they_name(tmp_path: Path) -> None:
    """Regression (2026-12-04): the derived triples are written and read back as N-Triples, where Oxigraph's
    parser would give a blank node a new id; a rule whose triples name a blank node of the input must still
    point at that node (the derive step then adds them as they are)."""
    store = ox.Store()
    store.load(input=(PREFIXES + "ex:fact remit:citation [ remit:locator \"s. 1\" ] .").encode(),
               format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    (tmp_path / "10-copy.rq").write_text(
        "CONSTRUCT { ?c <urn:x:copied> ?l } WHERE { ?f <https://w3id.org/remit/def/citation> ?c . "
        "?c <https://w3id.org/remit/def/locator> ?l }", encoding="utf-8")
    (tmp_path / "20-plain.rq").write_text(
        "CONSTRUCT { ?f <urn:x:cited> true } WHERE { ?f <https://w3id.org/remit/def/citation> ?c }", encoding="utf-8")
    assert derive(store, load_rules(tmp_path)) == 2
    citation = next(store.quads_for_pattern(None, ox.NamedNode(R + "citation"), None, None)).object
    assert isinstance(citation, ox.BlankNode)
    copied = list(store.quads_for_pattern(None, ox.NamedNode("urn:x:copied"), None, None))
    assert [q.subject for q in copied] == [citation]
    assert [q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode("urn:x:cited"), None, None)] == [
        EX + "fact"]

OVERLAP_WORLD = """
    ex:health skos:broader ex:inspection . ex:education skos:broader ex:inspection .
    ex:wales skos:broader ex:ew . ex:england skos:broader ex:ew . ex:prison skos:broader ex:detention .
    ex:a remit:jurisdiction ex:ew . ex:b remit:jurisdiction ex:wales . ex:c remit:jurisdiction ex:england .
    ex:ra a remit:Responsibility ; remit:holder ex:a ; remit:function ex:inspection ; remit:settingType ex:prison .
    ex:rb a remit:Responsibility ; remit:holder ex:b ; remit:function ex:health ; remit:settingType ex:prison ;
        remit:citation [ remit:citedDocument ex:doc ; remit:locator "s. 1" ] .
    ex:rc a remit:Responsibility ; remit:holder ex:c ; remit:function ex:education ; remit:settingType ex:prison .
    ex:rc-yot a remit:Responsibility ; remit:holder ex:c ; remit:function ex:inspection ; remit:settingType ex:yot .
"""


def _overlaps(store: ox.Store) -> dict[str, dict[str, set[str]]]:
    """Each derived record (overlap or cover) as {property local name: {objects}}, keyed by its IRI."""
    out: dict[str, dict[str, set[str]]] = {}
    for q in store.quads_for_pattern(None, None, None, ox.NamedNode(str(GRAPH_DERIVED))):
        if q.predicate.value.startswith(R) or q.predicate.value.endswith("#type"):
            key = q.predicate.value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
            val = q.object.value.rsplit("/", 1)[-1] if isinstance(q.object, ox.NamedNode) else q.object.value
            out.setdefault(q.subject.value, {}).setdefault(key, set()).add(val)
    return out


def _derive_overlaps(turtle: str) -> dict[str, dict[str, set[str]]]:
    store = ox.Store()
    store.load(input=(PREFIXES + OVERLAP_WORLD + turtle).encode(), format=ox.RdfFormat.TURTLE,
               to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    derive(store, [RULES[n] for n in ("10-broader-or-self", "30-source-text", "40-overlap", "45-overlap-agreement",
                                        "45-overlap-lead-rule", "46-overlap-scope")])
    return {k: v for k, v in _overlaps(store).items() if "type" in v and v["type"] & {"Overlap", "OverlapCover"}}


def test_overlap_records_fire() -> None:
    recs = _derive_overlaps("")
    overlaps = sorted((sorted(v["firstBody"])[0], sorted(v["secondBody"])[0], sorted(v["overlapJurisdiction"])[0],
                       sorted(v["firstFunction"])[0], sorted(v["secondFunction"])[0])
                      for v in recs.values() if v["type"] == {"Overlap"})
    # a (England and Wales) with b (Wales) and with c (England), the narrower jurisdiction kept; b and c, Wales and
    # England, never overlap; health and education are both narrower than inspection but not related to each other
    assert overlaps == [("a", "b", "wales", "inspection", "health"), ("a", "c", "england", "inspection", "education")]
    for iri, v in recs.items():
        assert iri.startswith("https://w3id.org/remit/id/overlap/") and len(iri.rsplit("/", 1)[1]) == 32
        assert v["overlapSettingType"] == {"prison"} and len(v["firstResponsibility"]) == 1
    assert _derive_overlaps("") == recs  # the same IRIs in every build


LABELS = """
    ex:a skos:prefLabel "Body A"@en ; rdfs:label "Zed"@en . ex:b skos:prefLabel "Body B"@en ; skos:prefLabel "Corff B"@cy .
    ex:c rdfs:label "Body C" . ex:inspection skos:prefLabel "inspection"@en . ex:health skos:prefLabel "health"@en .
    ex:prison skos:prefLabel "prison"@en . ex:wales skos:prefLabel "Wales"@en .
"""


def test_overlap_labels_fire() -> None:
    store = ox.Store()
    store.load(input=(PREFIXES + OVERLAP_WORLD + LABELS).encode(), format=ox.RdfFormat.TURTLE,
               to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    derive(store, [RULES[n] for n in ("10-broader-or-self", "40-overlap", "48-overlap-label")])
    labels = {(q.object.value, q.object.language) for q in store.quads_for_pattern(
        None, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), None, ox.NamedNode(str(GRAPH_DERIVED)))}
    # English labels only, the first in order where there are two (Body A, not Zed); the a-c overlap has no
    # label for education, so it stays unnamed rather than being named by an IRI
    assert labels == {("Body A (inspection) and Body B (health): prison, Wales", "en")}


def test_overlap_label_without_a_jurisdiction_names_none() -> None:
    """Regression: a record with no jurisdiction had its jurisdiction label looked up for an unbound ?j, which
    matched every labelled resource of the graph (the MIN of those names won: "…: prison, Body A")."""
    store = ox.Store()
    store.load(input=(PREFIXES + LABELS + """
        ex:o a remit:Overlap ; remit:firstBody ex:a ; remit:secondBody ex:b ; remit:firstFunction ex:inspection ;
             remit:secondFunction ex:health ; remit:overlapSettingType ex:prison .""").encode(),
               format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    derive(store, [RULES["48-overlap-label"]])
    labels = {q.object.value for q in store.quads_for_pattern(
        None, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), None, ox.NamedNode(str(GRAPH_DERIVED)))}
    assert labels == {"Body A (inspection) and Body B (health): prison"}


def test_overlap_records_are_quiet_without_related_pairs() -> None:
    store = ox.Store()
    store.load(input=(PREFIXES + """ex:a remit:jurisdiction ex:ew . ex:b remit:jurisdiction ex:ew .
        ex:health a skos:Concept . ex:education a skos:Concept . ex:ew a skos:Concept .
        ex:ra a remit:Responsibility ; remit:holder ex:a ; remit:function ex:health ; remit:settingType ex:prison .
        ex:rb a remit:Responsibility ; remit:holder ex:b ; remit:function ex:education ; remit:settingType ex:prison .
        ex:rc a remit:Responsibility ; remit:holder ex:b ; remit:function ex:health ; remit:settingType ex:yot .
        ex:rd a remit:Responsibility ; remit:holder ex:a ; remit:function ex:education ; remit:settingType ex:yot .
        """).encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    assert derive(store, [RULES[n] for n in ("10-broader-or-self", "40-overlap", "45-overlap-agreement",
                                             "45-overlap-lead-rule", "46-overlap-scope")]) > 0
    assert not list(store.quads_for_pattern(None, ox.NamedNode(R + "firstBody"), None, None))
    assert not list(store.quads_for_pattern(None, ox.NamedNode(R + "coveringAgreement"), None, None))


def test_overlap_covers_fire() -> None:
    recs = _derive_overlaps("""
        ex:mou remit:party ex:a , ex:b ; remit:scopeSettingType ex:detention ;
            remit:areaOfJointWork ex:area-led , ex:area-unled , ex:area-yot ; remit:leadRule ex:rule-bare .
        ex:area-led remit:function ex:health ; remit:leadBody ex:b ;
            remit:citation [ remit:citedDocument ex:doc ; remit:locator "para 4" ] .
        ex:area-unled remit:function ex:inspection .
        ex:area-yot remit:function ex:inspection ; remit:settingType ex:yot .
        ex:rule-bare remit:function ex:health .
        ex:scoped remit:party ex:a , ex:b ; remit:scopeFunction ex:health .
        ex:other remit:party ex:a , ex:b ; remit:scopeFunction ex:escorting . ex:escorting a skos:Concept .
        ex:ac remit:party ex:a , ex:c ; remit:scopeFunction ex:health .""")
    covers = {(sorted(v["coveringAgreement"])[0], sorted(v.get("coveringPart", {"-"}))[0]):
              (bool(v.get("coversOverlap")), v.get("coverLead", set()), v.get("sourceText", set()))
              for v in recs.values() if v["type"] == {"OverlapCover"}}
    assert covers == {
        ("mou", "area-led"): (True, {"b"}, {"https://example.org/doc <https://example.org/doc>, para 4"}),
        ("mou", "area-unled"): (True, set(), set()),
        ("mou", "rule-bare"): (False, set(), set()),  # concerns the overlap, names no lead: not a cover
        ("scoped", "-"): (True, set(), set()),
        ("ac", "-"): (True, set(), set()),  # the other overlap (a with c)
    }
    for v in recs.values():
        if v["type"] == {"OverlapCover"}:
            covered = recs["https://w3id.org/remit/id/overlap/" + sorted(v["concernsOverlap"])[0]]
            assert covered["secondBody"] == ({"c"} if v["coveringAgreement"] == {"ac"} else {"b"})


def test_overlap_assignments_fire() -> None:
    store = ox.Store()
    store.load(input=(PREFIXES + OVERLAP_WORLD + """
        ex:ss-2002 a remit:LegalBasis ; remit:leadBody ex:a ; remit:function ex:inspection ; remit:settingType ex:detention .
        ex:welsh a remit:LegalBasis ; remit:leadBody ex:b ; remit:function ex:health ; remit:settingType ex:prison ;
            remit:jurisdiction ex:wales .
        ex:narrow a remit:LegalBasis ; remit:leadBody ex:a ; remit:function ex:health ; remit:settingType ex:yot .
        ex:unled a remit:LegalBasis ; remit:function ex:inspection ; remit:settingType ex:prison .
        """).encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    derive(store, [RULES[n] for n in ("10-broader-or-self", "40-overlap", "47-overlap-assignment")])
    second = {q.subject: q.object.value.rsplit("/", 1)[1]
              for q in store.quads_for_pattern(None, ox.NamedNode(R + "secondBody"), None, None)}
    got = {(second[q.subject], q.object.value.rsplit("/", 1)[1])
           for q in store.quads_for_pattern(None, ox.NamedNode(R + "settledBy"), None, None)}
    # the broad assignment settles both overlaps; the Welsh one only the overlap in Wales (a with b); one for
    # another setting type, or naming no lead, settles nothing
    assert got == {("b", "ss-2002"), ("c", "ss-2002"), ("b", "welsh")}


def test_every_derived_term_is_declared_in_the_ontology() -> None:
    import re
    from rdflib import Graph, URIRef
    from rdflib.namespace import RDFS, SKOS
    onto = Graph().parse(ROOT / "ontology" / "remit.ttl")
    for rule in RULES.values():
        template = rule.text[rule.text.index("CONSTRUCT"):rule.text.index("WHERE")]
        for name in set(re.findall(r"remit:(\w+)", template)):
            term = URIRef(R + name)
            assert onto.value(term, RDFS.label) and onto.value(term, SKOS.definition), (rule.name, name)
            assert f"queries/derive/{rule.name}.rq" in str(onto.value(term, SKOS.definition)) or \
                name == "sourceText", (rule.name, name)


def test_overlap_queries_read_the_records_not_the_responsibilities() -> None:
    """`overlaps` and `duplications` answer from the derived records alone: with the records of rules 40-47
    taken out of the derived graph they answer nothing, with them the fixture's rows."""
    from _support import load_fixture, run
    derived_graph = ox.NamedNode(str(GRAPH_DERIVED))

    def record(q: ox.Quad) -> bool:
        p = q.predicate.value
        return q.graph_name == derived_graph and (p.endswith("#type") or (p.startswith(R) and p[len(R):] in _RECORD_TERMS))

    for name in ("overlaps", "duplications"):
        full = load_fixture(name)
        assert run(full, name, {"asOf": "2020-01-01"}), name
        bare = ox.Store()
        bare.extend([q for q in full if not record(q)])
        assert len(bare) < len(full)
        assert run(bare, name, {"asOf": "2020-01-01"}) == [], name


_RECORD_TERMS = {"firstResponsibility", "secondResponsibility", "firstBody", "secondBody", "firstFunction",
                 "secondFunction", "overlapSettingType", "overlapJurisdiction", "concernsOverlap", "coversOverlap",
                 "coveringAgreement", "coveringPart", "coverLead", "settledBy"}


GROUND_WORLD = """
    ex:inspection a skos:Concept . ex:health a skos:Concept ; skos:broader ex:inspection . ex:education a skos:Concept .
    ex:detention a skos:Concept . ex:prison a skos:Concept ; skos:broader ex:detention . ex:yot a skos:Concept .
    ex:ag1 remit:areaOfJointWork ex:ag1-a1 , ex:ag1-a2 , ex:ag1-a3 ; remit:scopeSettingType ex:detention .
    ex:ag1-a1 remit:function ex:health ; remit:settingType ex:prison .
    ex:ag1-a2 remit:function ex:inspection .
    ex:ag1-a3 remit:settingType ex:yot .
    ex:ag2 remit:scopeFunction ex:inspection .
    ex:ag3 remit:areaOfJointWork ex:ag3-a1 ; remit:scopeFunction ex:health .
    ex:ag3-a1 remit:function ex:education ; remit:settingType ex:yot .
"""


def _grounds(turtle: str) -> tuple[dict[str, tuple[str, str]], set[tuple[str, str]], dict[tuple, set[str]]]:
    """(each ground IRI: (function, setting type or ""), the (part, ground) links by local names, each ground
    overlap (first, second): its setting types)."""
    store = ox.Store()
    store.load(input=(PREFIXES + turtle).encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    derive(store, [RULES[n] for n in ("10-broader-or-self", "49-agreement-ground", "49-ground-overlap")])
    recs = _overlaps(store)
    grounds = {iri: (min(v["groundFunction"]), min(v.get("groundSettingType", {""})))
               for iri, v in recs.items() if v.get("type") == {"Ground"}}
    links = set()
    for q in store.quads_for_pattern(None, None, None, ox.NamedNode(str(GRAPH_DERIVED))):
        if q.predicate.value in (R + "areaGround", R + "scopeGround"):
            links.add((q.subject.value.rsplit("/", 1)[1], q.predicate.value[len(R):], grounds[q.object.value]))
    overlaps: dict[tuple, set[str]] = {}
    for iri, v in recs.items():
        if v.get("type") == {"GroundOverlap"}:
            assert iri.startswith("https://w3id.org/remit/id/ground-overlap/") and len(iri.rsplit("/", 1)[1]) == 32
            assert len(v["firstGround"]) == len(v["secondGround"]) == 1
            key = (grounds[R.replace("def/", "id/ground/") + min(v["firstGround"])],
                   grounds[R.replace("def/", "id/ground/") + min(v["secondGround"])])
            overlaps[key] = v.get("groundOverlapSettingType", set())
    for iri in grounds:
        assert iri.startswith("https://w3id.org/remit/id/ground/") and len(iri.rsplit("/", 1)[1]) == 32
    return grounds, links, overlaps


def test_agreement_grounds_and_ground_overlaps_fire() -> None:
    grounds, links, overlaps = _grounds(GROUND_WORLD)
    # an area's function in its own setting type, else in the agreement's scope setting type; an agreement
    # without areas: its scope function in its scope setting type, else in none; an area without a function,
    # and the scope of an agreement with areas, are no parts
    assert links == {("ag1-a1", "areaGround", ("health", "prison")), ("ag1-a2", "areaGround", ("inspection", "detention")),
                     ("ag2", "scopeGround", ("inspection", "")), ("ag3-a1", "areaGround", ("education", "yot"))}
    assert sorted(grounds.values()) == [("education", "yot"), ("health", "prison"), ("inspection", ""),
                                        ("inspection", "detention")]
    hp, idt, i0, ey = ("health", "prison"), ("inspection", "detention"), ("inspection", ""), ("education", "yot")
    # related functions and nested setting types (none covers every one), in both orders, the narrower setting
    # type kept, none where neither has one; education is related to nothing but itself
    expected = {(hp, hp): {"prison"}, (idt, idt): {"detention"}, (i0, i0): set(), (ey, ey): {"yot"},
                (hp, idt): {"prison"}, (idt, hp): {"prison"}, (hp, i0): {"prison"}, (i0, hp): {"prison"},
                (idt, i0): {"detention"}, (i0, idt): {"detention"}}
    assert overlaps == expected
    assert _grounds(GROUND_WORLD) == (grounds, links, overlaps)  # the same IRIs in every build


def test_agreement_grounds_are_quiet_without_parts() -> None:
    grounds, links, overlaps = _grounds("""ex:inspection a skos:Concept .
        ex:ag1 remit:areaOfJointWork ex:ag1-a1 ; remit:scopeSettingType ex:prison . ex:ag1-a1 remit:settingType ex:prison .""")
    assert grounds == {} and links == set() and overlaps == {}


def test_agreement_overlaps_reads_the_ground_records() -> None:
    """`agreement-overlaps` pairs parts through the derived grounds alone: without them it answers nothing."""
    from _support import load_fixture, run
    derived_graph = ox.NamedNode(str(GRAPH_DERIVED))
    terms = {"areaGround", "scopeGround", "firstGround", "secondGround", "groundFunction", "groundSettingType",
             "groundOverlapSettingType"}
    full = load_fixture("agreement-overlaps")
    assert run(full, "agreement-overlaps")
    bare = ox.Store()
    bare.extend([q for q in full if not (q.graph_name == derived_graph and q.predicate.value[len(R):] in terms)])
    assert len(bare) < len(full)
    assert run(bare, "agreement-overlaps") == []


STATUS = "https://w3id.org/remit/id/agreement-status/"


def test_review_schedule_fires() -> None:
    got = derived(f"""
        ex:month-end a remit:Agreement ; remit:lastReviewed "2020-01-31"^^xsd:date ;
            remit:signature [ remit:signedOn "2021-06-01"^^xsd:date ] ;
            remit:reviewCommitment [ remit:reviewInterval "P1M"^^xsd:duration ] .
        ex:rollover a remit:Agreement ; remit:lastReviewed "2018-05-01"^^xsd:date , "2019-11-30"^^xsd:date ;
            remit:reviewCommitment [ remit:reviewInterval "P3M"^^xsd:duration ] .
        ex:leap a remit:Agreement ; remit:documentDate "2018"^^xsd:gYear ;
            remit:signature [ remit:signedOn "2020-02-29"^^xsd:date ] , [ remit:signedOn "2019-05-01"^^xsd:date ] ;
            remit:reviewCommitment [ remit:reviewInterval "P1Y"^^xsd:duration ] .
        ex:year-month a remit:Agreement ; remit:documentDate "2011-11"^^xsd:gYearMonth ;
            remit:reviewCommitment [ remit:reviewInterval "P2Y6M"^^xsd:duration ] .
        ex:year a remit:Agreement ; remit:documentDate "2019"^^xsd:gYear ;
            remit:reviewCommitment [ remit:reviewInterval "P18M"^^xsd:duration ] .
        ex:days a remit:Agreement ; remit:documentDate "2020-03-31"^^xsd:date ;
            remit:reviewCommitment [ remit:reviewInterval "P30D"^^xsd:duration ] .
        ex:no-cycle a remit:Agreement ; remit:documentDate "2015-08-31"^^xsd:date ; remit:reviewCommitment [] .
        ex:month-signature a remit:Agreement ; remit:signature [ remit:signedOn "2012-04"^^xsd:gYearMonth ] ;
            remit:reviewCommitment [ remit:reviewInterval "P1Y"^^xsd:duration ] .
        ex:superseded a remit:Agreement ; remit:status <{STATUS}superseded> ;
            remit:documentDate "2010-01-01"^^xsd:date ; remit:reviewCommitment [ remit:reviewInterval "P1Y"^^xsd:duration ] .
        ex:in-force a remit:Agreement ; remit:status <{STATUS}in-force> ; remit:documentDate "2010-01-01"^^xsd:date .""",
                  "50-review-schedule")
    date = f"^^<{XSD}date>"

    def schedule(agreement: str, basis: str, base: str | None = None, nxt: str | None = None) -> set:
        out = {(f"<{EX}{agreement}>", f"<{R}reviewBasis>", f'"{basis}"')}
        out |= {(f"<{EX}{agreement}>", f"<{R}reviewBaseDate>", f'"{base}"{date}')} if base else set()
        return out | ({(f"<{EX}{agreement}>", f"<{R}nextReviewDate>", f'"{nxt}"{date}')} if nxt else set())

    assert got == (
        schedule("month-end", "last reviewed", "2020-01-31", "2020-02-29")  # clamped to February's end in a leap year
        | schedule("rollover", "last reviewed", "2019-11-30", "2020-02-29")  # the latest review; into the next year
        | schedule("leap", "latest signature", "2020-02-29", "2021-02-28")  # the latest signature; 29 February + 1 year
        | schedule("year-month", "document date", "2011-11-01", "2014-05-01")  # a year-month counts as its first day
        | schedule("year", "document date", "2019-01-01", "2020-07-01")  # a year as 1 January
        | schedule("days", "document date", "2020-03-31")  # an interval in days: no next review
        | schedule("no-cycle", "document date", "2015-08-31")  # no interval: no next review
        | schedule("month-signature", "latest signature")  # a signature dated to a month is no day to count from
        | schedule("in-force", "document date", "2010-01-01"))  # a superseded agreement gets nothing


def test_review_schedule_is_quiet_without_dates() -> None:
    assert derived(f"""
        ex:undated a remit:Agreement ; remit:reviewCommitment [ remit:reviewInterval "P1Y"^^xsd:duration ] .
        ex:superseded a remit:Agreement ; remit:status <{STATUS}superseded> ; remit:lastReviewed "2020-01-01"^^xsd:date .
        ex:not-an-agreement remit:documentDate "2020-01-01"^^xsd:date ; remit:lastReviewed "2020-01-01"^^xsd:date ;
            remit:reviewCommitment [ remit:reviewInterval "P1Y"^^xsd:duration ] .""", "50-review-schedule") == set()


def test_reviews_due_reads_the_derived_schedule() -> None:
    """`reviews-due` takes its dates from rule 50: without the derived schedule every agreement of its fixture has
    no date, with it the fixture's rows."""
    from _support import load_fixture, run
    full = load_fixture("reviews-due")
    schedule = {R + t for t in ("reviewBasis", "reviewBaseDate", "nextReviewDate")}
    rows = run(full, "reviews-due", {"asOf": "2024-05-01"})
    assert {r["reviewStatus"] for r in rows} >= {"overdue", "due", "no date"}
    bare = ox.Store()
    bare.extend([q for q in full if q.predicate.value not in schedule])
    assert len(bare) < len(full)
    assert {(r["baseDate"], r["basis"], r["nextReview"], r["reviewStatus"])
            for r in run(bare, "reviews-due", {"asOf": "2024-05-01"})} == {("", "", "", "no date")}
