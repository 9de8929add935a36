"""SHACL core constraints evaluated on Oxigraph, with exactly pyshacl's results.

pyshacl needs the data as an rdflib graph (about 2 KB a triple) and evaluates every constraint once per
focus node in Python: about 5 s at 100k triples and 50 s at 1M. This module compiles the shapes into
SPARQL SELECT queries instead: one (or two) per constraint component of each shape, with the focus
nodes found by the shape's targets *inside* the query, so each query runs once over the whole
Oxigraph store (default graph = union of the named graphs, as pyshacl sees ontology + asserted +
inferred).

:func:`compile_shapes` returns the jobs and, second, everything it cannot compile exactly (a
constraint component, a target or a path it does not support, a shape without ``sh:message``...). If
that list is not empty the caller must run the whole core with pyshacl: nothing is ever skipped.
:func:`run_core` returns each validation result as its (predicate, object) pairs, in the form
pyshacl writes them (``kg.pipeline.validate`` adds them to the report graph).

Supported, following pyshacl 0.40.1 (``pyshacl/constraints/core/*.py``) detail for detail:

* targets ``sh:targetClass`` (instances of the class and of its ``rdfs:subClassOf*`` subclasses),
  ``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, implicit class targets;
* node shapes, and property shapes reached through their own targets or a node shape's ``sh:property``
  (one run per node shape, as pyshacl); paths: a predicate, ``sh:inversePath``, a sequence (RDF list)
  and ``sh:alternativePath`` of those;
* ``sh:minCount``, ``sh:maxCount`` (one result per focus node, no ``sh:value``), ``sh:class``,
  ``sh:datatype`` (ill-typed literals of the datatypes rdflib parses fail, judged by rdflib itself),
  ``sh:nodeKind``, ``sh:pattern`` (+ ``sh:flags`` i and m; Python's ``re.search`` on the lexical form
  or IRI, blank nodes fail), ``sh:minLength``/``sh:maxLength``, ``sh:languageIn``, ``sh:uniqueLang``
  (one result per focus node and duplicated language, no ``sh:value``), ``sh:in``, ``sh:hasValue``
  (no ``sh:value``); ``sh:deactivated``; ``sh:severity`` (default ``sh:Violation``); ``sh:message``
  (copied as ``sh:resultMessage``).

Unsupported (reported, so the caller falls back to pyshacl): every other constraint component
(``sh:node``, ``sh:or``, ``sh:closed``, ``sh:qualifiedValueShape``, ``sh:sparql``...), SPARQL-based
targets, rules, custom constraint components, ``sh:zeroOrMorePath`` and the other repetition paths,
``sh:datatype rdfs:Datatype``, ``sh:in``/``sh:hasValue`` with a literal written ``^^xsd:string`` or a
blank node (Oxigraph, following RDF 1.1, cannot tell ``"a"`` from ``"a"^^xsd:string``; rdflib can), and
a shape with a constraint but no ``sh:message`` (pyshacl then writes a generic message built from the
data graph).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from pyshacl.constraints.core.value_constraints import DatatypeConstraintComponent
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node, _toPythonMapping

from kg.rdf.canon import shacl_term
from kg.rdf.namespaces import OWL, RDF, RDFS, SH, XSD
from kg.rdf.view import dataset_options

__all__ = ["CoreJob", "compile_shapes", "run_core", "core_report"]

_TARGET_PREDICATES = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
#: Predicates of a shape that are not constraint parameters (or are handled with their component).
_NOT_CONSTRAINTS = {
    RDF.type, SH.path, *_TARGET_PREDICATES, SH.severity, SH.message, SH.deactivated, SH.name, SH.description,
    SH.order, SH.group, SH.defaultValue, SH.property, SH.flags, SH.prefixes,
}
_COMPONENTS = {
    SH.minCount: SH.MinCountConstraintComponent, SH.maxCount: SH.MaxCountConstraintComponent,
    SH["class"]: SH.ClassConstraintComponent, SH.datatype: SH.DatatypeConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent, SH.pattern: SH.PatternConstraintComponent,
    SH.minLength: SH.MinLengthConstraintComponent, SH.maxLength: SH.MaxLengthConstraintComponent,
    SH.languageIn: SH.LanguageInConstraintComponent, SH.uniqueLang: SH.UniqueLangConstraintComponent,
    SH["in"]: SH.InConstraintComponent, SH.hasValue: SH.HasValueConstraintComponent,
}
_PATH_ONLY = {SH.minCount, SH.maxCount, SH.uniqueLang}  # pyshacl refuses these on node shapes
_NODE_KINDS = {
    SH.IRI: "isIRI(?value)", SH.BlankNode: "isBlank(?value)", SH.Literal: "isLiteral(?value)",
    SH.BlankNodeOrIRI: "(isBlank(?value) || isIRI(?value))", SH.BlankNodeOrLiteral: "(isBlank(?value) || isLiteral(?value))",
    SH.IRIOrLiteral: "(isIRI(?value) || isLiteral(?value))",
}
_INTEGERS = {XSD.integer, XSD.int, XSD.long, XSD.short, XSD.byte, XSD.nonNegativeInteger, XSD.positiveInteger,
             XSD.unsignedInt, XSD.unsignedLong, XSD.unsignedShort, XSD.unsignedByte}
#: Datatypes rdflib parses: a literal of one of these can be ill-typed, which only rdflib can judge as pyshacl does.
_PARSED = {URIRef(str(k)) for k in _toPythonMapping if k is not None} - {XSD.string}
_TYPE, _SCO = f"<{RDF.type}>", f"<{RDFS.subClassOf}>"


@dataclass
class CoreJob:
    """One constraint component of one shape, for the focus nodes of one shape's targets.

    ``query`` selects ``?this`` (and ``?value`` when ``with_value``), one row per result. A job with a
    ``check`` first runs ``values_query`` (candidate ``?value`` terms), keeps those ``check`` fails, and
    runs ``query`` with them in place of ``#VALUES#`` (nothing to do when none fails)."""

    shape: Node
    component: URIRef
    focus_shape: Node
    query: str
    with_value: bool
    path: Node | None
    severity: Node
    messages: list[Node]
    values_query: str | None = None
    check: Callable[[Any], bool] | None = field(default=None, repr=False)


