"""Targeted materialisation: the OWL 2 RL entailments Remit's queries and shapes use, fast at 1M triples.

owlrl computes the whole OWL 2 RL closure in pure Python (547 s at 1M triples on this machine); Remit's
ontology uses only a handful of OWL features, so this module computes exactly the entailments those
features give, with a semi-naive fixpoint over the triples whose predicate the ontology says something
about. The rules (names from the OWL 2 RL rule tables, W3C OWL 2 Profiles §4.3):

* ``cax-sco``/``cax-eqc``  ``?x a ?c`` and ``?c rdfs:subClassOf|owl:equivalentClass ?d`` → ``?x a ?d``
* ``prp-dom``/``prp-rng``  ``?s ?p ?o`` and ``?p rdfs:domain|rdfs:range ?c`` → ``?s a ?c`` / ``?o a ?c``
  (the range rule only for a non-literal ``?o``; typing a literal is not RDF)
* ``prp-spo1``/``prp-eqp`` ``?s ?p ?o`` and ``?p rdfs:subPropertyOf|owl:equivalentProperty ?q`` → ``?s ?q ?o``
* ``prp-spo2``             ``owl:propertyChainAxiom`` of two properties (``remit:succeededBy`` =
  ``org:changedBy`` / ``org:resultingOrganization``)
* ``prp-inv1/2``, ``prp-symp``, ``prp-trp``  inverse, symmetric and transitive properties
* ``scm-sco``, ``scm-spo``, ``scm-dom1/2``, ``scm-rng1/2``  the schema's own sub-class, sub-property,
  domain and range closure

and nothing else (no ``owl:sameAs`` reasoning: a functional property with two values is refused by
:func:`inconsistencies`, not merged). On Remit's ontology and data this is the same set of triples
as :func:`kg.pipeline.owlrl_reason.infer` (owlrl) minus ``owl:sameAs`` consequences; ``tests/test_synth.py`` proves it.

Two entry points:

* :func:`infer_fast` — drop-in for :func:`kg.pipeline.owlrl_reason.infer` on rdflib graphs (returns the inferred graph);
* :func:`materialise` — on a pyoxigraph store: reads the ontology graph and the asserted graph and writes
  the inferred triples into the inferred named graph (no rdflib anywhere; the path for large builds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef

from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, OWL, RDF, RDFS
from kg.pipeline.owlrl_reason import is_noise

__all__ = ["Schema", "schema_from_triples", "closure_triples", "infer_fast", "materialise", "store_inconsistencies",
           "edge_plan", "RULES", "FAST_REASONER", "UNSUPPORTED", "unsupported_features",
           "inconsistencies"]

RULES = ("cax-sco", "cax-eqc", "prp-dom", "prp-rng", "prp-spo1", "prp-eqp", "prp-spo2", "prp-inv1",
         "prp-inv2", "prp-symp", "prp-trp", "scm-sco", "scm-spo", "scm-dom1", "scm-dom2", "scm-rng1", "scm-rng2")

_TYPE = str(RDF.type)
_SCO = str(RDFS.subClassOf)
_SPO = str(RDFS.subPropertyOf)
_DOM = str(RDFS.domain)
_RNG = str(RDFS.range)
_EQC = str(OWL.equivalentClass)
_EQP = str(OWL.equivalentProperty)
_INV = str(OWL.inverseOf)
_CHAIN = str(OWL.propertyChainAxiom)
_THING = str(OWL.Thing)
_FIRST, _REST, _NIL = str(RDF.first), str(RDF.rest), str(RDF.nil)


def _closure(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Strict transitive closure of a small relation (reflexive pairs dropped)."""
    out: dict[str, set[str]] = {}
    for start in edges:
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(edges.get(n, ()))
        seen.discard(start)
        out[start] = seen
    return out


