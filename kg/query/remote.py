"""A remote backend: answer Remit's queries from an external SPARQL 1.1 store through SPARQLWrapper.

:class:`RemoteStore` speaks the SPARQL 1.1 Protocol (query by POST, results as SPARQL JSON) to any
store the built dataset was pushed into with ``kg push`` (Oxigraph server, Fuseki, GraphDB, Virtuoso).
It returns the same shapes as the embedded backend in :mod:`kg.query.registry`: a :class:`kg.query.registry.ResultPage`
whose rows are SPARQL-JSON bindings normalised the way :func:`kg.query.registry.term_to_json` writes them
(``literal`` with ``xml:lang`` or a ``datatype`` other than ``xsd:string``; ``uri``; ``bnode``).

How it matches the embedded runner:

* the default graph is the union of the ontology, asserted and inferred graphs, asked for with the
  protocol's ``default-graph-uri`` parameters (as :data:`kg.rdf.store.DEFAULT_GRAPHS`);
* parameters are bound with a ``VALUES`` block placed first in the query's top-level group, so they
  are bound before every ``BIND``, ``FILTER`` and ``OPTIONAL`` of the query, as Oxigraph's
  ``substitutions`` bind them; values are written as N-Triples terms, never spliced into the query;
* a page is asked for with ``LIMIT limit+1 OFFSET offset`` appended after the query's own solution
  modifiers (when it has no ``LIMIT``/``OFFSET``/``VALUES`` at the end; otherwise the rows are cut
  here), so ``has_more`` is exact.
"""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional
from urllib.error import HTTPError, URLError

from rdflib import Graph, Literal, URIRef
from SPARQLWrapper import JSON, N3, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from kg.query.registry import (
    ALL_ROWS, MAX_LIMIT, NamedQuery, ResultPage, TermSpec, bind_params, load_queries, ordered_lists, page_bounds,
)
from kg.query.binding import bind_with_values
from kg.query.terms import needs_store, resolve_bindings
from kg.rdf.namespaces import DATASET, DATASET_VERSION, GRAPH_ASSERTED, GRAPH_META
from kg.rdf.rq import scan
from kg.rdf.store import DEFAULT_GRAPHS

__all__ = ["DIALECTS", "RemoteError", "RemoteStore", "StoreUnavailable", "adapt_query", "asserted_graph", "detect_dialect", "bind_with_values", "incomplete_answer", "normalise_binding",
           "run_named_remote", "run_named_query_remote", "unbound_variables", "adapt_results", "adapt_value"]



_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class RemoteError(Exception):
    """The external store could not answer; the message names the endpoint and what it said."""


class StoreUnavailable(RuntimeError):
    """The external store could not be reached or failed while a page was made (a 502 for the page), or
    ``refused`` one query: it answered, with an error for that query (a parser's 400, an engine's 500), so the
    page can say that this one question has no answer there and show the rest."""

    def __init__(self, message: str, refused: bool = False):
        super().__init__(message)
        self.refused = refused


# --------------------------------------------------------------------------------------------- text

def _can_append_limit(text: str) -> bool:
    chars = scan(text)
    last = max((i for i, c in chars if c == "}"), default=None)
    if last is None:
        return False
    tail = "".join(c for i, c in chars if i > last)
    return re.search(r"\b(LIMIT|OFFSET|VALUES)\b", tail, re.I) is None


# --------------------------------------------------------------------------------------------- dialects

#: Engines whose departures from SPARQL 1.1 this module adapts to (``docs/scale.md``, "Virtuoso").
DIALECTS = ("standard", "virtuoso")
_DIALECT_CACHE: dict[str, str] = {}
_SAME_TERM = r"sameTerm\(\s*[?$]\w+\s*,\s*[?$]\w+\s*\)"
_COALESCE_SAME_TERMS = re.compile(r"\bCOALESCE\(\s*(" + _SAME_TERM + r"(?:\s*\|\|\s*" + _SAME_TERM + r")*)\s*,\s*true\s*\)",
                                  re.I)
_BIG_LIMIT = re.compile(r"\bLIMIT\s+(\d{10,})", re.I)
#: A window or keys sub-select's order and "no limit" marker (kg.query.window, kg.query.registry.PAGE_MARKER), left
#: out for Virtuoso (see adapt_query): the ORDER BY conditions hold no brace, so the match stays in one sub-select
_SUBSELECT_ORDER = re.compile(
    r"\bORDER\s+BY\b[^{}]*?\bLIMIT\s+1000000000000[ \t]*#[ \t]*@(?:window|page)\b[^\n]*", re.I)
_VIRTUOSO_MAX_LIMIT = ALL_ROWS  # a LIMIT this large or larger is no limit
_STRLEN = re.compile(r"\bSTRLEN\s*\(", re.I)
_OPERATOR_BEFORE = re.compile(r"(<=|>=|!=|<|>|=)\s*$")


def _matching(text: str, code: list[int], at: int) -> Optional[int]:
    """Offset of the ``)`` closing the ``(`` at offset ``at`` (code characters only), or None."""
    depth = 0
    for i in code[code.index(at):]:
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return None


_UNBOUND = "?remit_adapter_unbound"  # a variable no query binds: Virtuoso's NULL, SPARQL's error


