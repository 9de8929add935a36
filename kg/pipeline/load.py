"""Load Turtle sources with errors that say where: ``file:line:column: what was expected``.

rdflib's Turtle parser raises ``BadSyntax`` with the byte offset of the failure; we turn it into a
line and a column. rdflib only *warns* about ill-typed literals (``"2012-13-45"^^xsd:date``), so every
literal of a checked datatype is re-validated here and located by scanning the file text.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import rdflib
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

import pyoxigraph as ox

from kg.findings.located import LocatedError, line_col
from kg.rdf.canon import to_ox
from kg.rdf.namespaces import GRAPH_ASSERTED, XSD

_XSD_STRING = str(XSD.string)

__all__ = [
    "SourceError", "SourceFile", "Locator", "quiet_rdflib", "load_into_store", "CHECKED_DATATYPES", "load_turtle", "load_files", "read_source", "find_files", "locate_term", "check_literal",
    "format_turtle",
]


class SourceError(LocatedError):
    """Bad input in a source file; ``str()`` is ``file:line:column: message``."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, column: int | None = None):
        self.path = Path(path)
        super().__init__(self.path, message, line, column)


@dataclass
class SourceFile:
    """One parsed Turtle file: its path, its text, its triples and the prefixes it declared."""

    path: Path
    text: str
    graph: Graph
    prefixes: dict[str, str] = field(default_factory=dict)


# --- lexical forms -----------------------------------------------------------------------------------

_TZ = r"(Z|[+-]\d{2}:\d{2})?"
_LEXICAL: dict[URIRef, re.Pattern[str]] = {
    XSD.date: re.compile(r"-?\d{4,}-\d{2}-\d{2}" + _TZ),
    XSD.dateTime: re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?" + _TZ),
    XSD.integer: re.compile(r"[+-]?\d+"),
    XSD.nonNegativeInteger: re.compile(r"\+?\d+"),
    XSD.positiveInteger: re.compile(r"\+?0*[1-9]\d*"),
    XSD.decimal: re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)"),
    XSD.boolean: re.compile(r"true|false|1|0"),
    XSD.duration: re.compile(r"-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"),
    XSD.gYear: re.compile(r"-?\d{4,}" + _TZ),
    XSD.gYearMonth: re.compile(r"-?\d{4,}-\d{2}" + _TZ),
}
_EXPECTED: dict[URIRef, str] = {
    XSD.date: "a date YYYY-MM-DD",
    XSD.dateTime: "a date-time YYYY-MM-DDThh:mm:ss",
    XSD.integer: "an integer",
    XSD.nonNegativeInteger: "a non-negative integer",
    XSD.positiveInteger: "a positive integer",
    XSD.decimal: "a decimal number",
    XSD.boolean: "true or false",
    XSD.duration: "a duration such as P1Y2M or P3D",
    XSD.gYear: "a year YYYY",
    XSD.gYearMonth: "a year and month YYYY-MM",
}


def check_literal(lit: Literal) -> str | None:
    """Return what was expected when ``lit`` is ill-typed for a checked datatype, else ``None``."""
    dt = lit.datatype
    if dt is None:
        return None
    lex = str(lit).strip()  # XSD whitespace facet "collapse" for every checked type
    pattern = _LEXICAL.get(dt)
    ok = True
    if pattern is not None:
        ok = pattern.fullmatch(lex) is not None
        try:
            core = re.sub(_TZ + "$", "", lex)
            if ok and dt == XSD.date and re.fullmatch(r"\d{4}-\d{2}-\d{2}", core):
                date.fromisoformat(core)
            elif ok and dt == XSD.dateTime and re.fullmatch(r"\d{4}-.*", core):
                if not core.endswith("T24:00:00"):  # 24:00:00 is allowed by XSD, not by Python
                    datetime.fromisoformat(core)
            elif ok and dt == XSD.gYearMonth:
                ok = 1 <= int(core[-2:]) <= 12
            elif ok and dt == XSD.decimal:
                Decimal(lex)
        except (ValueError, InvalidOperation):
            ok = False
    if getattr(lit, "ill_typed", None):
        ok = False
    if ok:
        return None
    what = _EXPECTED.get(dt, f"a valid {dt.n3()} value")
    return f'ill-typed literal "{lit}": expected {what} for {_short(dt)}'


