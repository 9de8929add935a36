"""Validation: SHACL shapes (pyshacl) plus the quality-check queries in ``queries/qc/*-violation.rq``.

Both produce :class:`Finding` objects with a severity (``Violation``, ``Warning`` or ``Info``), a plain
English message, the focus node, its label, the agreement and area of joint work it belongs to, the
citation it carries and the place in the sources where it is written. ``validate_graphs`` returns a
:class:`Report` holding the findings and the RDF report (``sh:ValidationReport``, QC results included).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.loader import SourceFile, locate_term
from kg.namespaces import (
    DCTERMS, FOAF, GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, PREFIXES, RDF, RDFS, REMIT, RSH, SH,
    SKOS, XSD, bind_all,
)

__all__ = [
    "SEVERITIES", "Finding", "Report", "QCQuery", "load_qc_queries", "run_qc", "run_shacl", "validate_graphs",
    "severity_at_least", "short",
]

#: Severities from the most to the least severe.
SEVERITIES: tuple[str, ...] = ("Violation", "Warning", "Info")
_SH_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
_LABELS = (SKOS.prefLabel, RDFS.label, DCTERMS.title, FOAF.name)


def severity_at_least(severity: str, threshold: str) -> bool:
    """True when ``severity`` is at or above ``threshold`` (``none`` is never reached)."""
    threshold = threshold.capitalize()
    if threshold not in SEVERITIES:
        return False
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


def short(node: Node | str | None) -> str:
    """A readable compact form of an IRI (``id:agreement/x``, ``remit:leadBody``); literals quoted."""
    if node is None:
        return ""
    if isinstance(node, Literal):
        return f'"{node}"'
    s = str(node)
    if isinstance(node, BNode):
        return f"_:{s}"
    best = ""
    for prefix, ns in PREFIXES.items():
        if s.startswith(ns) and len(ns) > len(best):
            best, name = ns, prefix
    return f"{name}:{s[len(best):]}" if best else f"<{s}>"


@dataclass
class Finding:
    """One problem found by a shape or a quality check, with what a person needs to fix it."""

    severity: str
    message: str
    focus: str
    check: str
    kind: str  # "shacl" or "qc"
    path: str | None = None
    value: str | None = None
    focus_label: str | None = None
    agreement: str | None = None
    agreement_label: str | None = None
    area: str | None = None
    area_label: str | None = None
    document: str | None = None
    document_label: str | None = None
    locator: str | None = None
    location: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        return (SEVERITIES.index(self.severity), self.agreement or "~", self.area or "~", self.focus,
                self.check, self.path or "", self.value or "", self.message)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Report:
    """Findings plus the RDF report graph (``sh:ValidationReport`` with QC results)."""

    findings: list[Finding] = field(default_factory=list)
    graph: Graph | None = None

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in SEVERITIES}

    @property
    def conforms(self) -> bool:
        return not self.findings

    def fails(self, threshold: str) -> bool:
        """True when a finding is at or above ``threshold`` (violation, warning, info; none never fails)."""
        return any(severity_at_least(f.severity, threshold) for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"conforms": self.conforms, "counts": self.counts,
                "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Report":
        return cls(findings=[Finding(**f) for f in data.get("findings", [])])


# --- QC queries --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QCQuery:
    """A quality-check query: zero rows on good data; each row (``?focus``, optional ``?path``,
    ``?value``, ``?message``) is a finding of the header's severity."""

    name: str
    path: Path
    summary: str
    description: str
    severity: str
    text: str

    @property
    def iri(self) -> URIRef:
        return RSH["qc/" + self.name]


_HEADER = re.compile(r"^#\+\s*(\w+)\s*:\s*(.*?)\s*$")


def load_qc_queries(qc_dir: Path | str) -> list[QCQuery]:
    """Every ``*-violation.rq`` in ``qc_dir`` (sorted), its grlc-style header parsed."""
    out = []
    qc_dir = Path(qc_dir)
    if not qc_dir.is_dir():
        return out
    for path in sorted(qc_dir.glob("*-violation.rq")):
        text = path.read_text(encoding="utf-8")
        meta: dict[str, str] = {}
        for line in text.splitlines():
            m = _HEADER.match(line)
            if m:
                meta[m.group(1).lower()] = m.group(2)
        severity = meta.get("severity", "Violation").capitalize()
        if severity not in SEVERITIES:
            raise ValueError(f"{path}:1:1: severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        name = path.name[: -len("-violation.rq")]
        out.append(QCQuery(name, path, meta.get("summary", name), meta.get("description", ""), severity, text))
    return out


def _to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(re.sub(r"[^A-Za-z0-9]", "", str(term)) or "b")
    assert isinstance(term, Literal)
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))