def _guard_substr_lengths(text: str) -> str:
    """``X op SUBSTR(D, B, STRLEN(X))`` → ``IF(COALESCE(STRLEN(X), -1) >= 0, X op SUBSTR(D, B,
    COALESCE(STRLEN(X), 0)), ?remit_adapter_unbound)`` (Virtuoso).

    The dates-to-the-precision-given idiom compares a date ``X`` (``SUBSTR(STR(?from), 1, 10)``) with the day
    cut to ``X``'s length. With ``?from`` unbound SPARQL makes ``STRLEN(X)``, the ``SUBSTR`` and so the
    comparison an error, which the query's ``COALESCE(…, true)`` skips. Virtuoso makes ``STRLEN(X)`` NULL and
    fails the *whole query* ("SR008: rdf_substr_impl needs an integer as argument 3"), and makes ``X`` itself
    an empty string, not NULL (so ``X > …`` would be false, not an error). The rewrite never gives ``SUBSTR``
    a NULL length and makes the comparison an unbound variable (Virtuoso's NULL, SPARQL's error) when
    ``STRLEN(X)`` is not a number; with ``X`` bound it is the comparison as written. Only where the same
    ``X`` (same text) is the other operand of the comparison."""
    code = [i for i, _ in scan(text)]
    in_code = set(code)
    edits: list[tuple[int, int, str]] = []
    for m in _STRLEN.finditer(text):
        if m.start() not in in_code:
            continue
        open_at = m.end() - 1
        close = _matching(text, code, open_at)
        if close is None:
            continue
        operand = text[open_at + 1:close]
        rest = text[close + 1:].lstrip()
        if not rest.startswith(")"):  # STRLEN(X) must be SUBSTR's last argument
            continue
        depth, call = 0, None  # the unmatched "(" before STRLEN: SUBSTR's own
        for i in reversed([i for i in code if i < m.start()]):
            if text[i] == ")":
                depth += 1
            elif text[i] == "(":
                if depth == 0:
                    call = i
                    break
                depth -= 1
        if call is None or not re.search(r"\bSUBSTR\s*$", text[:call], re.I):
            continue
        before = re.sub(r"SUBSTR\s*$", "", text[:call], flags=re.I)
        op = _OPERATOR_BEFORE.search(before)
        if op is None:
            continue
        left = before[:op.start()].rstrip()
        x = operand.strip()
        if not left.endswith(x):
            continue
        ahead = left[:len(left) - len(x)].rstrip()
        if ahead and ahead[-1] not in "(,|&!":  # X must be the whole left operand (not "a + X")
            continue
        start, end = len(left) - len(x), close + 1 + (len(text) - close - 1 - len(rest)) + 1
        length = text[m.start():close + 1]
        edits.append((start, end, f"IF(COALESCE({length}, -1) >= 0, {text[start:m.start()]}COALESCE({length}, 0)"
                                  f"{text[close + 1:end]}, {_UNBOUND})"))
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]
    return text


#: SPARQL 1.1's built-in calls and the keywords a bracketted expression follows: a variable inside such a
#: bracket (up to the nearest "{") is read by an expression, not bound there (a VALUES list and an RDF
#: collection are brackets that follow none of these words)
_EXPRESSION_WORDS = frozenset(w.upper() for w in """
    FILTER BIND HAVING BY ASC DESC IN IF COALESCE BOUND sameTerm isIRI isURI isBlank isLiteral isNumeric STR LANG
    LANGMATCHES DATATYPE IRI URI BNODE RAND ABS CEIL FLOOR ROUND CONCAT STRLEN UCASE LCASE ENCODE_FOR_URI CONTAINS
    STRSTARTS STRENDS STRBEFORE STRAFTER YEAR MONTH DAY HOURS MINUTES SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1
    SHA256 SHA384 SHA512 STRLANG STRDT SUBSTR REPLACE REGEX COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT""".split())
_VARIABLE = re.compile(r"[?$](\w+)")


def unbound_variables(text: str) -> set[str]:
    """The variables (names without ``?``) that nothing in the query can bind: each of their occurrences is
    read by an expression (inside the brackets of ``FILTER``, ``BIND``, a built-in call…, up to the nearest
    ``{``), or is a plain variable of a ``SELECT`` projection or after ``GROUP BY``/``ORDER BY``. Any other
    occurrence (in a triple pattern, after ``GRAPH``, in ``VALUES``, after ``AS``, in a pattern inside
    ``EXISTS``) counts as binding, so a variable is listed only when no solution of the query can bind it."""
    chars = scan(text)
    code = "".join(c for _, c in chars)
    stack: list[str] = []  # open brackets: "{", "e" (an expression's "("), "(" (any other "(")
    since_brace = 0  # offset in ``code`` after the last "{" or "}"
    seen: set[str] = set()
    bound: set[str] = set()
    k = 0
    while k < len(chars):
        i, c = chars[k]
        if c == "{":
            stack.append("{")
            since_brace = k + 1
        elif c == "}":
            while stack and stack.pop() != "{":
                pass
            since_brace = k + 1
        elif c == "(":
            word = re.search(r"(?<![\w:?$.\-])([A-Za-z_]\w*)\s*$", code[max(0, k - 80):k])
            whole = word is not None and (word.start() > 0 or k <= 80)  # not the tail of a longer name
            stack.append("e" if whole and word.group(1).upper() in _EXPRESSION_WORDS else "(")
        elif c == ")":
            if stack and stack[-1] != "{":
                stack.pop()
        elif c in "?$":
            m = _VARIABLE.match(code, k)
            if m:
                name = m.group(1)
                seen.add(name)
                inner = stack[len(stack) - stack[::-1].index("{"):] if "{" in stack else stack
                segment = code[since_brace:k]
                select = re.search(r"\bSELECT\b", segment, re.I)
                if re.search(r"\bAS\s*$", code[max(0, k - 80):k], re.I):
                    bound.add(name)
                elif "e" in inner:
                    pass  # read by an expression
                elif inner or not ((select and not re.search(r"\bWHERE\b", segment[select.end():], re.I))
                                   or (re.match(r"\s*(GROUP|ORDER)\s+BY\b", segment, re.I)
                                       and not re.search(r"\bVALUES\b", segment, re.I))):
                    bound.add(name)
                k = m.end()
                continue
        k += 1
    return seen - bound