def _iri(term: Node) -> str:
    return f"<{term}>"


def _sparql_term(term: Node) -> str:
    if isinstance(term, URIRef):
        return _iri(term)
    assert isinstance(term, Literal)
    if term.language:
        return str(ox.Literal(str(term), language=term.language))
    return str(ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string))))


def _list(shapes: Graph, head: Node) -> list[Node] | None:
    try:
        items = list(Collection(shapes, head))
    except Exception:  # noqa: BLE001 - a malformed list: not ours to judge
        return None
    return items


def _path(shapes: Graph, node: Node, problems: list[str], where: str) -> str | None:
    """The SPARQL property path for a SHACL path, or None (and a problem) when not supported."""
    if isinstance(node, URIRef):
        return _iri(node)
    if not isinstance(node, BNode):
        problems.append(f"{where}: sh:path {node!r} is not a path")
        return None
    preds = set(shapes.predicates(node))
    if preds == {SH.inversePath}:
        inner = _path(shapes, shapes.value(node, SH.inversePath), problems, where)
        return f"^({inner})" if inner else None
    if preds == {SH.alternativePath}:
        items = _list(shapes, shapes.value(node, SH.alternativePath))
        parts = [_path(shapes, i, problems, where) for i in items or []]
        if not items or not all(parts):
            problems.append(f"{where}: sh:alternativePath is not a list of supported paths")
            return None
        return "(" + "|".join(f"({p})" for p in parts) + ")"
    if RDF.first in preds:
        items = _list(shapes, node)
        parts = [_path(shapes, i, problems, where) for i in items or []]
        if not items or len(items) < 2 or not all(parts):
            problems.append(f"{where}: sequence path is not a list of two or more supported paths")
            return None
        return "(" + "/".join(f"({p})" for p in parts) + ")"
    problems.append(f"{where}: path {sorted(map(str, preds))} not supported (only predicate, inverse, sequence, "
                    "alternative)")
    return None


