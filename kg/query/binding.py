"""Parameters bound into a query's text with ``VALUES``: the standard form every SPARQL 1.1 engine reads the
same way, used for the embedded store and for external stores alike (Oxigraph's own substitutions do not
reach into sub-selects and ``EXISTS`` as a ``VALUES`` block does, so the two could answer differently)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Optional

import pyoxigraph as ox

from kg.rdf.rq import brace_pairs, scan

__all__ = ["TermSpec", "bind_with_values", "bind_substitutions"]

#: ``(kind, value, datatype)``: kind ``iri``, ``literal`` or (unresolved) ``term``
TermSpec = tuple[str, str, Optional[str]]

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _term(spec: TermSpec) -> str:
    kind, value, datatype = spec
    if kind == "term":  # an IRI parameter as typed: kg.query.terms.resolve_bindings makes it one term first
        raise ValueError(f"an unresolved IRI parameter cannot be bound: {value!r} (resolve it against the store first)")
    if kind == "data-date":  # a date at its data-date default: kg.query.terms.resolve_bindings reads it first
        raise ValueError("the data date is not read yet (resolve the bindings against the store first)")
    if kind == "iri":
        if _IRI_FORBIDDEN.search(value):
            raise ValueError(f"not an IRI that can be written in SPARQL: {value!r}")
        return f"<{value}>"
    esc = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
           .replace("\r", "\\r").replace("\t", "\\t"))
    if datatype and datatype != _XSD_STRING:
        return f'"{esc}"^^<{datatype}>'
    return f'"{esc}"'


def bind_with_values(text: str, bindings: Mapping[str, TermSpec]) -> str:
    """The query with ``VALUES (?a ?b) { (...) }`` as the first element of its top-level group, and
    again as the first element of every ``MINUS`` group, ``OPTIONAL`` group, sub-``SELECT`` and ``UNION`` branch
    that uses one of the variables: those are evaluated on their own, without the outer bindings, so without it
    a parameter used there would be unbound (``COALESCE(?asOf, NOW())`` would judge on today) while the embedded
    store, which substitutes the value everywhere, judges on the value given; and the engine would first
    evaluate the group over the whole graph. Each such group is joined with the top-level group, which holds
    the same ``VALUES``, so the rows are the same."""
    if not bindings:
        return text
    names = sorted(bindings)
    block = (" VALUES (" + " ".join(f"?{n}" for n in names) + ") { ("
             + " ".join(_term(bindings[n]) for n in names) + ") } ")
    inserts = _value_points(text, tuple(names))
    out = text
    for at in inserts:
        out = out[: at + 1] + block + out[at + 1:]
    return out


@functools.lru_cache(maxsize=1024)
def _value_points(text: str, names: tuple[str, ...]) -> tuple[int, ...]:
    """Where :func:`bind_with_values` puts its block for these variables, last first (the offsets of the
    groups' opening braces). Kept per text and names: a page asks the same few questions for every resource,
    and the scan is Python, character by character."""
    chars = scan(text)
    brace = next((i for i, c in chars if c == "{"), None)
    if brace is None:
        raise ValueError("the query has no group pattern ({ ... }) to bind parameters in")
    code = "".join(c for _, c in chars)
    where = [i for i, _ in chars]
    inserts = {brace}
    uses = re.compile(r"[?$](" + "|".join(map(re.escape, names)) + r")\b")
    # and in every OPTIONAL group that uses one (the same value on both sides, so the same answers): Oxigraph
    # evaluates such a group without the outer bindings, which took the establishment query from 0.3 s to
    # over a minute of CPU on the real graph; and in every branch of a UNION that uses one: Oxigraph evaluates
    # each branch over the whole graph before the join (the contacts query of one agreement took 2.3 s at 100k
    # synthetic triples)
    close_of, open_of = brace_pairs(code)
    opens = [m.end() - 1 for pattern in (r"\bMINUS\s*\{", r"\bOPTIONAL\s*\{", r"\{\s*SELECT\b[^{]*\{", r"\bUNION\s*\{")
             for m in re.finditer(pattern, code, re.I)]  # the group's own "{" (for a sub-select: its WHERE group)
    opens += [open_of[m.start()] for m in re.finditer(r"\}\s*UNION\b", code, re.I) if m.start() in open_of]
    for open_at in opens:
        if re.match(r"\{\s*SELECT\b", code[open_at:], re.I):
            continue  # a branch that is a sub-select: its WHERE group takes the block (nothing may precede SELECT)
        end = close_of.get(open_at)
        if uses.search(text[where[open_at]:where[end] if end is not None else len(text)]):
            inserts.add(where[open_at])
    return tuple(sorted(inserts, reverse=True))


def _spec(term: Any) -> TermSpec:
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value, None)
    if isinstance(term, ox.Literal) and not term.language:
        dtype = term.datatype.value if term.datatype else _XSD_STRING
        return ("literal", term.value, dtype)
    raise ValueError(f"cannot bind {term!r} with a VALUES block (an IRI or a literal without a language)")


def bind_substitutions(text: str, substitutions: Mapping[Any, Any]) -> str:
    """``text`` with Oxigraph-style substitutions (``{Variable: term}``) written as ``VALUES`` blocks
    (:func:`bind_with_values`). For a ``CONSTRUCT`` the block goes into the ``WHERE`` group, never into the
    template. Used by ``Site.select`` (the pages' questions) on every store, and by the external-store adapter for
    the rest: Oxigraph plans a query with substitutions as if the variables were free (a matrix cell's areas at
    1M: 0.7–1 s, against 0.06 s with ``VALUES``; a lookup of one bound subject is as fast either way)."""
    if not substitutions:
        return text
    bindings = {getattr(k, "value", str(k)).lstrip("?$"): _spec(v) for k, v in substitutions.items()}
    cut = _template_end(text)
    if cut is None:
        return bind_with_values(text, bindings)
    return text[:cut] + bind_with_values(text[cut:], bindings)


@functools.lru_cache(maxsize=1024)
def _template_end(text: str) -> Optional[int]:
    """The offset just after a ``CONSTRUCT`` template's closing brace; None for any other query."""
    chars = scan(text)
    code = "".join(c for _, c in chars)
    m = re.search(r"\bCONSTRUCT\s*\{", code, re.I)
    if m is None:
        return None
    depth = 0
    for k in range(m.end() - 1, len(code)):
        depth += {"{": 1, "}": -1}.get(code[k], 0)
        if depth == 0:
            return chars[k][0] + 1
    raise ValueError("a CONSTRUCT template without its closing brace")