_SAME_TERM_CALL = re.compile(r"\bsameTerm\s*\(", re.I)
_XSD_STRING_IRI = "<http://www.w3.org/2001/XMLSchema#string>"


def _arguments(text: str, code: list[int], open_at: int, close: int) -> list[tuple[int, int]]:
    """The offsets of the arguments of the call whose brackets are at ``open_at`` and ``close``."""
    depth, start, out = 0, open_at + 1, []
    for i in code[code.index(open_at) + 1:]:
        if i >= close:
            break
        if text[i] in "({[":
            depth += 1
        elif text[i] in ")}]":
            depth -= 1
        elif text[i] == "," and depth == 0:
            out.append((start, i))
            start = i + 1
    out.append((start, close))
    return out


def _rewrite_same_terms(text: str) -> str:
    """``sameTerm`` calls Virtuoso 7.2.5 gets wrong, as an expression with the same value in SPARQL 1.1:

    * ``sameTerm(A, B)`` where ``A`` or ``B`` is a variable nothing in the query can bind
      (:func:`unbound_variables`: an optional parameter not given, so with no ``VALUES`` block) → ``(A = B)``.
      Virtuoso refuses the whole query ("SP031: SPARQL compiler: IRI() built-in function can not use boolean
      expression as an argument") wherever such a call is not a conjunct of a ``FILTER``: ``SELECT * WHERE {
      ?s ?p ?o FILTER(!sameTerm(?free, ?s)) }`` is enough, and so is the optional-parameter idiom once it is
      ``IF(BOUND(?free) && …, sameTerm(?free, ?s) || …, true)`` (``unremade-agreements``). In SPARQL both
      are an error in every row (an unbound operand is an error before either function looks at it), and
      Virtuoso compiles ``=``. (Leaving the call out instead, ``true`` for the idiom, is the same value too,
      but then a projected, grouped ``?free`` that no pattern mentions makes Virtuoso fail with "SQ156 Bad
      dfe in sqlo_place_exp": ``party-functions``.)
    * ``sameTerm(?v, "text")`` (either side; a simple literal, no language tag or datatype) is false in
      Virtuoso for every ``?v``, even ``"text"`` itself (``VALUES ?v { "" } FILTER(sameTerm(?v, ""))`` has no
      row; so has ``BIND("" AS ?v)``). Sent as ``(isLiteral(?v) && LANG(?v) = "" && DATATYPE(?v) =
      xsd:string && STR(?v) = "text")``: in RDF 1.1 a simple literal is the ``xsd:string`` literal with that
      lexical form, so with ``?v`` bound this is true exactly for that term, and false, with no error, for an
      IRI, a blank node (``false && error`` is false) or any other literal; with ``?v`` unbound both are an
      error."""
    unbound = unbound_variables(text)
    code = [i for i, _ in scan(text)]
    in_code = set(code)
    edits: list[tuple[int, int, str]] = []
    for m in _SAME_TERM_CALL.finditer(text):
        if m.start() not in in_code or (edits and m.start() < edits[-1][1]):
            continue
        open_at = m.end() - 1
        close = _matching(text, code, open_at)
        if close is None:
            continue
        args = [text[a:b].strip() for a, b in _arguments(text, code, open_at, close)]
        if len(args) != 2:
            continue
        variables = [a for a in args if re.fullmatch(r"[?$]\w+", a)]
        if any(v[1:] in unbound for v in variables):
            edits.append((m.start(), close + 1, f"({args[0]} = {args[1]})"))
            continue
        literals = [a for a in args if _simple_literal(a)]
        if len(variables) == 1 and len(literals) == 1:
            v, lit = variables[0], literals[0]
            edits.append((m.start(), close + 1, f'(isLiteral({v}) && LANG({v}) = "" && DATATYPE({v}) = '
                                                f'{_XSD_STRING_IRI} && STR({v}) = {lit})'))
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]
    return text


def _simple_literal(token: str) -> bool:
    """Whether ``token`` is one string literal with no language tag or datatype (nothing of it is code)."""
    return token[:1] in "\"'" and not scan(token)


_VALUES_ONLY = re.compile(r"\s*VALUES\s*(?:[?$]\w+|\((?:\s*[?$]\w+)*\s*\))\s*\{[^{}]*\}\s*", re.I)


def _values_branches_as_subselects(text: str) -> str:
    """``{ VALUES … }`` as a branch of ``UNION`` → ``{ SELECT * WHERE { VALUES … } }`` (Virtuoso).

    Virtuoso 7.2.5 loses the rows of a ``UNION`` branch that is a ``VALUES`` block alone, and sometimes
    every row of the ``UNION`` (``{ ?s ?p ?o } UNION { VALUES ?o { "" } }`` has no row at all; ``{ BIND("x"
    AS ?a) } UNION { VALUES ?a { "y" } }`` has only "x"). A sub-select of every variable of the block is
    the same solutions in SPARQL 1.1 (the block's rows, with the same variables), and Virtuoso answers it.
    Only a group whose code is one ``VALUES`` block and that is an operand of ``UNION``."""
    chars = scan(text)
    code = "".join(c for _, c in chars)
    offsets = [i for i, _ in chars]
    edits: list[tuple[int, int]] = []
    stack: list[int] = []
    for k, c in enumerate(code):
        if c == "{":
            stack.append(k)
        elif c == "}" and stack:
            start = stack.pop()
            inner = code[start + 1:k]
            if not _VALUES_ONLY.fullmatch(inner):
                continue
            if not (re.search(r"\bUNION\s*$", code[:start], re.I) or re.match(r"\s*UNION\b", code[k + 1:], re.I)):
                continue
            edits.append((offsets[start], offsets[k]))
    for start, end in sorted(edits, reverse=True):
        text = text[:start] + "{ SELECT * WHERE " + text[start:end + 1] + " }" + text[end + 1:]
    return text