def _targets_pattern(shapes: Graph, shape: Node, problems: list[str]) -> str | None:
    """A sub-select of the shape's focus nodes (``?this``), or None when it has no targets."""
    branches = []
    classes = list(shapes.objects(shape, SH.targetClass))
    types = set(shapes.objects(shape, RDF.type))
    if types & ({RDFS.Class} | set(shapes.subjects(RDFS.subClassOf, RDFS.Class))):
        classes.append(shape)  # implicit class target, as pyshacl's implicit_class_targets
    elif OWL.Class in types:
        problems.append(f"{shape}: typed owl:Class only (pyshacl's implicit class targets need rdfs:Class)")
    for c in classes:
        if not isinstance(c, URIRef):
            problems.append(f"{shape}: sh:targetClass {c!r} is not an IRI")
            continue
        branches.append(f"{{ ?c {_SCO}* {_iri(c)} . ?this {_TYPE} ?c }}")
    nodes = list(shapes.objects(shape, SH.targetNode))
    if nodes:
        if any(isinstance(n, BNode) for n in nodes):
            problems.append(f"{shape}: sh:targetNode is a blank node")
        else:
            branches.append("{ VALUES ?this { " + " ".join(_sparql_term(n) for n in nodes) + " } }")
    for p in shapes.objects(shape, SH.targetSubjectsOf):
        if not isinstance(p, URIRef):
            problems.append(f"{shape}: sh:targetSubjectsOf {p!r} is not an IRI")
            continue
        branches.append(f"{{ ?this {_iri(p)} ?any }}")
    for p in shapes.objects(shape, SH.targetObjectsOf):
        if not isinstance(p, URIRef):
            problems.append(f"{shape}: sh:targetObjectsOf {p!r} is not an IRI")
            continue
        branches.append(f"{{ ?any {_iri(p)} ?this }}")
    if not branches:
        return None
    return "{ SELECT DISTINCT ?this WHERE { " + " UNION ".join(branches) + " } }"


def _deactivated(shapes: Graph, node: Node, problems: list[str]) -> bool:
    vals = list(shapes.objects(node, SH.deactivated))
    if len(vals) > 1 or (vals and not isinstance(vals[0], Literal)):
        problems.append(f"{node}: sh:deactivated must be one literal")
        return False
    return bool(vals and vals[0].value)


def _one(shapes: Graph, shape: Node, param: URIRef, problems: list[str]) -> Node | None:
    vals = list(shapes.objects(shape, param))
    if len(vals) != 1:
        problems.append(f"{shape}: {param} has {len(vals)} values (pyshacl needs exactly one)")
        return None
    return vals[0]


def _count(shapes: Graph, shape: Node, param: URIRef, problems: list[str], integers: set[URIRef]) -> int | None:
    v = _one(shapes, shape, param, problems)
    if v is None:
        return None
    if not isinstance(v, Literal) or v.datatype not in integers or not isinstance(v.value, int) or v.value < 0:
        problems.append(f"{shape}: {param} {v!r} is not a non-negative integer")
        return None
    return int(v.value)


def _pattern_check(shapes: Graph, shape: Node, pattern: Literal) -> Callable[[Any], bool]:
    flags_vals = list(shapes.objects(shape, SH.flags))
    re_flags = 0
    if flags_vals:  # pyshacl takes the first value found and honours i and m only
        f = str(flags_vals[0].value if isinstance(flags_vals[0], Literal) else flags_vals[0]).lower()
        re_flags |= re.I if "i" in f else 0
        re_flags |= re.M if "m" in f else 0
    text = str(pattern.value) if pattern.value is not None and len(pattern.value) > 1 else str(pattern)
    matcher = re.compile(text, re_flags)
    return lambda v: not isinstance(v, ox.BlankNode) and matcher.search(v.value) is None