def _short(dt: URIRef) -> str:
    return "xsd:" + str(dt)[len(str(XSD)):] if str(dt).startswith(str(XSD)) else dt.n3()


# --- locating ----------------------------------------------------------------------------------------

def _literal_location(src: SourceFile, lit: Literal) -> tuple[int, int]:
    lex = str(lit)
    for quote in ('"', "'"):
        idx = src.text.find(quote + lex + quote)
        if idx >= 0:
            return line_col(src.text, idx)
    idx = src.text.find(lex)
    return line_col(src.text, idx) if idx >= 0 else (1, 1)


def _term_forms(term: URIRef, prefixes: dict[str, str]) -> Iterator[str]:
    s = str(term)
    yield f"<{s}>"
    for prefix, ns in sorted(prefixes.items(), key=lambda kv: -len(kv[1])):
        if ns and s.startswith(ns) and len(s) > len(ns):
            local = s[len(ns):]
            yield f"{prefix}:{local}"
            yield f"{prefix}:" + re.sub(r"([/~.\-!$&'()*+,;=?#@%])", r"\\\1", local)


def locate_term(term: URIRef, sources: Iterable[SourceFile]) -> tuple[Path, int, int] | None:
    """Where ``term`` first appears as a subject (else anywhere) in the given sources, if at all."""
    fallback: tuple[Path, int, int] | None = None
    for src in sources:
        if (term, None, None) not in src.graph and fallback is not None:
            continue
        for form in _term_forms(term, src.prefixes):
            pattern = re.compile(r"(?<![\w:/#-])" + re.escape(form) + r"(?![\w\-/:#])")
            m = pattern.search(src.text)
            if m:
                where = (src.path, *line_col(src.text, m.start()))
                if (term, None, None) in src.graph:  # where its description starts: column 0 first
                    first_subject = (re.compile(r"^" + re.escape(form) + r"(?![\w\-/:#])", re.M).search(src.text)
                                     or re.compile(r"^\s*" + re.escape(form) + r"(?![\w\-/:#])", re.M).search(src.text))
                    if first_subject:
                        return (src.path, *line_col(src.text, first_subject.start() + len(first_subject.group(0)) - len(form)))
                    return where
                fallback = fallback or where
                break
    return fallback


# --- loading -----------------------------------------------------------------------------------------

@contextmanager
def quiet_rdflib() -> Iterator[None]:
    """rdflib logs a traceback for every ill-typed literal; we report those ourselves."""
    logger = logging.getLogger("rdflib.term")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    normalize = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False  # keep lexical forms as written ("yes"^^xsd:boolean is not "false")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        rdflib.NORMALIZE_LITERALS = normalize


def read_source(path: Path) -> tuple[bytes, str]:
    """A source file's bytes and text; :class:`SourceError` when it is missing or not UTF-8 (located)."""
    if not path.is_file():
        raise SourceError(path, "no such file" if not path.exists() else "not a file")
    raw = path.read_bytes()
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = line_col(raw.decode("utf-8", "replace"), exc.start)
        raise SourceError(path, "not valid UTF-8", line, col) from None


def load_turtle(path: Path | str) -> SourceFile:
    """Parse one Turtle file; raise :class:`SourceError` (file, line, column) on any bad input."""
    path = Path(path)
    raw, text = read_source(path)
    fast = _parse_oxigraph(raw, text, path)
    if fast is not None:
        g, prefixes = fast
        src = SourceFile(path=path, text=text, graph=g, prefixes=prefixes)
        _check_literals(src)
        return src
    g = Graph(bind_namespaces="none")
    try:
        with quiet_rdflib():
            g.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as exc:
        src = exc._str.decode("utf-8", "replace") if isinstance(exc._str, bytes) else str(exc._str)
        prefix = exc._str[: exc._i].decode("utf-8", "replace") if isinstance(exc._str, bytes) else src[: exc._i]
        line, col = line_col(prefix, len(prefix))
        why = exc._why
        if why.startswith("Prefix ") and "not bound" in why:
            why = f"unknown prefix {why.split(chr(34))[1]} (declare it with @prefix)"
        raise SourceError(path, why, line, col) from None
    except Exception as exc:  # any other parser failure still names the file
        raise SourceError(path, f"cannot parse Turtle: {exc}") from None
    src = SourceFile(path=path, text=text, graph=g, prefixes={p: str(ns) for p, ns in g.namespaces()})
    _check_literals(src)
    return src