@dataclass
class Schema:
    """What the ontology says about classes and properties, as IRI strings."""

    super_classes: dict[str, set[str]] = field(default_factory=dict)
    super_props: dict[str, set[str]] = field(default_factory=dict)
    domains: dict[str, set[str]] = field(default_factory=dict)
    ranges: dict[str, set[str]] = field(default_factory=dict)
    inverses: dict[str, set[str]] = field(default_factory=dict)
    symmetric: set[str] = field(default_factory=set)
    transitive: set[str] = field(default_factory=set)
    functional: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)  # declared ``owl:Class``
    chains: list[tuple[str, str, str]] = field(default_factory=list)  # (p1, p2, result)

    @property
    def properties(self) -> set[str]:
        """Every predicate a rule fires on."""
        props = set(self.super_props) | set(self.domains) | set(self.ranges) | set(self.inverses)
        props |= self.symmetric | self.transitive
        for p1, p2, _ in self.chains:
            props |= {p1, p2}
        return props

    def schema_triples(self) -> Iterator[tuple[str, str, str]]:
        """``scm-*``: the closed sub-class, sub-property, domain and range triples (IRIs)."""
        for c, sups in self.super_classes.items():
            for d in sups:
                yield c, _SCO, d
        for p, sups in self.super_props.items():
            for q in sups:
                yield p, _SPO, q
        for rel, table in ((_DOM, self.domains), (_RNG, self.ranges)):
            for p, classes in table.items():
                for c in classes:
                    yield p, rel, c
                if classes & self.classes:  # scm-dom1/scm-rng1 with scm-cls (``?c a owl:Class`` ⊑ owl:Thing)
                    yield p, rel, _THING


def schema_from_triples(triples: Iterable[tuple[str, str, str, bool]]) -> Schema:
    """Build a :class:`Schema` from ``(s, p, o, o_is_iri_or_bnode)`` string triples of the ontology."""
    sco: dict[str, set[str]] = defaultdict(set)
    spo: dict[str, set[str]] = defaultdict(set)
    dom: dict[str, set[str]] = defaultdict(set)
    rng: dict[str, set[str]] = defaultdict(set)
    inv: dict[str, set[str]] = defaultdict(set)
    first: dict[str, str] = {}
    rest: dict[str, str] = {}
    chain_heads: dict[str, str] = {}
    s = Schema()
    # axiom → (the table it goes to, both ways?): equivalence and inverse are each two sub-axioms
    tables: dict[str, tuple[dict[str, set[str]], bool]] = {
        _SCO: (sco, False), _EQC: (sco, True), _SPO: (spo, False), _EQP: (spo, True),
        _DOM: (dom, False), _RNG: (rng, False), _INV: (inv, True)}
    for subj, pred, obj, node in triples:
        if not node and pred not in (_FIRST,):
            continue
        if pred in tables:
            table, both = tables[pred]
            table[subj].add(obj)
            if both:
                table[obj].add(subj)
        elif pred == _TYPE and obj == str(OWL.SymmetricProperty):
            s.symmetric.add(subj)
        elif pred == _TYPE and obj == str(OWL.TransitiveProperty):
            s.transitive.add(subj)
        elif pred == _TYPE and obj == str(OWL.FunctionalProperty):
            s.functional.add(subj)
        elif pred == _TYPE and obj == str(OWL.Class):
            s.classes.add(subj)
        elif pred == _CHAIN:
            chain_heads[subj] = obj
        elif pred == _FIRST:
            first[subj] = obj
        elif pred == _REST:
            rest[subj] = obj
    for prop, head in sorted(chain_heads.items()):
        items, node = [], head
        while node != _NIL and node in first and len(items) < 10:
            items.append(first[node])
            node = rest.get(node, _NIL)
        if len(items) != 2:
            raise ValueError(f"owl:propertyChainAxiom of <{prop}>: only chains of two properties are supported "
                             f"(got {len(items)}); use kg.pipeline.owlrl_reason (owlrl) for this ontology")
        s.chains.append((items[0], items[1], prop))
    s.super_classes = _closure(sco)
    s.super_props = _closure(spo)
    # scm-dom1/scm-rng1 (a domain's super-classes are domains too); scm-dom2/scm-rng2 (inherit from super-properties)
    for table, out in ((dom, s.domains), (rng, s.ranges)):
        props = set(table) | {p for p, sups in s.super_props.items() if any(q in table for q in sups)}
        for p in props:
            classes = set(table.get(p, ()))
            for q in s.super_props.get(p, ()):
                classes |= table.get(q, set())
            for c in list(classes):
                classes |= s.super_classes.get(c, set())
            out[p] = classes
    s.inverses = {p: set(qs) for p, qs in inv.items()}
    return s


