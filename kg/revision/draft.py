"""Drafts of agreements: Turtle, JSON-LD or YAML, parsed safely, with errors on the author's own lines.

A *draft* is an agreement (or a revision of one) written by a person, not yet part of ``data/``:

* **Turtle** — as in ``data/agreements/``;
* **JSON-LD** — using the published context :data:`CONTEXT_IRI` (resolved locally, never fetched);
* **YAML** — for people who do not write RDF: the YAML is read with a line-tracking loader and treated
  as JSON-LD whose ``@context`` is the published context (``contexts/remit-draft.context.jsonld``), so
  there is one mapping from YAML keys to RDF, not a converter per field. Scalars are strings, except
  ``true``/``false`` (booleans) and ``null`` (nothing); the context gives each key its IRI, datatype or
  language. A draft may add an inline context object (e.g. a prefix for its own parts).

Safety: a draft never makes the process fetch anything. A ``@context`` that is a string other than
:data:`CONTEXT_IRI` (a remote or file context), ``@import`` in a context, ``owl:imports``, RDF/XML and
any XML ``DOCTYPE`` are refused (:class:`DraftRefused`); YAML anchors and aliases are refused (they
allow exponential expansion). Parsing can still be slow on hostile input, so callers that take drafts
from others run :func:`parse_draft` in a killable worker with a deadline and a memory limit
(:func:`run_isolated`).

Every error is a :class:`DraftError` with the draft's name, line and column (YAML: PyYAML marks;
Turtle: rdflib ``BadSyntax``; JSON: the decoder's position).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pyoxigraph as ox
import yaml
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from kg.paths import CONTEXTS_DIR
from kg.findings.located import LocatedError, line_col  # one line/column rule for sources and drafts
from kg.pipeline.load import SourceFile, check_literal, locate_term, quiet_rdflib
from kg.rdf.namespaces import OWL, RDF

__all__ = [
    "CONTEXT_IRI", "CONTEXT_PATH", "FORMATS", "MEDIA_TYPES", "DraftError", "DraftRefused", "DraftTimeout",
    "Draft", "detect_format", "parse_draft", "load_draft", "published_context", "run_isolated",
    "read_text",
]

#: The stable IRI of the one published draft context; resolved to :data:`CONTEXT_PATH`, never fetched.
CONTEXT_IRI = "https://w3id.org/remit/contexts/remit-draft.context.jsonld"
CONTEXT_PATH = CONTEXTS_DIR / "remit-draft.context.jsonld"
FORMATS: tuple[str, ...] = ("turtle", "json-ld", "yaml")
MEDIA_TYPES: dict[str, str] = {
    "text/turtle": "turtle", "application/x-turtle": "turtle",
    "application/ld+json": "json-ld", "application/json": "json-ld",
    "application/yaml": "yaml", "application/x-yaml": "yaml", "text/yaml": "yaml", "text/x-yaml": "yaml",
}
_SUFFIXES = {".ttl": "turtle", ".turtle": "turtle", ".jsonld": "json-ld", ".json": "json-ld",
             ".yaml": "yaml", ".yml": "yaml"}
#: Relative IRIs in a draft resolve against this (a draft has no address of its own).
DRAFT_BASE = "https://w3id.org/remit/id/"


class DraftError(LocatedError):
    """Bad input in a draft; ``str()`` is ``name:line:column: message``."""

    def __init__(self, name: str, message: str, line: Optional[int] = None, column: Optional[int] = None):
        self.name = name
        super().__init__(name, message, line, column)


class DraftRefused(DraftError):
    """A draft that asks for something a draft may never do (fetch a context, import, XML)."""


class DraftTimeout(Exception):
    """Parsing or checking a draft passed its deadline (or its memory limit); the worker was killed."""


@dataclass
class Draft:
    """A parsed draft: its triples and, for each subject IRI, where it is first written."""

    name: str
    format: str
    text: str
    graph: Graph
    locations: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: where each IRI (subject, key, type or value) is first written, for YAML and JSON-LD
    terms: dict[str, tuple[int, int]] = field(default_factory=dict)

    def location(self, iri: str) -> Optional[tuple[int, int]]:
        return self.locations.get(str(iri))

    def term_location(self, iri: str) -> Optional[tuple[int, int]]:
        """Where ``iri`` is first written in the draft (in any position), if it can be found."""
        iri = str(iri)
        if iri in self.terms:
            return self.terms[iri]
        if self.format == "turtle":
            src = SourceFile(path=Path(self.name), text=self.text, graph=Graph(),
                             prefixes={p: str(ns) for p, ns in self.graph.namespaces()})
            where = locate_term(URIRef(iri), [src])
            if where:
                self.terms[iri] = (where[1], where[2])
                return self.terms[iri]
        return self.locations.get(iri)


# ----------------------------------------------------------------------------------------------- helpers

def published_context() -> dict[str, Any]:
    """The inner ``@context`` object of ``contexts/remit-draft.context.jsonld``."""
    return json.loads(CONTEXT_PATH.read_text(encoding="utf-8"))["@context"]


def detect_format(name: str = "", media_type: Optional[str] = None, text: Optional[str] = None) -> str:
    """The draft format from a media type, else a file suffix, else a look at the text."""
    if media_type:
        mt = media_type.split(";")[0].strip().lower()
        if mt in MEDIA_TYPES:
            return MEDIA_TYPES[mt]
        if "xml" in mt:
            raise DraftRefused(name or "draft", f"{mt} is not accepted: drafts are Turtle, JSON-LD or YAML")
        raise DraftError(name or "draft", f"unsupported media type {mt!r}: use text/turtle, application/ld+json "
                         "or application/yaml")
    suffix = Path(name).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if suffix in (".rdf", ".xml", ".owl"):
        raise DraftRefused(name, "RDF/XML is not accepted: drafts are Turtle, JSON-LD or YAML")
    if text is not None:
        head = text.lstrip()[:1]
        if head in ("{", "["):
            return "json-ld"
        if re.search(r"^\s*(@prefix|PREFIX|@base|BASE)\b", text, re.M | re.I):
            return "turtle"
        return "yaml"
    raise DraftError(name or "draft", "cannot tell the format: use a .ttl, .jsonld or .yaml name or --format")


_XML = re.compile(r"<\?xml|<!DOCTYPE|<!ENTITY|<rdf:RDF", re.I)


def _refuse_xml(name: str, text: str) -> None:
    m = _XML.search(text)
    if m:
        what = "an XML DOCTYPE or entity declaration" if "!" in m.group(0) else "XML (RDF/XML)"
        raise DraftRefused(name, f"{what} is not accepted in a draft: drafts are Turtle, JSON-LD or YAML",
                           *line_col(text, m.start()))


def _literal_where(text: str, lex: str) -> tuple[int, int]:
    for form in (f'"{lex}"', f"'{lex}'", lex):
        i = text.find(form)
        if i >= 0:
            return line_col(text, i)
    return (1, 1)


#: How deep a YAML or JSON draft may nest (an agreement needs fewer than 10 levels).
MAX_DEPTH = 64
_BAD_IRI_CHAR = re.compile(r'[\x00-\x20<>"{}|^`\\\x7f-\x9f]')


def iri_problem(iri: str) -> Optional[str]:
    """Why ``iri`` is not an IRI the store accepts (the store's own parser decides), or None."""
    try:
        ox.NamedNode(iri)
    except ValueError as exc:
        bad = _BAD_IRI_CHAR.search(iri)
        why = f"it contains {bad.group(0)!r}" if bad else str(exc)
        return f"{iri!r} is not a valid IRI: {why}"
    return None


def _iri_where(text: str, iri: str) -> tuple[int, int]:
    """Where a (bad) IRI is written: the longest prefix of it, up to its first bad character, in the text."""
    bad = _BAD_IRI_CHAR.search(iri)
    head = iri[: bad.start()] if bad else iri
    for probe in ("<" + head, head):
        if len(probe) > 1:
            i = text.find(probe)
            if i >= 0:
                return line_col(text, i)
    return (1, 1)


def _problems_error(name: str, problems: list[tuple[tuple[int, int], str]]) -> DraftError:
    """One located error for several problems: the first is the error's place, every one is listed."""
    problems = sorted(set(problems))
    (line, col), first = problems[0]
    more = "".join(f"\n{name}:{ln}:{c}: {msg}" for (ln, c), msg in problems[1:])
    return DraftError(name, first + more, line, col)


def _check_common(name: str, text: str, g: Graph, imports_where: Callable[[], tuple[int, int]],
                  literal_where: Optional[Callable[[Literal], Optional[tuple[int, int]]]] = None) -> None:
    if (None, OWL.imports, None) in g:
        raise DraftRefused(name, "owl:imports is not accepted in a draft (a draft never loads anything else)",
                           *imports_where())
    problems: list[tuple[tuple[int, int], str]] = []
    for triple in g:
        for t in triple:
            if isinstance(t, URIRef):
                why = iri_problem(str(t))
                if why:
                    problems.append((_iri_where(text, str(t)), why + "; write it without spaces or <>\"{}|^` "
                                     "(percent-encode them)"))
    if problems:
        raise _problems_error(name, problems)
    for _, _, o in g:
        if isinstance(o, Literal):
            if o.language:
                try:
                    ox.Literal(str(o), language=o.language)
                except ValueError:
                    raise DraftError(name, f"{o.language!r} is not a language tag (BCP 47, e.g. en, cy)",
                                     *_literal_where(text, str(o))) from None
            problem = check_literal(o)
            if problem:
                where = (literal_where(o) if literal_where else None) or _literal_where(text, str(o))
                raise DraftError(name, problem, *where)


# ----------------------------------------------------------------------------------------------- Turtle

def _parse_turtle(name: str, text: str) -> Draft:
    _refuse_xml(name, text)
    g = Graph(bind_namespaces="none")
    try:
        with quiet_rdflib():
            g.parse(data=text, format="turtle", publicID=DRAFT_BASE)
    except BadSyntax as exc:
        src = exc._str.decode("utf-8", "replace") if isinstance(exc._str, bytes) else str(exc._str)
        prefix = src[: exc._i] if not isinstance(exc._str, bytes) else exc._str[: exc._i].decode("utf-8", "replace")
        why = exc._why
        if why.startswith("Prefix ") and "not bound" in why:
            why = f"unknown prefix {why.split(chr(34))[1]} (declare it with @prefix)"
        raise DraftError(name, why, *line_col(prefix, len(prefix))) from None
    except IndexError:  # rdflib ran off the end of the text: an unterminated string or bracket
        raise DraftError(name, "unexpected end of the draft (an unterminated string, IRI or bracket?)",
                         *line_col(text, len(text))) from None
    except Exception as exc:  # any other parser failure still names the draft, at its end
        raise DraftError(name, f"cannot parse Turtle: {exc}", *line_col(text, len(text))) from None

    def imports_where() -> tuple[int, int]:
        m = re.search(r"owl:imports|<http://www\.w3\.org/2002/07/owl#imports>", text)
        return line_col(text, m.start()) if m else (1, 1)

    _check_common(name, text, g, imports_where)
    src = SourceFile(path=Path(name), text=text, graph=g, prefixes={p: str(ns) for p, ns in g.namespaces()})
    locations: dict[str, tuple[int, int]] = {}
    for s in sorted({s for s in g.subjects() if isinstance(s, URIRef)}, key=str):
        where = locate_term(s, [src])
        if where:
            locations[str(s)] = (where[1], where[2])
    return Draft(name, "turtle", text, g, locations)


# ----------------------------------------------------------------------------------------------- JSON-LD

def _check_contexts(name: str, value: Any, where: Callable[[Any], tuple[int, int]], inner: dict[str, Any]) -> Any:
    """Return the context value with the published IRI replaced by its local content; refuse the rest."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.rstrip("#") == CONTEXT_IRI:
            return inner
        raise DraftRefused(name, f"@context {value!r} is not allowed: a draft may use only the published "
                           f"context {CONTEXT_IRI} (resolved locally) and inline context objects; "
                           "nothing is fetched", *where(value))
    if isinstance(value, list):
        return [_check_contexts(name, v, where, inner) for v in value]
    if isinstance(value, dict):
        if "@import" in value:
            raise DraftRefused(name, "@import in a context is not allowed (nothing is fetched)", *where(value))
        out = {}
        for k, v in value.items():
            if isinstance(v, dict) and "@context" in v:  # a scoped context inside a term definition
                v = dict(v)
                v["@context"] = _check_contexts(name, v["@context"], where, inner)
            out[k] = v
        return out
    raise DraftError(name, "@context must be an IRI, an object or a list", *where(value))


def _walk_contexts(name: str, node: Any, where: Callable[[Any], tuple[int, int]], inner: dict[str, Any]) -> Any:
    """Check every ``@context`` in the document (top level and embedded) and resolve the published one."""
    if isinstance(node, list):
        return [_walk_contexts(name, v, where, inner) for v in node]
    if isinstance(node, dict):
        out = type(node)() if type(node) is not dict else {}
        if hasattr(node, "mark"):
            out.mark = node.mark  # type: ignore[attr-defined]
            out.keys = node.keys  # type: ignore[attr-defined]
        for k, v in node.items():
            out[k] = _check_contexts(name, v, where, inner) if k == "@context" else _walk_contexts(name, v, where, inner)
        return out
    return node


def _context_object(doc: Any) -> list[Any]:
    """The top-level context entries (already resolved) as a list."""
    if isinstance(doc, dict) and "@context" in doc:
        ctx = doc["@context"]
        return ctx if isinstance(ctx, list) else [ctx]
    return []


_KEYWORD_ALIASES = {"@id", "@type", "@value", "@language"}


def _known_keys(ctx_list: list[Any]) -> tuple[set[str], dict[str, str], bool]:
    """Terms, prefixes and whether a vocabulary mapping is in effect, from resolved context objects."""
    terms: set[str] = set()
    prefixes: dict[str, str] = {}
    vocab = False
    for c in ctx_list:
        if not isinstance(c, dict):
            continue
        for k, v in c.items():
            if k == "@vocab" and v:
                vocab = True
            if k.startswith("@"):
                continue
            iri = v if isinstance(v, str) else (v.get("@id") if isinstance(v, dict) else None)
            if isinstance(iri, str) and (iri.endswith(("/", "#", ":")) or (isinstance(v, dict) and v.get("@prefix"))):
                prefixes[k] = iri  # a prefix, not a key: `status: ...` would name the namespace itself
            else:
                terms.add(k)
    return terms, prefixes, vocab


def _check_keys(name: str, node: Any, terms: set[str], prefixes: dict[str, str],
                where: Callable[[Any, str], tuple[int, int]]) -> None:
    """Every key must be a keyword, a term of the context, a compact IRI with a known prefix or an IRI."""
    if isinstance(node, list):
        for v in node:
            _check_keys(name, v, terms, prefixes, where)
        return
    if not isinstance(node, dict):
        return
    for k, v in node.items():
        if k == "@context":
            continue
        ok = k.startswith("@") or k in terms or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", k) is not None
        if not ok and ":" in k:
            ok = k.split(":", 1)[0] in prefixes
        if not ok:
            close = _close_match(k, terms)
            hint = f" (did you mean {close!r}?)" if close else ""
            raise DraftError(name, f"unknown key {k!r}: not a term of the Remit draft context{hint}", *where(node, k))
        _check_keys(name, v, terms, prefixes, where)


def _close_match(word: str, terms: set[str]) -> Optional[str]:
    import difflib

    low = {t.lower(): t for t in terms}
    if word.lower() in low:
        return low[word.lower()]
    m = difflib.get_close_matches(word, sorted(terms), n=1, cutoff=0.75)
    return m[0] if m else None


def _expander(ctx_list: list[Any]) -> Callable[[str], str]:
    from rdflib.plugins.shared.jsonld.context import Context

    ctx = Context([c for c in ctx_list if isinstance(c, dict)], base=DRAFT_BASE)

    def expand(value: str) -> str:
        try:
            return str(ctx.resolve(value))
        except Exception:
            return value
    return expand


class _Str(str):
    """A string from YAML that remembers where it is written (``mark``: line, column)."""

    mark: tuple[int, int] = (1, 1)


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BNODE_SUBJECT = object()  # a node object without an id: some blank node
_NO_SUBJECT = object()  # a node whose id was refused: its triples are not looked for


def _audit(name: str, doc: Any, ctx_list: list[Any], g: Graph, key_where: Callable[[Any, str], tuple[int, int]],
           value_where: Callable[[Any], Optional[tuple[int, int]]]) -> dict[str, tuple[int, int]]:
    """Compare what the author wrote with what was parsed: every id, type and value that names something must
    be a valid IRI, every key with a value must have become a triple, and ``@graph`` is accepted only at the
    top. Raises one :class:`DraftError` listing every problem at its place; returns where each IRI is
    first written."""
    defs: dict[str, Any] = {}
    for c in ctx_list:
        if isinstance(c, dict):
            defs.update(c)
    vocab = str(defs.get("@vocab") or "")
    prefixes = {k: (v if isinstance(v, str) else v.get("@id")) for k, v in defs.items()
                if not k.startswith("@") and ((isinstance(v, dict) and v.get("@prefix"))
                                              or (isinstance(v, str) and v.endswith(("/", "#"))))}
    alias = {k: v for k, v in defs.items() if isinstance(v, str) and v.startswith("@")}
    keyword = lambda k: alias.get(k, k)  # noqa: E731
    problems: list[tuple[tuple[int, int], str]] = []  # what cannot be read: bad IRIs, misplaced @graph
    missing: list[tuple[tuple[int, int], str]] = []  # what was written but did not become a triple
    terms: dict[str, tuple[int, int]] = {}

    def iri_of(v: str, use_vocab: bool) -> str:
        if use_vocab:
            d = defs.get(v)
            if isinstance(d, dict) and isinstance(d.get("@id"), str) and not d.get("@prefix"):
                return iri_of(d["@id"], False)
            if isinstance(d, str) and not d.startswith("@") and v not in prefixes:
                return iri_of(d, False)
        if ":" in v:
            p, local = v.split(":", 1)
            if p in prefixes and not local.startswith("//"):
                return str(prefixes[p]) + local
        if _SCHEME.match(v):
            return v
        return (vocab + v) if use_vocab and vocab else DRAFT_BASE + v

    def where(node: Any, key: str, value: Any = None) -> tuple[int, int]:
        return (value_where(value) if value is not None else None) or key_where(node, key)

    def iri_term(v: Any, use_vocab: bool, node: Any, key: str, what: str) -> Optional[URIRef]:
        if not isinstance(v, str):
            problems.append((where(node, key), f"{what} must be a string naming an IRI, not {v!r}"))
            return None
        iri = iri_of(v, use_vocab)
        why = iri_problem(iri)
        if why:
            problems.append((where(node, key, v), f"{what} {v!r} is not a valid IRI: "
                             + why.split(": ", 1)[-1] + " (nothing would be read from it)"))
            return None
        terms.setdefault(iri, where(node, key, v))
        return URIRef(iri)

    def present(subject: Any, p: URIRef, obj: Any = None, lexical: Optional[str] = None) -> bool:
        if subject is _NO_SUBJECT:
            return True
        s = subject if isinstance(subject, URIRef) else None
        for s2, _, o in g.triples((s, p, obj if isinstance(obj, URIRef) else None)):
            if subject is _BNODE_SUBJECT and not isinstance(s2, BNode):
                continue
            if obj is _BNODE_SUBJECT and not isinstance(o, BNode):
                continue
            if lexical is not None and not (isinstance(o, Literal) and str(o) == lexical):
                continue
            return True
        return False

    def flat(v: Any) -> Iterator[Any]:
        if isinstance(v, list):
            for x in v:
                yield from flat(x)
        elif v is not None:
            yield v

    def node(d: dict[str, Any], top: bool = False) -> Any:
        graph_keys = [k for k in d if keyword(k) == "@graph"]
        if graph_keys:
            others = [k for k in d if keyword(k) not in ("@graph", "@context")]
            if not top or others:
                problems.append((key_where(d, graph_keys[0]),
                                 "@graph is accepted only at the top of a draft, beside @context alone: here its "
                                 "nodes would go into a named graph and be dropped; list the nodes in the top-level "
                                 "@graph or write each part under its property"))
            for item in flat(d[graph_keys[0]]):
                if isinstance(item, dict):
                    node(item)
                else:
                    problems.append((where(d, graph_keys[0], item), f"@graph lists nodes (mappings), not {item!r}"))
            return _NO_SUBJECT
        subject: Any = _BNODE_SUBJECT
        for k, v in d.items():
            if keyword(k) == "@id" and isinstance(v, str) and v.startswith("_:"):
                subject = _BNODE_SUBJECT  # a blank node label
            elif keyword(k) == "@id":
                t = iri_term(v, False, d, k, "the id")
                subject = t if t is not None else _NO_SUBJECT
        for k, v in d.items():
            kw = keyword(k)
            if kw in ("@context", "@id"):
                continue
            if kw == "@type":
                for t_value in flat(v):
                    t = iri_term(t_value, True, d, k, "the type")
                    if t is not None and not present(subject, RDF.type, t):
                        missing.append((where(d, k, t_value), f"the type {t_value!r} did not become a triple"))
                continue
            if kw.startswith("@"):
                problems.append((key_where(d, k), f"{k!r} is not accepted in a draft node (use id, type and the "
                                 "terms of the Remit draft context)"))
                continue
            p = iri_term(k, True, d, k, "the key")
            if p is None:
                continue
            coerce = defs.get(k, {}).get("@type") if isinstance(defs.get(k), dict) else None
            for item in flat(v):
                if isinstance(item, dict) and any(keyword(x) == "@value" for x in item):
                    val = next(item[x] for x in item if keyword(x) == "@value")
                    lexical = ("true" if val else "false") if isinstance(val, bool) else (
                        val if isinstance(val, str) else None)
                    ok = present(subject, p, None, lexical)
                elif isinstance(item, dict):
                    if any(keyword(x) in ("@list", "@set") for x in item):
                        problems.append((key_where(d, k), f"{k!r}: @list and @set are not accepted in a draft; "
                                         "give the values as a plain list"))
                        continue
                    child = node(item)
                    ok = child is _NO_SUBJECT or present(subject, p, child)
                elif isinstance(item, str) and coerce in ("@id", "@vocab"):
                    o = iri_term(item, coerce == "@vocab", d, k, f"the value of {k!r}")
                    ok = o is None or present(subject, p, o)
                elif isinstance(item, str):
                    ok = present(subject, p, None, item)
                elif isinstance(item, bool):
                    ok = present(subject, p, None, "true" if item else "false")
                else:
                    ok = present(subject, p)
                if not ok:
                    shown = item if not isinstance(item, dict) else "a nested mapping"
                    missing.append((where(d, k, item if isinstance(item, str) else None),
                                    f"{k!r}: {shown!r} did not become a triple and would be dropped; check the key, "
                                    "the id of the mapping it is in and the value"))
        return subject

    if isinstance(doc, list):
        for item in doc:
            if isinstance(item, dict):
                node(item)
    elif isinstance(doc, dict):
        node(doc, top=True)
    if problems or missing:  # a bad IRI drops what hangs from it: report the cause, not its echoes
        raise _problems_error(name, problems or missing)
    return terms


def _depth_error(name: str, text: str, index: int) -> DraftError:
    return DraftError(name, f"the draft nests deeper than {MAX_DEPTH} levels (an agreement needs fewer than 10)",
                      *line_col(text, index))


def _check_json_depth(name: str, text: str) -> None:
    """Refuse JSON nested deeper than :data:`MAX_DEPTH` before the (recursive) decoder sees it."""
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = m.group(0)
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _depth_error(name, text, m.start())
        elif c in "]}":
            depth -= 1


def _jsonld_to_graph(name: str, text_for_errors: str, doc: Any) -> Graph:
    g = Graph(bind_namespaces="none")
    try:
        with quiet_rdflib():
            g.parse(data=json.dumps(doc), format="json-ld", base=DRAFT_BASE)
    except Exception as exc:
        raise DraftError(name, f"not valid JSON-LD: {exc}") from None
    return g


def _parse_jsonld(name: str, text: str) -> Draft:
    _refuse_xml(name, text)
    _check_json_depth(name, text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DraftError(name, f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None

    def where(value: Any, key: Optional[str] = None) -> tuple[int, int]:
        if key is not None:
            probe = json.dumps(key, ensure_ascii=False)
        elif isinstance(value, str):
            probe = json.dumps(value, ensure_ascii=False)
        else:
            probe = '"@context"'
        i = text.find(probe)
        return line_col(text, i) if i >= 0 else (1, 1)

    doc = _walk_contexts(name, doc, lambda v: where(v), published_context())
    ctx_list = _context_object(doc)
    terms, prefixes, _ = _known_keys(ctx_list)
    if ctx_list:
        _check_keys(name, doc, terms, prefixes, lambda node, k: where(None, k))
    g = _jsonld_to_graph(name, text, doc)

    def imports_where() -> tuple[int, int]:
        m = re.search(r"owl:imports|http://www\.w3\.org/2002/07/owl#imports|\"imports\"", text)
        return line_col(text, m.start()) if m else (1, 1)

    def value_where(v: Any) -> Optional[tuple[int, int]]:
        i = text.find(json.dumps(v, ensure_ascii=False)) if isinstance(v, str) else -1
        return line_col(text, i) if i >= 0 else None

    def key_where(node: Any, k: str) -> tuple[int, int]:  # the key after the start of the object with node's id
        start = 0
        ident = next((v for kk, v in node.items() if kk in id_keys and isinstance(v, str)), None) \
            if isinstance(node, dict) else None
        if ident is not None:
            start = max(text.rfind("{", 0, max(text.find(json.dumps(ident, ensure_ascii=False)), 0)), 0)
        i = text.find(json.dumps(k, ensure_ascii=False), start)
        return line_col(text, i) if i >= 0 else where(None, k)

    id_keys = {"@id"} | {t for c in ctx_list if isinstance(c, dict) for t, v in c.items() if v == "@id"}
    terms = _audit(name, doc, ctx_list, g, key_where, value_where)
    _check_common(name, text, g, imports_where)
    expand = _expander(ctx_list)
    locations: dict[str, tuple[int, int]] = {}
    id_keys = {"@id"} | {t for c in ctx_list if isinstance(c, dict) for t, v in c.items() if v == "@id"}
    for m in re.finditer(r'"(' + "|".join(re.escape(k) for k in sorted(id_keys)) + r')"\s*:\s*"([^"\\]*)"', text):
        iri = expand(m.group(2))
        if iri not in locations:
            # the line of the object that has this @id: the nearest unclosed "{" before it
            start = text.rfind("{", 0, m.start())
            locations[iri] = line_col(text, start if start >= 0 else m.start())
    return Draft(name, "json-ld", text, g, locations, terms)


# ----------------------------------------------------------------------------------------------- YAML

class _Map(dict):  # type: ignore[type-arg]
    """A mapping from YAML that remembers where it starts (``mark``) and where each key is (``keys``)."""

    mark: tuple[int, int] = (1, 1)
    keys: dict[str, tuple[int, int]]


def _yaml_error(name: str, exc: yaml.YAMLError, text: str = "") -> DraftError:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow: a position, no mark
        return DraftError(name, f"not valid YAML: {exc.reason} (character {exc.character!r})",
                          *line_col(text, min(exc.position, len(text))))
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    msg = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    opened = getattr(exc, "context_mark", None)
    if opened is not None and mark is not None and context and (opened.line, opened.column) != (mark.line, mark.column):
        what = next((w for k, w in (("flow sequence", "the '[' opened"), ("flow mapping", "the '{' opened"),
                                    ("quoted scalar", "the quoted string opened")) if k in context), None)
        if what:
            msg = (f"not valid YAML: {problem}: {what} at line {opened.line + 1}, column {opened.column + 1} "
                   "is not closed")
    if mark is not None:
        return DraftError(name, msg, mark.line + 1, mark.column + 1)
    return DraftError(name, msg)


def _yaml_value(name: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = _Map()
        out.mark = (node.start_mark.line + 1, node.start_mark.column + 1)
        out.keys = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise DraftError(name, "a key must be a plain name", knode.start_mark.line + 1,
                                 knode.start_mark.column + 1)
            key = knode.value
            if key in out:
                raise DraftError(name, f"duplicate key {key!r} (the earlier one would be lost)",
                                 knode.start_mark.line + 1, knode.start_mark.column + 1)
            if key == "<<":
                raise DraftError(name, "YAML merge keys (<<) are not allowed in a draft",
                                 knode.start_mark.line + 1, knode.start_mark.column + 1)
            out.keys[key] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            out[key] = _yaml_value(name, vnode)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_yaml_value(name, v) for v in node.value]
    assert isinstance(node, yaml.ScalarNode)
    if node.style is None or node.style == "":  # plain scalar: only booleans and null are not strings
        if node.tag == "tag:yaml.org,2002:bool":
            return node.value.lower() in ("true", "yes", "on", "y")
        if node.tag == "tag:yaml.org,2002:null":
            return None
    out_str = _Str(node.value)
    out_str.mark = (node.start_mark.line + 1, node.start_mark.column + 1)
    return out_str


class _AliasFound(Exception):
    def __init__(self, mark: Any, deep: bool = False):
        self.mark = mark
        self.deep = deep


class _NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader that stops at the first anchor or alias, in the one pass that composes the nodes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasFound(event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise _AliasFound(event.start_mark, deep=True)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _parse_yaml(name: str, text: str) -> Draft:
    _refuse_xml(name, text)
    try:
        docs = list(yaml.compose_all(text, Loader=_NoAliasLoader))
    except _AliasFound as found:
        m = found.mark
        if found.deep:
            raise _depth_error(name, text, m.index) from None
        raise DraftError(name, "YAML anchors and aliases (&, *) are not allowed in a draft", m.line + 1, m.column + 1) from None
    except yaml.YAMLError as exc:
        raise _yaml_error(name, exc, text) from None
    if len(docs) != 1 or docs[0] is None:
        raise DraftError(name, "a draft is exactly one YAML document" if docs else "the draft is empty", 1, 1)
    data = _yaml_value(name, docs[0])
    if isinstance(data, list):
        wrapper = _Map()
        wrapper.mark, wrapper.keys = (1, 1), {}
        wrapper["@graph"] = data
        data = wrapper
    if not isinstance(data, dict):
        raise DraftError(name, "a draft is a mapping (key: value) describing the agreement", 1, 1)

    def where_value(value: Any) -> tuple[int, int]:
        if isinstance(value, _Map):
            return value.mark
        if isinstance(value, str):
            i = text.find(value)
            return line_col(text, i) if i >= 0 else (1, 1)
        return data.keys.get("@context", (1, 1))  # type: ignore[union-attr]

    given = data.get("@context")
    ctx_value: list[Any] = [CONTEXT_IRI]
    if given is not None:
        given_list = given if isinstance(given, list) else [given]
        ctx_value = given_list if CONTEXT_IRI in given_list else [CONTEXT_IRI] + given_list
    data["@context"] = ctx_value
    data = _walk_contexts(name, data, where_value, published_context())
    ctx_list = _context_object(data)
    terms, prefixes, _ = _known_keys(ctx_list)
    _check_keys(name, data, terms, prefixes,
                lambda node, k: node.keys.get(k, node.mark) if isinstance(node, _Map) else (1, 1))
    g = _jsonld_to_graph(name, text, data)

    def imports_where() -> tuple[int, int]:
        m = re.search(r"owl:imports|imports\s*:", text)
        return line_col(text, m.start()) if m else (1, 1)

    def key_where(node: Any, k: str) -> tuple[int, int]:
        return node.keys.get(k, node.mark) if isinstance(node, _Map) else (1, 1)

    terms = _audit(name, data, ctx_list, g, key_where, lambda v: v.mark if isinstance(v, _Str) else None)
    scalars: dict[str, tuple[int, int]] = {}

    def scan(node: Any) -> None:  # every scalar written, by its text: where an ill-typed value is
        if isinstance(node, list):
            for v in node:
                scan(v)
        elif isinstance(node, dict):
            for v in node.values():
                scan(v)
        elif isinstance(node, _Str):
            scalars.setdefault(str(node), node.mark)
    scan(data)
    _check_common(name, text, g, imports_where, lambda lit: scalars.get(str(lit)))
    expand = _expander(ctx_list)
    locations: dict[str, tuple[int, int]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, dict):
            for key in ("id", "@id"):
                if isinstance(node.get(key), str) and isinstance(node, _Map):
                    locations.setdefault(expand(node[key]), node.mark)
            for k, v in node.items():
                if k != "@context":
                    walk(v)
    walk(data)
    return Draft(name, "yaml", text, g, locations, terms)


# ----------------------------------------------------------------------------------------------- API

def parse_draft(text: str, fmt: str, name: str = "draft") -> Draft:
    """Parse a draft's text (``turtle``, ``json-ld`` or ``yaml``) in this process.

    Raises :class:`DraftError` (located) or :class:`DraftRefused`. Drafts from others are parsed in a
    killable worker (:func:`run_isolated`, with a deadline and a memory limit)."""
    if fmt not in FORMATS:
        if fmt.lower() in ("xml", "rdf/xml", "rdfxml", "application/rdf+xml"):
            raise DraftRefused(name, "RDF/XML is not accepted: drafts are Turtle, JSON-LD or YAML")
        raise DraftError(name, f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if "\x00" in text:
        raise DraftError(name, "the draft contains a NUL character", *line_col(text, text.index("\x00")))
    if fmt == "turtle":
        return _parse_turtle(name, text)
    if fmt == "json-ld":
        return _parse_jsonld(name, text)
    return _parse_yaml(name, text)


def read_text(path: Path | str) -> str:
    path = Path(path)
    if not path.is_file():
        raise DraftError(str(path), "no such file" if not path.exists() else "not a file")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = line_col(raw.decode("utf-8", "replace"), exc.start)
        raise DraftError(str(path), "not valid UTF-8", line, col) from None


def load_draft(path: Path | str, fmt: Optional[str] = None) -> Draft:
    """Read and parse a draft file (format from ``fmt`` or the file name)."""
    text = read_text(path)
    return parse_draft(text, fmt or detect_format(str(path), text=text), str(path))


# ----------------------------------------------------------------------------------------------- worker

def _limit_memory(memory_bytes: Optional[int]) -> None:
    if not memory_bytes:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on this platform
        pass


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...], memory_bytes: Optional[int]) -> None:
    _limit_memory(memory_bytes)
    try:
        result = ("ok", fn(*args))
    except MemoryError:
        result = ("memory", None)
    except DraftError as exc:
        result = ("draft-error", (type(exc).__name__, exc.name, exc.message, exc.line, exc.column))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, never a traceback to a client
        result = ("error", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(result)
    finally:
        conn.close()


def _start_method() -> str:
    """``fork`` for a process with one thread (counted by the OS, so a native library's threads count too),
    else ``forkserver`` where there is one, else ``spawn``."""
    methods = mp.get_all_start_methods()
    try:
        alone = len(os.listdir("/proc/self/task")) == 1
    except OSError:  # not Linux: no count of the process's threads at hand
        alone = False
    if alone and "fork" in methods:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def run_isolated(fn: Callable[..., Any], args: tuple[Any, ...], timeout: float,
                 memory_bytes: Optional[int] = None) -> Any:
    """Run ``fn(*args)`` in a fresh worker process with a deadline and an address-space limit. Past the deadline
    the worker is terminated, then killed, and :class:`DraftTimeout` is raised; a :class:`DraftError` in the
    worker is raised again here.

    The worker is forked from this process when it runs no other thread (``kg check``, ``kg diff``: the child
    starts with what is already imported), else started by multiprocessing's ``forkserver`` (the server, whose
    threads could hold a lock at the fork), else spawned. Forked, a check of the example draft took 2.3 s
    instead of 3.1 s after start-up (2026-12-05): the forkserver's child imported Remit again."""
    ctx = mp.get_context(_start_method())
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, memory_bytes), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise DraftTimeout(f"the draft could not be processed within {timeout:g} s")
        try:
            status, value = parent.recv()
        except (EOFError, OSError):
            raise DraftTimeout("the worker processing the draft died (memory limit or crash)") from None
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(2)
            if proc.is_alive():
                proc.kill()
        proc.join(2)
        parent.close()
    if status == "ok":
        return value
    if status == "memory":
        raise DraftTimeout("the draft needed more memory than a check may use")
    if status == "draft-error":
        kind, name, message, line, column = value
        raise (DraftRefused if kind == "DraftRefused" else DraftError)(name, message, line, column)
    raise RuntimeError(value)