def _check_literals(src: SourceFile) -> None:
    for _, _, o in src.graph:
        if isinstance(o, Literal):
            problem = check_literal(o)
            if problem:
                raise SourceError(src.path, problem, *_literal_location(src, o))


#: A language tag with a capital letter: Oxigraph lower-cases tags, rdflib keeps them as written.
_UPPER_LANG = re.compile(r"@[A-Za-z0-9\-]*[A-Z]")


def _parse_oxigraph(raw: bytes, text: str, path: Path) -> tuple[Graph, dict[str, str]] | None:
    """Parse with pyoxigraph (about 10x faster than rdflib's Turtle parser) into the same rdflib graph
    rdflib would give: lexical forms as written, the file's prefixes bound. Returns ``None`` when the
    file should go through rdflib instead: on any parse error (so bad input gets rdflib's located
    message, as before) and when a language tag has capitals (Oxigraph would lower-case it).
    ``tests/test_loader_fast.py`` checks both parsers give the same graphs on every Turtle file of the
    project and on synthetic data."""
    import pyoxigraph as ox

    if _UPPER_LANG.search(text):
        return None
    iris: dict[str, URIRef] = {}
    bnodes: dict[str, BNode] = {}

    def term(t: object) -> object:
        if isinstance(t, ox.NamedNode):
            v = t.value
            u = iris.get(v)
            if u is None:
                u = iris[v] = URIRef(v)
            return u
        if isinstance(t, ox.BlankNode):
            b = bnodes.get(t.value)
            if b is None:
                b = bnodes[t.value] = BNode()
            return b
        if t.language:  # type: ignore[attr-defined]
            return Literal(t.value, lang=t.language)  # type: ignore[attr-defined]
        dt = t.datatype.value  # type: ignore[attr-defined]
        if dt == _XSD_STRING:
            return Literal(t.value)  # type: ignore[attr-defined]
        return Literal(t.value, datatype=iris.get(dt) or iris.setdefault(dt, URIRef(dt)))  # type: ignore[attr-defined]

    g = Graph(bind_namespaces="none")
    try:
        parser = ox.parse(raw, format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri())
        with quiet_rdflib():
            add = g.add
            for q in parser:
                add((term(q.subject), term(q.predicate), term(q.object)))  # type: ignore[arg-type]
        prefixes = dict(parser.prefixes)
    except Exception:  # noqa: BLE001 - rdflib re-parses and reports the error with its location
        return None
    for prefix, ns in prefixes.items():
        g.bind(prefix, ns, override=True, replace=True)
    return g, prefixes


def find_files(dirs: Iterable[Path | str], pattern: str = "*.ttl", recursive: bool = True) -> list[Path]:
    """Every file matching ``pattern`` under ``dirs``, sorted; a missing directory is a :class:`SourceError`."""
    out: list[Path] = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise SourceError(d, "no such directory")
        out.extend(p for p in (d.rglob(pattern) if recursive else d.glob(pattern)) if p.is_file())
    return sorted(set(out))


def load_files(paths: Iterable[Path | str], into: Graph | None = None) -> tuple[Graph, list[SourceFile]]:
    """Parse each file and merge its triples into one graph (``into`` or a new one)."""
    g = into if into is not None else Graph()
    sources = []
    for p in paths:
        src = load_turtle(p)
        for t in src.graph:
            g.add(t)
        sources.append(src)
    return g, sources


def format_turtle(path: Path | str) -> tuple[str, str]:
    """The file's current text and its canonical form (rdflib ``longturtle``, Remit's prefixes plus the
    file's own). Comments are not kept. Raises :class:`SourceError` on bad input."""
    from kg.rdf.namespaces import PREFIXES

    from kg.rdf.canon import canonical_graph

    src = load_turtle(path)
    g = Graph(bind_namespaces="none")
    # canonical blank-node labels, so nested blank nodes are written in a stable order (idempotent)
    for t in canonical_graph(src.graph):
        g.add(t)
    for prefix, ns in sorted(src.prefixes.items()):
        if ns not in PREFIXES.values() and prefix not in PREFIXES:
            g.bind(prefix, ns)
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns, override=True, replace=True)
    text = g.serialize(format="longturtle")
    return src.text, text if text.endswith("\n") else text + "\n"


