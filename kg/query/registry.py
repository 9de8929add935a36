"""Named queries: the registry of ``queries/*.rq`` files, their parameters, and running them.

A named query is a SPARQL SELECT with a grlc-style header of ``#+`` lines holding YAML::

    #+ summary: Bodies that inspect a kind of setting
    #+ description: >
    #+   Each body with an inspection function for the setting type, with its legal basis.
    #+ params:
    #+   - name: setting
    #+     type: iri
    #+     default: https://w3id.org/remit/id/setting-type/prison
    #+     description: The setting type (an IRI from the setting-type scheme).
    #+   - name: on
    #+     type: date
    #+     default: today
    #+     description: The day the responsibility must be in force.
    PREFIX remit: <https://w3id.org/remit/def/>
    SELECT ?body WHERE { ... ?setting ... ?on ... }

Parameter fields: ``name`` (a variable of the query, without ``?``), ``type`` (``iri``, ``date``,
``string``, ``int``), ``default`` (optional; for a date, ``data-date`` means the data date of the store that
runs the query, :mod:`kg.rdf.datadate`, and ``today`` the current day), ``required``
(default: true when there is no default), ``values`` (optional list of allowed values), ``description``,
and for the pages people use (:mod:`kg.publication.questions`): ``label`` (the form's plain-English label)
and ``choices`` (for an IRI parameter, the kind of term its drop-down lists: one of :data:`CHOICES`).
Two header keys are for people too: ``question`` (the question the query answers, in plain English) and
``about`` (a plain-English paragraph; ``description`` is the precise, technical one).
A value is checked against its type (a bad one raises :class:`ParamError`) and bound to the variable with
Oxigraph's ``substitutions`` (SEP-0007): the query text is never edited. Paging: ``limit`` (at most
:data:`MAX_LIMIT` unless configured) and ``offset``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import pyoxigraph as ox

from kg.query.terms import ParamError, check_term_text, needs_store, resolve_bindings
from kg.query.binding import TermSpec, bind_with_values
from kg.query.window import FIRST_WINDOW, candidates_query, has_window, next_window, place_window
from kg.rdf.rq import HeaderError, read_header, scan
from kg.rdf.namespaces import PREFIXES
from kg.rdf.store import default_graph_nodes, open_store

__all__ = [
    "Param", "NamedQuery", "ResultPage", "QueryFileError", "ParamError",
    "load_queries", "parse_named_query", "bind_params", "select_page", "run_named",
    "page_to_csv", "page_to_markdown", "page_to_json", "term_to_json", "term_display", "PARAM_TYPES", "CHOICES",
    "MAX_LIMIT", "ALL_ROWS", "RESERVED", "DATA_DATE_DEFAULT", "LIST_SEPARATOR", "list_columns", "ordered_lists",
]

PARAM_TYPES = ("iri", "date", "string", "int")
#: The kinds of term an IRI parameter's drop-down can list (``choices:`` in the header).
CHOICES = ("setting-type", "jurisdiction", "establishment", "body", "function", "agreement", "agreement-status")
MAX_LIMIT = 1000
#: The limit for "every row" (a page that lists a whole answer): no dataset reaches it, and an external
#: store's adapter leaves a LIMIT this large out (Virtuoso refuses a sorted LIMIT above 10,000: SR353).
ALL_ROWS = 1_000_000_000
#: Request parameters with a meaning of their own; no query parameter may use these names.
RESERVED = frozenset({"limit", "offset", "format", "output"})
XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING = XSD + "string"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: A bound value ready to cross a process boundary: (kind, lexical value, datatype IRI or None).


class QueryFileError(ValueError):
    """A named-query file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "string"
    default: Optional[str] = None
    required: bool = False
    values: Optional[tuple[str, ...]] = None
    description: str = ""
    label: str = ""
    choices: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required,
                             "description": self.description}
        if self.default is not None:
            d["default"] = self.default
        if self.values is not None:
            d["values"] = list(self.values)
        if self.label:
            d["label"] = self.label
        if self.choices:
            d["choices"] = self.choices
        return d


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    summary: str
    description: str
    params: tuple[Param, ...]
    text: str
    question: str = ""
    about: str = ""

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "summary": self.summary, "description": self.description,
                             "params": [p.as_dict() for p in self.params]}
        if self.question:
            d["question"] = self.question
        if self.about:
            d["about"] = self.about
        return d