def closure_triples(
    schema: Schema,
    by_predicate: Callable[[str], Iterable[tuple[Hashable, Hashable]]],
    iri: Callable[[str], Hashable],
    is_literal: Callable[[Hashable], bool],
) -> set[tuple[Hashable, Hashable, Hashable]]:
    """The triples the rules derive that are not among the input triples read, engine-neutral.

    Every ``rdf:type`` triple and every triple of a predicate a rule fires on is read, so a derived
    triple can still be in the input only when its predicate is none of those (a super-property such as
    ``prov:wasDerivedFrom``, or a schema triple); callers drop those against their store.
    ``by_predicate(p)`` yields the ``(subject, object)`` pairs of predicate IRI ``p`` in the input;
    ``iri`` makes an engine term from an IRI string; ``is_literal`` tells literals apart.
    """
    T = iri(_TYPE)
    term: dict[str, Hashable] = {}

    def t(x: str) -> Hashable:
        if x not in term:
            term[x] = iri(x)
        return term[x]

    sup_c = {t(c): [t(d) for d in ds] for c, ds in schema.super_classes.items() if ds}
    sup_p = {t(p): [t(q) for q in qs] for p, qs in schema.super_props.items() if qs}
    dom = {t(p): [t(c) for c in cs] for p, cs in schema.domains.items() if cs}
    rng = {t(p): [t(c) for c in cs] for p, cs in schema.ranges.items() if cs}
    inv = {t(p): [t(q) for q in qs] for p, qs in schema.inverses.items() if qs}
    sym = {t(p) for p in schema.symmetric}
    trans = {t(p) for p in schema.transitive}
    chain_first: dict[Hashable, list[tuple[Hashable, Hashable]]] = defaultdict(list)
    chain_second: dict[Hashable, list[tuple[Hashable, Hashable]]] = defaultdict(list)
    for p1, p2, r in schema.chains:
        chain_first[t(p1)].append((t(p2), t(r)))
        chain_second[t(p2)].append((t(p1), t(r)))

    facts: set[tuple[Hashable, Hashable, Hashable]] = set()
    # indexes for the joins (chains, transitivity): (p, s) -> objects, (p, o) -> subjects
    out_idx: dict[tuple[Hashable, Hashable], set[Hashable]] = defaultdict(set)
    in_idx: dict[tuple[Hashable, Hashable], set[Hashable]] = defaultdict(set)
    join_preds = trans | set(chain_first) | set(chain_second)
    work: list[tuple[Hashable, Hashable, Hashable]] = []

    def add(s: Hashable, p: Hashable, o: Hashable) -> None:
        tr = (s, p, o)
        if tr not in facts:
            facts.add(tr)
            work.append(tr)
            if p in join_preds:
                out_idx[(p, s)].add(o)
                in_idx[(p, o)].add(s)

    for s_, o_ in by_predicate(_TYPE):
        add(s_, T, o_)
    for p_iri in sorted(schema.properties):
        p = t(p_iri)
        for s_, o_ in by_predicate(p_iri):
            add(s_, p, o_)
    initial = set(facts)

    while work:
        s, p, o = work.pop()
        if p == T:
            for d in sup_c.get(o, ()):
                add(s, T, d)
            continue
        lit = is_literal(o)
        for q in sup_p.get(p, ()):
            add(s, q, o)
        for c in dom.get(p, ()):
            add(s, T, c)
        if lit:
            continue
        for c in rng.get(p, ()):
            add(o, T, c)
        for q in inv.get(p, ()):
            add(o, q, s)
        if p in sym:
            add(o, p, s)
        if p in trans:
            for z in list(out_idx.get((p, o), ())):
                add(s, p, z)
            for a in list(in_idx.get((p, s), ())):
                add(a, p, o)
        for p2, r in chain_first.get(p, ()):
            for z in list(out_idx.get((p2, o), ())):
                add(s, r, z)
        for p1, r in chain_second.get(p, ()):
            for a in list(in_idx.get((p1, s), ())):
                add(a, r, o)
    for a, b, c in schema.schema_triples():
        facts.add((t(a), t(b), t(c)))
    return facts - initial


# --- rdflib ------------------------------------------------------------------------------------------

def _schema_from_graph(g: Graph) -> Schema:
    return schema_from_triples((str(s), str(p), str(o), not isinstance(o, Literal)) for s, p, o in g)


def infer_fast(ontology: Graph, asserted: Graph) -> Graph:
    """The inferred graph (closure minus asserted minus ontology minus noise), like :func:`kg.pipeline.owlrl_reason.infer`.

    Runs the targeted rules on ``ontology`` + ``asserted`` (neither is modified).
    """
    schema = _schema_from_graph(ontology)

    def by_predicate(p: str) -> Iterator[tuple[object, object]]:
        pred = URIRef(p)
        for g in (ontology, asserted):
            yield from g.subject_objects(pred)

    facts = closure_triples(schema, by_predicate, URIRef, lambda x: isinstance(x, Literal))
    inferred = Graph()
    for s, p, o in facts:
        tr = (s, p, o)
        if tr in asserted or tr in ontology or is_noise(s, p, o):  # type: ignore[arg-type]
            continue
        inferred.add(tr)  # type: ignore[arg-type]
    return inferred


