"""``kg check``: a draft agreement checked against everything else in the graph.

The draft is merged into an isolated, in-memory copy of the asserted graph built from ``data/`` (the
served store, ``build/`` and the endpoint never see it); with ``replaces`` the agreement it revises is
removed first (every triple whose subject is the agreement's IRI or an IRI under ``IRI/``, and their
blank-node closures). The copy is reasoned (:func:`kg.pipeline.owlrl_reason.infer`, owlrl), validated
(:func:`kg.pipeline.validate.validate_graphs`: SHACL shapes + QC queries) and put through the rule checks in
``queries/rules/*.rq``. Findings about the draft are reported with the draft's own line, the rule or
shape, and the contact point of the body that owns the finding; an *impact* section compares the named
queries ``overlaps`` and ``duplications`` before and after.

Everything that touches the draft runs in a killable worker (:func:`kg.revision.draft.run_isolated`) with a
deadline and a memory limit; :func:`check_draft` raises :class:`~kg.revision.draft.DraftTimeout` past it.

Rule files have a grlc-style header with ``#+ severity: Violation|Warning|Info`` and select ``?focus``,
``?agreement``, ``?message`` and optionally ``?path`` and ``?value``. Parameters ``asOf`` and
``contactCutoff`` (dates) are bound with pyoxigraph substitutions, never pasted into the text.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

import hashlib
import tempfile

from kg.paths import PROJECT_ROOT
from kg.pipeline.layout import BuildError, Layout, source_hash
from kg.pipeline.load import load_files
from kg.pipeline.steps import run
from kg.query.registry import bind_params, load_queries, select_page, term_display
from kg.query.remote import RemoteError, asserted_graph
from kg.rdf.canon import from_ox_mapped
from kg.rdf.rq import read_folder
from kg.rdf.view import StoreView
from kg.revision.draft import CONTEXT_PATH, Draft, DraftError, parse_draft, run_isolated
from kg.rdf.namespaces import (
    ID, OWL, PREFIXES, RDF, RDFS, REMIT, RSH, SH, VCARD, XSD, bind_all,
)
from kg.findings.model import SEVERITIES, label_of, severity_at_least, severity_of, short
from kg.findings.render import by_agreement_and_area, counts_line

__all__ = [
    "Rule", "CheckOptions", "CheckResult", "Item", "load_rules", "run_rules",
    "check_draft", "check_text", "render_check", "for_people", "vocabulary", "check_vocabulary",
    "Vocabulary", "NAMED_KINDS", "CHECK_FORMATS", "exit_code", "resolve_agreement",
]

ROOT = PROJECT_ROOT
CHECK_FORMATS: tuple[str, ...] = ("text", "json", "sarif", "turtle")
_SARIF_LEVEL = {"Violation": "error", "Warning": "warning", "Info": "note"}


# ----------------------------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class Rule:
    """A rule check: a SPARQL SELECT in ``queries/rules/<name>.rq``; each row is a finding."""

    name: str
    path: Path
    summary: str
    description: str
    severity: str
    params: tuple[str, ...]
    text: str

    @property
    def iri(self) -> URIRef:
        return RSH["rule/" + self.name]


def load_rules(rules_dir: Path | str) -> list[Rule]:
    """Every ``*.rq`` in ``rules_dir`` (sorted), its ``#+`` header read as YAML."""
    out: list[Rule] = []
    for path, meta, text in read_folder(rules_dir):
        severity = severity_of(meta, path)
        params = tuple(str(p["name"]) for p in meta.get("params") or [])
        unknown = set(params) - {"asOf", "contactCutoff"}
        if unknown:
            raise ValueError(f"{path}: unknown rule parameter(s) {', '.join(sorted(unknown))} (asOf, contactCutoff)")
        out.append(Rule(path.stem, path, str(meta.get("summary", path.stem)).strip(),
                        str(meta.get("description", "")).strip(), severity, params, text))
    return out


@dataclass
class RuleRow:
    rule: Rule
    focus: Node
    agreement: Optional[Node]
    message: str
    path: Optional[Node] = None
    value: Optional[Node] = None


def run_rules(store: ox.Store, rules: list[Rule], as_of: dt.date, contact_cutoff: dt.date,
              bnodes: Optional[dict[str, BNode]] = None) -> list[RuleRow]:
    """Run each rule over the union of the store's graphs; parameters bound by substitution."""
    values = {"asOf": as_of, "contactCutoff": contact_cutoff}
    rows: list[RuleRow] = []
    for rule in rules:
        subs = {ox.Variable(p): ox.Literal(values[p].isoformat(), datatype=ox.NamedNode(str(PREFIXES["xsd"]) + "date"))
                for p in rule.params}
        try:
            result = store.query(rule.text, use_default_graph_as_union=True, substitutions=subs)
        except SyntaxError as exc:
            raise ValueError(f"{rule.path}: invalid SPARQL: {exc}") from None
        names = [v.value for v in result.variables]
        if "focus" not in names or "message" not in names:
            raise ValueError(f"{rule.path}: a rule must select ?focus and ?message")
        for sol in result:
            get = {n: from_ox_mapped(sol[n], bnodes or {}) for n in names}
            if get.get("focus") is None:
                continue
            rows.append(RuleRow(rule, get["focus"], get.get("agreement"), str(get.get("message") or rule.summary),
                                get.get("path"), get.get("value")))
    return rows