def _from_ox(term: Any, bnodes: dict[str, BNode]) -> Node | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return bnodes.get(term.value, BNode(term.value))
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    return None


def _oxigraph_dataset(graphs: dict[URIRef, Graph]) -> tuple[ox.Store, dict[str, BNode]]:
    store = ox.Store()
    bnodes: dict[str, BNode] = {}
    quads = []
    for name, g in graphs.items():
        gn = ox.NamedNode(str(name))
        for s, p, o in g:
            for t in (s, o):
                if isinstance(t, BNode):
                    bnodes[_to_ox(t).value] = t
            quads.append(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), gn))
    store.extend(quads)
    return store, bnodes


@dataclass
class _Raw:
    severity: str
    focus: Node
    check: str
    kind: str
    path: Node | None = None
    value: Node | None = None
    phrase: str = ""


def run_qc(graphs: dict[URIRef, Graph], queries: Sequence[QCQuery]) -> list[_Raw]:
    """Run each QC query on the dataset (default graph = union of ``graphs``; each also named)."""
    store, bnodes = _oxigraph_dataset(graphs)
    raws: list[_Raw] = []
    for q in queries:
        try:
            rows = store.query(q.text, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise ValueError(f"{q.path}: invalid SPARQL: {exc}") from None
        variables = [v.value for v in rows.variables]
        if "focus" not in variables:
            raise ValueError(f"{q.path}: a QC query must select ?focus")
        for row in rows:
            get = {v: _from_ox(row[v], bnodes) for v in variables}
            phrase = str(get["message"]) if get.get("message") is not None else q.summary
            raws.append(_Raw(q.severity, get["focus"], f"qc:{q.name}", "qc", get.get("path"), get.get("value"),
                             phrase))
    return raws


# --- SHACL -------------------------------------------------------------------------------------------

def run_shacl(data: Graph, shapes: Graph, ontology: Graph) -> Graph:
    """Validate ``data`` (asserted + inferred) against ``shapes``; the ontology is mixed in for
    class hierarchies and vocabularies. We reasoned already, so no inference and no owl:imports."""
    if len(shapes) == 0:
        g = Graph()
        report = BNode()
        g.add((report, RDF.type, SH.ValidationReport))
        g.add((report, SH.conforms, Literal(True)))
        return g
    _, report_graph, text = pyshacl.validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference="none", advanced=True,
        do_owl_imports=False, allow_warnings=False, allow_infos=False, abort_on_first=False,
    )
    if not isinstance(report_graph, Graph):  # pyshacl returns a failure object for broken shapes
        raise ValueError(f"the shapes cannot be used: {getattr(report_graph, 'message', None) or text}")
    return report_graph


def _param(shapes: Graph, shape: Node | None, prop: URIRef) -> Node | None:
    return shapes.value(shape, prop) if shape is not None else None


def _shacl_phrase(res: Node, rg: Graph, shapes: Graph, union: Graph) -> str:
    """A plain-English phrase for one SHACL result: for SPARQL-based constraints the result's own
    sh:resultMessage (the message sits on the constraint and pyshacl fills in its variables), else the
    shape's sh:message, else a phrase built from the constraint component."""
    shape = rg.value(res, SH.sourceShape)
    own = [m for m in rg.objects(res, SH.resultMessage) if getattr(m, "language", None) in (None, "en")]
    if own and rg.value(res, SH.sourceConstraintComponent) == SH.SPARQLConstraintComponent:
        return str(sorted(own)[0])
    msgs = list(shapes.objects(shape, SH.message)) if shape is not None else []
    if msgs:
        en = [m for m in msgs if getattr(m, "language", None) in (None, "en")]
        return str(sorted(en or msgs)[0])
    comp = rg.value(res, SH.sourceConstraintComponent)
    path = rg.value(res, SH.resultPath)
    value = rg.value(res, SH.value)
    p = _path_name(path, union) if path is not None else "value"
    v = _term_name(value, union) if value is not None else ""
    name = str(comp).rsplit("#", 1)[-1] if comp is not None else ""
    if name == "MinCountConstraintComponent":
        n = _param(shapes, shape, SH.minCount)
        return f"has no {p}" if str(n) == "1" else f"has fewer than {n} {p} values"
    if name == "MaxCountConstraintComponent":
        n = _param(shapes, shape, SH.maxCount)
        return f"has more than one {p}" if str(n) == "1" else f"has more than {n} {p} values"
    if name == "ClassConstraintComponent":
        c = _param(shapes, shape, SH["class"])
        return f"has {p} {v}, which is not a {_term_name(c, union)}"
    if name == "DatatypeConstraintComponent":
        d = _param(shapes, shape, SH.datatype)
        return f"has {p} {v}, which is not of datatype {short(d)}"
    if name == "NodeKindConstraintComponent":
        k = _param(shapes, shape, SH.nodeKind)
        return f"has {p} {v}, which is not {short(k).replace('sh:', 'a ')}"
    if name == "PatternConstraintComponent":
        return f"has {p} {v}, which does not match the pattern {_param(shapes, shape, SH.pattern)}"
    if name == "InConstraintComponent":
        return f"has {p} {v}, which is not one of the allowed values"
    if name == "HasValueConstraintComponent":
        return f"does not have {p} {_term_name(_param(shapes, shape, SH.hasValue), union)}"
    if name in ("MinLengthConstraintComponent", "MaxLengthConstraintComponent"):
        return f"has {p} {v}, which is too {'short' if name.startswith('Min') else 'long'}"
    if name == "ClosedConstraintComponent":
        return f"uses {p}, which its shape does not allow"
    if name == "NodeConstraintComponent":
        return f"has {p} {v}, which does not conform to {short(_param(shapes, shape, SH.node))}"
    text = rg.value(res, SH.resultMessage)
    return f"fails {short(comp)}: {text}" if text is not None else f"fails {short(comp)} on {p}"


