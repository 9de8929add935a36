"""Inspect a SPARQL query before anything is evaluated: form, dataset, and what the public surface refuses.

Refused (:class:`QueryRefused`, HTTP 400): any SPARQL Update (LOAD, INSERT, CLEAR ...), any ``SERVICE``
(silent or not, wherever nested, whatever its IRI or variable), ``FROM``/``FROM NAMED`` naming a graph the
store does not hold, syntax errors (message with line and column), and queries nested too deeply to parse.

The check walks rdflib's parse tree and its algebra (``parseQuery``/``translateQuery``). rdflib expands
``\\uXXXX`` escapes everywhere before parsing, Oxigraph only inside strings and IRIs; so the text rdflib sees
has those escapes neutralised first (see :func:`_neutralise_escapes`), so both parsers see the same shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

__all__ = ["QueryRefused", "QueryInfo", "inspect_query"]


class QueryRefused(Exception):
    """The query is not run. ``status`` is the HTTP status, ``title`` a short reason, ``detail`` the rest."""

    def __init__(self, title: str, detail: str = "", status: int = 400):
        self.status = status
        self.title = title
        self.detail = detail
        super().__init__(f"{title}: {detail}" if detail else title)


@dataclass
class QueryInfo:
    form: str                               # SELECT, ASK, CONSTRUCT, DESCRIBE
    from_graphs: list[str] = field(default_factory=list)
    from_named_graphs: list[str] = field(default_factory=list)
    algebra: Any = field(default=None, repr=False)  # rdflib's algebra, for the cost checks (kg.api.cost)

    @property
    def has_dataset(self) -> bool:
        return bool(self.from_graphs or self.from_named_graphs)


_ESCAPE = re.compile(r"\\(\\|[uU][0-9A-Fa-f]{4}(?:[0-9A-Fa-f]{4})?)")
_UPDATE_WORDS = re.compile(
    r"^\s*(?:(?:PREFIX|BASE)\b[^\n]*\n\s*)*(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b",
    re.IGNORECASE,
)


def _neutralise_escapes(text: str) -> str:
    r"""Text for rdflib only: ``\\`` becomes ``\t`` and ``\uXXXX`` loses its backslash, so rdflib's global
    escape expansion cannot open or close a string, an IRI or a comment that Oxigraph would not."""
    return _ESCAPE.sub(lambda m: "\\t" if m.group(1) == "\\" else m.group(1), text)


def _line_col(exc: Exception, text: str) -> tuple[Optional[int], Optional[int]]:
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "col", None)
    if line is None and getattr(exc, "loc", None) is not None:
        loc = exc.loc  # type: ignore[attr-defined]
        line = text.count("\n", 0, loc) + 1
        col = loc - (text.rfind("\n", 0, loc) + 1) + 1
    return line, col


def _is_update(text: str) -> Optional[str]:
    """The update operation's name if ``text`` parses as SPARQL Update, else None."""
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        upd = parseUpdate(text)
    except RecursionError:
        return None
    except Exception:
        m = _UPDATE_WORDS.match(text)
        return m.group(1).upper() if m else None
    names = [getattr(r, "name", "update") for r in upd.get("request", []) or []] if "request" in upd else []
    if not names:
        return None
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", names[0]).upper()