# ----------------------------------------------------------------------------------------------- graph

def resolve_agreement(ref: str) -> URIRef:
    """An agreement IRI from an IRI, ``<IRI>``, a prefixed name (``agreement:x``) or a bare slug."""
    ref = ref.strip().strip("<>")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", ref):
        return URIRef(ref)
    if ":" in ref:
        prefix, local = ref.split(":", 1)
        if prefix in PREFIXES:
            return URIRef(PREFIXES[prefix] + local)
        raise ValueError(f"unknown prefix {prefix!r} in {ref!r}")
    return URIRef(PREFIXES["agreement"] + ref)


# ----------------------------------------------------------------------------------------------- results

@dataclass
class Item:
    """One finding about the draft, ready for people (text) and tools (JSON, SARIF, Turtle)."""

    severity: str
    message: str
    check: str
    kind: str  # shacl | qc | rule
    focus: str
    focus_label: Optional[str] = None
    agreement: Optional[str] = None
    agreement_label: Optional[str] = None
    area: Optional[str] = None
    area_label: Optional[str] = None
    path: Optional[str] = None
    value: Optional[str] = None
    file: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None
    contact: Optional[str] = None
    check_iri: Optional[str] = None
    check_summary: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class CheckOptions:
    replaces: Optional[str] = None
    as_of: Optional[str] = None  # YYYY-MM-DD; default today
    contact_max_age_years: float = 3.0
    root: str = str(ROOT)
    data_dirs: Optional[list[str]] = None
    store_url: Optional[str] = None  # http(s) SPARQL endpoint (kg push): the current graph is its asserted graph
    reference: bool = False  # reason with owlrl and validate with pyshacl (the reference engines)


@dataclass
class CheckResult:
    draft: dict[str, Any]
    items: list[Item]
    elsewhere: dict[str, int]
    impact: dict[str, Any]
    rules: list[dict[str, str]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(i.severity for i in self.items)
        return {s: c.get(s, 0) for s in SEVERITIES}

    def fails(self, threshold: str) -> bool:
        return any(severity_at_least(i.severity, threshold) for i in self.items)

    def to_json(self) -> dict[str, Any]:
        return {"draft": self.draft, "conforms": not self.items, "counts": self.counts,
                "findings": [i.to_dict() for i in self.items], "elsewhere": self.elsewhere,
                "impact": self.impact, "rules": self.rules}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CheckResult":
        return cls(draft=data["draft"], items=[Item(**i) for i in data["findings"]], elsewhere=data["elsewhere"],
                   impact=data["impact"], rules=data.get("rules", []))


def exit_code(result: CheckResult, fail_on: str) -> int:
    return 1 if result.fails(fail_on) else 0


# ----------------------------------------------------------------------------------------------- contacts

def _contact_text(cp: Node, g: Graph) -> str:
    parts = []
    for p in (VCARD.fn, VCARD.title):
        v = g.value(cp, p)
        if v is not None:
            parts.append(str(v))
    body = g.value(cp, REMIT.contactFor)
    if body is not None:
        parts.append(f"for {label_of(body, g) or short(body)}")
    for tel in g.objects(cp, VCARD.hasTelephone):
        v = g.value(tel, VCARD.hasValue) if isinstance(tel, BNode) else tel
        if v is not None:
            parts.append(str(v))
    for mail in g.objects(cp, VCARD.hasEmail):
        parts.append(str(mail))
    asof = g.value(cp, REMIT.informationAsOf)
    if asof is not None:
        parts.append(f"as of {asof}")
    return ", ".join(parts) or short(cp)


def _owner_contact(focus: Node, agreement: Optional[Node], value: Optional[Node], g: Graph) -> Optional[str]:
    """The contact of the body that owns the finding: the agreement's (or area's) contact point for the
    focus's lead body, else for the body named in the finding; else the agreement's own contacts."""
    if agreement is None:
        return None
    owner = g.value(focus, REMIT.leadBody) if not isinstance(focus, Literal) else None
    if owner is None and isinstance(value, URIRef) and (agreement, REMIT.party, value) in g:
        owner = value
    if owner is None:
        owner = g.value(focus, REMIT.contactFor)
    points = list(g.objects(focus, REMIT.contactPoint)) + list(g.objects(agreement, REMIT.contactPoint))
    if owner is not None:
        mine = [cp for cp in points if (cp, REMIT.contactFor, owner) in g]
        if mine:
            return "; ".join(_contact_text(cp, g) for cp in sorted(set(mine), key=str))
        return f"no contact point for {label_of(owner, g) or short(owner)} in this agreement"
    if points:
        return "; ".join(_contact_text(cp, g) for cp in sorted(set(points), key=str)[:2])
    return None


# ----------------------------------------------------------------------------------------------- impact

def _impact_rows(store: ox.Store, names: tuple[str, ...], queries_dir: Path, as_of: dt.date) -> dict[str, list[dict[str, str]]]:
    """The named queries ``names`` on a built store (its derived graph made)."""
    registry = load_queries(queries_dir)
    out: dict[str, list[dict[str, str]]] = {}
    for name in names:
        if name not in registry:
            continue
        nq = registry[name]
        raw = {"asOf": as_of.isoformat()} if any(p.name == "asOf" for p in nq.params) else {}
        page = select_page(store, nq.text, bind_params(nq, raw), limit=100_000, offset=0)
        out[name] = [{c: term_display(r.get(c)) for c in page.columns if r.get(c)} for r in page.rows]
    return out


def _before_rows(layout: Layout, base: Optional[Graph], names: tuple[str, ...], queries_dir: Path,
                 as_of: dt.date) -> dict[str, list[dict[str, str]]]:
    """The named queries on the current graph (the pipeline without the draft). They do not depend on the
    draft, so for the sources' graph (``base`` is None) they are cached in the system's temporary folder
    under a hash of every source, the build code, the queries and the date."""
    if base is not None:  # the current graph is an external store's: no cache key for it
        return _impact_rows(run(layout, asserted=base).store, names, queries_dir, as_of)
    h = hashlib.sha256(source_hash(layout)[0].encode() + as_of.isoformat().encode())
    for n in names:
        q = queries_dir / f"{n}.rq"
        h.update(q.read_bytes() if q.is_file() else b"-")
    cache = Path(tempfile.gettempdir()) / "remit-check-cache" / f"impact-{h.hexdigest()[:32]}.json"
    try:
        return json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    rows = _impact_rows(run(layout).store, names, queries_dir, as_of)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows), encoding="utf-8")
        tmp.replace(cache)
    except OSError:
        pass
    return rows