_rdflib_log = logging.getLogger("rdflib.term")


def _datatype_check(dt: URIRef) -> Callable[[Any], bool]:
    def fails(v: Any) -> bool:  # a literal with datatype dt: ill-typed as rdflib and pyshacl judge it?
        level = _rdflib_log.level
        _rdflib_log.setLevel(logging.CRITICAL)
        try:
            lit = Literal(v.value, datatype=dt)
        finally:
            _rdflib_log.setLevel(level)
        if getattr(lit, "ill_typed", None) is True:
            return True
        return not DatatypeConstraintComponent._assert_actual_datatype(None, lit, dt)  # type: ignore[arg-type]
    return fails


def _shape_jobs(shapes: Graph, shape: Node, focus_shape: Node, focus: str, problems: list[str]) -> list[CoreJob]:
    """The jobs of one shape's own constraints, for the focus nodes given by ``focus`` (a sub-select)."""
    path_node = shapes.value(shape, SH.path)
    where = str(shape)
    path = _path(shapes, path_node, problems, where) if path_node is not None else None
    if path_node is not None and path is None:
        return []
    params = [p for p in set(shapes.predicates(shape)) if p in _COMPONENTS]
    for p in set(shapes.predicates(shape)):
        if p in _NOT_CONSTRAINTS or p in _COMPONENTS:
            continue
        if str(p).startswith(str(SH)):
            problems.append(f"{shape}: {p} is not supported")
    if not params:
        return []
    messages = list(shapes.objects(shape, SH.message))
    if not messages:
        problems.append(f"{shape}: no sh:message (pyshacl writes a generic message from the data graph)")
        return []
    severities = list(shapes.objects(shape, SH.severity))
    if len(severities) > 1:
        problems.append(f"{shape}: more than one sh:severity")
        return []
    severity = severities[0] if severities else SH.Violation
    values = f"?this {path} ?value ." if path else "BIND(?this AS ?value)"
    jobs: list[CoreJob] = []

    def job(param: URIRef, query: str, with_value: bool = True, values_query: str | None = None,
            check: Callable[[Any], bool] | None = None) -> None:
        jobs.append(CoreJob(shape, _COMPONENTS[param], focus_shape, query, with_value,
                            path_node, severity, messages, values_query, check))

    def first(variables: str, body: str) -> str:
        """Candidates (found without the targets, usually few) joined with the focus nodes after: Oxigraph
        evaluates the join left to right and skips the targets when there is no candidate (10x faster at 1M)."""
        if not path:
            return f"{{ {focus} {values} {body} }}"
        return f"{{ {{ SELECT DISTINCT {variables} WHERE {{ {values} {body} }} }} {focus} }}"

    def candidates(condition: str) -> str:
        """The values to check in Python: every value of the path, focus node or not (a superset; the
        rows query keeps the focus nodes'), so the targets are not evaluated for nothing."""
        return f"SELECT DISTINCT ?value WHERE {{ {values if path else focus + ' ' + values} {condition} }}"

    def per_value(param: URIRef, condition: str) -> None:
        job(param, f"SELECT DISTINCT ?this ?value WHERE {first('?this ?value', condition)}")

    for param in sorted(params, key=str):
        if param in _PATH_ONLY and path is None:
            problems.append(f"{shape}: {param} on a node shape")
            continue
        if param == SH.minCount:
            n = _count(shapes, shape, param, problems, {XSD.integer})
            if n == 1:
                job(param, f"SELECT ?this WHERE {{ {focus} MINUS {{ ?this {path} ?value }} }}", False)
            elif n:
                job(param, f"SELECT ?this WHERE {{ {focus} OPTIONAL {{ ?this {path} ?value }} }} "
                           f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {n})", False)
        elif param == SH.maxCount:
            n = _count(shapes, shape, param, problems, {XSD.integer})
            if n is not None:
                job(param, f"SELECT ?this WHERE {{ {{ SELECT ?this WHERE {{ ?this {path} ?value }} GROUP BY ?this "
                           f"HAVING (COUNT(DISTINCT ?value) > {n}) }} {focus} }}", False)
        elif param == SH["class"]:
            for c in sorted(shapes.objects(shape, param), key=str):
                if not isinstance(c, URIRef):
                    problems.append(f"{shape}: sh:class {c!r} is not an IRI")
                    continue
                per_value(param, f"MINUS {{ ?value {_TYPE} ?vc . ?vc {_SCO}* {_iri(c)} }}")
        elif param == SH.datatype:
            dt = _one(shapes, shape, param, problems)
            if dt is None:
                continue
            if dt == RDFS.Literal:
                per_value(param, "FILTER(!isLiteral(?value))")
            elif dt == RDFS.Datatype or not isinstance(dt, URIRef):
                problems.append(f"{shape}: sh:datatype {dt} (rdflib tells plain from xsd:string literals; Oxigraph "
                                "cannot)")
            else:
                per_value(param, f"FILTER(!isLiteral(?value) || datatype(?value) != {_iri(dt)})")
                cond = f"FILTER(isLiteral(?value) && datatype(?value) = {_iri(dt)})"
                if dt in _PARSED:
                    job(param, f"SELECT DISTINCT ?this ?value WHERE {first('?this ?value', '#VALUES#')}",
                        values_query=candidates(cond),
                        check=_datatype_check(dt))
        elif param == SH.nodeKind:
            kind = _one(shapes, shape, param, problems)
            if kind is None:
                continue
            if kind not in _NODE_KINDS:
                problems.append(f"{shape}: sh:nodeKind {kind} is not a SHACL node kind")
                continue
            per_value(param, f"FILTER(!{_NODE_KINDS[kind]})")
        elif param == SH.pattern:
            for pattern in sorted(shapes.objects(shape, param), key=str):
                if not isinstance(pattern, Literal):
                    problems.append(f"{shape}: sh:pattern {pattern!r} is not a literal")
                    continue
                try:
                    check = _pattern_check(shapes, shape, pattern)
                except re.error as exc:
                    problems.append(f"{shape}: sh:pattern {pattern!r} is not a Python regular expression: {exc}")
                    continue
                per_value(param, "FILTER(isBlank(?value))")
                job(param, f"SELECT DISTINCT ?this ?value WHERE {first('?this ?value', '#VALUES#')}",
                    values_query=candidates("FILTER(!isBlank(?value))"),
                    check=check)
        elif param in (SH.minLength, SH.maxLength):
            n = _count(shapes, shape, param, problems, _INTEGERS)
            if n is None or (param == SH.minLength and n == 0):
                continue
            op = "<" if param == SH.minLength else ">"
            per_value(param, f"FILTER(isBlank(?value) || STRLEN(STR(?value)) {op} {n})")
        elif param == SH.languageIn:
            head = _one(shapes, shape, param, problems)
            items = _list(shapes, head) if head is not None else None
            if items is None or not all(isinstance(i, Literal) and isinstance(i.value, str) and not i.language
                                        for i in items):
                problems.append(f"{shape}: sh:languageIn is not a list of plain strings")
                continue
            langs = sorted({str(i.value).lower() for i in items})
            if "*" in langs:
                per_value(param, "FILTER(!isLiteral(?value) || LANG(?value) = \"\")")
            else:
                in_list = ", ".join(str(ox.Literal(lang)) for lang in langs) or '"\u0000"'
                per_value(param, "FILTER(!isLiteral(?value) || LANG(?value) = \"\" || !("
                                 f"LCASE(LANG(?value)) IN ({in_list}) || "
                                 f"LCASE(STRBEFORE(CONCAT(LANG(?value), \"-\"), \"-\")) IN ({in_list})))")
        elif param == SH.uniqueLang:
            flag = _one(shapes, shape, param, problems)
            if not isinstance(flag, Literal) or not isinstance(flag.value, bool):
                problems.append(f"{shape}: sh:uniqueLang must be a boolean")
                continue
            if flag.value:
                job(param, f"SELECT ?this WHERE {{ {{ SELECT ?this WHERE {{ {values} FILTER(isLiteral(?value) && "
                           "LANG(?value) != \"\") } GROUP BY ?this (LCASE(LANG(?value)) AS ?lang) "
                           f"HAVING (COUNT(DISTINCT ?value) > 1) }} {focus} }}", False)
        elif param in (SH["in"], SH.hasValue):
            if param == SH["in"]:
                head = _one(shapes, shape, param, problems)
                members = _list(shapes, head) if head is not None else None
            else:
                members = list(shapes.objects(shape, param))
            if members is None or any(isinstance(m, BNode) or (isinstance(m, Literal) and m.datatype == XSD.string)
                                      for m in members):
                problems.append(f"{shape}: {param} needs IRIs and literals not written ^^xsd:string")
                continue
            if param == SH["in"]:
                same = " || ".join(f"sameTerm(?value, {_sparql_term(m)})" for m in members) or "false"
                per_value(param, f"FILTER(!({same}))")
            else:
                for hv in sorted(members, key=str):
                    has = (f"MINUS {{ ?this {path} {_sparql_term(hv)} }}" if path
                           else f"FILTER(!sameTerm(?this, {_sparql_term(hv)}))")
                    job(param, f"SELECT ?this WHERE {{ {focus} {has} }}", False)
    return jobs