@dataclass
class ResultPage:
    """One page of a SELECT: ``rows`` are SPARQL-JSON bindings (a missing key = unbound)."""

    columns: list[str]
    rows: list[dict[str, dict[str, str]]]
    limit: int
    offset: int
    has_more: bool
    params: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- loading

def parse_named_query(path: Path, text: Optional[str] = None) -> NamedQuery:
    """Read one ``.rq`` file and its ``#+`` header."""
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    try:
        meta, first_line = read_header(path, text)
    except HeaderError as exc:
        raise QueryFileError(str(exc)) from None
    unknown = set(meta) - {"summary", "description", "params", "tags", "method", "endpoint", "pagination",
                         "question", "about"}
    if unknown:
        raise QueryFileError(f"{path}: line {first_line}: unknown header key(s): {', '.join(sorted(unknown))}")
    params = tuple(_parse_param(path, first_line or 1, i, p) for i, p in enumerate(meta.get("params") or []))
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise QueryFileError(f"{path}: line {first_line}: a parameter is declared twice")
    projected = _projection(path, text)
    for p in params:
        if not re.search(r"[?$]" + re.escape(p.name) + r"\b", text):
            raise QueryFileError(f"{path}: parameter {p.name!r} is not a variable (?{p.name}) of the query")
        if projected is not None and p.name not in projected:
            raise QueryFileError(
                f"{path}: parameter ?{p.name} must be in the SELECT clause (or use SELECT *): parameters are "
                "bound by SPARQL substitution (SEP-0007), which applies to projected variables")
    return NamedQuery(
        name=path.stem,
        path=path,
        summary=str(meta.get("summary") or "").strip(),
        description=str(meta.get("description") or "").strip(),
        params=params,
        text=text,
        question=str(meta.get("question") or "").strip(),
        about=str(meta.get("about") or "").strip(),
    )


def _projection(path: Path, text: str) -> Optional[set[str]]:
    """The SELECT's projected variable names (all in-scope variables for ``SELECT *``).

    The query is parsed by the engine that will run it (pyoxigraph, evaluated on an empty in-memory
    store, which costs milliseconds; rdflib's parser took seconds per query). Raises on a syntax error,
    with the parser's position, and on a non-SELECT query."""
    try:
        result = ox.Store().query(text)
    except SyntaxError as exc:
        msg = str(exc)
        m = re.match(r"error at (\d+):(\d+)(?:-\d+:\d+)?: (.*)", msg, re.DOTALL)
        if m:
            msg = f"line {m.group(1)}, column {m.group(2)}: {m.group(3)}"
        raise QueryFileError(f"{path}: {msg}") from None
    if not isinstance(result, ox.QuerySolutions):
        kind = "ASK" if isinstance(result, bool) else "CONSTRUCT/DESCRIBE"
        raise QueryFileError(f"{path}: a named query must be a SELECT query, not {kind}")
    body = "\n".join(line.split("#", 1)[0] if not line.lstrip().startswith("#") else "" for line in text.splitlines())
    if re.search(r"\bSELECT\s+(?:DISTINCT\s+|REDUCED\s+)?\*", body, re.IGNORECASE) and \
            re.search(r"\bSELECT\b", body, re.IGNORECASE).start() == \
            re.search(r"\bSELECT\s+(?:DISTINCT\s+|REDUCED\s+)?\*", body, re.IGNORECASE).start():
        return None  # SELECT *: every variable is projected
    return {v.value for v in result.variables}