_KEYS = {"overlaps": ("body1", "function1", "body2", "function2", "settingType", "jurisdiction", "agreement"),
         "duplications": ("body1", "function1", "body2", "function2", "settingType", "jurisdiction")}


def _impact(before: dict[str, list[dict[str, str]]], after: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, keys in _KEYS.items():
        if name not in before or name not in after:
            continue
        b = {tuple(r.get(k, "") for k in keys): r for r in before[name]}
        a = {tuple(r.get(k, "") for k in keys): r for r in after[name]}
        out[name] = {"before": len(b), "after": len(a),
                     "resolved": [b[k] for k in sorted(set(b) - set(a))],
                     "introduced": [a[k] for k in sorted(set(a) - set(b))]}
    return out


# ----------------------------------------------------------------------------------------------- vocabulary

#: The languages the ontology is written in: a draft may use none of their terms but those the draft
#: context names (rdfs:label, rdfs:comment) and rdf:type, so it can never add axioms (owl:sameAs,
#: rdfs:subClassOf …) that change or unbound reasoning.
_META = tuple(str(ns) for ns in (RDF, RDFS, OWL, SH, XSD))
_DECLARING = (OWL.Class, RDFS.Class, RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
#: IRIs in object position under these must name something in the graph or in the draft.
NAMED_KINDS: dict[str, str] = {str(ID) + "body/": "body", str(ID) + "function/": "function",
                               str(ID) + "setting-type/": "setting type", str(ID) + "setting/": "establishment",
                               str(ID) + "jurisdiction/": "jurisdiction", str(ID) + "agreement/": "agreement"}


@dataclass
class Vocabulary:
    """What a draft may use: ``terms`` (predicates and classes), the agreement classes, and the IRIs the
    graph describes (``known``)."""

    terms: set[str]
    agreement_classes: set[str]
    known: set[str]


def _context_terms() -> set[str]:
    """The IRIs of the terms of the published draft context (keys, not prefixes)."""
    ctx = json.loads(CONTEXT_PATH.read_text(encoding="utf-8"))["@context"]
    prefixes = {k: v["@id"] for k, v in ctx.items() if isinstance(v, dict) and v.get("@prefix")}
    out: set[str] = set()
    for k, v in ctx.items():
        iri = v.get("@id") if isinstance(v, dict) and not v.get("@prefix") else v if isinstance(v, str) else None
        if k.startswith("@") or not isinstance(iri, str) or iri.startswith("@"):
            continue
        p, _, local = iri.partition(":")
        out.add(prefixes[p] + local if p in prefixes else iri)
    return out


def vocabulary(layout: Layout, base: Optional[Graph] = None) -> Vocabulary:
    """The closed vocabulary of drafts, derived from the loaded ontology (``ontology/`` and its vocabularies):
    every class and property it declares; of the vocabularies it reuses (vCard, FOAF, ORG, PROV, SKOS, DC
    terms …) the terms it uses, the draft context names or the data uses; of RDF, RDFS, OWL, SHACL and XSD only
    ``rdf:type`` and what the context names. ``known`` is every subject of the ontology and the data (or of
    ``base``, an external store's graph)."""
    ontology, _ = load_files(layout.ontology_files)
    declared = {str(s) for c in _DECLARING for s in ontology.subjects(RDF.type, c) if isinstance(s, URIRef)}
    used = {str(t) for s, p, o in ontology for t in (p, o) if isinstance(t, URIRef)}
    used |= {str(o) for o in ontology.objects(None, RDF.type) if isinstance(o, URIRef)}
    known = {str(s) for s in ontology.subjects() if isinstance(s, URIRef)}
    data_terms: set[str] = set()
    if base is not None:
        known |= {str(s) for s in base.subjects() if isinstance(s, URIRef)}
        data_terms = {str(p) for p in base.predicates()} | {str(o) for o in base.objects(None, RDF.type)}
    else:
        for path in layout.data_files:
            for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
                if isinstance(q.subject, ox.NamedNode):
                    known.add(q.subject.value)
                data_terms.add(q.predicate.value)
                if q.predicate.value == str(RDF.type) and isinstance(q.object, ox.NamedNode):
                    data_terms.add(q.object.value)
    context = _context_terms()
    terms = {t for t in declared if not t.startswith(_META)}
    for t in used | context | data_terms:
        if t.startswith(str(REMIT)):
            continue  # Remit's own terms: only those the ontology declares
        if t.startswith(_META) and t not in context and t != str(RDF.type):
            continue
        if t.startswith(str(ID)):
            continue  # instances (functions, setting types …) are not terms
        terms.add(t)
    agreement = {str(REMIT.Agreement)}
    todo = [REMIT.Agreement]
    while todo:
        for sub in ontology.subjects(RDFS.subClassOf, todo.pop()):
            if isinstance(sub, URIRef) and str(sub) not in agreement:
                agreement.add(str(sub))
                todo.append(sub)
    return Vocabulary(terms, agreement, known)


def _nearest(iri: str, pool: Any, n: int = 3) -> list[str]:
    import difflib

    ns = iri.rsplit("/", 1)[0] + "/" if "#" not in iri else iri.rsplit("#", 1)[0] + "#"
    local = iri[len(ns):]
    candidates = {str(t)[len(ns):]: str(t) for t in pool if str(t).startswith(ns) and "/" not in str(t)[len(ns):]}
    close = difflib.get_close_matches(local, sorted(candidates), n=n, cutoff=0.6)
    if not close:  # another namespace: compare the whole short names
        shorts = {short(URIRef(t)): t for t in pool}
        return [shorts[c] for c in difflib.get_close_matches(short(URIRef(iri)), sorted(shorts), n=n, cutoff=0.6)]
    return [candidates[c] for c in close]


def check_vocabulary(draft: Draft, vocab: Vocabulary) -> None:
    """Refuse, with every place, a draft that uses a predicate or class outside :func:`vocabulary`, names a
    body, function, setting type, establishment, jurisdiction or agreement that neither the graph nor the
    draft defines, or describes no agreement. Raises :class:`DraftError`."""
    g = draft.graph
    defined = {str(s) for s in g.subjects() if isinstance(s, URIRef)}
    problems: dict[str, tuple[tuple[int, int], str]] = {}

    def where(term: Node) -> tuple[int, int]:
        return draft.term_location(str(term)) or (1, 1)

    def name(iri: str, pool: Any) -> str:
        near = _nearest(iri, pool)
        return (" — did you mean " + " or ".join(short(URIRef(t)) for t in near) + "?") if near else ""

    for s, p, o in g:
        if str(p) not in vocab.terms and str(p) not in problems:
            hint = (" (a draft states facts about agreements; it cannot add OWL, RDFS or SHACL axioms)"
                    if str(p).startswith(_META) else name(str(p), vocab.terms))
            problems[str(p)] = (where(p), f"{short(p)} is not a term of Remit's vocabulary (ontology/remit.ttl and "
                                          f"the draft context): a draft may not use it{hint}")
        if p == RDF.type and isinstance(o, URIRef) and str(o) not in vocab.terms and str(o) not in problems:
            problems[str(o)] = (where(o), f"{short(o)} is not a class of Remit's vocabulary{name(str(o), vocab.terms)}")
        if isinstance(o, URIRef) and p != RDF.type and str(o) not in problems:
            ns, kind = next(((ns, k) for ns, k in NAMED_KINDS.items() if str(o).startswith(ns)), ("", None))
            if kind and str(o) not in vocab.known and str(o) not in defined:
                pool = [t for t in vocab.known | defined if t.startswith(ns)]
                problems[str(o)] = (where(o), f"unknown {kind} {short(o)}: it is neither in the graph nor defined in "
                                              f"the draft{name(str(o), pool)}")
    if problems:
        items = sorted(problems.values())
        (line, col), first = items[0]
        more = "".join(f"\n{draft.name}:{ln}:{c}: {m}" for (ln, c), m in items[1:])
        raise DraftError(draft.name, first + more, line, col)
    if not any(str(c) in vocab.agreement_classes for c in g.objects(None, RDF.type)):
        raise DraftError(draft.name, "the draft describes no agreement: nothing in it has the type Agreement (or "
                         "MemorandumOfUnderstanding, Protocol …); give the agreement an id and a type", 1, 1)


# ----------------------------------------------------------------------------------------------- the check

_IRI_IN_TEXT = re.compile(r"<?(https?://[^\s<>\"'(),;]+?)>?(?=[\s,;:()\"']|\.(?:\s|$)|$)")


def for_people(message: str, g: Any) -> str:
    """``message`` with each full IRI replaced by its label and prefixed name (``HM Inspectorate of
    Probation (body:hmi-probation)``), or the prefixed name alone when it has no label."""
    def name(m: re.Match[str]) -> str:
        iri = URIRef(m.group(1))
        label = label_of(iri, g)
        return f"{label} ({short(iri)})" if label else short(iri)
    return _IRI_IN_TEXT.sub(name, message)


def _in_draft(focus: str, agreement: Optional[str], draft_subjects: set[str], draft_agreements: set[str]) -> bool:
    return focus in draft_subjects or (agreement is not None and agreement in draft_agreements)


def check_text(text: str, fmt: str, name: str, options: CheckOptions) -> dict[str, Any]:
    """Run the build pipeline (:func:`kg.pipeline.steps.run`) with the draft laid over the data, then the
    rule checks; return the JSON result. Runs in this process (:func:`check_draft` isolates it)."""
    draft = parse_draft(text, fmt, name)
    root = Path(options.root)
    layout = Layout(root=root, data=[Path(d) for d in options.data_dirs] if options.data_dirs else None)
    as_of = dt.date.fromisoformat(options.as_of) if options.as_of else dt.date.today()
    days = int(round(options.contact_max_age_years * 365.25))
    cutoff = as_of - dt.timedelta(days=days)

    base: Optional[Graph] = None
    if options.store_url:  # kg check --store URL: the current graph is the external store's asserted graph
        try:
            base = asserted_graph(options.store_url)
        except RemoteError as exc:
            raise DraftError(name, f"--store: {exc}") from None
    # before anything is reasoned: the closed vocabulary, the names the draft uses, an agreement at all
    check_vocabulary(draft, vocabulary(layout, base))
    rules = load_rules(root / "queries" / "rules")

    replaced = None
    if options.replaces:
        replaced = resolve_agreement(options.replaces)
    rule_rows: list[RuleRow] = []

    def rules_step(store: ox.Store, loaded: Any, report: Any) -> None:
        rule_rows.extend(run_rules(store, rules, as_of, cutoff))

    try:
        result = run(layout, asserted=base, overlay=draft.graph, replaces=replaced, before_derive=rules_step,
                     reference=options.reference)
    except BuildError as exc:
        if replaced is not None and str(exc) == f"no agreement {replaced} in the graph":
            raise DraftError(name, f"--replaces {options.replaces}: no agreement {replaced} in the graph") from None
        if "inconsistent" not in str(exc):
            raise DraftError(name, str(exc).replace("\n", " ")) from None
        iris = re.findall(r"https?://[^\s,()'\"]+", str(exc))
        where = next((draft.location(i) for i in iris if draft.location(i)), None)
        raise DraftError(name, str(exc).split("\n")[0] + " " + "; ".join(
            line.strip() for line in str(exc).split("\n")[1:] if line.strip().startswith("-")), *(where or (None, None))) from None
    report = result.report
    union = StoreView(result.store)
    draft_subjects = {str(s) for s in draft.graph.subjects() if isinstance(s, URIRef)}
    draft_agreements = {str(s) for s in draft.graph.subjects(RDF.type, None)
                        if (s, RDF.type, REMIT.Agreement) in union and isinstance(s, URIRef)}

    items: list[Item] = []
    elsewhere: Counter[str] = Counter()

    def place(focus: str, area: Optional[str], agreement: Optional[str]) -> tuple[Optional[int], Optional[int]]:
        for iri in (focus, area, agreement):
            if iri and draft.location(iri):
                return draft.location(iri)  # type: ignore[return-value]
        return (None, None)

    for f in report.findings:
        if not _in_draft(f.focus, f.agreement, draft_subjects, draft_agreements):
            elsewhere[f.severity] += 1
            continue
        focus_node: Node = URIRef(f.focus) if not f.focus.startswith("_:") else BNode(f.focus[2:])
        line, col = place(f.focus, f.area, f.agreement)
        ag = URIRef(f.agreement) if f.agreement else None
        check_iri = _expand(f.check) if f.kind == "shacl" else str(RSH["qc/" + f.check[3:]])
        items.append(Item(f.severity, for_people(f.message, union), f.check, f.kind, f.focus, f.focus_label, f.agreement,
                          f.agreement_label, f.area, f.area_label, f.path, f.value, name if line else None, line, col,
                          _owner_contact(focus_node, ag, URIRef(f.value) if f.value and f.value.startswith("http") else None,
                                         union), check_iri, None))

    for row in rule_rows:
        focus = str(row.focus)
        agreement = str(row.agreement) if row.agreement is not None else None
        if not _in_draft(focus, agreement, draft_subjects, draft_agreements):
            elsewhere[row.rule.severity] += 1
            continue
        area = focus if (row.focus, RDF.type, REMIT.AreaOfJointWork) in union else None
        label = label_of(row.focus, union)
        subject = f'"{label}" ({short(row.focus)})' if label else short(row.focus)
        message = for_people(f"{subject} {row.message}".rstrip(".") + ".", union)
        line, col = place(focus, area, agreement)
        items.append(Item(row.rule.severity, message, f"rule:{row.rule.name}", "rule", focus, label, agreement,
                          label_of(row.agreement, union), area, label_of(URIRef(area), union) if area else None,
                          str(row.path) if row.path is not None else None,
                          (row.value.n3() if isinstance(row.value, Literal) else str(row.value)) if row.value is not None else None,
                          name if line else None, line, col,
                          _owner_contact(row.focus, row.agreement, row.value, union), str(row.rule.iri), row.rule.summary))
    items.sort(key=lambda i: (SEVERITIES.index(i.severity), i.agreement or "~", i.area or "~", i.focus, i.check, i.message))
    seen: set[tuple[str, str, str, str]] = set()
    unique = []
    for i in items:
        k = (i.severity, i.check, i.focus, i.message)
        if k not in seen:
            seen.add(k)
            unique.append(i)

    # impact: the named queries overlaps and duplications, before and after
    queries_dir = root / "queries"
    names = ("overlaps", "duplications")
    impact = _impact(_before_rows(layout, base, names, queries_dir, as_of),
                     _impact_rows(result.store, names, queries_dir, as_of))

    result = CheckResult(
        draft={"file": name, "format": draft.format, "triples": len(draft.graph),
               "agreements": sorted(draft_agreements), "replaces": str(replaced) if replaced else None,
               "removedTriples": result.loaded.removed, "asOf": as_of.isoformat(), "contactCutoff": cutoff.isoformat()},
        items=unique, elsewhere={s: elsewhere.get(s, 0) for s in SEVERITIES}, impact=impact,
        rules=[{"id": f"rule:{r.name}", "iri": str(r.iri), "summary": r.summary, "severity": r.severity} for r in rules])
    return result.to_json()


def _expand(curie: str) -> str:
    if ":" in curie and curie.split(":", 1)[0] in PREFIXES:
        p, local = curie.split(":", 1)
        return PREFIXES[p] + local
    return curie.strip("<>")


def check_draft(text: str, fmt: str, name: str, options: Optional[CheckOptions] = None, timeout: float = 120.0,
                memory_bytes: Optional[int] = 3 << 30) -> CheckResult:
    """:func:`check_text` in a killable worker with a deadline and a memory limit.

    Raises :class:`~kg.revision.draft.DraftError` (located bad input), :class:`~kg.revision.draft.DraftRefused` or
    :class:`~kg.revision.draft.DraftTimeout`."""
    data = run_isolated(check_text, (text, fmt, name, options or CheckOptions()), timeout, memory_bytes)
    return CheckResult.from_json(data)


# ----------------------------------------------------------------------------------------------- output

def _row_text(r: dict[str, str]) -> str:
    b1 = r.get("body1Label") or r.get("body1", "")
    b2 = r.get("body2Label") or r.get("body2", "")
    st = r.get("settingTypeLabel") or r.get("settingType", "")
    f1 = short(URIRef(r["function1"])) if r.get("function1") else ""
    f2 = short(URIRef(r["function2"])) if r.get("function2") else ""
    j = r.get("jurisdictionLabel") or ""
    text = f"{b1} ({f1}) and {b2} ({f2}) in {st}" + (f", {j}" if j else "")
    if r.get("agreement"):
        text += f" — covered by {r.get('agreementLabel') or r['agreement']}"
        text += f", lead {r.get('leadLabel') or r['lead']}" if r.get("lead") else ", no lead named"
    return text


def render_text(result: CheckResult) -> str:
    out: list[str] = []
    d = result.draft
    head = f"Check of {d['file']} ({d['format']}, {d['triples']} triples)"
    if d.get("replaces"):
        head += f", replacing {short(URIRef(d['replaces']))} ({d['removedTriples']} triples removed)"
    out.append(head)
    out.append(f"As of {d['asOf']}; contact details dated before {d['contactCutoff']} count as stale.")
    out.append("Findings about the draft: " + counts_line(result.counts))
    for title, areas in by_agreement_and_area(result.items):
        out.append("")
        out.append(title)
        for area, indent, members in areas:
            if area:
                out.append(f"  {area}")
            for i in members:
                out.append(f"{indent}{i.severity.upper()} {i.message}")
                sub = indent + "    "
                if i.line:
                    out.append(f"{sub}at: {i.file}:{i.line}:{i.column}")
                what = i.check_summary or ""
                out.append(f"{sub}{'rule' if i.kind == 'rule' else 'shape' if i.kind == 'shacl' else 'check'}: "
                           f"{i.check}" + (f" ({what})" if what else ""))
                if i.contact:
                    out.append(f"{sub}contact: {i.contact}")
    out.append("")
    out.append("Impact on the graph (named queries overlaps and duplications, before and after the draft)")
    for name, label in (("duplications", "Duplicated work with no lead"), ("overlaps", "Overlaps covered by an agreement")):
        imp = result.impact.get(name)
        if not imp:
            continue
        out.append(f"  {label}: {imp['before']} before, {imp['after']} after")
        verbs = ("resolved", "introduced") if name == "duplications" else ("no longer covered", "newly covered")
        for key, verb in zip(("resolved", "introduced"), verbs):
            rows = imp[key]
            out.append(f"    {verb}: {len(rows)}")
            for r in rows[:20]:
                out.append(f"      - {_row_text(r)}")
            if len(rows) > 20:
                out.append(f"      … and {len(rows) - 20} more (see --format json)")
    e = result.elsewhere
    if any(e.values()):
        out.append("")
        out.append("Elsewhere in the graph (not about the draft, not counted): "
                   + ", ".join(f"{e[s]} {s.lower()}" for s in SEVERITIES))
    return "\n".join(out) + "\n"


def render_sarif(result: CheckResult) -> dict[str, Any]:
    """SARIF 2.1.0: one run, a rule per check used, a result per finding with the draft's line."""
    from kg import __version__

    checks: dict[str, dict[str, Any]] = {}
    for r in result.rules:
        checks[r["id"]] = {"id": r["id"], "name": r["id"].split(":", 1)[1], "helpUri": r["iri"],
                           "shortDescription": {"text": r["summary"]},
                           "defaultConfiguration": {"level": _SARIF_LEVEL[r["severity"]]}}
    results = []
    for i in result.items:
        if i.check not in checks:
            checks[i.check] = {"id": i.check, "name": i.check.split(":", 1)[-1],
                               "shortDescription": {"text": i.check_summary or i.check},
                               **({"helpUri": i.check_iri} if i.check_iri else {})}
        res: dict[str, Any] = {"ruleId": i.check, "level": _SARIF_LEVEL[i.severity], "message": {"text": i.message},
                               "properties": {k: v for k, v in {"focusNode": i.focus, "agreement": i.agreement,
                                                                "area": i.area, "contact": i.contact,
                                                                "severity": i.severity}.items() if v}}
        loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": result.draft["file"]}}}
        if i.line:
            loc["physicalLocation"]["region"] = {"startLine": i.line, "startColumn": i.column or 1}
        loc["logicalLocations"] = [{"fullyQualifiedName": i.focus, "kind": "resource"}]
        res["locations"] = [loc]
        results.append(res)
    ids = sorted(checks)
    index = {k: n for n, k in enumerate(ids)}
    for res in results:
        res["ruleIndex"] = index[res["ruleId"]]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "remit-kg-check", "version": __version__,
                                "informationUri": "https://w3id.org/remit/", "rules": [checks[k] for k in ids]}},
            "artifacts": [{"location": {"uri": result.draft["file"]}}],
            "results": results,
        }],
    }


