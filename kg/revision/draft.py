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
import logging
import multiprocessing as mp
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import rdflib
import yaml
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from kg.paths import CONTEXTS_DIR
from kg.findings.located import LocatedError, line_col  # one line/column rule for sources and drafts
from kg.pipeline.load import SourceFile, check_literal, locate_term
from kg.rdf.namespaces import OWL, RDF, XSD

__all__ = [
    "CONTEXT_IRI", "CONTEXT_PATH", "FORMATS", "MEDIA_TYPES", "DraftError", "DraftRefused", "DraftTimeout",
    "Draft", "detect_format", "parse_draft", "load_draft", "published_context", "run_isolated",
    "parse_draft_isolated", "graph_to_yaml", "read_text",
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

    def location(self, iri: str) -> Optional[tuple[int, int]]:
        return self.locations.get(str(iri))


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


@contextmanager
def _quiet() -> Iterator[None]:
    logger = logging.getLogger("rdflib.term")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    normalize = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False  # keep lexical forms as written, so ill-typed ones can be reported
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        rdflib.NORMALIZE_LITERALS = normalize


def _literal_where(text: str, lex: str) -> tuple[int, int]:
    for form in (f'"{lex}"', f"'{lex}'", lex):
        i = text.find(form)
        if i >= 0:
            return line_col(text, i)
    return (1, 1)


def _check_common(name: str, text: str, g: Graph, imports_where: Callable[[], tuple[int, int]]) -> None:
    if (None, OWL.imports, None) in g:
        raise DraftRefused(name, "owl:imports is not accepted in a draft (a draft never loads anything else)",
                           *imports_where())
    for _, _, o in g:
        if isinstance(o, Literal):
            problem = check_literal(o)
            if problem:
                raise DraftError(name, problem, *_literal_where(text, str(o)))


# ----------------------------------------------------------------------------------------------- Turtle

def _parse_turtle(name: str, text: str) -> Draft:
    _refuse_xml(name, text)
    g = Graph(bind_namespaces="none")
    try:
        with _quiet():
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


def _jsonld_to_graph(name: str, text_for_errors: str, doc: Any) -> Graph:
    g = Graph(bind_namespaces="none")
    try:
        with _quiet():
            g.parse(data=json.dumps(doc), format="json-ld", base=DRAFT_BASE)
    except Exception as exc:
        raise DraftError(name, f"not valid JSON-LD: {exc}") from None
    return g


def _parse_jsonld(name: str, text: str) -> Draft:
    _refuse_xml(name, text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DraftError(name, f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None

    def where(value: Any, key: Optional[str] = None) -> tuple[int, int]:
        if key is not None:
            probe = json.dumps(key)
        elif isinstance(value, str):
            probe = json.dumps(value)
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
    return Draft(name, "json-ld", text, g, locations)


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
    return node.value


def _parse_yaml(name: str, text: str) -> Draft:
    _refuse_xml(name, text)
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or (getattr(event, "anchor", None) is not None):
                m = event.start_mark
                raise DraftError(name, "YAML anchors and aliases (&, *) are not allowed in a draft",
                                 m.line + 1, m.column + 1)
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
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

    _check_common(name, text, g, imports_where)
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
    return Draft(name, "yaml", text, g, locations)


# ----------------------------------------------------------------------------------------------- API

def parse_draft(text: str, fmt: str, name: str = "draft") -> Draft:
    """Parse a draft's text (``turtle``, ``json-ld`` or ``yaml``) in this process.

    Raises :class:`DraftError` (located) or :class:`DraftRefused`. For drafts from others, prefer
    :func:`parse_draft_isolated`, which adds a deadline and a memory limit."""
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


def run_isolated(fn: Callable[..., Any], args: tuple[Any, ...], timeout: float,
                 memory_bytes: Optional[int] = None) -> Any:
    """Run ``fn(*args)`` in a fresh worker process (multiprocessing ``forkserver``) with a deadline and an
    address-space limit. Past the deadline the worker is terminated, then killed, and
    :class:`DraftTimeout` is raised; a :class:`DraftError` in the worker is raised again here."""
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
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


def _parse_to_nt(text: str, fmt: str, name: str) -> tuple[str, str, str, str, dict[str, tuple[int, int]]]:
    d = parse_draft(text, fmt, name)
    return d.name, d.format, d.text, d.graph.serialize(format="nt"), d.locations


def parse_draft_isolated(text: str, fmt: str, name: str = "draft", timeout: float = 30.0,
                         memory_bytes: Optional[int] = None) -> Draft:
    """:func:`parse_draft` in a killable worker (deadline, memory limit); the triples come back as N-Triples."""
    name, fmt, text, nt, locations = run_isolated(_parse_to_nt, (text, fmt, name), timeout, memory_bytes)
    g = Graph(bind_namespaces="none")
    with _quiet():
        g.parse(data=nt, format="nt")
    return Draft(name, fmt, text, g, locations)


# ----------------------------------------------------------------------------------------------- export

def _term_index(ctx: dict[str, Any]) -> tuple[dict[str, list[tuple[str, Any, Any]]], dict[str, str]]:
    """IRI -> [(term, coercion type, language)] and prefix -> namespace, from the published context."""
    prefixes = {k: v["@id"] for k, v in ctx.items() if isinstance(v, dict) and v.get("@prefix")}

    def expand(v: str) -> str:
        if ":" in v and v.split(":", 1)[0] in prefixes:
            p, local = v.split(":", 1)
            return prefixes[p] + local
        return v
    index: dict[str, list[tuple[str, Any, Any]]] = {}
    for k, v in ctx.items():
        if k.startswith("@") or not isinstance(v, dict) or v.get("@prefix"):
            continue
        t = v.get("@type")
        index.setdefault(expand(v["@id"]), []).append(
            (k, expand(t) if isinstance(t, str) and t != "@id" else t, v.get("@language", "__default__")))
    return index, prefixes


def graph_to_yaml(graph: Graph, root: URIRef | str, local_prefix: Optional[tuple[str, str]] = None,
                  header: str = "") -> str:
    """Write the agreement ``root`` (and everything under it) as a YAML draft using the published context.

    Parts of the agreement (IRIs under ``root/``) and blank nodes are nested under the first property that
    reaches them; everything else is a (compact) IRI. Reading the result back with :func:`parse_draft`
    gives a graph isomorphic to the triples reachable from ``root``."""
    ctx = published_context()
    index, prefixes = _term_index(ctx)
    if local_prefix:
        prefixes = {local_prefix[0]: local_prefix[1], **prefixes}
    vocab = ctx["@vocab"]
    order = [k for k in ctx if not k.startswith("@")]
    root = URIRef(str(root))
    base = str(root) + "/"

    def compact(iri: str) -> str:
        best = None
        for p, ns in prefixes.items():
            if iri.startswith(ns) and len(iri) > len(ns) and (best is None or len(ns) > len(prefixes[best])):
                best = p
        return f"{best}:{iri[len(prefixes[best]):]}" if best else iri

    def type_name(iri: str) -> str:
        return iri[len(vocab):] if iri.startswith(vocab) and "/" not in iri[len(vocab):] else compact(iri)

    nested: dict[Any, Any] = {}  # node -> (parent, predicate): where a part is written in full
    queue = [root]
    seen = {root}
    while queue:
        node = queue.pop(0)
        for p, o in sorted(graph.predicate_objects(node), key=lambda po: (str(po[0]), str(po[1]))):
            if p == RDF.type:
                continue
            if (isinstance(o, BNode) or (isinstance(o, URIRef) and str(o).startswith(base))) and o not in seen:
                if (o, None, None) in graph:
                    seen.add(o)
                    nested[o] = node
                    queue.append(o)

    def key_for(p: URIRef, values: list[Any]) -> tuple[str, Any, Any]:
        cands = index.get(str(p), [])
        if not cands:
            return (compact(str(p)), None, None)

        def score(c: tuple[str, Any, Any]) -> int:
            _, t, lang = c
            n = 0
            for v in values:
                if isinstance(v, (URIRef, BNode)):
                    n += t == "@id"
                elif isinstance(v, Literal):
                    if v.datatype is not None and v.datatype != XSD.string:
                        n += t == str(v.datatype) or (v.datatype == XSD.boolean and t in (None, str(XSD.boolean)))
                    elif v.language:
                        n += t is None and lang in ("__default__", v.language)
                    else:
                        n += t is None and lang is None
            return n
        return max(cands, key=score)

    def literal_value(v: Literal, t: Any, lang: Any) -> Any:
        if v.datatype == XSD.boolean and str(v) in ("true", "false"):
            return str(v) == "true"
        if v.datatype is not None and v.datatype != XSD.string:
            return str(v) if t == str(v.datatype) else {"value": str(v), "type": compact(str(v.datatype))}
        if v.language:
            ok = t is None and lang in ("__default__", v.language) and (lang != "__default__" or v.language == "en")
            return str(v) if ok else {"value": str(v), "language": v.language}
        return str(v) if (t is None and lang is None) else {"value": str(v)}

    def render(node: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(node, URIRef):
            out["id"] = compact(str(node))
        types = sorted(type_name(str(t)) for t in graph.objects(node, RDF.type))
        if types:
            out["type"] = types[0] if len(types) == 1 else types
        by_key: dict[str, list[Any]] = {}
        for p in sorted(set(graph.predicates(node)), key=str):
            if p == RDF.type:
                continue
            values = sorted(graph.objects(node, p), key=lambda v: (isinstance(v, BNode), str(v)))
            key, t, lang = key_for(p, values)
            rendered = []
            for v in values:
                if isinstance(v, Literal):
                    rendered.append(literal_value(v, t, lang))
                elif nested.get(v) == node:
                    rendered.append(render(v))
                elif isinstance(v, BNode):
                    raise ValueError(f"blank node {v} is shared; it cannot be written as YAML")
                else:
                    iri = compact(str(v))
                    rendered.append(iri if t == "@id" else {"id": iri})
            rendered.sort(key=lambda r: (isinstance(r, dict) and "id" not in r,
                                         json.dumps(r, sort_keys=True) if isinstance(r, dict) and "id" not in r else ""))
            by_key[key] = rendered
        rank = {k: i for i, k in enumerate(order)}
        first = ["label", "ordinal", "statement"]
        for key in sorted(by_key, key=lambda k: (k not in first, first.index(k) if k in first else 0,
                                                 rank.get(k, len(rank)), k)):
            vals = by_key[key]
            out[key] = vals[0] if len(vals) == 1 else vals
        return out

    doc: dict[str, Any] = {"@context": [CONTEXT_IRI] + ([{local_prefix[0]: local_prefix[1]}] if local_prefix else [])}
    doc.update(render(root))
    others = sorted({s for s in graph.subjects() if isinstance(s, URIRef) and str(s).startswith(base)
                     and s not in nested}, key=str)
    if others:
        body = {k: v for k, v in doc.items() if k != "@context"}
        doc = {"@context": doc["@context"], "@graph": [body] + [render(s) for s in others]}

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, s: str) -> yaml.ScalarNode:
        style = "|" if "\n" in s else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=style)
    _Dumper.add_representer(str, _str)
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return header + text