# --- pyoxigraph --------------------------------------------------------------------------------------

def _ox_schema(store: ox.Store, graph: ox.NamedNode) -> Schema:
    return schema_from_triples(
        (q.subject.value, q.predicate.value, q.object.value, not isinstance(q.object, ox.Literal))
        for q in store.quads_for_pattern(None, None, None, graph)
    )


def edge_plan(schema: Schema) -> dict[str, set[tuple[str, bool]]]:
    """For each property ``p``: every ``(q, reversed)`` such that ``?s p ?o`` entails ``?s q ?o``
    (``?o q ?s`` when reversed), through sub-properties, inverses and symmetry (``p`` itself excluded)."""
    plan: dict[str, set[tuple[str, bool]]] = {}
    for p in schema.properties:
        seen = {(p, False)}
        stack = [(p, False)]
        while stack:
            q, rev = stack.pop()
            nxt = [(sup, rev) for sup in schema.super_props.get(q, ())]
            nxt += [(inv, not rev) for inv in schema.inverses.get(q, ())]
            if q in schema.symmetric:
                nxt.append((q, not rev))
            for item in nxt:
                if item not in seen:
                    seen.add(item)
                    stack.append(item)
        seen.discard((p, False))
        if seen:
            plan[p] = seen
    return plan


def _values(rows: Iterable[tuple[str, ...]]) -> str:
    return " ".join("(" + " ".join(rows_item for rows_item in row) + ")" for row in rows)