# --- loading into a store ------------------------------------------------------------------------

#: The named graph the data is loaded into.
ASSERTED_NODE = ox.NamedNode(str(GRAPH_ASSERTED))
#: Datatypes whose lexical forms the loader checks.
CHECKED_DATATYPES: tuple[URIRef, ...] = tuple(_LEXICAL)
_PREFIX_DECL = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.\-]*)?:\s*<([^>]*)>", re.M | re.I)


def _prefixes(text: str) -> dict[str, str]:
    return {(m.group(1) or ""): m.group(2) for m in _PREFIX_DECL.finditer(text)}


def load_into_store(store: ox.Store, paths: Sequence[Path], graph: ox.NamedNode = ASSERTED_NODE) -> list[SourceFile]:
    """Parse each Turtle file into ``graph`` of ``store``; return the files (text and prefixes, no
    rdflib graph). Raises :class:`kg.pipeline.load.SourceError` with file, line and column on bad input."""
    sources: list[SourceFile] = []
    for path in paths:
        path = Path(path)
        raw, text = read_source(path)
        base = path.resolve().as_uri()
        done = False
        if not _UPPER_LANG.search(text):
            try:
                store.load(input=raw, format=ox.RdfFormat.TURTLE, base_iri=base, to_graph=graph)
                done = True
            except (SyntaxError, ValueError):
                pass
        if not done:  # rdflib's parser gives the located message, or parses what Oxigraph would change
            src = load_turtle(path)
            store.extend([ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), graph) for s, p, o in src.graph])
        sources.append(SourceFile(path=path, text=text, graph=Graph(), prefixes=_prefixes(text)))
    _check_store_literals(store, graph, sources)
    return sources


def _check_store_literals(store: ox.Store, graph: ox.NamedNode, sources: Sequence[SourceFile]) -> None:
    """Every distinct literal of a checked datatype, validated as the rdflib engine does; the first bad
    one (in file order) is located and raised."""
    types = ", ".join(f"<{d}>" for d in CHECKED_DATATYPES)
    rows = store.query(f"""SELECT DISTINCT ?o WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }}
        FILTER(isLiteral(?o)) FILTER(DATATYPE(?o) IN ({types})) }}""")
    bad: list[tuple[Literal, str]] = []
    with quiet_rdflib():  # an ill-typed literal is reported below, located, not as rdflib's traceback
        for row in rows:
            lit = Literal(row[0].value, datatype=URIRef(row[0].datatype.value))
            problem = check_literal(lit)
            if problem:
                bad.append((lit, problem))
    if not bad:
        return
    for src in sources:
        for lit, problem in bad:
            if str(lit) in src.text:
                raise SourceError(src.path, problem, *_literal_location(src, lit))
    lit, problem = bad[0]
    raise SourceError(sources[0].path if sources else Path("."), problem)


# --- where many terms are written --------------------------------------------------------------

_COLUMN0 = re.compile(r"^([^\s#;,.\[\]()\"'][^\s;,]*)", re.M)


class Locator:
    """Where terms are written, for many terms at once: each file's column-0 tokens (the subjects of
    Remit's Turtle files) are indexed once; a term is found in the first file (in build order) that
    starts a line with it, in any of the forms :func:`kg.pipeline.load.locate_term` tries, else by that
    function's full-text search."""

    def __init__(self, sources: Sequence[SourceFile]):
        self.sources = list(sources)
        self._index: list[dict[str, int]] = []
        for src in self.sources:
            first: dict[str, int] = {}
            for m in _COLUMN0.finditer(src.text):
                first.setdefault(m.group(1), m.start())
            self._index.append(first)
        # files with the same prefixes write a term the same ways: its forms are made once per prefix set
        self._prefix_keys = [tuple(sorted(src.prefixes.items())) for src in self.sources]

    def __call__(self, term: URIRef) -> tuple[Path, int, int] | None:
        forms_for: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for src, first, key in zip(self.sources, self._index, self._prefix_keys):
            forms = forms_for.get(key)
            if forms is None:
                forms = forms_for[key] = list(_term_forms(term, src.prefixes))
            for form in forms:
                at = first.get(form)
                if at is not None:
                    return (src.path, *line_col(src.text, at))
        return locate_term(term, self.sources)