def _walk(node: Any, seen: set[int]) -> Iterable[Any]:
    """Every CompValue in a parse tree or algebra, iteratively (no recursion limit to hit)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, CompValue):
            yield cur
            stack.extend(v for k, v in cur.items() if not str(k).startswith("_"))
        elif isinstance(cur, dict):
            stack.extend(cur.values())
        elif isinstance(cur, (list, tuple, set, frozenset)) or type(cur).__name__ == "ParseResults":
            try:
                stack.extend(list(cur))
            except TypeError:
                pass


def _service_names(tree: Any) -> list[str]:
    out = []
    for cv in _walk(tree, set()):
        if cv.name == "ServiceGraphPattern":
            term = cv["term"] if "term" in cv else None
            if term is not None and getattr(term, "name", None) == "pname":
                term = f"{term['prefix'] if 'prefix' in term else ''}:{term['localname'] if 'localname' in term else ''}"
            elif term is not None and type(term).__name__ == "Variable":
                term = "?" + str(term)
            elif term is not None and type(term).__name__ == "URIRef":
                term = f"<{term}>"
            out.append(str(term) if term is not None else "?")
    return out


# ------------------------------------------------------------------ fast path for plain lookups
# rdflib's parser (pyparsing) takes milliseconds even for a one-line lookup. A query made only of the
# tokens below -- PREFIX declarations, SELECT [DISTINCT|REDUCED] vars|* or ASK, [WHERE], one group of
# plain triple patterns (IRIs, prefixed names, variables, `a`, simple literals, integers), LIMIT/OFFSET --
# can hold no SERVICE, FROM, update, path, sub-query or nesting, so its guard verdict needs only its
# triple patterns (the cost guard's cartesian check). Anything else (a comment, a backslash, a blank
# node, any other keyword or character) goes through rdflib as before; Oxigraph still parses every query.
_FAST_TOKEN = re.compile(r"""\s*(?:
    (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z_][A-Za-z0-9_]*)
  | (?P<lit>"[^"\\\n\r]*"|'[^'\\\n\r]*')(?:(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^(?P<dt><[^<>"{}|^`\\\x00-\x20]*>))?
  | (?P<int>[0-9]+)(?![.eE0-9A-Za-z_:])
  | (?P<pname>(?:[A-Za-z][A-Za-z0-9_-]*)?:(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)?)(?![.\w:%-])
  | (?P<word>[A-Za-z]+)(?![\w:-])
  | (?P<punct>[{}.;,*])
)""", re.VERBOSE)
_FAST_MAX_TRIPLES = 64
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _fast_tokens(text: str) -> Optional[list[tuple[str, Any]]]:
    out: list[tuple[str, Any]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        m = _FAST_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return None
        pos = m.end()
        kind = m.lastgroup
        if kind in ("lang", "dt"):
            kind = "lit"
        if kind == "lit":
            out.append(("lit", (m.group("lit")[1:-1], m.group("lang"), m.group("dt"))))
        elif kind == "word":
            word = m.group("word")
            out.append(("kw", word if word == "a" else word.upper()))
        else:
            out.append((kind, m.group(kind)))  # type: ignore[arg-type]
    return out


def fast_inspect(text: str) -> Optional[QueryInfo]:
    """The guard's view of a plain lookup (see above) without rdflib's parser, or None when ``text`` is
    not one (the caller then takes the full path). The returned ``algebra`` holds the query's one basic
    graph pattern, which is all :func:`kg.api.cost.check_cost` needs for such a query."""
    if "\\" in text or len(text) > 8192:  # escapes: the full path (see _neutralise_escapes)
        return None
    toks = _fast_tokens(text)
    if not toks:
        return None
    from rdflib import Literal, URIRef, Variable
    from rdflib.plugins.sparql.parserutils import CompValue

    i, n = 0, len(toks)
    prefixes: dict[str, str] = {}

    def peek(k: int = 0) -> tuple[str, Any]:
        return toks[i + k] if i + k < n else ("eof", None)

    while peek() == ("kw", "PREFIX"):
        if peek(1)[0] != "pname" or not peek(1)[1].endswith(":") or peek(2)[0] != "iri":
            return None
        prefixes[peek(1)[1][:-1]] = peek(2)[1][1:-1]
        i += 3
    form = peek()
    if form == ("kw", "SELECT"):
        i += 1
        if peek() in (("kw", "DISTINCT"), ("kw", "REDUCED")):
            i += 1
        if peek() == ("punct", "*"):
            i += 1
        else:
            start = i
            while peek()[0] == "var":
                i += 1
            if i == start:
                return None
    elif form == ("kw", "ASK"):
        i += 1
    else:
        return None
    if peek() == ("kw", "WHERE"):
        i += 1
    if peek() != ("punct", "{"):
        return None
    i += 1

    def term(tok: tuple[str, Any], position: str) -> Any:
        kind, value = tok
        if kind == "var":
            return Variable(value[1:])
        if kind == "iri":
            return URIRef(value[1:-1])
        if kind == "pname":
            prefix, _, local = value.partition(":")
            if prefix not in prefixes:
                return None
            return URIRef(prefixes[prefix] + local)
        if kind == "kw" and value == "a" and position == "p":
            return URIRef(_RDF_TYPE)
        if position == "o" and kind == "lit":
            lex, lang, dt = value
            return Literal(lex, lang=lang[1:] if lang else None, datatype=URIRef(dt[1:-1]) if dt else None)
        if position == "o" and kind == "int":
            return Literal(int(value))
        return None

    triples: list[tuple[Any, Any, Any]] = []
    while peek() != ("punct", "}"):  # TriplesSameSubject ( '.' TriplesSameSubject? )*
        s = term(peek(), "s")
        if s is None:
            return None
        i += 1
        while True:  # verb object (',' object)* (';' (verb object-list)?)*
            p = term(peek(), "p")
            if p is None:
                return None
            i += 1
            while True:
                o = term(peek(), "o")
                if o is None:
                    return None
                i += 1
                triples.append((s, p, o))
                if peek() != ("punct", ","):
                    break
                i += 1
            while peek() == ("punct", ";"):
                i += 1
            if peek() in (("punct", "."), ("punct", "}")):
                break
        if peek() == ("punct", "."):
            i += 1
        if len(triples) > _FAST_MAX_TRIPLES:
            return None
    i += 1
    seen: set[str] = set()
    while peek()[0] == "kw" and peek()[1] in ("LIMIT", "OFFSET") and peek()[1] not in seen and form[1] == "SELECT":
        if peek(1)[0] != "int":
            return None
        seen.add(peek()[1])
        i += 2
    if i != n:
        return None
    bgp = CompValue("BGP", triples=triples)
    return QueryInfo(form=form[1], algebra=CompValue(form[1].capitalize() + "Query", p=bgp))


def inspect_query(text: str, store_graphs: Iterable[str]) -> QueryInfo:
    """Parse ``text`` and refuse what the public surface does not run; return the form and dataset."""
    fast = fast_inspect(text)
    if fast is not None:
        return fast
    from pyparsing.exceptions import ParseBaseException
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    graphs = set(store_graphs)
    safe = _neutralise_escapes(text)
    try:
        parsed = parseQuery(safe)
    except RecursionError:
        raise QueryRefused("query too complex", "the query is nested too deeply to be checked") from None
    except ParseBaseException as exc:
        op = _is_update(safe)
        if op:
            raise QueryRefused(
                "SPARQL Update is not accepted",
                f"this endpoint is read-only; the request is a SPARQL Update ({op}). Nothing was run.",
            ) from None
        line, col = _line_col(exc, safe)
        msg = str(getattr(exc, "msg", exc))
        raise QueryRefused("syntax error", f"line {line}, column {col}: {msg}") from None
    except ValueError as exc:  # e.g. an invalid \U code point
        raise QueryRefused("syntax error", str(exc)) from None

    services = _service_names(parsed)
    if services:
        raise QueryRefused(
            "SERVICE is not allowed",
            "federated queries are refused; this endpoint never calls another service "
            f"(SERVICE {services[0]}). Nothing was run.",
        )

    try:
        algebra = translateQuery(parsed)
    except RecursionError:
        raise QueryRefused("query too complex", "the query is nested too deeply to be checked") from None
    except Exception as exc:  # rdflib could not translate: we cannot vouch for it
        raise QueryRefused("query not accepted", f"the query could not be analysed: {exc}") from None

    services = _service_names(algebra.algebra)
    if services:
        raise QueryRefused("SERVICE is not allowed",
                           f"federated queries are refused (SERVICE {services[0]}). Nothing was run.")

    name = algebra.algebra.name  # SelectQuery, AskQuery, ConstructQuery, DescribeQuery
    form = name.replace("Query", "").upper()
    info = QueryInfo(form=form, algebra=algebra.algebra)
    clauses = algebra.algebra["datasetClause"] if "datasetClause" in algebra.algebra else None
    for clause in clauses or []:
        if "default" in clause:
            info.from_graphs.append(str(clause["default"]))
        elif "named" in clause:
            info.from_named_graphs.append(str(clause["named"]))
    unknown = [g for g in info.from_graphs + info.from_named_graphs if g not in graphs]
    if unknown:
        raise QueryRefused(
            "FROM graph not available",
            f"<{unknown[0]}> is not a graph of this store (nothing is fetched from the web). "
            f"Graphs: {', '.join('<' + g + '>' for g in sorted(graphs))}.",
        )
    return info


def check_dataset_params(default_graph_uris: list[str], named_graph_uris: list[str],
                         store_graphs: Iterable[str]) -> None:
    """Refuse protocol ``default-graph-uri``/``named-graph-uri`` values that are not graphs of the store."""
    graphs = set(store_graphs)
    for g in (*default_graph_uris, *named_graph_uris):
        if g not in graphs:
            raise QueryRefused(
                "graph not available",
                f"<{g}> is not a graph of this store. Graphs: {', '.join('<' + x + '>' for x in sorted(graphs))}.",
            )