def _shape_nodes(shapes: Graph) -> set[Node]:
    """The nodes pyshacl treats as shapes (pyshacl ShapesGraph._build_node_shape_cache)."""
    nodes = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(shapes.subjects(RDF.type, SH.PropertyShape))
    for p in (*_TARGET_PREDICATES, SH.property, SH.node):
        nodes |= set(shapes.subjects(p, None))
    for p in (SH.property, SH.node, SH["not"], SH.qualifiedValueShape):
        nodes |= set(shapes.objects(None, p))
    return nodes


def compile_shapes(shapes: Graph) -> tuple[list[CoreJob], list[str]]:
    """Every supported shape of ``shapes`` as SPARQL jobs; second, what is not supported (sorted).

    When the second list is not empty the jobs do not cover the shapes: run the core with pyshacl."""
    problems: list[str] = []
    jobs: list[CoreJob] = []
    for p in (SH.rule, SH.target, SH.parameter, SH.js, SH.sparql):
        if any(True for _ in shapes.subject_objects(p)):
            problems.append(f"{p} is used in the shapes graph (not supported)")
    for t in (SH.ConstraintComponent, SH.SPARQLTarget, SH.SPARQLTargetType, SH.JSTarget, SH.JSTargetType):
        if any(True for _ in shapes.subjects(RDF.type, t)):
            problems.append(f"{t} is declared in the shapes graph (not supported)")
    for shape in sorted(_shape_nodes(shapes), key=lambda n: (isinstance(n, BNode), str(n))):
        is_property = shapes.value(shape, SH.path) is not None
        if is_property and (shape, RDF.type, SH.NodeShape) in shapes:
            problems.append(f"{shape}: a sh:NodeShape with sh:path")
            continue
        if _deactivated(shapes, shape, problems):
            continue
        if is_property and shapes.value(shape, SH.property) is not None:
            problems.append(f"{shape}: sh:property on a property shape")
            continue
        providers: list[Node] = []
        if _targets_pattern(shapes, shape, []) is not None:
            providers.append(shape)
        for parent in sorted(shapes.subjects(SH.property, shape), key=str):
            if shapes.value(parent, SH.path) is None and not _deactivated(shapes, parent, problems):
                providers.append(parent)
        if not is_property and shapes.value(None, SH.property) == shape:
            problems.append(f"{shape}: the value of sh:property has no sh:path")
        for provider in providers:
            focus = _targets_pattern(shapes, provider, problems if provider == shape else [])
            if focus is None:
                continue
            jobs.extend(_shape_jobs(shapes, shape, provider, focus, problems))
    return jobs, sorted(set(problems))