_CONCAT_CALL = re.compile(r"(?<![\w:?$])CONCAT\s*\(", re.I)


def _never_unbound(arg: str) -> bool:
    """Whether a ``CONCAT`` argument is a value in every row: a string literal, or a ``COALESCE`` whose last
    argument is one (nothing of it is code but the call)."""
    if _simple_literal(arg) or re.fullmatch(r"(\"[^\"\\\n]*\"|'[^'\\\n]*')(@[\w-]+)?", arg):
        return True
    m = re.match(r"COALESCE\s*\(", arg, re.I)
    if not m:
        return False
    code = [i for i, _ in scan(arg)]
    close = _matching(arg, code, m.end() - 1)
    if close != len(arg) - 1:
        return False
    last = _arguments(arg, code, m.end() - 1, close)[-1]
    return _never_unbound(arg[last[0]:last[1]].strip())


def _guard_concat_arguments(text: str) -> str:
    """``CONCAT(A, B, …)`` → ``IF(<every argument has a value>, CONCAT(A, B, …), ?remit_adapter_unbound)`` (Virtuoso).

    In SPARQL 1.1 an argument that is an error (an unbound variable, ``STR`` of one) makes ``CONCAT`` an error,
    which the lists' idiom ``COALESCE(CONCAT(STR(?x), " | "), "")`` and the address's ``COALESCE(CONCAT(STR(?a3),
    ", "), "")`` turn into "". Virtuoso 7.2.5 takes a NULL argument as an empty string: ``CONCAT(STR(?unbound),
    ", ")`` is ", " (and ``COALESCE`` keeps it), so an address read "Manchester, , M32 0RS, " and a signatory
    "…, for CQC, " (``contacts``, ``agreements``). The guard is ``BOUND(?v)`` for an argument ``?v`` or
    ``STR(?v)``, else ``COALESCE(STRLEN(A), -1) >= 0`` (Virtuoso's ``STRLEN`` of NULL is NULL; in SPARQL an
    error, as it is for a non-string, where ``CONCAT`` is an error too); a string literal, or a ``COALESCE``
    ending in one, needs none. With every argument a value the call is as written; otherwise an unbound variable
    (SPARQL's error, Virtuoso's NULL). Nested calls are guarded innermost first."""
    code0 = {i for i, _ in scan(text)}
    starts = [m.start() for m in _CONCAT_CALL.finditer(text) if m.start() in code0]
    for start in reversed(starts):  # a nested call starts after its parent: inner ones first, offsets before stay
        code = [i for i, _ in scan(text)]
        open_at = text.index("(", start)
        close = _matching(text, code, open_at)
        if close is None:
            continue
        guards: list[str] = []
        for a, b in _arguments(text, code, open_at, close):
            arg = text[a:b].strip()
            if not arg or _never_unbound(arg):
                continue
            var = re.fullmatch(r"([?$]\w+)", arg) or re.fullmatch(r"STR\s*\(\s*([?$]\w+)\s*\)", arg, re.I)
            guard = f"BOUND({var.group(1)})" if var else f"COALESCE(STRLEN({arg}), -1) >= 0"
            if guard not in guards:
                guards.append(guard)
        if guards:
            call = text[start:close + 1]
            text = f"{text[:start]}IF({' && '.join(guards)}, {call}, {_UNBOUND}){text[close + 1:]}"
    return text


_SAME_TERM_DISJUNCTION = re.compile(_SAME_TERM + r"(?:\s*\|\|\s*" + _SAME_TERM + r")+", re.I)
_SAME_TERM_ARGS = re.compile(r"sameTerm\(\s*([?$]\w+)\s*,\s*([?$]\w+)\s*\)", re.I)


def _same_term_disjunctions(text: str) -> str:
    """``sameTerm(?a, ?x) || sameTerm(?a, ?y)`` → ``IF(isIRI(?a), ?a = ?x, sameTerm(?a, ?x)) || IF(isIRI(?a), ?a = ?y,
    sameTerm(?a, ?y))`` (Virtuoso; each call of a disjunction of ``sameTerm`` calls on two variables).

    With ``?a`` bound by a ``VALUES`` block (a parameter given: ``unremade-agreements``' ``body``), Virtuoso 7.2.5
    keeps no row for such a disjunction, not even where the first call alone is true: ``VALUES ?body { <cqc> } …
    FILTER(sameTerm(?body, ?successor) || sameTerm(?body, ?predecessor))`` has no row, ``FILTER(sameTerm(?body,
    ?successor))`` has CQC's. For an IRI ``?a``, ``?a = ?x`` is ``sameTerm(?a, ?x)`` in SPARQL 1.1 (RDFterm-equal:
    true for the same term, false for any other, an error where ``?x`` is unbound, as ``sameTerm``), and Virtuoso
    answers it right; any other ``?a`` keeps the call as written. (Runs after the optional-parameter idiom's
    ``IF(BOUND(…) …, sameTerm(…) || …, true)``, so it rewrites the disjunction inside it.) Not done for one call
    alone: ``IF(BOUND(?party) && BOUND(?body), sameTerm(?party, ?body), true)`` with ``?body`` from a ``VALUES``
    block is wrong on Virtuoso too (``leads`` for a body has no row), but the ``isIRI`` form of it made ``leads``
    pair areas with other agreements (docs/scale.md, not resolved)."""
    code = {i for i, _ in scan(text)}
    return _SAME_TERM_DISJUNCTION.sub(lambda m: _same_term_calls(m.group(0)) if m.start() in code else m.group(0), text)


