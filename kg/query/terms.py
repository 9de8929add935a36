"""IRI parameters of named queries: what a person may type, and the one term of the graph it names.

An IRI parameter (``type: iri``) accepts

* a full IRI, bare or in angle brackets: ``https://w3id.org/remit/id/setting-type/prison``;
* a prefixed name with Remit's prefixes (:data:`kg.rdf.namespaces.PREFIXES`, the table ``kg check``
  uses), whose local part may hold a slash: ``st:prison``, ``id:setting-type/prison``;
* a label, alternative label or acronym (``rdfs:label``, ``skos:prefLabel``, ``skos:altLabel``,
  ``remit:acronym``), matched exactly and then without regard to case, when it names one term only:
  ``CQC``, ``HMP Parc``, ``Wales``.

The term must be in the graph (the served default graph: ontology, asserted and inferred triples).
Anything else is a :class:`ParamError` that names the parameter: a term that is not there (with the
nearest terms by label and by name, :mod:`difflib`), or a label that names several terms (naming them).
A miss is never an empty answer.

The lookups are SPARQL SELECTs run through a ``select`` callable (query text -> rows of SPARQL-JSON
bindings), so the embedded store (:func:`kg.query.registry.select_page`) and an external store
(:meth:`kg.query.remote.RemoteStore.select_page`) resolve terms the same way. A full IRI or a prefixed
name costs one indexed lookup; an exact label one more; only a case-insensitive label or a miss reads the
labels (at most :data:`MAX_CANDIDATES`).

The same store fills in an absent ``asOf`` (a date parameter whose default is ``data-date``): the data date it
records (:mod:`kg.rdf.datadate`), one small SELECT on the same ``select`` callable.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Mapping, Optional

from kg.rdf import datadate
from kg.rdf.namespaces import PREFIXES, REMIT, RDFS, SKOS

__all__ = ["ParamError", "Select", "LABEL_PROPERTIES", "MAX_CANDIDATES", "check_term_text", "expand",
           "compact", "resolve_term", "resolve_bindings", "needs_store"]

#: Rows of a SELECT as SPARQL-JSON bindings (``{"s": {"type": "uri", "value": ...}}``).
Select = Callable[[str], list[dict[str, dict[str, Any]]]]

#: The properties whose values name a term.
LABEL_PROPERTIES = (str(RDFS.label), str(SKOS.prefLabel), str(SKOS.altLabel), str(REMIT.acronym))
#: The most labels read for a case-insensitive match or for suggestions.
MAX_CANDIDATES = 20_000
MAX_TERM_LENGTH = 1000

_IRI_BAD = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_PNAME = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*):(.*)$", re.DOTALL)
_VALUES_P = "VALUES ?p { " + " ".join(f"<{p}>" for p in LABEL_PROPERTIES) + " }"


class ParamError(ValueError):
    """A request parameter is missing or has a bad value; the message names the parameter."""


def check_term_text(name: str, raw: str) -> str:
    """The value of IRI parameter ``name`` as typed, checked for what no form allows (control characters,
    length); returns it without surrounding spaces."""
    value = raw.strip()
    if not value:
        raise ParamError(f"parameter {name!r}: empty")
    if len(value) > MAX_TERM_LENGTH:
        raise ParamError(f"parameter {name!r}: longer than {MAX_TERM_LENGTH} characters")
    if _CONTROL.search(value):
        raise ParamError(f"parameter {name!r}: {value!r} holds a control character")
    return value


def expand(raw: str) -> Optional[str]:
    """The IRI ``raw`` writes (``<IRI>``, a prefixed name with a Remit prefix, an absolute IRI), or None
    when it is not written as an IRI (then it may be a label). Raises ValueError for ``<...>`` or a Remit
    prefixed name that cannot be an IRI."""
    if raw.startswith("<") and raw.endswith(">"):
        inner = raw[1:-1]
        if not _SCHEME.match(inner) or _IRI_BAD.search(inner):
            raise ValueError(f"{raw!r} is not an absolute IRI")
        return inner
    m = _PNAME.match(raw)
    if m and m.group(1) in PREFIXES:
        iri = PREFIXES[m.group(1)] + m.group(2)
        if not m.group(2) or _IRI_BAD.search(m.group(2)):
            raise ValueError(f"{raw!r} is not a prefixed name (prefix {m.group(1)}: = <{PREFIXES[m.group(1)]}>)")
        return iri
    if _SCHEME.match(raw) and not _IRI_BAD.search(raw):
        return raw
    return None


def compact(iri: str) -> str:
    """``iri`` as a prefixed name with the longest matching Remit namespace (or the IRI itself)."""
    best = max(((p, ns) for p, ns in PREFIXES.items() if iri.startswith(ns) and len(iri) > len(ns)),
               key=lambda pn: len(pn[1]), default=None)
    return f"{best[0]}:{iri[len(best[1]):]}" if best else iri


def _literal(text: str) -> str:
    return '"' + (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                  .replace("\r", "\\r").replace("\t", "\\t")) + '"'


def _values(rows: list[dict[str, dict[str, Any]]], var: str) -> list[str]:
    return [r[var]["value"] for r in rows if var in r]


def _in_graph(select: Select, iri: str) -> bool:
    t = f"<{iri}>"
    rows = select(f"SELECT ?found WHERE {{ {{ {t} ?p ?o }} UNION {{ ?s ?p {t} }} UNION {{ ?s {t} ?o }} "
                  f"BIND(true AS ?found) }} LIMIT 1")
    return bool(rows)


def _named(select: Select, iris: list[str], last: str = " and ", ordered: bool = False) -> str:
    """``body:a ("Label A") and body:b ("Label B")``, for a message."""
    names: dict[str, str] = {}
    if iris:
        rows = select("SELECT ?s ?l WHERE { VALUES ?s { " + " ".join(f"<{i}>" for i in iris) + " } "
                      f"OPTIONAL {{ ?s <{SKOS.prefLabel}>|<{RDFS.label}> ?l }} }}")
        for r in rows:
            if "l" in r:
                names.setdefault(r["s"]["value"], r["l"]["value"])
    parts = [compact(i) + (f' ("{names[i]}")' if i in names else "") for i in (iris if ordered else sorted(iris))]
    return ", ".join(parts[:-1]) + last + parts[-1] if len(parts) > 1 else "".join(parts)


def _ambiguous(select: Select, name: str, raw: str, iris: list[str]) -> ParamError:
    return ParamError(f"parameter {name!r}: {raw!r} is ambiguous: it names {_named(select, iris)}; "
                      "give one of these (a prefixed name or the full IRI)")


def _labels(select: Select) -> list[tuple[str, str]]:
    rows = select(f"SELECT ?s ?l WHERE {{ {_VALUES_P} ?s ?p ?l FILTER(isIRI(?s)) }} LIMIT {MAX_CANDIDATES}")
    return [(r["s"]["value"], r["l"]["value"]) for r in rows if "s" in r and "l" in r]


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _nearest(select: Select, raw: str, iri: Optional[str], labels: list[tuple[str, str]], n: int = 5) -> str:
    """The terms nearest ``raw``: by label, by prefixed name and by local name."""
    keys: dict[str, set[str]] = {}
    for s, label in labels:
        for key in (label, compact(s), s.rstrip("/").rsplit("/", 1)[-1]):
            keys.setdefault(_fold(key), set()).add(s)
    probes = [_fold(raw)] + ([_fold(compact(iri)), _fold(iri.rstrip("/").rsplit("/", 1)[-1])] if iri else [])
    scored: dict[str, float] = {}
    for probe in probes:
        for key in difflib.get_close_matches(probe, keys, n=3 * n, cutoff=0.6):
            ratio = difflib.SequenceMatcher(None, probe, key).ratio()
            for s in keys[key]:
                scored[s] = max(scored.get(s, 0.0), ratio)
    best = sorted(scored, key=lambda s: (-scored[s], s))[:n]  # ordered by nearness
    if not best:
        return "no similar term found; give a full IRI, a prefixed name such as st:prison, or a label"
    return "nearest terms: " + _named(select, best, last=", ", ordered=True)


def resolve_term(select: Select, raw: str, param: str) -> str:
    """The IRI of the one term of the graph that ``raw`` (the value of parameter ``param``) names.

    Raises :class:`ParamError` (naming ``param``) when it names none (with the nearest terms) or several."""
    value = check_term_text(param, raw)
    try:
        iri = expand(value)
    except ValueError as exc:
        raise ParamError(f"parameter {param!r}: {exc}") from None
    if iri is not None and _in_graph(select, iri):
        return iri
    if iri is None or not value.startswith("<"):  # as a label: exact, then regardless of case
        lit = _literal(value)
        rows = select(f"SELECT DISTINCT ?s WHERE {{ VALUES ?l {{ {lit} {lit}@en }} {_VALUES_P} ?s ?p ?l "
                      "FILTER(isIRI(?s)) } LIMIT 50")
        found = sorted(set(_values(rows, "s")))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise _ambiguous(select, param, value, found)
    labels = _labels(select)
    if iri is None:
        folded = _fold(value)
        found = sorted({s for s, label in labels if _fold(label) == folded})
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise _ambiguous(select, param, value, found)
    what = f"{value!r}" + (f" (<{iri}>)" if iri is not None and iri != value else "")
    kind = "is not in the graph" if iri is not None else "is not the label, acronym or name of a term in the graph"
    raise ParamError(f"parameter {param!r}: {what} {kind}; {_nearest(select, value, iri, labels)}")


def resolve_bindings(select: Select, bindings: Mapping[str, tuple[str, str, Optional[str]]]
                     ) -> dict[str, tuple[str, str, Optional[str]]]:
    """``bindings`` with every ``("term", typed value, None)`` spec (an IRI parameter as given, see
    :func:`kg.query.registry.bind_params`) replaced by ``("iri", IRI, None)``, and every ``("data-date", "",
    xsd:date)`` spec (a date left at its ``data-date`` default) by the store's data date
    (:func:`kg.rdf.datadate.read`, read once per call); other specs unchanged."""
    out = dict(bindings)
    dated = [k for k, v in bindings.items() if v[0] == "data-date"]
    if dated:
        day = datadate.read(select).isoformat()
        out.update({k: ("literal", day, bindings[k][2]) for k in dated})
    return {k: ("iri", resolve_term(select, v[1], k), None) if v[0] == "term" else v for k, v in out.items()}


def needs_store(bindings: Mapping[str, tuple[str, str, Optional[str]]]) -> bool:
    """True when :func:`resolve_bindings` has something to look up in the store."""
    return any(v[0] in ("term", "data-date") for v in bindings.values())