def _parse_param(path: Path, line: int, index: int, raw: Any) -> Param:
    where = f"{path}: line {line}: params[{index}]"
    if not isinstance(raw, dict) or "name" not in raw:
        raise QueryFileError(f"{where}: each parameter is a mapping with at least a name")
    unknown = set(raw) - {"name", "type", "default", "required", "values", "description", "label", "choices"}
    if unknown:
        raise QueryFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = str(raw["name"])
    if not _NAME.match(name) or name in RESERVED:
        raise QueryFileError(f"{where}: bad parameter name {name!r} (a SPARQL variable name, not "
                             f"one of {', '.join(sorted(RESERVED))})")
    ptype = str(raw.get("type", "string"))
    if ptype not in PARAM_TYPES:
        raise QueryFileError(f"{where}: type {ptype!r} is not one of {', '.join(PARAM_TYPES)}")
    default = raw.get("default")
    default = None if default is None else str(default)
    values = raw.get("values")
    if values is not None:
        if not isinstance(values, list) or not values:
            raise QueryFileError(f"{where}: values must be a non-empty list")
        values = tuple(str(v) for v in values)
    choices = raw.get("choices")
    if choices is not None and (ptype != "iri" or str(choices) not in CHOICES):
        raise QueryFileError(f"{where}: choices {choices!r}: an IRI parameter's drop-down lists one of "
                             f"{', '.join(CHOICES)}")
    param = Param(name=name, type=ptype, default=default,
                  required=bool(raw.get("required", default is None)), values=values,
                  description=str(raw.get("description") or "").strip(),
                  label=str(raw.get("label") or "").strip(), choices=None if choices is None else str(choices))
    if default is not None and not (ptype == "date" and default in ("today", DATA_DATE_DEFAULT)):
        try:
            _check_value(param, default)
        except ParamError as exc:
            raise QueryFileError(f"{where}: default: {exc}") from None
    return param


def load_queries(directory: Path) -> dict[str, NamedQuery]:
    """Every ``*.rq`` directly in ``directory`` (not sub-folders), by name (the file stem)."""
    directory = Path(directory)
    if not directory.is_dir():
        return {}
    out: dict[str, NamedQuery] = {}
    for path in sorted(directory.glob("*.rq")):
        nq = parse_named_query(path)
        out[nq.name] = nq
    return out


# --------------------------------------------------------------------------------------------- binding

#: The default of a date parameter that means the data date (``default: data-date``); until the store that runs
#: the query reads it, the value is the spec ``("data-date", "", xsd:date)`` (:func:`kg.query.terms.resolve_bindings`).
DATA_DATE_DEFAULT = "data-date"
_INT = re.compile(r"^[+-]?\d{1,18}$")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_IRI_BAD = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _check_value(param: Param, value: str, given: bool = False) -> TermSpec:
    """The term spec of one value. A value given for an IRI parameter is kept as typed, as
    ``("term", value, None)``: a full IRI, a prefixed name or a label, resolved against the store that runs
    the query (:func:`kg.query.terms.resolve_term`, called by :func:`select_page`); a default must be a
    full IRI."""
    if param.values is not None and value not in param.values:
        raise ParamError(f"parameter {param.name!r}: {value!r} is not one of {', '.join(param.values)}")
    if param.type == "iri" and given:
        return ("term", check_term_text(param.name, value), None)
    if param.type == "iri":
        if not _SCHEME.match(value) or _IRI_BAD.search(value):
            raise ParamError(f"parameter {param.name!r}: {value!r} is not an absolute IRI")
        return ("iri", value, None)
    if param.type == "date":
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ParamError(f"parameter {param.name!r}: {value!r} is not a date (YYYY-MM-DD)") from None
        if not _DATE.fullmatch(value):  # fromisoformat also takes week dates (2024-W01-1) and 20240101
            raise ParamError(f"parameter {param.name!r}: {value!r} is not a date (YYYY-MM-DD)")
        return ("literal", day.isoformat(), XSD + "date")
    if param.type == "int":
        if not _INT.match(value):
            raise ParamError(f"parameter {param.name!r}: {value!r} is not an integer")
        return ("literal", str(int(value)), XSD + "integer")
    if len(value) > 1000:
        raise ParamError(f"parameter {param.name!r}: longer than 1000 characters")
    return ("literal", value, XSD + "string")


def bind_params(nq: NamedQuery, raw: Mapping[str, str], today: Optional[dt.date] = None,
                data_date: Optional[dt.date] = None) -> dict[str, TermSpec]:
    """Check request values against the declared parameters; return variable name -> term spec.

    Unknown parameter names are an error (a typo would otherwise be silently ignored). A value given for an
    IRI parameter comes back as ``("term", value, None)``, to be resolved to the one term of the graph it
    names by the store that runs the query (:func:`kg.query.terms.resolve_bindings`); so does an absent date
    whose default is ``data-date``, as ``("data-date", "", xsd:date)``, unless ``data_date`` is given.
    """
    declared = {p.name: p for p in nq.params}
    unknown = [k for k in raw if k not in declared and k not in RESERVED]
    if unknown:
        known = ", ".join(declared) or "none"
        raise ParamError(f"unknown parameter {unknown[0]!r} for query {nq.name!r} (parameters: {known})")
    out: dict[str, TermSpec] = {}
    for p in nq.params:
        value = raw.get(p.name)
        given = not (value is None or value == "")
        if not given:
            if p.default is None:
                if p.required:
                    raise ParamError(f"parameter {p.name!r} is required ({p.type})")
                continue
            value = p.default
            if p.type == "date" and value == DATA_DATE_DEFAULT:
                if data_date is None:
                    out[p.name] = ("data-date", "", XSD + "date")
                    continue
                value = data_date.isoformat()
            if p.type == "date" and value == "today":
                value = (today or dt.date.today()).isoformat()
        out[p.name] = _check_value(p, value, given)
    return out


