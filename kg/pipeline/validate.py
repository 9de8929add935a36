"""Validation: SHACL shapes (pyshacl) plus the quality-check queries in ``queries/qc/*-violation.rq``.

Both produce :class:`Finding` objects with a severity (``Violation``, ``Warning`` or ``Info``), a plain
English message, the focus node, its label, the agreement and area of joint work it belongs to, the
citation it carries and the place in the sources where it is written. ``validate_graphs`` returns a
:class:`Report` holding the findings and the RDF report (``sh:ValidationReport``, QC results included).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.findings.model import Finding, Report, label_of, severity_of, short
from kg.pipeline.load import SourceFile, locate_term
from kg.pipeline.shacl import compile_shapes, core_report
from kg.rdf.rq import read_folder
from kg.rdf.canon import dataset_store, from_ox_mapped, shacl_term, to_ox
from kg.rdf.view import INPUT_GRAPHS, StoreGraph, StoreView, dataset_options
from kg.rdf.namespaces import (
    GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, OWL, RDF, RDFS, REMIT, RSH, SH, bind_all,
)

__all__ = [
    "QCQuery", "unsupported_shapes", "load_qc_queries", "run_qc", "run_shacl", "validate_graphs",
    "validate_store",
]

_SH_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


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




def load_qc_queries(qc_dir: Path | str) -> list[QCQuery]:
    """Every ``*-violation.rq`` in ``qc_dir`` (sorted), its grlc-style header parsed."""
    out = []
    for path, meta, text in read_folder(qc_dir, "*-violation.rq"):
        name = path.name[: -len("-violation.rq")]
        out.append(QCQuery(name, path, str(meta.get("summary", name)).strip(), str(meta.get("description", "")).strip(),
                           severity_of(meta, path), text))
    return out


@dataclass
class _Raw:
    severity: str
    focus: Node
    check: str
    kind: str
    path: Node | None = None
    value: Node | None = None
    phrase: str = ""


def _select(store: ox.Store, text: str, where: str,
            within: Sequence[ox.NamedNode] | None = None) -> tuple[ox.QuerySolutions, list[str]]:
    """A validation query's rows (default graph: the union of the graphs ``within``, else of every graph) and
    variables; a query Oxigraph cannot parse is a ValueError that says ``where`` it comes from."""
    try:
        rows = store.query(text, **dataset_options(within))
    except SyntaxError as exc:
        raise ValueError(f"{where}: invalid SPARQL: {exc}") from None
    return rows, [v.value for v in rows.variables]


def run_qc(graphs: dict[URIRef, Graph], queries: Sequence[QCQuery],
           dataset: tuple[ox.Store, dict[str, BNode]] | None = None,
           within: Sequence[ox.NamedNode] | None = None) -> list[_Raw]:
    """Run each QC query on the dataset (default graph = union of ``graphs``; each also named).
    ``dataset`` is that dataset already loaded in Oxigraph (``dataset_store(graphs)``), if at hand; ``within``
    names the graphs of its store that make the dataset (``None``: all of them)."""
    store, bnodes = dataset or dataset_store(graphs)
    raws: list[_Raw] = []
    for q in queries:
        rows, variables = _select(store, q.text, str(q.path), within)
        if "focus" not in variables:
            raise ValueError(f"{q.path}: a QC query must select ?focus")
        for row in rows:
            get = {v: from_ox_mapped(row[v], bnodes) for v in variables}
            phrase = str(get["message"]) if get.get("message") is not None else q.summary
            raws.append(_Raw(q.severity, get["focus"], f"qc:{q.name}", "qc", get.get("path"), get.get("value"),
                             phrase))
    return raws


# --- SHACL -------------------------------------------------------------------------------------------

# --- SHACL-SPARQL constraints on Oxigraph ---------------------------------------------------------------
#
# pyshacl evaluates every sh:sparql constraint with rdflib's SPARQL engine, once per focus node; at 10k
# triples that was 90 % of the build. The constraints below are moved out of the shapes graph pyshacl
# sees and evaluated here, once per constraint, on the Oxigraph dataset the QC queries already use.
# The results are the ones pyshacl makes (same focus node, path, value, source shape, source
# constraint, severity and messages, worked out as pyshacl does; tests/test_validate_sparql.py compares
# the two reports on the real data and on every shape fixture). A constraint is moved only when
# evaluating it with ``$this`` free and keeping the rows whose ``?this`` is a focus node is the same as
# SHACL's pre-binding of ``$this``: the query selects ``$this``, its top-level group starts with a triple pattern that
# binds ``$this``, and it has no MINUS, sub-query, SERVICE, aggregate, ``?failure``, or BIND/VALUES of ``$this``; and the
# shape is reached only through targets (its own, or its node shape's via ``sh:property``). Anything
# else stays with pyshacl.

_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_SELECT_HEAD = re.compile(r"^\s*SELECT\s+(DISTINCT\s+)?(\*|(?:[?$]\w+\s+)*[?$]\w+)\s+WHERE\s*\{", re.I | re.S)
_UNSAFE = re.compile(r"\b(MINUS|SERVICE|GROUP|HAVING|LIMIT|OFFSET|ORDER|COUNT|SUM|MIN|MAX|AVG|SAMPLE|"
                     r"GROUP_CONCAT)\b|[?$]failure\b|[?$]currentShape\b|[?$]shapesGraph\b|\bAS\s+[?$]this\b|"
                     r"\bVALUES\s*(\([^)]*)?[?$]this\b", re.I)
_THIS = re.compile(r"\$this\b|\?this\b")


@dataclass
class _SparqlJob:
    shape: URIRef
    constraint: URIRef
    query: str
    focus_shapes: list[URIRef]  # shapes whose target nodes are the focus nodes (one run per entry, as pyshacl)
    path: URIRef | None
    severity: URIRef
    extra_messages: list[Node]
    shape_messages: list[Node]


def _prefix_block(shapes: Graph, constraint: Node) -> str:
    lines = []
    for holder in shapes.objects(constraint, SH.prefixes):
        for decl in shapes.objects(holder, SH.declare):
            prefix, ns = shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace)
            if prefix is not None and ns is not None:
                lines.append(f"PREFIX {prefix}: <{ns}>")
    return "\n".join(sorted(set(lines)))


def _movable_query(select: str) -> bool:
    m = _SELECT_HEAD.match(select)
    if not m or _UNSAFE.search(select) or select.upper().count("SELECT") != 1:
        return False
    if m.group(2) != "*" and not _THIS.search(m.group(2)):
        return False
    body = select[m.end():]
    first = re.split(r"\b(?:FILTER|OPTIONAL|UNION)\b|\{", body, maxsplit=1, flags=re.I)[0]
    return _THIS.search(first) is not None


def _targeted(shapes: Graph, shape: Node) -> bool:
    return any(shapes.value(shape, t) is not None for t in _TARGETS) or (
        (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, URIRef(str(OWL) + "Class")) in shapes)


def _referenced(shapes: Graph, node: Node, allowed: tuple[URIRef, ...] = ()) -> bool:
    return any(p not in allowed for _s, p in shapes.subject_predicates(node))


def _deactivated(shapes: Graph, node: Node) -> bool:
    return any(getattr(v, "value", None) is True for v in shapes.objects(node, SH.deactivated))


def _split_sparql(shapes: Graph) -> tuple[Graph, list[_SparqlJob]]:
    """The shapes graph without the sh:sparql links that are evaluated on Oxigraph, and those jobs."""
    jobs: list[_SparqlJob] = []
    for shape, constraint in sorted(shapes.subject_objects(SH.sparql), key=lambda t: (str(t[0]), str(t[1]))):
        if not isinstance(shape, URIRef) or not isinstance(constraint, URIRef):
            continue
        if _deactivated(shapes, shape) or _deactivated(shapes, constraint) or shapes.value(shape, SH.target):
            continue
        selects = list(shapes.objects(constraint, SH.select))
        if len(selects) != 1 or not isinstance(selects[0], Literal) or not _movable_query(str(selects[0])):
            continue
        path = shapes.value(shape, SH.path)
        if path is not None and not isinstance(path, URIRef):
            continue
        if _referenced(shapes, shape, (SH.property,)):
            continue
        parents = sorted(shapes.subjects(SH.property, shape), key=str)
        if not all(isinstance(p, URIRef) and not _deactivated(shapes, p) and shapes.value(p, SH.target) is None
                   and not _referenced(shapes, p) for p in parents):
            continue
        focus_shapes = ([shape] if _targeted(shapes, shape) else []) + [p for p in parents if _targeted(shapes, p)]
        extra = list(shapes.objects(constraint, SH.message))
        own = list(shapes.objects(shape, SH.message))
        if not extra and not own:  # pyshacl would make a generic message; leave it to pyshacl
            continue
        if any(re.search(r"\{[?$]this\}", str(m)) for m in extra + own):
            continue
        text = str(selects[0]).replace("$PATH", f"<{path}>") if path is not None else str(selects[0])
        if "$PATH" in text:
            continue
        jobs.append(_SparqlJob(shape, constraint, _prefix_block(shapes, constraint) + "\n" + text, focus_shapes,
                               path, shapes.value(shape, SH.severity) or SH.Violation, extra, own))
    core = Graph()
    moved = {(j.shape, j.constraint) for j in jobs}
    for s, p, o in shapes:
        if p == SH.sparql and (s, o) in moved:
            continue
        core.add((s, p, o))
    for prefix, ns in shapes.namespaces():
        core.bind(prefix, ns, override=True, replace=True)
    return core, jobs


def _focus_nodes(store: ox.Store, shapes: Graph, shape: URIRef, within: Sequence[ox.NamedNode] | None) -> set[Any]:
    """The target nodes of ``shape`` in the union of the graphs ``within`` (``None``: every graph; SHACL §2.1.3),
    as Oxigraph terms."""
    def quads(p: URIRef) -> Iterable[ox.Quad]:
        if within is None:
            return store.quads_for_pattern(None, ox.NamedNode(str(p)), None, None)
        return StoreView(store, within).quads(None, p, None)

    out: set[Any] = set()
    classes = set(shapes.objects(shape, SH.targetClass))
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, URIRef(str(OWL) + "Class")) in shapes:
        classes.add(shape)
    for c in classes:
        q = f"SELECT DISTINCT ?x WHERE {{ ?x <{RDF.type}>/<{RDFS.subClassOf}>* <{c}> }}"
        out.update(r[0] for r in store.query(q, **dataset_options(within)))
    for n in shapes.objects(shape, SH.targetNode):
        out.add(to_ox(n))
    for p in shapes.objects(shape, SH.targetSubjectsOf):
        out.update(q.subject for q in quads(p))
    for p in shapes.objects(shape, SH.targetObjectsOf):
        out.update(q.object for q in quads(p))
    return out


def _format(msg: str, bound: dict[str, Node]) -> str:
    for var, val in bound.items():  # exactly as pyshacl formats a SPARQL-based result message
        msg = re.sub("{{[?$]{}}}".format(var), str(val), msg)
    return msg


def _run_sparql_jobs(store: ox.Store, bnodes: dict[str, BNode], shapes: Graph, jobs: Sequence[_SparqlJob],
                     within: Sequence[ox.NamedNode] | None = None) -> list[list[tuple[Node, Node]]]:
    """Each result as its list of (predicate, object) pairs, in the form pyshacl writes them."""
    results: list[list[tuple[Node, Node]]] = []
    focus_cache: dict[URIRef, set[Any]] = {}
    for job in jobs:
        rows, variables = _select(store, job.query, f"the shapes cannot be used: {job.constraint}", within)
        by_focus: dict[Any, list[dict[str, Any]]] = {}
        for row in rows:
            vals = {v: row[v] for v in variables if row[v] is not None}
            if "this" in vals:
                by_focus.setdefault(vals["this"], []).append(vals)
        for fs in job.focus_shapes:
            if fs not in focus_cache:
                focus_cache[fs] = _focus_nodes(store, shapes, fs, within)
            for f_ox in sorted(focus_cache[fs] & by_focus.keys(), key=str):
                f = shacl_term(f_ox, bnodes)
                seen: list[tuple[Any, ...]] = []
                for vals in by_focus[f_ox]:
                    rest = {k: shacl_term(v, bnodes) for k, v in vals.items() if k not in ("this", "path", "value")}
                    p = shacl_term(vals["path"], bnodes) if "path" in vals else None
                    v = shacl_term(vals["value"], bnodes) if "value" in vals else None
                    key = (p, v, rest)
                    if key in seen:
                        continue
                    seen.append(key)
                    if v is None and job.path is None:
                        v = f
                    bound: dict[str, Node] = dict(rest)
                    bound["this"] = f
                    if p is not None:
                        bound["path"] = p
                    if v is not None:
                        bound["value"] = v
                    pairs: list[tuple[Node, Node]] = [
                        (RDF.type, SH.ValidationResult), (SH.sourceConstraintComponent, SH.SPARQLConstraintComponent),
                        (SH.sourceShape, job.shape), (SH.resultSeverity, job.severity), (SH.focusNode, f),
                        (SH.sourceConstraint, job.constraint)]
                    if v is not None:
                        pairs.append((SH.value, v))
                    if p is not None or job.path is not None:
                        pairs.append((SH.resultPath, p if p is not None else job.path))
                    for m in job.extra_messages:
                        if m in job.shape_messages:
                            continue
                        pairs.append((SH.resultMessage, Literal(_format(str(m), bound)) if isinstance(m, Literal) else m))
                    for m in job.shape_messages:
                        pairs.append((SH.resultMessage, Literal(_format(str(m), bound)) if isinstance(m, Literal) else m))
                    results.append(pairs)
    return results


def run_shacl(data: Graph, shapes: Graph, ontology: Graph, *, sparql_on: str = "oxigraph",
              dataset: tuple[ox.Store, dict[str, BNode]] | None = None, core_on: str = "pyshacl",
              within: Sequence[ox.NamedNode] | None = None) -> Graph:
    """Validate ``data`` (asserted + inferred) against ``shapes``; the ontology is mixed in for
    class hierarchies and vocabularies. We reasoned already, so no inference and no owl:imports.

    With ``sparql_on="oxigraph"`` (the default) the SPARQL-based constraints pyshacl would run on rdflib
    are run on Oxigraph instead (see ``_split_sparql``), giving the same results; ``"pyshacl"`` runs
    everything in pyshacl (the reference). ``dataset`` is ``data`` already loaded in Oxigraph, if at hand, and
    ``within`` the graphs of its store that hold it (``None``: all of them).
    With ``core_on="oxigraph"`` the core constraints run on Oxigraph too (:mod:`kg.pipeline.shacl`, same
    results), unless the shapes use something it does not support: then pyshacl runs the whole core."""
    if sparql_on not in ("oxigraph", "pyshacl"):
        raise ValueError(f"sparql_on must be 'oxigraph' or 'pyshacl', not {sparql_on!r}")
    if core_on not in ("oxigraph", "pyshacl"):
        raise ValueError(f"core_on must be 'oxigraph' or 'pyshacl', not {core_on!r}")
    if len(shapes) == 0:
        g = Graph()
        report = BNode()
        g.add((report, RDF.type, SH.ValidationReport))
        g.add((report, SH.conforms, Literal(True)))
        return g
    core, jobs = _split_sparql(shapes) if sparql_on == "oxigraph" else (shapes, [])
    core_jobs = None
    if core_on == "oxigraph":
        core_jobs, unsupported = compile_shapes(core)
        core_jobs = None if unsupported else core_jobs
    if core_jobs is None:
        conforms, report_graph, text = pyshacl.validate(
            data, shacl_graph=core, ont_graph=ontology, inference="none", advanced=True,
            do_owl_imports=False, allow_warnings=False, allow_infos=False, abort_on_first=False,
        )
        if not isinstance(report_graph, Graph):  # pyshacl returns a failure object for broken shapes
            raise ValueError(f"the shapes cannot be used: {getattr(report_graph, 'message', None) or text}")
    else:
        dataset = dataset or dataset_store({URIRef("urn:x-remit:data"): data})
        report_graph = core_report(dataset[0], core, core_jobs, within=within, bnodes=dataset[1], data=data)
    if jobs:
        store, bnodes = dataset or dataset_store({URIRef("urn:x-remit:data"): data})
        results = _run_sparql_jobs(store, bnodes, shapes, jobs, within)
        report = next(iter(report_graph.subjects(RDF.type, SH.ValidationReport)))
        for pairs in results:
            res = BNode()
            report_graph.add((report, SH.result, res))
            for p, o in pairs:
                report_graph.add((res, p, o))
        if results:
            report_graph.set((report, SH.conforms, Literal(False)))
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
    """The node's first citation by (document IRI, locator): chosen by content, never by blank-node
    label, which differs from one parse to the next."""
    cited = []
    for c in g.objects(node, REMIT.citation):
        doc = g.value(c, REMIT.citedDocument)
        loc = g.value(c, REMIT.locator)
        if doc is not None:
            cited.append((str(doc), str(loc) if loc is not None else "", doc, loc))
    if not cited:
        return None, None
    _, _, doc, loc = min(cited, key=lambda t: (t[0], t[1]))
    return doc, (str(loc) if loc is not None else None)


def _enrich(raws: Iterable[_Raw], union: Graph, sources: Sequence[SourceFile],
            locate: Callable[[URIRef], tuple[Path, int, int] | None] | None = None) -> list[Finding]:
    """Findings from raw results: message, labels, agreement and part, citation, source location.
    ``locate`` finds where a term is written (default :func:`kg.pipeline.load.locate_term` over ``sources``)."""
    if locate is None:
        def locate(term: URIRef) -> tuple[Path, int, int] | None:
            return locate_term(term, sources)
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
            where = locate(focus) if isinstance(focus, URIRef) else None
            cache[focus] = (agreement, part, doc, locator, where)
        agreement, part, doc, locator, where = cache[focus]
        subject = _term_name(focus, union) if not isinstance(focus, BNode) else "a blank node"
        if isinstance(focus, BNode):
            owner = next(iter(sorted(union.subjects(None, focus), key=str)), None)
            if owner is not None:
                subject = f"a node under {_term_name(owner, union)}"
                if where is None and isinstance(owner, URIRef):
                    where = locate(owner)
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
                    queries: Sequence[QCQuery], sources: Sequence[SourceFile] = (),
                    locate: Callable[[URIRef], tuple[Path, int, int] | None] | None = None) -> Report:
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
    graphs = {GRAPH_ONTOLOGY: ontology, GRAPH_ASSERTED: asserted, GRAPH_INFERRED: inferred}
    dataset = dataset_store(graphs)
    shacl_graph = run_shacl(union, shapes, ontology, dataset=dataset)
    raws = _shacl_raws(shacl_graph, shapes, union)
    qc = run_qc(graphs, queries, dataset)
    findings = _enrich(raws + qc, union, sources, locate)
    return Report(findings=findings, graph=_report_graph(shacl_graph, qc, queries, conforms=not findings))



def unsupported_shapes(shapes: Graph) -> list[str]:
    """The SHACL features the shapes use that :mod:`kg.pipeline.shacl` does not run (then pyshacl runs them)."""
    return compile_shapes(_split_sparql(shapes)[0])[1]


def validate_store(store: ox.Store, ontology: Graph, shapes: Graph, queries: Sequence[QCQuery],
                   sources: Sequence[SourceFile] = (),
                   locate: Callable[[URIRef], tuple[Path, int, int] | None] | None = None) -> Report:
    """:func:`validate_graphs` on an Oxigraph store holding the ontology, asserted and inferred graphs
    (the default path of :mod:`kg.pipeline.steps`): every SHACL constraint and QC query runs as SPARQL on the
    store, and the findings are described through a read-only view of it; no rdflib copy of the data. Only those
    three graphs are read (:data:`~kg.rdf.view.INPUT_GRAPHS`), so the derive step may write its own graph of the
    same store meanwhile."""
    unsupported = unsupported_shapes(shapes)
    if unsupported:  # pyshacl needs an rdflib copy of the data: the pipeline calls validate_graphs instead
        raise ValueError("the shapes use SHACL features kg.pipeline.shacl does not run ("
                         + "; ".join(unsupported) + "); validate with the reference engine (pyshacl)")
    view = StoreView(store)
    shacl_graph = run_shacl(StoreGraph(store), shapes, ontology, dataset=(store, {}), core_on="oxigraph",
                            within=INPUT_GRAPHS)
    raws = _shacl_raws(shacl_graph, shapes, view)  # type: ignore[arg-type]
    qc = run_qc({}, queries, (store, {}), INPUT_GRAPHS)
    findings = _enrich(raws + qc, view, sources, locate)  # type: ignore[arg-type]
    return Report(findings=findings, graph=_report_graph(shacl_graph, qc, queries, conforms=not findings))