def materialise(
    store: ox.Store,
    ontology_graph: str = str(GRAPH_ONTOLOGY),
    asserted_graph: str = str(GRAPH_ASSERTED),
    inferred_graph: str = str(GRAPH_INFERRED),
) -> int:
    """Write the inferred triples of ``asserted_graph`` + ``ontology_graph`` into ``inferred_graph``.

    Same rules and result as :func:`infer_fast`, evaluated inside Oxigraph with a few SPARQL updates
    generated from the schema (no per-triple Python work). Everything already in either input graph is
    left out, as is noise (see :mod:`kg.pipeline.owlrl_reason`). The inferred graph is cleared first, so running twice
    gives the same store. Returns the number of inferred triples. Transitive properties (none in Remit's
    ontology) are closed by repeating the join until nothing is added.
    """
    onto, data, inf = (f"<{g}>" for g in (ontology_graph, asserted_graph, inferred_graph))
    schema = _ox_schema(store, ox.NamedNode(ontology_graph))
    store.clear_graph(ox.NamedNode(inferred_graph))
    src = f"VALUES ?g {{ {onto} {data} }} GRAPH ?g"
    every = f"VALUES ?g {{ {onto} {data} {inf} }} GRAPH ?g"
    plan = edge_plan(schema)

    def edges(where: str) -> None:
        if not plan:
            return
        for p, qs in sorted(plan.items()):  # one update per property (see step 3)
            fwd = " ".join(f"<{q}>" for q, rev in sorted(qs) if not rev)
            back = " ".join(f"<{q}>" for q, rev in sorted(qs) if rev)
            if fwd:
                store.update(f"""INSERT {{ GRAPH {inf} {{ ?s ?q ?o }} }} WHERE {{
                    {where} {{ ?s <{p}> ?o }} VALUES ?q {{ {fwd} }} }}""")
            if back:
                store.update(f"""INSERT {{ GRAPH {inf} {{ ?o ?q ?s }} }} WHERE {{
                    {where} {{ ?s <{p}> ?o }} FILTER(!isLiteral(?o)) VALUES ?q {{ {back} }} }}""")

    # 1. prp-spo1, prp-eqp, prp-inv, prp-symp over the input
    edges(src)
    # 2. prp-spo2 and prp-trp: join until nothing new, each new edge expanded by the plan again
    joins = [(f"<{a}>", f"<{b}>", f"<{r}>") for a, b, r in schema.chains]
    joins += [(f"<{p}>", f"<{p}>", f"<{p}>") for p in sorted(schema.transitive)]
    for _ in range(64 if joins else 0):
        before = len(store)
        for a, b, r in joins:
            store.update(f"""INSERT {{ GRAPH {inf} {{ ?x {r} ?z }} }} WHERE {{
                {{ {every} {{ ?x {a} ?y }} }} {{ VALUES ?h {{ {onto} {data} {inf} }} GRAPH ?h {{ ?y {b} ?z }} }}
                FILTER(!isLiteral(?z)) }}""")
        edges(f"GRAPH {inf}")
        if len(store) == before:
            break
    # 3. prp-dom, prp-rng (classes closed under sub-classes) over every edge, input and inferred;
    #    one update per property (a VALUES block of properties makes Oxigraph scan every triple)
    for p in sorted(set(schema.domains) | set(schema.ranges)):
        for side, classes in (("?s", schema.domains.get(p, set())), ("?o", schema.ranges.get(p, set()))):
            if not classes:
                continue
            lit = " FILTER(!isLiteral(?o))" if side == "?o" else ""
            store.update(f"""INSERT {{ GRAPH {inf} {{ {side} a ?c }} }} WHERE {{
                {every} {{ ?s <{p}> ?o }}{lit} VALUES ?c {{ {" ".join(f"<{c}>" for c in sorted(classes))} }} }}""")
    # 4. cax-sco, cax-eqc over asserted types (inferred ones are already closed)
    rows = [(f"<{c}>", f"<{d}>") for c, ds in sorted(schema.super_classes.items()) for d in sorted(ds)]
    if rows:
        store.update(f"""INSERT {{ GRAPH {inf} {{ ?x a ?d }} }} WHERE {{
            VALUES (?c ?d) {{ {_values(rows)} }} {src} {{ ?x a ?c }} }}""")
    # 5. scm-*: the schema's own closure
    store.extend([ox.Quad(ox.NamedNode(a), ox.NamedNode(b), ox.NamedNode(c), ox.NamedNode(inferred_graph))
                  for a, b, c in schema.schema_triples()])
    # 6. drop what was asserted, and noise
    builtin = " ".join(f'STRSTARTS(STR(?s), "{ns}") ||' for ns in (str(RDF), str(RDFS), str(OWL),
                                                                      "http://www.w3.org/2001/XMLSchema#"))
    store.update(f"""DELETE {{ GRAPH {inf} {{ ?s ?p ?o }} }} WHERE {{
        GRAPH {inf} {{ ?s ?p ?o }} {src} {{ ?s ?p ?o }} }}""")
    store.update(f"""DELETE {{ GRAPH {inf} {{ ?s ?p ?o }} }} WHERE {{
        GRAPH {inf} {{ ?s ?p ?o }}
        FILTER({builtin} (?p IN (<{_SCO}>, <{_SPO}>, <{_EQC}>, <{_EQP}>, <{OWL.sameAs}>) && ?s = ?o)
               || (?p IN (<{_TYPE}>, <{_SCO}>) && ?o IN (<{OWL.Thing}>, <{RDFS.Resource}>))) }}""")
    return sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(inferred_graph)))


# --- what the fast path covers, and its consistency checks --------------------------------------------

#: Name recorded in the manifest when the build reasons with this module.
FAST_REASONER = "kg.pipeline.reason (the OWL 2 RL rules of Remit's ontology; proven equal to owlrl)"

_OWL = str(OWL)
#: OWL terms whose entailments or inconsistencies this module does not compute (owl:disjointWith and
#: owl:FunctionalProperty are checked by :func:`inconsistencies`; everything else here needs owlrl).
UNSUPPORTED: frozenset[str] = frozenset(_OWL + n for n in (
    "AllDisjointClasses", "complementOf", "propertyDisjointWith", "AllDisjointProperties", "AsymmetricProperty",
    "IrreflexiveProperty", "InverseFunctionalProperty", "differentFrom", "AllDifferent", "sameAs", "hasKey",
    "maxCardinality", "maxQualifiedCardinality", "cardinality", "qualifiedCardinality", "someValuesFrom",
    "allValuesFrom", "hasValue", "hasSelf", "intersectionOf", "unionOf", "oneOf", "Nothing", "disjointUnionOf",
    "onDatatype", "withRestrictions", "NegativePropertyAssertion", "sourceIndividual"))