def _same_term_calls(text: str) -> str:
    """Each ``sameTerm(?a, ?b)`` of ``text`` as ``IF(isIRI(?a), ?a = ?b, sameTerm(?a, ?b))`` (see
    :func:`_same_term_disjunctions`)."""
    return _SAME_TERM_ARGS.sub(lambda c: f"IF(isIRI({c.group(1)}), {c.group(1)} = {c.group(2)}, {c.group(0)})", text)


_IF_CALL = re.compile(r"(?<![\w:?$])IF\s*\(", re.I)
_VARIABLE_COMPARED = re.compile(r"\s*([?$]\w+)\s*(?:=|!=|<=|>=|<|>)\s*([^&|]+?)\s*", re.S)


def _guard_if_comparisons(text: str) -> str:
    """``IF(?v op E, A, B)`` → ``IF(BOUND(?v), IF(?v op E, A, B), ?v)`` (Virtuoso; ``op`` a comparison; ``E`` guarded
    the same way, inside, when it is a variable).

    In SPARQL 1.1 a comparison with an unbound variable is an error, and so is an ``IF`` on it: ``leads``' ``kind``,
    ``IF(?kindOrder = 3, "lead assignment", IF(BOUND(?area), …, ""))``, is unbound for an agreement with no areas.
    Virtuoso 7.2.5 makes the comparison false (no expression errors for unbound variables, as for ``sameTerm``) and
    answers the ``else`` branch, "". With the variables bound the call is as written; otherwise the unbound
    variable itself (SPARQL's error, Virtuoso's NULL): not ``?remit_adapter_unbound``, which Virtuoso refuses in a
    grouped projection ("SP031: … used in the result set outside aggregate and not mentioned in GROUP BY"), where
    ``?v`` is grouped already."""
    code0 = {i for i, _ in scan(text)}
    starts = [m.start() for m in _IF_CALL.finditer(text) if m.start() in code0]
    for start in reversed(starts):
        code = [i for i, _ in scan(text)]
        open_at = text.index("(", start)
        close = _matching(text, code, open_at)
        if close is None:
            continue
        args = _arguments(text, code, open_at, close)
        if len(args) != 3:
            continue
        cond = _VARIABLE_COMPARED.fullmatch(text[args[0][0]:args[0][1]])
        if cond is None:
            continue
        names = [cond.group(1)] + ([cond.group(2)] if re.fullmatch(r"[?$]\w+", cond.group(2)) else [])
        call = text[start:close + 1]
        for name in reversed(names):
            call = f"IF(BOUND({name}), {call}, {name})"
        text = f"{text[:start]}{call}{text[close + 1:]}"
    return text


_VALUES_TERM = r'(?:<[^<>"{}|^`\\\s]*>|"(?:[^"\\\n]|\\.)*"(?:\^\^<[^<>\s]*>|@[A-Za-z]+(?:-[A-Za-z0-9]+)*)?|UNDEF)'
_MINUS_VALUES = re.compile(r"(\bMINUS\s*\{)(\s*VALUES\s*(?:\(((?:\s*[?$]\w+)*)\s*\)\s*\{\s*\(((?:\s*" + _VALUES_TERM
                           + r")*)\s*\)\s*\}|([?$]\w+)\s*\{\s*(" + _VALUES_TERM + r")\s*\}))", re.I)


def _minus_values_as_binds(text: str) -> str:
    """A one-row ``VALUES`` block that opens a ``MINUS`` group (how :func:`kg.query.binding.bind_with_values`
    gives the group the parameters) → one ``BIND(term AS ?v)`` per variable (none for ``UNDEF``) (Virtuoso).

    Virtuoso 7.2.5 removes nothing with such a ``MINUS`` when its block has two variables or more and the outer
    group has a ``BIND``: ``SELECT ?s WHERE { VALUES (?f ?j) { (<f> <j>) } BIND(1 AS ?x) ?s a remit:SettingType
    MINUS { VALUES (?f ?j) { (<f> <j>) } ?s … ?f … } }`` keeps every setting type (``gaps``: 20 rows for 9); with a
    one-variable block, without the outer ``BIND``, or with ``BIND``s in the ``MINUS`` it answers right. At the
    start of a group the two are the same solutions in SPARQL 1.1 (one row joined with the empty pattern, then
    the rest of the group), and no variable is in scope there yet for ``BIND`` to clash with."""
    code = {i for i, _ in scan(text)}

    def binds(m: re.Match[str]) -> str:
        if m.start() not in code:
            return m.group(0)
        if m.group(5):
            names, terms = [m.group(5)], [m.group(6)]
        else:
            names = re.findall(r"[?$]\w+", m.group(3) or "")
            terms = re.findall(_VALUES_TERM, m.group(4) or "")
            if len(names) != len(terms):
                return m.group(0)
        return m.group(1) + " " + " ".join(f"BIND({t} AS {n})" for n, t in zip(names, terms)
                                           if t.upper() != "UNDEF") + " "

    return _MINUS_VALUES.sub(binds, text)


def detect_dialect(endpoint: str, timeout: float = 10.0) -> str:
    """``"virtuoso"`` when the endpoint's HTTP ``Server`` header names Virtuoso, else ``"standard"`` (asked
    once per endpoint with ``ASK {}``; an unreachable store is ``"standard"`` and fails on its real query)."""
    if endpoint not in _DIALECT_CACHE:
        server = ""
        try:
            req = urllib.request.Request(endpoint + ("&" if "?" in endpoint else "?") + "query=ASK%20%7B%7D",
                                         headers={"Accept": "application/sparql-results+json"})
            with urllib.request.urlopen(req, timeout=timeout) as res:
                server = res.headers.get("Server", "")
        except HTTPError as exc:
            server = exc.headers.get("Server", "") if exc.headers else ""
        except (URLError, socket.timeout, ConnectionError, OSError):
            return "standard"
        _DIALECT_CACHE[endpoint] = "virtuoso" if "virtuoso" in server.lower() else "standard"
    return _DIALECT_CACHE[endpoint]