def page_bounds(limit: Optional[str | int], offset: Optional[str | int], default_limit: int = 100,
                max_limit: int = MAX_LIMIT) -> tuple[int, int]:
    """Check ``limit`` (1..max_limit) and ``offset`` (>= 0)."""
    def as_int(name: str, v: str | int | None, default: int) -> int:
        if v is None or v == "":
            return default
        if isinstance(v, int):
            return v
        if not _INT.match(v):
            raise ParamError(f"{name} must be an integer, not {v!r}")
        return int(v)
    lim = as_int("limit", limit, default_limit)
    off = as_int("offset", offset, 0)
    if not 1 <= lim <= max_limit:
        raise ParamError(f"limit must be between 1 and {max_limit}, not {lim}")
    if off < 0:
        raise ParamError(f"offset must be 0 or more, not {off}")
    return lim, off


__all__ += ["page_bounds", "place_page", "PAGE_MARKER"]


# --------------------------------------------------------------------------------------------- running

def _to_ox(spec: TermSpec) -> Any:
    kind, value, datatype = spec
    if kind == "iri":
        return ox.NamedNode(value)
    return ox.Literal(value, datatype=ox.NamedNode(datatype) if datatype else None)


def term_to_json(term: Any) -> dict[str, Any]:
    """A pyoxigraph term as a SPARQL 1.1 JSON results binding."""
    kind = type(term)  # the two kinds nearly every cell is, first (a 1,000-row page has ~20,000 cells: 9.5 -> 6.7 ms)
    if kind is ox.NamedNode:
        return {"type": "uri", "value": term.value}
    if kind is ox.Literal and not term.language:
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return {"type": "literal", "value": term.value}
        return {"type": "literal", "value": term.value, "datatype": datatype}
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
            direction = getattr(term, "direction", None)
            if direction is not None:
                out["its:dir"] = str(direction.name if hasattr(direction, "name") else direction).lower()
        elif term.datatype.value != XSD + "string":
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": term_to_json(term.subject),
                                            "predicate": term_to_json(term.predicate),
                                            "object": term_to_json(term.object)}}
    raise TypeError(f"not an RDF term: {term!r}")


#: The page marker a named query may put in one sub-select (see :func:`place_page`).
PAGE_MARKER = "LIMIT 1000000000000 # @page"
_PAGE = re.compile(r"LIMIT\s+1000000000000[ \t]*#[ \t]*@page\b[^\n]*", re.IGNORECASE)


def place_page(text: str, limit: int, offset: int) -> tuple[str, bool]:
    """Put the page into the query's marked sub-select, if it has one.

    A query whose rows are expensive (labels, sources, aggregates) may select and order its row keys in
    a sub-select that ends with :data:`PAGE_MARKER` (``LIMIT 1000000000000 # @page``), then fetch the
    details for those keys only. As written, the marker is a limit no store reaches, so the text is a
    correct query anywhere (an external store pages it from outside); here the marker becomes
    ``LIMIT limit+1 OFFSET offset`` and only that page's keys are looked up. The sub-select must project
    every parameter variable (so the substitution is applied inside it) and order the keys exactly as
    the outer query orders its rows. Returns the text and whether a marker was replaced."""
    m = _PAGE.search(text)
    if m is None:
        return text, False
    return f"{text[:m.start()]}LIMIT {limit + 1} OFFSET {offset}{text[m.end():]}", True