def _shacl_raws(rg: Graph, shapes: Graph, union: Graph) -> list[_Raw]:
    raws = []
    for res in rg.subjects(RDF.type, SH.ValidationResult):
        sev = _SH_SEVERITY.get(rg.value(res, SH.resultSeverity), "Violation")
        shape = rg.value(res, SH.sourceShape)
        path = rg.value(res, SH.resultPath)
        raws.append(_Raw(sev, rg.value(res, SH.focusNode), short(shape) if not isinstance(shape, BNode)
                         else short(rg.value(res, SH.sourceConstraintComponent)), "shacl",
                         path if not isinstance(path, BNode) else None, rg.value(res, SH.value),
                         _shacl_phrase(res, rg, shapes, union)))
    return raws


# --- enrichment --------------------------------------------------------------------------------------

def label_of(node: Node | None, g: Graph) -> str | None:
    """The node's English (or untagged) skos:prefLabel, rdfs:label, dcterms:title or foaf:name."""
    if node is None or isinstance(node, Literal):
        return None
    for prop in _LABELS:
        vals = sorted(g.objects(node, prop), key=lambda l: (getattr(l, "language", None) not in (None, "en"), str(l)))
        if vals:
            return str(vals[0])
    return None


def _term_name(node: Node | None, g: Graph) -> str:
    if node is None:
        return ""
    lab = label_of(node, g)
    return f'"{lab}" ({short(node)})' if lab else short(node)


def _path_name(path: Node, g: Graph) -> str:
    if isinstance(path, BNode):
        inv = g.value(path, SH.inversePath)
        return f"inverse {_path_name(inv, g)}" if inv is not None else "path"
    lab = label_of(path, g)
    return f"{lab} ({short(path)})" if lab else short(path)


def _agreement_and_area(focus: Node, g: Graph, agreements: set[Node]) -> tuple[Node | None, Node | None]:
    """Walk up from ``focus`` to an agreement: through incoming links to blank nodes (citations,
    contact details) and to IRIs minted under their parent's IRI (``id:agreement/a/area/1``), through
    ``remit:areaOf``, and by IRI containment. Returns (agreement, the agreement's direct part)."""
    if focus in agreements:
        return focus, None
    parent: dict[Node, Node | None] = {focus: None}
    queue = deque([focus])
    while queue:
        node = queue.popleft()
        ups: list[Node] = []
        for s, _p in g.subject_predicates(node):
            if _p == RDF.type:
                continue
            if isinstance(node, BNode) or (isinstance(s, URIRef) and str(node).startswith(str(s) + "/")):
                ups.append(s)
        ups.extend(g.objects(node, REMIT.areaOf))
        if isinstance(node, URIRef):
            parts = str(node).split("/")
            ups.extend(URIRef("/".join(parts[:i])) for i in range(len(parts) - 1, 4, -1))
        for up in sorted(set(ups), key=str):
            if up in parent:
                continue
            parent[up] = node
            if up in agreements:
                return up, node
            queue.append(up)
    return None, None


def _citation(node: Node, g: Graph) -> tuple[Node | None, str | None]:
    for c in sorted(g.objects(node, REMIT.citation), key=str):
        doc = g.value(c, REMIT.citedDocument)
        loc = g.value(c, REMIT.locator)
        if doc is not None:
            return doc, (str(loc) if loc is not None else None)
    return None, None