def adapt_query(text: str, dialect: str) -> str:
    """The query as ``dialect`` evaluates it with standard SPARQL 1.1 meaning (the only place Remit adapts a
    query to an engine; the ``.rq`` files stay standard).

    ``virtuoso``: Virtuoso 7 has no expression *errors* for unbound variables: ``sameTerm(?a, ?b)`` (and
    ``?a = ?b``) with an unbound side is *false*, where SPARQL makes it an error that ``COALESCE`` skips. So
    the optional-parameter idiom ``COALESCE(sameTerm(?x, ?param) || sameTerm(?y, ?param), true)`` (true
    when the parameter is not given) dropped every row. It is sent as ``IF(BOUND(?x) && BOUND(?param) &&
    …, sameTerm(?x, ?param) || …, true)``: equal in SPARQL 1.1 for a disjunction of ``sameTerm``s (with
    every side bound the disjunction has no error; with one unbound, SPARQL gives true or an error, and
    ``COALESCE`` turns the error into ``true``). And a ``LIMIT`` above 2^31 (``LIMIT 1000000000000 # @page``,
    "no limit" in a keys sub-select) is a 32-bit ``TOP`` in Virtuoso, read as negative ("SR352: TOP
    parameter < 0"), and any sorted ``TOP`` above ``MaxSortedTopRows`` (10,000 by default) is refused
    ("SR353"): a ``LIMIT`` of 10^9 or more, no limit for any Remit dataset, is left out. And
    ``X op SUBSTR(D, 1, STRLEN(X))`` gets a length that is never NULL (:func:`_guard_substr_lengths`). And
    ``sameTerm`` with a variable the query binds nowhere, or with a simple literal, is sent as an expression
    Virtuoso compiles and evaluates as SPARQL does (:func:`_rewrite_same_terms`; after the idiom's ``IF``, so
    it rewrites the calls inside it too). And a ``UNION`` branch that is a ``VALUES`` block alone is sent as a
    sub-select (:func:`_values_branches_as_subselects`). And a window sub-select (:mod:`kg.query.window`) is sent
    without its ``ORDER BY`` and marker, which mean nothing without a limit: with them, Virtuoso 7.2.5 sometimes
    (by the plan it chose after a push) paired each part of ``agreement-overlaps`` with another pair's agreement.
    So is a keys sub-select ending in the page marker (``ORDER BY … LIMIT 1000000000000 # @page``): the
    remote page is the outer query's ``LIMIT``/``OFFSET``, and with the inner ``ORDER BY`` Virtuoso dropped, by
    the plan it compiled, a whole (body, setting type, function, lead) key of ``powers-without-agreement``.
    And since 2026-12-06 (the real build): a disjunction of ``sameTerm`` calls (:func:`_same_term_disjunctions`), a
    ``MINUS`` group opened by the parameters' ``VALUES`` block (:func:`_minus_values_as_binds`), ``IF`` on a
    comparison with a variable (:func:`_guard_if_comparisons`) and ``CONCAT`` with an argument that may be unbound
    (:func:`_guard_concat_arguments`) are sent in forms Virtuoso evaluates as SPARQL does."""
    if dialect != "virtuoso":
        return text
    code = {i for i, _ in scan(text)}

    def guarded(m: re.Match[str]) -> str:
        if m.start() not in code:
            return m.group(0)
        names = list(dict.fromkeys(re.findall(r"[?$]\w+", m.group(1))))
        return f"IF({' && '.join(f'BOUND({v})' for v in names)}, {m.group(1)}, true)"

    def capped(m: re.Match[str]) -> str:
        return m.group(0) if m.start() not in code or int(m.group(1)) < _VIRTUOSO_MAX_LIMIT else " "

    ordered = [m for m in _SUBSELECT_ORDER.finditer(text) if m.start() in code]
    for m in reversed(ordered):  # from the end, so the earlier matches' offsets still hold
        text = f"{text[:m.start()]} {text[m.end():]}"
    if ordered:  # the scan is Python, character by character: only again when the text changed
        code = {i for i, _ in scan(text)}
    text = _BIG_LIMIT.sub(capped, text)
    code = {i for i, _ in scan(text)}
    text = _COALESCE_SAME_TERMS.sub(guarded, text)
    text = _same_term_disjunctions(_rewrite_same_terms(text))
    text = _minus_values_as_binds(text)
    text = _guard_if_comparisons(text)
    return _guard_concat_arguments(_values_branches_as_subselects(_guard_substr_lengths(text)))


# --------------------------------------------------------------------------------------------- results

_XSD_DURATION = "http://www.w3.org/2001/XMLSchema#duration"


def adapt_value(value: str, datatype: Optional[str], dialect: str) -> str:
    """A literal's lexical form as the store's ``dialect`` gives it → as SPARQL 1.1 (and the embedded store) gives it.

    ``virtuoso``: Virtuoso 7.2.5 keeps an ``xsd:duration`` as a number of months, and answers the pushed
    ``"P1Y6M"^^xsd:duration`` (or the same constant in a query) as ``"18"^^xsd:duration``, which is not a duration's
    lexical form at all. An integer ``n`` with that datatype is sent back as the canonical form of ``n`` months, as
    Oxigraph writes it (``P1Y6M``, ``P6M``, ``P2Y``; zero ``PT0S``; negative ``-P…``). Days and times, which
    Virtuoso does not keep, cannot be given back: a duration with them is not restored (docs/scale.md)."""
    if dialect != "virtuoso" or datatype != _XSD_DURATION or not re.fullmatch(r"-?\d+", value):
        return value
    months = int(value)
    years, rest = divmod(abs(months), 12)
    body = (f"{years}Y" if years else "") + (f"{rest}M" if rest else "")
    return ("-" if months < 0 else "") + "P" + body if body else "PT0S"