def select_page(store: Any, text: str, bindings: Mapping[str, TermSpec], limit: int, offset: int,
                default_graph: Optional[Sequence[str]] = None) -> ResultPage:
    """Run a SELECT on a pyoxigraph store with bound variables; return rows offset..offset+limit.

    A query with a page marker (:func:`place_page`) computes only the page's rows; one with a window marker
    (:mod:`kg.query.window`) reads only as many of its first candidate keys as the page needs. IRI parameters
    given as typed (``("term", ...)`` specs) are first resolved in the same default graph; a term that is not
    there raises :class:`ParamError`."""
    graphs = [ox.NamedNode(g) for g in default_graph] if default_graph is not None else default_graph_nodes()
    if needs_store(bindings):
        def select(q: str) -> list[dict[str, dict[str, Any]]]:
            res = store.query(q, default_graph=graphs)
            cols = [v.value for v in res.variables]
            return [{c: term_to_json(v) for c, v in zip(cols, sol) if v is not None} for sol in res]
        bindings = resolve_bindings(select, bindings)
    written = text
    text, paged = place_page(text, limit, offset)
    offset_in_result = 0 if paged else offset
    text = bind_with_values(text, bindings)
    # a query with a window marker (kg.query.window): its first rows from its first candidate keys
    candidates = None
    if has_window(text):
        counted = store.query(candidates_query(text), default_graph=graphs)
        candidates = next((int(sol[0].value) for sol in counted if sol[0] is not None), 0)
    window = FIRST_WINDOW
    while True:
        whole = candidates is None or window >= candidates
        result = store.query(text if whole else place_window(text, window), default_graph=graphs)
        if not isinstance(result, ox.QuerySolutions):
            raise ValueError("a named query must be a SELECT query")
        columns = [v.value for v in result.variables]
        rows: list[dict[str, dict[str, str]]] = []
        has_more = False
        produced = 0
        for sol in result:
            produced += 1
            if produced <= offset_in_result:
                continue
            if len(rows) == limit:
                has_more = True
                break
            rows.append({c: term_to_json(v) for c, v in zip(columns, sol) if v is not None})  # in column order
        if whole or has_more:
            break
        # the window's rows end inside the page: read more candidates (the rows before the page are known to
        # be there only when the page's own rows start)
        window = next_window(window, produced + (offset if paged and produced else 0), offset + limit + 1)
    return ordered_lists(ResultPage(columns=columns, rows=rows, limit=limit, offset=offset, has_more=has_more,
                                    params={k: v[1] for k, v in bindings.items()}), written)


#: How the named queries join the values of a GROUP_CONCAT column (``queries/*.rq`` convention:
#: ``REPLACE(GROUP_CONCAT(DISTINCT CONCAT(?x, " | "); separator=""), " \\| $", "")``).
LIST_SEPARATOR = " | "
#: In a query's code (strings, IRIs and comments blanked by :func:`kg.query.binding.scan`): brackets, the
#: ``AS ?v`` that ends a bracketed expression, variables and GROUP_CONCAT.
_SYNTAX = re.compile(r"(\()|(\))|\bAS\s+[?$](\w+)\s*(?=\))|[?$](\w+)|\b(GROUP_CONCAT)\b", re.I)


@functools.lru_cache(maxsize=256)
def list_columns(text: str) -> frozenset[str]:
    """The variables a query binds (``(expr AS ?v)``, ``BIND(expr AS ?v)``) with an expression that uses
    GROUP_CONCAT, or that uses a variable so bound: ``(MAX(COALESCE(?parties0, "")) AS ?parties)`` over a
    sub-select's ``(GROUP_CONCAT(…) AS ?parties0)`` is a list column too."""
    frames: list[tuple[set[str], list[bool], list[str]]] = [(set(), [False], [])]  # variables, GROUP_CONCAT?, AS
    uses: dict[str, set[str]] = {}
    lists: set[str] = set()
    code = [" "] * len(text)
    for i, c in scan(text):
        code[i] = c
    for m in _SYNTAX.finditer("".join(code)):
        opened, closed, bound, var, concat = m.groups()
        variables, has_concat, named = frames[-1]
        if opened:
            frames.append((set(), [False], []))
        elif closed and len(frames) > 1:
            frames.pop()
            if named:
                uses.setdefault(named[0], set()).update(variables)
                if has_concat[0]:
                    lists.add(named[0])
            frames[-1][0].update(variables)
            frames[-1][1][0] |= has_concat[0]
        elif bound:
            named.append(bound)
        elif var:
            variables.add(var)
        elif concat:
            has_concat[0] = True
    grown = True
    while grown:
        more = {v for v, used in uses.items() if v not in lists and used & lists}
        lists |= more
        grown = bool(more)
    return frozenset(lists)