def unsupported_features(ontology: Graph) -> list[str]:
    """The OWL terms the ontology uses (as predicate, class or type) that the fast path does not reason
    with; empty for Remit's ontology, so ``kg build`` may use it (``tests/test_synth.py`` pins that)."""
    used = {str(p) for p in ontology.predicates()} | {str(o) for o in ontology.objects() if isinstance(o, URIRef)}
    return sorted(used & UNSUPPORTED)


def inconsistencies(ontology: Graph, asserted: Graph, inferred: Graph) -> list[tuple[str, list[URIRef]]]:
    """What makes ontology + data unusable on the fast path, as ``(message, nodes)``:

    * ``cax-dw``: an individual of two classes declared ``owl:disjointWith`` (owlrl's own message);
    * a subject with two values of an ``owl:FunctionalProperty``: OWL 2 RL would infer the values
      ``owl:sameAs`` (owlrl does); the fast path does not merge nodes, so it refuses instead of giving
      a different closure (build with ``--reference`` (owlrl) to accept the merge).
    """
    out: list[tuple[str, list[URIRef]]] = []
    graphs = (ontology, asserted, inferred)

    def types_of(x: object) -> set[object]:
        return {o for g in graphs for o in g.objects(x, RDF.type)}  # type: ignore[arg-type]

    for c1, c2 in sorted(ontology.subject_objects(OWL.disjointWith), key=str):
        members = {x for g in graphs for x in g.subjects(RDF.type, c1)}
        for x in sorted(members, key=str):
            if c2 in types_of(x):
                out.append((f"Disjoint classes {c1} and {c2} have a common individual {x}",
                            [n for n in (x, c1, c2) if isinstance(n, URIRef)]))
    functional = sorted(ontology.subjects(RDF.type, OWL.FunctionalProperty), key=str)
    for p in functional:
        values: dict[object, set[object]] = defaultdict(set)
        for g in graphs[1:]:
            for s, o in g.subject_objects(p):
                values[s].add(o)
        for s, vals in sorted(values.items(), key=lambda kv: str(kv[0])):
            if len(vals) > 1:
                shown = ", ".join(sorted(str(v) for v in vals))
                out.append((f"{s} has {len(vals)} values of the functional property {p}: {shown} (OWL 2 RL would "
                            "make them owl:sameAs; the fast reasoner does not merge nodes, so build with "
                            "--reference (owlrl) to accept that)",
                            [n for n in (s, *sorted(vals, key=str)) if isinstance(n, URIRef)]))
    return out


def store_inconsistencies(store: ox.Store, ontology: Graph) -> list[tuple[str, list[URIRef]]]:
    """:func:`inconsistencies` on an Oxigraph store holding the ontology, asserted and inferred graphs
    (the union is read; the messages are the same)."""
    out: list[tuple[str, list[URIRef]]] = []
    union = [ox.NamedNode(str(g)) for g in (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED)]
    for c1, c2 in sorted(ontology.subject_objects(OWL.disjointWith), key=str):
        rows = store.query(f"SELECT DISTINCT ?x WHERE {{ ?x a <{c1}> . ?x a <{c2}> }} ORDER BY ?x",
                           default_graph=union)
        for row in rows:
            x = URIRef(row[0].value) if isinstance(row[0], ox.NamedNode) else row[0].value
            out.append((f"Disjoint classes {c1} and {c2} have a common individual {x}",
                        [n for n in (x, c1, c2) if isinstance(n, URIRef)]))
    data = [ox.NamedNode(str(g)) for g in (GRAPH_ASSERTED, GRAPH_INFERRED)]
    for p in sorted(ontology.subjects(RDF.type, OWL.FunctionalProperty), key=str):
        rows = store.query(f"""SELECT ?s (GROUP_CONCAT(DISTINCT STR(?o); separator="\\u0000") AS ?vs)
            WHERE {{ ?s <{p}> ?o }} GROUP BY ?s HAVING(COUNT(DISTINCT ?o) > 1) ORDER BY ?s""",
                           default_graph=data)
        for row in rows:
            s = URIRef(row[0].value) if isinstance(row[0], ox.NamedNode) else row[0].value
            vals = sorted(row[1].value.split("\u0000"))
            shown = ", ".join(vals)
            out.append((f"{s} has {len(vals)} values of the functional property {p}: {shown} (OWL 2 RL would "
                        "make them owl:sameAs; the fast reasoner does not merge nodes, so build with "
                        "--reference (owlrl) to accept that)",
                        [n for n in (s, *(URIRef(v) for v in vals if "://" in v or v.startswith("urn:")))
                         if isinstance(n, URIRef)]))
    return out