def adapt_results(data: dict[str, Any], dialect: str) -> dict[str, Any]:
    """SPARQL JSON results from a store of ``dialect`` with every literal's lexical form as :func:`adapt_value`
    gives it (in place; returned for convenience). The one place results are adapted to an engine, as
    :func:`adapt_query` is for queries: :class:`RemoteStore` and the pages' store (:mod:`kg.api.remote_site`)
    both read through it (and :func:`asserted_graph` applies :func:`adapt_value` to its CONSTRUCT's literals)."""
    if dialect == "standard":
        return data
    for row in data.get("results", {}).get("bindings", []):
        for b in row.values():
            if b.get("type") in ("literal", "typed-literal") and b.get("datatype"):
                b["value"] = adapt_value(b["value"], b["datatype"], dialect)
    return data


def normalise_binding(b: Mapping[str, Any]) -> dict[str, Any]:
    """A SPARQL-JSON binding as :func:`kg.query.registry.term_to_json` writes it (``typed-literal`` → ``literal``,
    no ``datatype`` for ``xsd:string`` or language-tagged literals)."""
    kind = b.get("type")
    if kind in ("literal", "typed-literal"):
        out: dict[str, Any] = {"type": "literal", "value": b["value"]}
        lang = b.get("xml:lang")
        if lang:
            out["xml:lang"] = lang
        elif b.get("datatype") and b["datatype"] != _XSD_STRING:
            out["datatype"] = b["datatype"]
        return out
    if kind == "uri":
        return {"type": "uri", "value": b["value"]}
    if kind == "bnode":
        return {"type": "bnode", "value": b["value"]}
    return dict(b)


def incomplete_answer(status: int, headers: Any) -> Optional[str]:
    """Why a store's answer is only part of the answer, or ``None`` when nothing says so: HTTP 206, or Virtuoso's
    "anytime query" header ``X-SQL-State: S1TAT`` (a 200 whose rows are those found before a time limit: a
    ``timeout`` parameter in the store's URL, or the server's ``ExecutionTimeout``). Remit serves no part of an
    answer as if it were the whole (docs/scale.md, "Virtuoso")."""
    state = (headers.get("X-SQL-State") or "").strip() if headers is not None else ""
    if status != 206 and state.upper() != "S1TAT":
        return None
    return ("the store sent only part of the answer (HTTP %d%s): its time limit stopped the query; remove the "
            "store's limit (Virtuoso: no timeout= in the store URL, ExecutionTimeout 0) and let Remit's deadline "
            "(REMIT_QUERY_TIMEOUT) apply" % (status, f", X-SQL-State {state}" if state else ""))


class RemoteStore:
    """A SPARQL 1.1 query endpoint holding a pushed Remit dataset."""

    def __init__(self, endpoint: str, default_graphs: Optional[Sequence[str]] = DEFAULT_GRAPHS,
                 timeout: float = 60.0, auth: Optional[tuple[str, str]] = None, dialect: Optional[str] = None):
        if not re.match(r"^https?://", endpoint):
            raise RemoteError(f"{endpoint}: not an http(s) SPARQL endpoint URL")
        if dialect is not None and dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}, not {dialect!r}")
        self.endpoint = endpoint
        self.default_graphs = list(default_graphs) if default_graphs is not None else None
        self.timeout = timeout
        self.auth = auth
        self._dialect = dialect

    @property
    def dialect(self) -> str:
        """The engine's dialect (:data:`DIALECTS`), detected from the store on first use unless given."""
        if self._dialect is None:
            self._dialect = detect_dialect(self.endpoint)
        return self._dialect

    def _client(self, query: str, default_graph: Optional[Sequence[str]]) -> SPARQLWrapper:
        sw = SPARQLWrapper(self.endpoint, agent="remit (SPARQLWrapper)")
        sw.setMethod(POST)
        sw.setReturnFormat(JSON)
        sw.setTimeout(int(self.timeout))
        if self.auth:
            sw.setCredentials(*self.auth)
        for g in (default_graph if default_graph is not None else self.default_graphs) or ():
            sw.addDefaultGraph(g)
        sw.setQuery(query)
        return sw

    def select(self, text: str, bindings: Mapping[str, TermSpec] | None = None,
               default_graph: Optional[Sequence[str]] = None) -> tuple[list[str], list[dict[str, dict[str, Any]]]]:
        """Run a SELECT; return the columns and every row (normalised bindings)."""
        query = adapt_query(bind_with_values(text, bindings or {}), self.dialect)
        data = self._run(query, default_graph)
        if "results" not in data:
            raise RemoteError(f"{self.endpoint}: not a SELECT result (a named query must be a SELECT query)")
        columns = list(data.get("head", {}).get("vars", []))
        rows = [{k: normalise_binding(v) for k, v in row.items()} for row in data["results"]["bindings"]]
        return columns, rows

    def ask(self, text: str) -> bool:
        data = self._run(text, None)
        if "boolean" not in data:
            raise RemoteError(f"{self.endpoint}: not an ASK result")
        return bool(data["boolean"])

    def _run(self, query: str, default_graph: Optional[Sequence[str]]) -> dict[str, Any]:
        try:
            answer = self._client(query, default_graph).query()
            incomplete = incomplete_answer(answer.response.status, answer.response.headers)
            if incomplete is not None:
                answer.response.close()
                raise RemoteError(f"{self.endpoint}: {incomplete}")
            result = answer.convert()
        except SPARQLWrapperException as exc:
            raise RemoteError(f"{self.endpoint}: the store rejected the query: {str(exc).strip()[:800]}") from None
        except (URLError, socket.timeout, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"{self.endpoint}: cannot reach the store: {reason}") from None
        if not isinstance(result, dict):
            raise RemoteError(f"{self.endpoint}: the store did not answer with SPARQL JSON results")
        return adapt_results(result, self.dialect)

    def select_page(self, text: str, bindings: Mapping[str, TermSpec], limit: int, offset: int,
                    default_graph: Optional[Sequence[str]] = None) -> ResultPage:
        """The rows ``offset .. offset+limit`` of a SELECT, as :func:`kg.query.registry.select_page` returns them
        (IRI parameters as typed are resolved first, by SPARQL on the same store and default graph)."""
        if needs_store(bindings):  # IRI parameters as typed, a date at its data-date default
            bindings = resolve_bindings(lambda q: self.select(q, {}, default_graph)[1], bindings)
        if _can_append_limit(text):
            query = f"{text.rstrip()}\nLIMIT {limit + 1} OFFSET {offset}\n"
            columns, rows = self.select(query, bindings, default_graph)
        else:
            columns, rows = self.select(text, bindings, default_graph)
            rows = rows[offset: offset + limit + 1]
        has_more = len(rows) > limit
        return ordered_lists(ResultPage(columns=columns, rows=rows[:limit], limit=limit, offset=offset,
                                        has_more=has_more, params={k: v[1] for k, v in bindings.items()}), text)

    def version(self) -> str:
        """The version ``kg push`` recorded in the metadata graph (``id:graph/meta``: ``id:dataset dcat:version``),
        or ``""`` when there is none (a push is running, failed, or the store was loaded another way).
        One small query; ``kg serve --store`` asks it every ``REMIT_STORE_VERSION_CHECK_SECONDS``."""
        _, rows = self.select(f"SELECT ?v WHERE {{ GRAPH <{GRAPH_META}> {{ <{DATASET}> <{DATASET_VERSION}> ?v }} }}",
                              {}, [])
        return " ".join(sorted(r["v"]["value"] for r in rows if "v" in r))

    def count(self, graph: str) -> int:
        """Triples in one named graph of the store."""
        _, rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", {}, [])
        return int(rows[0]["n"]["value"])