def ordered_lists(page: ResultPage, text: str) -> ResultPage:
    """``page`` with each GROUP_CONCAT cell's parts in sorted order, empty parts left out. GROUP_CONCAT has no
    defined order (SPARQL 1.1 §18.5.1.7): Oxigraph's differs between processes, so without this one question
    could answer with its sources in one order on the command line and in another on the endpoint, or in
    another run. An empty part says nothing; Virtuoso 7 makes one where a list's value is unbound in one row
    of the group (``overlaps``' ``leadLabel``: " | CQC | HMI Prisons")."""
    lists = list_columns(text) & set(page.columns)
    for row in page.rows:
        for c in lists:
            cell = row.get(c)
            if cell is not None and LIST_SEPARATOR in cell["value"]:
                parts = sorted(p for p in cell["value"].split(LIST_SEPARATOR) if p)
                row[c] = {**cell, "value": LIST_SEPARATOR.join(parts)}
    return page


def run_named(store: Any, nq: NamedQuery, raw_params: Mapping[str, str], limit: Optional[int | str] = None,
              offset: Optional[int | str] = None, max_limit: int = MAX_LIMIT, default_limit: int = 100) -> ResultPage:
    """Check the parameters and run a named query on an open store (what `kg query` calls)."""
    lim, off = page_bounds(limit, offset, default_limit, max_limit)
    return select_page(store, nq.text, bind_params(nq, raw_params), lim, off)


# --------------------------------------------------------------------------------------------- output

def term_display(b: Optional[Mapping[str, Any]], compact: bool = False) -> str:
    """The plain value of a binding, as SPARQL CSV writes it (IRIs bare, literals without tags);
    with ``compact``, IRIs in Remit's namespaces are written as prefixed names (for people)."""
    if not b:
        return ""
    if compact and b["type"] == "uri":
        best = max(((p, ns) for p, ns in PREFIXES.items() if b["value"].startswith(ns)),
                   key=lambda pn: len(pn[1]), default=None)
        if best and b["value"][len(best[1]):]:
            return f"{best[0]}:{b['value'][len(best[1]):]}"
    if b["type"] == "bnode":
        return "_:" + b["value"]
    if b["type"] == "triple":
        v = b["value"]
        return f"<< {term_display(v['subject'])} {term_display(v['predicate'])} {term_display(v['object'])} >>"
    return str(b["value"])


def _rows(page: ResultPage) -> Iterator[list[str]]:
    for row in page.rows:
        yield [term_display(row.get(c)) for c in page.columns]


def page_to_markdown(page: ResultPage) -> str:
    """A Markdown table of the page (IRIs as prefixed names), for documents and issue trackers."""
    def cell(b: Optional[Mapping[str, Any]]) -> str:
        return term_display(b, compact=True).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(page.columns) + " |", "|" + " --- |" * len(page.columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in page.columns) + " |" for r in page.rows]
    return "\n".join(lines) + "\n"


def page_to_csv(page: ResultPage) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(page.columns)
    w.writerows(_rows(page))
    return buf.getvalue()


def page_to_json(page: ResultPage, name: str = "") -> dict[str, Any]:
    """The JSON document of ``GET /queries/{name}``: SPARQL JSON results plus a ``page`` member."""
    return {
        "head": {"vars": page.columns},
        "query": name,
        "params": page.params,
        "page": {"limit": page.limit, "offset": page.offset, "count": len(page.rows), "hasMore": page.has_more},
        "results": {"bindings": page.rows},
    }


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def run_named_query(name: str, raw_params: Mapping[str, str], *, store_path: Path, queries_dir: Path,
                    limit: Optional[int | str] = None, offset: Optional[int | str] = None,
                    max_limit: int = MAX_LIMIT, default_limit: int = 100) -> tuple[NamedQuery, ResultPage]:
    """Load the registry, open the built store read-only and run one named query (``kg query``).

    Raises KeyError for an unknown name, :class:`ParamError` for a bad parameter."""
    registry = load_queries(queries_dir)
    if name not in registry:
        raise KeyError(f"no named query {name!r} in {queries_dir} (queries: {', '.join(registry) or 'none'})")
    nq = registry[name]
    store = open_store(store_path)
    return nq, run_named(store, nq, raw_params, limit, offset, max_limit, default_limit)


__all__.append("run_named_query")