def render_turtle(result: CheckResult) -> str:
    """``sh:ValidationReport`` with a ``sh:ValidationResult`` per finding; rules are ``sh:SPARQLConstraint``s."""
    from kg.rdf.serialize import serialize_graph

    g = bind_all(Graph())
    report = BNode()
    g.add((report, RDF.type, SH.ValidationReport))
    g.add((report, SH.conforms, Literal(not result.items)))
    for i in result.items:
        res = BNode()
        g.add((report, SH.result, res))
        g.add((res, RDF.type, SH.ValidationResult))
        g.add((res, SH.focusNode, URIRef(i.focus) if not i.focus.startswith("_:") else BNode(i.focus[2:])))
        g.add((res, SH.resultSeverity, SH[i.severity]))
        g.add((res, SH.resultMessage, Literal(i.message, lang="en")))
        if i.check_iri:
            g.add((res, SH.sourceShape if i.kind == "shacl" else SH.sourceConstraint, URIRef(i.check_iri)))
        if i.kind != "shacl":
            g.add((res, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
        if i.path:
            g.add((res, SH.resultPath, URIRef(i.path)))
        if i.value and i.value.startswith(("http://", "https://")):
            g.add((res, SH.value, URIRef(i.value)))
    for r in result.rules:
        if any(i.check == r["id"] for i in result.items):
            g.add((URIRef(r["iri"]), RDF.type, SH.SPARQLConstraint))
            g.add((URIRef(r["iri"]), RDFS.label, Literal(r["summary"], lang="en")))
            g.add((URIRef(r["iri"]), SH.severity, SH[r["severity"]]))
    return serialize_graph(g)


def render_check(result: CheckResult, fmt: str = "text") -> str:
    if fmt == "text":
        return render_text(result)
    if fmt == "json":
        return json.dumps(result.to_json(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if fmt == "sarif":
        return json.dumps(render_sarif(result), indent=2, ensure_ascii=False) + "\n"
    if fmt == "turtle":
        return render_turtle(result)
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(CHECK_FORMATS)}")


# ----------------------------------------------------------------------------------------------- command

class ParamError(ValueError):
    """A bad option of ``kg check`` / ``POST /check``; ``param`` is its name as the caller wrote it."""

    def __init__(self, param: str, message: str):
        self.param = param
        super().__init__(message)


#: ``asOf`` must fall in this range (a check judges dates of agreements, not of any century).
AS_OF_RANGE: tuple[dt.date, dt.date] = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))
#: The largest ``contactMaxAge``, in years.
MAX_CONTACT_AGE_YEARS = 100.0
FAIL_ON: tuple[str, ...] = ("violation", "warning", "info", "none")
#: The parameters of a check and how the command line spells them (HTTP uses the keys themselves).
CLI_NAMES: dict[str, str] = {"replaces": "--replaces", "asOf": "--as-of", "contactMaxAge": "--contact-max-age",
                             "failOn": "--fail-on", "format": "--format", "inputFormat": "--input-format",
                             "name": "name"}


def _suggest(word: str, choices: Any) -> str:
    import difflib

    m = difflib.get_close_matches(str(word).lower(), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {m[0]!r}?)" if m else ""


def parse_max_age(value: Any, param: str = "--contact-max-age") -> float:
    """``3`` / ``3y`` / ``2.5`` years or ``18m`` months, as years, at most :data:`MAX_CONTACT_AGE_YEARS`."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParamError(param, f"{param} {value!r}: give years (3, 2.5, 3y) or months (18m)")
    m = re.fullmatch(r"\s*(\d{1,6}(?:\.\d{1,6})?)\s*([ym]?)\s*", str(value).lower())
    if not m:
        raise ParamError(param, f"{param} {value!r}: give years (3, 2.5, 3y) or months (18m)")
    n = float(m.group(1))
    years = n / 12 if m.group(2) == "m" else n
    if years > MAX_CONTACT_AGE_YEARS:
        raise ParamError(param, f"{param} {value!r}: at most {MAX_CONTACT_AGE_YEARS:g} years")
    return years


@dataclass
class CheckParams:
    """The validated parameters of one check."""

    options: CheckOptions
    fail_on: str = "violation"
    format: Optional[str] = None  # output format (text|json|sarif|turtle)
    input_format: Optional[str] = None  # turtle|json-ld|yaml
    name: Optional[str] = None


def validate_check_params(raw: dict[str, Any], names: Optional[dict[str, str]] = None,
                          allowed: Optional[set[str]] = None) -> CheckParams:
    """Every parameter of a check, validated the same way for ``kg check`` and ``POST /check``.

    ``raw`` maps the parameter names (``replaces``, ``asOf``, ``contactMaxAge``, ``failOn``, ``format``,
    ``inputFormat``, ``name``) to what the caller gave; ``names`` says how the caller spells them (the
    command line's ``--fail-on``; HTTP uses the names themselves). With ``allowed``, any other key is an
    error. Raises :class:`ParamError` naming the parameter: never a silent default."""
    from kg.revision.draft import FORMATS

    names = names or {}
    n = lambda k: names.get(k, k)  # noqa: E731
    if allowed is not None:
        for k in raw:
            if k not in allowed:
                raise ParamError(k, f"unknown parameter {k!r}{_suggest(k, sorted(allowed))}; "
                                    f"the parameters are {', '.join(sorted(allowed))}")
    for k, v in raw.items():
        if v is not None and k != "contactMaxAge" and not isinstance(v, str):
            raise ParamError(n(k), f"{n(k)} must be a string, not {v!r}")
    fail_on = raw.get("failOn")
    fail_on = "violation" if fail_on is None else fail_on
    if fail_on.lower() not in FAIL_ON:
        raise ParamError(n("failOn"), f"{n('failOn')} {fail_on!r} is not one of {', '.join(FAIL_ON)}"
                         + _suggest(fail_on, FAIL_ON))
    fmt = raw.get("format")
    if fmt is not None and fmt not in CHECK_FORMATS:
        raise ParamError(n("format"), f"{n('format')} {fmt!r} is not one of {', '.join(CHECK_FORMATS)}"
                         + _suggest(fmt, CHECK_FORMATS))
    input_format = raw.get("inputFormat")
    if input_format is not None and input_format not in FORMATS:
        raise ParamError(n("inputFormat"), f"{n('inputFormat')} {input_format!r} is not one of {', '.join(FORMATS)}"
                         + _suggest(input_format, FORMATS))
    as_of = raw.get("asOf")
    if as_of is not None:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
                raise ValueError
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise ParamError(n("asOf"), f"{n('asOf')} {as_of!r} is not a date (YYYY-MM-DD)") from None
        lo, hi = AS_OF_RANGE
        if not lo <= day <= hi:
            raise ParamError(n("asOf"), f"{n('asOf')} {as_of!r} is outside {lo.isoformat()}..{hi.isoformat()}")
    replaces = raw.get("replaces") or None
    if replaces is not None:
        try:
            resolve_agreement(replaces)
        except ValueError as exc:
            raise ParamError(n("replaces"), f"{n('replaces')} {replaces!r}: {exc}") from None
    age = raw.get("contactMaxAge")
    years = 3.0 if age is None else parse_max_age(age, n("contactMaxAge"))
    name = raw.get("name")
    if name is not None and (len(name) > 300 or any(ord(c) < 32 for c in name)):
        raise ParamError(n("name"), f"{n('name')} must be a file name of at most 300 characters, without control characters")
    return CheckParams(CheckOptions(replaces=replaces, as_of=as_of, contact_max_age_years=years),
                       fail_on.lower(), fmt, input_format, name)


def parse_args_check(replaces: Optional[str], as_of: Optional[str], contact_max_age: str, fail_on: str,
                     fmt: str, input_format: Optional[str] = None) -> tuple[CheckOptions, float, int]:
    """Check the command's options (:func:`validate_check_params`); return the options, the deadline and the
    memory limit (from settings)."""
    from kg.settings import get_settings

    params = validate_check_params({"replaces": replaces, "asOf": as_of, "contactMaxAge": contact_max_age,
                                    "failOn": fail_on, "format": fmt, "inputFormat": input_format}, CLI_NAMES)
    settings = get_settings()
    return params.options, settings.check_timeout, settings.check_memory_mb << 20


def run_check_command(draft: Path, options: CheckOptions, fmt: str, fail_on: str, input_format: Optional[str],
                      timeout: float, memory: int) -> tuple[int, str, str]:
    """What ``kg check`` does: (exit code, stdout, stderr). Exit 0 below --fail-on, 1 at or above, 2 bad input."""
    from kg.revision.draft import DraftTimeout, detect_format, read_text

    try:
        text = read_text(draft)
        source_format = input_format or detect_format(str(draft), text=text)
        result = check_draft(text, source_format, str(draft), options, timeout, memory)
    except DraftError as exc:
        return 2, "", f"{exc}\ncheck failed: the draft was not checked"
    except DraftTimeout as exc:
        return 2, "", f"error: {exc}"
    except ValueError as exc:
        return 2, "", f"error: {exc}"
    return exit_code(result, fail_on), render_check(result, fmt), ""


__all__ += ["parse_max_age", "parse_args_check", "run_check_command", "ParamError", "CheckParams",
            "validate_check_params", "AS_OF_RANGE", "MAX_CONTACT_AGE_YEARS", "FAIL_ON", "CLI_NAMES"]