def _enrich(raws: Iterable[_Raw], union: Graph, sources: Sequence[SourceFile]) -> list[Finding]:
    agreements = set(union.subjects(RDF.type, REMIT.Agreement))
    cache: dict[Node, Any] = {}
    findings = []
    for r in raws:
        focus = r.focus
        if focus not in cache:
            agreement, part = _agreement_and_area(focus, union, agreements)
            doc, locator = _citation(focus, union)
            if doc is None and part is not None:
                doc, locator = _citation(part, union)
            where = locate_term(focus, sources) if isinstance(focus, URIRef) else None
            cache[focus] = (agreement, part, doc, locator, where)
        agreement, part, doc, locator, where = cache[focus]
        subject = _term_name(focus, union) if not isinstance(focus, BNode) else "a blank node"
        if isinstance(focus, BNode):
            owner = next(iter(sorted(union.subjects(None, focus), key=str)), None)
            if owner is not None:
                subject = f"a node under {_term_name(owner, union)}"
                if where is None and isinstance(owner, URIRef):
                    where = locate_term(owner, sources)
        message = f"{subject} {r.phrase}".strip()
        if not message.endswith("."):
            message += "."
        if message.startswith("a "):
            message = "A" + message[1:]
        findings.append(Finding(
            severity=r.severity, message=message, focus=short(focus) if isinstance(focus, BNode) else str(focus),
            check=r.check, kind=r.kind,
            path=str(r.path) if r.path is not None else None,
            value=(str(r.value) if not isinstance(r.value, Literal) else r.value.n3()) if r.value is not None else None,
            focus_label=label_of(focus, union),
            agreement=str(agreement) if agreement is not None else None,
            agreement_label=label_of(agreement, union),
            area=str(part) if isinstance(part, URIRef) else None,
            area_label=label_of(part, union) if isinstance(part, URIRef) else None,
            document=str(doc) if doc is not None else None, document_label=label_of(doc, union),
            locator=locator,
            location=f"{where[0]}:{where[1]}:{where[2]}" if where else None,
        ))
    findings.sort(key=Finding.sort_key)
    return findings


def _report_graph(shacl_graph: Graph, qc_raws: Sequence[_Raw], queries: Sequence[QCQuery],
                  conforms: bool) -> Graph:
    g = bind_all(Graph())
    for t in shacl_graph:
        g.add(t)
    report = next(iter(g.subjects(RDF.type, SH.ValidationReport)), None) or BNode()
    g.add((report, RDF.type, SH.ValidationReport))
    g.set((report, SH.conforms, Literal(conforms)))
    by_name = {f"qc:{q.name}": q for q in queries}
    for r in qc_raws:
        q = by_name[r.check]
        res = BNode()
        g.add((report, SH.result, res))
        g.add((res, RDF.type, SH.ValidationResult))
        g.add((res, SH.focusNode, r.focus))
        g.add((res, SH.resultSeverity, SH[r.severity]))
        g.add((res, SH.sourceShape, q.iri))
        g.add((res, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
        g.add((res, SH.resultMessage, Literal(r.phrase)))
        if r.path is not None:
            g.add((res, SH.resultPath, r.path))
        if r.value is not None:
            g.add((res, SH.value, r.value))
    for q in queries:
        if any(r.check == f"qc:{q.name}" for r in qc_raws):
            g.add((q.iri, RDF.type, SH.SPARQLConstraint))
            g.add((q.iri, RDFS.label, Literal(q.summary, lang="en")))
            if q.description:
                g.add((q.iri, RDFS.comment, Literal(q.description, lang="en")))
    return g


def validate_graphs(ontology: Graph, asserted: Graph, inferred: Graph, shapes: Graph,
                    queries: Sequence[QCQuery], sources: Sequence[SourceFile] = ()) -> Report:
    """Run the shapes and the QC queries; return the findings and the RDF report."""
    data = Graph()
    for g in (asserted, inferred):
        for t in g:
            data.add(t)
    union = Graph()
    for g in (ontology, asserted, inferred):
        for t in g:
            union.add(t)
    # The vocabularies (concept types such as remit:Function) live in the ontology graph, so the
    # shapes see the union; pyshacl's ont_graph mix-in is not applied when inference is 'none'.
    shacl_graph = run_shacl(union, shapes, ontology)
    raws = _shacl_raws(shacl_graph, shapes, union)
    qc = run_qc({GRAPH_ONTOLOGY: ontology, GRAPH_ASSERTED: asserted, GRAPH_INFERRED: inferred}, queries)
    findings = _enrich(raws + qc, union, sources)
    return Report(findings=findings, graph=_report_graph(shacl_graph, qc, queries, conforms=not findings))