def run_named_remote(store: RemoteStore, nq: NamedQuery, raw_params: Mapping[str, str],
                     limit: Optional[int | str] = None, offset: Optional[int | str] = None,
                     max_limit: int = MAX_LIMIT, default_limit: int = 100) -> ResultPage:
    """:func:`kg.query.registry.run_named` against a remote store."""
    lim, off = page_bounds(limit, offset, default_limit, max_limit)
    return store.select_page(nq.text, bind_params(nq, raw_params), lim, off)


def run_named_query_remote(name: str, raw_params: Mapping[str, str], *, store_url: str, queries_dir: Path,
                           limit: Optional[int | str] = None, offset: Optional[int | str] = None,
                           max_limit: int = MAX_LIMIT, default_limit: int = 100) -> tuple[NamedQuery, ResultPage]:
    """:func:`kg.query.registry.run_named_query` against a remote store (``kg query NAME --store URL``)."""
    registry = load_queries(queries_dir)
    if name not in registry:
        raise KeyError(f"no named query {name!r} in {queries_dir} (queries: {', '.join(registry) or 'none'})")
    nq = registry[name]
    return nq, run_named_remote(RemoteStore(store_url), nq, raw_params, limit, offset, max_limit, default_limit)


def asserted_graph(store_url: str, timeout: float = 300.0) -> Any:
    """The store's asserted graph (``id:graph/asserted``) as an rdflib Graph, by one CONSTRUCT answered in
    N-Triples (or Turtle): the "current graph" of ``kg check --store URL``."""
    store = RemoteStore(store_url, timeout=timeout)
    sw = store._client(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH_ASSERTED}> {{ ?s ?p ?o }} }}", [])
    sw.setReturnFormat(N3)
    sw.setOnlyConneg(True)  # by the Accept header alone: Virtuoso 7 answers SPARQLWrapper's format=n3 parameters 406
    sw.addCustomHttpHeader("Accept", "application/n-triples, text/turtle;q=0.9")
    try:
        res = sw.query()
        media = (res.info().get("content-type") or "").split(";")[0].strip().lower()
        body = res.response.read()
    except SPARQLWrapperException as exc:
        raise RemoteError(f"{store_url}: the store rejected the query: {str(exc).strip()[:800]}") from None
    except (URLError, socket.timeout, ConnectionError, OSError) as exc:
        raise RemoteError(f"{store_url}: cannot reach the store: {getattr(exc, 'reason', exc)}") from None
    g = Graph()
    g.parse(data=body, format="nt" if media == "application/n-triples" else "turtle")
    if store.dialect != "standard":  # literals as SPARQL 1.1 gives them (adapt_value: Virtuoso's durations)
        for s, p, o in list(g):
            if isinstance(o, Literal) and o.datatype is not None:
                value = adapt_value(str(o), str(o.datatype), store.dialect)
                if value != str(o):
                    g.remove((s, p, o))
                    g.add((s, p, Literal(value, datatype=URIRef(str(o.datatype)))))
    if len(g) == 0:
        raise RemoteError(f"{store_url}: the graph <{GRAPH_ASSERTED}> is empty or missing; push a build first (kg push)")
    return g