def run_core(store: ox.Store, shapes: Graph, *, within: Sequence[ox.NamedNode] | None = None,
             bnodes: dict[str, BNode] | None = None,
             jobs: Sequence[CoreJob] | None = None) -> list[list[tuple[Node, Node]]]:
    """Each validation result of the core constraints of ``shapes`` on ``store``, as its (predicate,
    object) pairs in the form pyshacl writes them, on the dataset of the graphs ``within`` (their union as
    the default graph; ``None``: every graph of the store, :func:`kg.rdf.view.dataset_options`). ``bnodes``
    maps Oxigraph blank node ids to the rdflib blank nodes they stand for
    (``kg.pipeline.validate._oxigraph_dataset``). Raises ``ValueError`` when the
    shapes use anything :func:`compile_shapes` does not support (nothing is ever skipped)."""
    if jobs is None:
        jobs, problems = compile_shapes(shapes)
        if problems:
            raise ValueError("the SHACL core cannot run on Oxigraph: " + "; ".join(problems))
    bnodes = bnodes if bnodes is not None else {}
    scope = dataset_options(within)
    results: list[list[tuple[Node, Node]]] = []
    for job in jobs:
        query = job.query
        if job.check is not None:
            assert job.values_query is not None
            failing = [r[0] for r in store.query(job.values_query, **scope)
                       if job.check(r[0])]
            if not failing:
                continue
            query = query.replace("#VALUES#", "VALUES ?value { " + " ".join(map(str, failing)) + " }")
        for row in store.query(query, **scope):
            focus = shacl_term(row["this"], bnodes)
            pairs: list[tuple[Node, Node]] = [
                (RDF.type, SH.ValidationResult), (SH.sourceConstraintComponent, job.component),
                (SH.sourceShape, job.shape), (SH.resultSeverity, job.severity), (SH.focusNode, focus)]
            if job.with_value:
                pairs.append((SH.value, shacl_term(row["value"], bnodes)))
            if job.path is not None:
                pairs.append((SH.resultPath, job.path))
            pairs.extend((SH.resultMessage, m) for m in job.messages)
            results.append(pairs)
    return results


def core_report(store: ox.Store, shapes: Graph, jobs: Sequence[CoreJob] | None = None, *,
                within: Sequence[ox.NamedNode] | None = None, bnodes: dict[str, BNode] | None = None,
                data: Graph | None = None) -> Graph:
    """A report graph shaped as pyshacl's (one ``sh:ValidationReport``, ``sh:conforms``, one ``sh:result``
    per result). As pyshacl, blank nodes in results are copied in with what they say: a path's from
    ``shapes``, a focus node's or value's from ``data`` when given (an rdflib graph of the data)."""
    from pyshacl.rdfutil import clone_blank_node

    results = run_core(store, shapes, within=within, bnodes=bnodes, jobs=jobs)
    report_graph = Graph(bind_namespaces="core")
    for prefix, ns in shapes.namespace_manager.namespaces():
        report_graph.namespace_manager.bind(prefix, ns)
    report = BNode()
    report_graph.add((report, RDF.type, SH.ValidationReport))
    report_graph.add((report, SH.conforms, Literal(not results)))
    cloned: set[tuple[str, BNode]] = set()
    for pairs in results:
        res = BNode()
        report_graph.add((report, SH.result, res))
        for p, o in pairs:
            report_graph.add((res, p, o))
            if isinstance(o, BNode):
                source = ("shapes", shapes) if p == SH.resultPath else ("data", data)
                if source[1] is not None and (source[0], o) not in cloned:
                    cloned.add((source[0], o))
                    clone_blank_node(source[1], o, report_graph, keepid=True)
    return report_graph
