"""The build: sources → reason → validate → artefacts in ``build/``.

Steps (each a plain function):

1. load ``ontology/*.ttl`` + ``ontology/vocab/*.ttl`` (graph ``id:graph/ontology``) and every ``*.ttl``
   under the data folders (graph ``id:graph/asserted``), failing with ``file:line:column: message``;
2. reason (:func:`kg.pipeline.owlrl_reason.infer`, owlrl, below :data:`FAST_REASONER_THRESHOLD` asserted triples, else
   :func:`kg.pipeline.reason.infer_fast`, proven equal on Remit's ontology): the OWL 2 RL closure minus what
   was asserted (``id:graph/inferred``);
3. validate (:func:`kg.pipeline.validate.validate_graphs`): SHACL shapes in ``shapes/*.shapes.ttl`` and the
   ``queries/qc/*-violation.rq`` checks (``id:graph/validation-report``);
4. write ``remit.trig``, ``report.ttl``, ``report.json``, ``manifest.json`` and ``store/`` into a
   temporary sibling folder, and swap it in only when everything succeeded.

Outputs are byte-identical for identical sources: blank nodes get canonical (content-hash) labels
over the whole dataset, and every serialisation is sorted. No clock time is recorded anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import time
from dataclasses import dataclass, field
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg import __version__
from kg.rdf.canon import canonical_graphs, from_ox, to_ox
from kg.pipeline.derive import RULES_DIR, derive, load_rules
from kg.pipeline.load import SourceFile, find_files, load_files, locate_term
from kg.rdf.namespaces import (
    GRAPH_ASSERTED, GRAPH_DERIVED, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_REPORT, ONTOLOGY_IRI, OWL, PREFIXES, RDF, XSD,
)
from kg.pipeline.reason import FAST_REASONER, inconsistencies, infer_fast, unsupported_features
from kg.pipeline.owlrl_reason import REASONER, InconsistencyError, infer
from kg.rdf.store import write_store
from kg.pipeline.validate import QCQuery, Report, load_qc_queries, validate_graphs

__all__ = [
    "BuildError", "BuildResult", "Checked", "Layout", "build", "check", "validate", "source_hash", "serialize_dataset",
    "serialize_graph", "ARTEFACTS", "REASONERS", "FAST_REASONER_THRESHOLD", "choose_reasoner",
    "ENGINES", "STORE_ENGINE_THRESHOLD", "choose_engine",
]

#: The files every complete build leaves in the out folder.
ARTEFACTS: tuple[str, ...] = ("remit.trig", "report.ttl", "report.json", "manifest.json", "store")
#: The packages whose code makes the artefacts: a change to any of their modules rebuilds.
_CODE_PACKAGES = ("pipeline", "rdf", "findings")

#: ``--reasoner`` values: ``owlrl`` (the reference, pure Python), ``fast`` (:mod:`kg.pipeline.reason`, the
#: rules Remit's ontology uses, proven equal to owlrl on it) or ``auto`` (owlrl below the threshold).
REASONERS: tuple[str, ...] = ("auto", "owlrl", "fast")
#: Asserted triples from which ``auto`` uses the fast reasoner: owlrl takes ~7 s at 10k triples,
#: ~65 s at 100k and ~550 s at 1M on a 2-core machine; the fast path 0.1 s at 10k.
FAST_REASONER_THRESHOLD = 50_000
#: ``--engine`` values (see :func:`choose_engine`).
ENGINES: tuple[str, ...] = ("auto", "rdflib", "store")
#: Asserted triples from which ``--engine auto`` builds on an Oxigraph store (:mod:`kg.pipeline.storebuild`):
#: the rdflib engine holds ~2 KB per triple and pyshacl validates in Python (125 s at 100k triples).
STORE_ENGINE_THRESHOLD = 50_000


class BuildError(Exception):
    """Bad input the build cannot get past (exit code 2); the message says what and where."""


@dataclass
class Layout:
    """Where the sources are and where the artefacts go (paths relative to ``root`` unless absolute)."""

    root: Path = Path(".")
    data: list[Path] | None = None
    out: Path | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.data = [self._abs(d) for d in (self.data or [Path("data")])]
        self.out = self._abs(self.out or Path("build"))

    def _abs(self, p: Path | str) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.root / p

    @property
    def ontology_files(self) -> list[Path]:
        files: list[Path] = []
        for d in (self.root / "ontology", self.root / "ontology" / "vocab"):
            if d.is_dir():
                files += find_files([d], recursive=False)
        return files

    @property
    def shape_files(self) -> list[Path]:
        d = self.root / "shapes"
        return find_files([d], "*.shapes.ttl", recursive=False) if d.is_dir() else []

    @property
    def data_files(self) -> list[Path]:
        return find_files(self.data or [])

    @property
    def qc_dir(self) -> Path:
        return self.root / "queries" / "qc"

    @property
    def derive_dir(self) -> Path:
        return self.root / RULES_DIR

    def rel(self, p: Path) -> str:
        try:
            return p.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return p.resolve().as_posix()


@dataclass
class Checked:
    """Everything loaded, reasoned and validated (the in-memory result of steps 1–3)."""

    ontology: Graph
    asserted: Graph
    inferred: Graph
    shapes: Graph
    queries: list[QCQuery]
    sources: list[SourceFile]
    report: Report
    reasoner: str = REASONER  # the reasoner that made ``inferred``


@dataclass
class BuildResult:
    skipped: bool
    out: Path
    manifest: dict[str, Any]
    report: Report | None = None
    messages: list[str] = field(default_factory=list)
    #: seconds per step of this run, and ``<step>.rss_mb`` the peak RSS after it (not written anywhere:
    #: artefacts carry no clock readings)
    timings: dict[str, float] = field(default_factory=dict)


def _tool_versions() -> dict[str, str]:
    return {name: _dist_version(name) for name in ("rdflib", "owlrl", "pyshacl", "pyoxigraph")}


def source_hash(layout: Layout) -> tuple[str, list[dict[str, str]]]:
    """SHA-256 over (path, bytes) of every source file, sorted by path, plus the build code and tool
    versions (so a changed reasoner or check also rebuilds). Returns the hash and the per-file list."""
    files = layout.ontology_files + layout.shape_files + layout.data_files
    if layout.qc_dir.is_dir():
        files += sorted(layout.qc_dir.glob("*-violation.rq"))
    if layout.derive_dir.is_dir():
        files += sorted(layout.derive_dir.glob("*.rq"))
    entries = sorted((layout.rel(p), p) for p in set(files))
    h = hashlib.sha256()
    listing = []
    for rel, p in entries:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        listing.append({"path": rel, "sha256": digest})
        h.update(rel.encode() + b"\0" + digest.encode() + b"\n")
    kg_dir = Path(__file__).resolve().parent.parent
    for f in sorted(p for pkg in _CODE_PACKAGES for p in (kg_dir / pkg).glob("*.py")):
        h.update(f"kg/{f.parent.name}/{f.name}\0".encode() + hashlib.sha256(f.read_bytes()).digest())
    h.update(json.dumps({"remit": __version__, **_tool_versions()}, sort_keys=True).encode())
    return "sha256:" + h.hexdigest(), listing


def choose_reasoner(reasoner: str, ontology: Graph, asserted: Graph) -> str:
    """``owlrl`` or ``fast`` for a ``--reasoner`` value: ``auto`` takes owlrl below
    :data:`FAST_REASONER_THRESHOLD` asserted triples, or when the ontology uses an OWL feature the fast
    path does not cover; ``fast`` on such an ontology is a :class:`BuildError`."""
    if reasoner not in REASONERS:
        raise BuildError(f"--reasoner must be one of {', '.join(REASONERS)}, not {reasoner!r}")
    if reasoner == "owlrl":
        return "owlrl"
    missing = unsupported_features(ontology)
    if reasoner == "fast" and missing:
        raise BuildError("the fast reasoner does not cover " + ", ".join(missing)
                         + " used by the ontology; build with --reasoner owlrl")
    if reasoner == "fast" or (not missing and len(asserted) >= FAST_REASONER_THRESHOLD):
        return "fast"
    return "owlrl"


def check(layout: Layout, extra_files: list[Path] | None = None, reasoner: str = "auto") -> Checked:
    """Load, reason and validate (steps 1–3). Raises :class:`SourceError` or :class:`BuildError`.

    ``reasoner`` is ``auto``, ``owlrl`` or ``fast`` (see :func:`choose_reasoner`)."""
    ontology, ont_sources = load_files(layout.ontology_files)
    data_paths = layout.data_files
    seen = {p.resolve() for p in data_paths}
    for p in extra_files or []:
        if Path(p).resolve() not in seen:
            data_paths.append(Path(p))
            seen.add(Path(p).resolve())
    asserted, data_sources = load_files(data_paths)
    shapes, _ = load_files(layout.shape_files)
    for src in ont_sources + data_sources:  # locations in reports are relative to the project root
        src.path = Path(layout.rel(src.path))
    try:
        queries = load_qc_queries(layout.qc_dir)
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    used = choose_reasoner(reasoner, ontology, asserted)
    try:
        if used == "owlrl":
            inferred = infer(ontology, asserted)
        else:
            inferred = infer_fast(ontology, asserted)
            problems = inconsistencies(ontology, asserted, inferred)
            if problems:
                raise InconsistencyError([m for m, _ in problems],
                                         sorted({n for _, ns in problems for n in ns}, key=str))
    except InconsistencyError as exc:
        sources = ont_sources + data_sources
        where = []
        for node in exc.nodes:
            loc = locate_term(node, sources) if isinstance(node, URIRef) else None
            if loc:
                where.append(f"{loc[0]}:{loc[1]}:{loc[2]}: {node} is involved")
        raise BuildError(str(exc) + ("\n" + "\n".join(where) if where else "")) from None
    try:
        report = validate_graphs(ontology, asserted, inferred, shapes, queries, ont_sources + data_sources)
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    return Checked(ontology, asserted, inferred, shapes, queries, ont_sources + data_sources, report,
                   REASONER if used == "owlrl" else FAST_REASONER)


def derive_graph(layout: Layout, ontology: Graph, asserted: Graph, inferred: Graph) -> Graph:
    """The derived facts (:mod:`kg.pipeline.derive`) of the reasoned graph, as an rdflib graph."""
    rules = load_rules(layout.derive_dir)
    out = Graph()
    if not rules:
        return out
    import pyoxigraph as ox
    store = ox.Store()
    for name, g in ((GRAPH_ONTOLOGY, ontology), (GRAPH_ASSERTED, asserted), (GRAPH_INFERRED, inferred)):
        gn = ox.NamedNode(str(name))
        store.extend([ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), gn) for s, p, o in g])
    try:
        derive(store, rules)
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    for q in store.quads_for_pattern(None, None, None, ox.NamedNode(str(GRAPH_DERIVED))):
        out.add((from_ox(q.subject), URIRef(q.predicate.value), from_ox(q.object)))
    return out


# --- deterministic serialisation ----------------------------------------------------------------------

def _canonical(graphs: dict[URIRef, Graph]) -> dict[URIRef, Graph]:
    """Blank nodes relabelled canonically over the whole dataset (see :mod:`kg.rdf.canon`)."""
    return canonical_graphs(graphs)


_PN_LOCAL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")


class _Writer:
    """A small, sorted Turtle/TriG writer: one subject block per node, predicates and objects sorted,
    blank nodes always written as ``_:label`` (never nested), so a label shared across graphs stays one
    node and the bytes depend on nothing but the triples."""

    def __init__(self) -> None:
        self.prefixes = sorted(PREFIXES.items(), key=lambda kv: -len(kv[1]))
        self.used: set[str] = set()

    def term(self, t: Node) -> str:
        if isinstance(t, BNode):
            return f"_:{t}"
        if isinstance(t, URIRef):
            s = str(t)
            if s == str(RDF.type):
                return "a"
            for prefix, ns in self.prefixes:
                if s.startswith(ns) and (s == ns or _PN_LOCAL.fullmatch(s[len(ns):])):
                    self.used.add(prefix)
                    return f"{prefix}:{s[len(ns):]}"
            return f"<{s}>"
        assert isinstance(t, Literal)
        text = Literal(str(t)).n3()
        if t.language:
            return f"{text}@{t.language}"
        if t.datatype is not None and t.datatype != XSD.string:
            return f"{text}^^{self.term(t.datatype)}"
        return text

    def block(self, g: Graph, indent: str = "") -> str:
        lines: list[str] = []
        by_subject: dict[Node, list[tuple[Node, Node]]] = {}
        for s, p, o in g:
            by_subject.setdefault(s, []).append((p, o))
        subjects = sorted(by_subject, key=lambda n: (isinstance(n, BNode), self._key(n)))
        for s in subjects:
            po = sorted(by_subject[s], key=lambda x: (x[0] != RDF.type, self._key(x[0]), self._key(x[1])))
            parts: list[str] = []
            last = None
            for p, o in po:
                if p == last:
                    parts[-1] += f",\n{indent}        {self.term(o)}"
                else:
                    parts.append(f"{self.term(p)} {self.term(o)}")
                last = p
            lines.append(f"{indent}{self.term(s)} " + f" ;\n{indent}    ".join(parts) + " .\n")
        return "\n".join(lines)

    @staticmethod
    def _key(n: Node) -> tuple[int, str, str]:
        if isinstance(n, Literal):
            return (2, str(n), str(n.datatype or "") + "@" + (n.language or ""))
        return (1 if isinstance(n, BNode) else 0, str(n), "")

    def header(self) -> str:
        return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(PREFIXES.items()) if p in self.used) + "\n"


def serialize_dataset(graphs: dict[URIRef, Graph]) -> str:
    """TriG of the named graphs: blank nodes canonical over the whole dataset, graphs and statements sorted."""
    canon = _canonical(graphs)
    w = _Writer()
    body = []
    for name in sorted(canon, key=str):
        body.append(f"{w.term(name)} {{\n" + w.block(canon[name], "    ") + "}\n")
    return w.header() + "\n".join(body)


def serialize_graph(g: Graph) -> str:
    """Turtle of one graph with canonical blank-node labels, statements sorted."""
    canon = _canonical({URIRef("urn:x-remit:graph"): g})[URIRef("urn:x-remit:graph")]
    w = _Writer()
    body = w.block(canon)
    return w.header() + body


def _ontology_version(ontology: Graph) -> str | None:
    v = ontology.value(URIRef(ONTOLOGY_IRI), OWL.versionInfo)
    return str(v) if v is not None else None


def _is_fresh(layout: Layout, digest: str) -> bool:
    out = layout.out
    assert out is not None
    if not all((out / name).exists() for name in ARTEFACTS):
        return False
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("sourceHash") == digest


def choose_engine(engine: str, asserted_triples: int) -> str:
    """``rdflib`` or ``store`` for an ``--engine`` value: ``auto`` takes the store engine
    (:mod:`kg.pipeline.storebuild`) from :data:`STORE_ENGINE_THRESHOLD` asserted triples."""
    if engine not in ENGINES:
        raise BuildError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine != "auto":
        return engine
    return "store" if asserted_triples >= STORE_ENGINE_THRESHOLD else "rdflib"


def _timed(timings: dict[str, float], step: str, t0: float) -> float:
    """Record the seconds since ``t0`` for ``step`` and the peak RSS so far (``step.rss_mb``)."""
    now = time.perf_counter()
    timings[step] = round(now - t0, 3)
    timings[step + ".rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return now


def build(layout: Layout | None = None, force: bool = False, reasoner: str = "auto",
          engine: str = "auto") -> BuildResult:
    """Build the artefacts; skipped when the sources are unchanged (unless ``force``).

    ``reasoner``: ``auto`` (default), ``owlrl`` or ``fast`` (see :func:`choose_reasoner`); both give the
    same inferred graph on Remit's ontology, so it is not part of the source hash.
    ``engine``: ``auto`` (default), ``rdflib`` or ``store`` (see :func:`choose_engine`): the rdflib
    engine holds the data in rdflib graphs and validates with pyshacl; the store engine keeps it in an
    Oxigraph store only (:mod:`kg.pipeline.storebuild`). Both give the same dataset and findings.

    Raises :class:`SourceError` or :class:`BuildError` on bad input; the previous artefacts are then
    left exactly as they were.
    """
    layout = layout or Layout()
    out = layout.out
    assert out is not None
    if out.resolve() == layout.root.resolve() or (out / "ontology").exists():
        raise BuildError(f"{out}: refusing to use the source folder as the output folder")
    if engine not in ENGINES:
        raise BuildError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    digest, listing = source_hash(layout)
    if not force and _is_fresh(layout, digest):
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return BuildResult(True, out, manifest, None, [f"{out}: up to date (source hash unchanged); use --force to rebuild"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    for leftover in (tmp, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    tmp.mkdir()
    try:
        if engine == "rdflib" or (engine == "auto" and reasoner == "owlrl"):
            manifest, report, timings = _build_rdflib(layout, tmp, reasoner)
            used = "rdflib"
        else:
            manifest, report, timings, used = _build_store(layout, tmp, reasoner, engine)
        manifest = {"name": "remit", "version": __version__, "sourceHash": digest, "sources": listing,
                    **manifest, "engine": used, "tools": _tool_versions()}
        t0 = time.perf_counter()
        (tmp / "report.ttl").write_text(serialize_graph(report.graph or Graph()), encoding="utf-8")
        (tmp / "report.json").write_text(_dump_json(report.to_json()), encoding="utf-8")
        manifest["quads"] = write_store(tmp / "remit.trig", tmp / "store")
        (tmp / "manifest.json").write_text(_dump_json(manifest), encoding="utf-8")
        _timed(timings, "store", t0)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    return BuildResult(False, out, manifest, report, [f"{out}: built"], timings)


def _build_rdflib(layout: Layout, tmp: Path, reasoner: str) -> tuple[dict[str, Any], Report, dict[str, float]]:
    """Steps 1–4 on rdflib graphs (pyshacl validates); writes ``tmp/remit.trig``."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    checked = check(layout, reasoner=reasoner)
    t0 = _timed(timings, "load+reason+validate", t0)
    graphs = {
        GRAPH_ONTOLOGY: checked.ontology,
        GRAPH_ASSERTED: checked.asserted,
        GRAPH_INFERRED: checked.inferred,
        GRAPH_REPORT: checked.report.graph or Graph(),
    }
    derived = derive_graph(layout, checked.ontology, checked.asserted, checked.inferred)
    if len(derived):
        graphs[GRAPH_DERIVED] = derived
    t0 = _timed(timings, "derive", t0)
    report = checked.report
    manifest: dict[str, Any] = {
        "ontologyVersion": _ontology_version(checked.ontology),
        "graphs": {str(name): len(g) for name, g in sorted(graphs.items(), key=lambda kv: str(kv[0]))},
        "triples": sum(len(g) for g in graphs.values()),
        "conforms": report.conforms,
        "findings": report.counts,
        "reasoner": checked.reasoner,
    }
    (tmp / "remit.trig").write_text(serialize_dataset(graphs), encoding="utf-8")
    _timed(timings, "write", t0)
    return manifest, report, timings


def _build_store(layout: Layout, tmp: Path, reasoner: str,
                 engine: str) -> tuple[dict[str, Any], Report, dict[str, float], str]:
    """Steps 1–4 on an in-memory Oxigraph store (:mod:`kg.pipeline.storebuild`); writes ``tmp/remit.trig``.
    With ``engine="auto"`` and fewer than :data:`STORE_ENGINE_THRESHOLD` asserted triples, the rdflib
    engine does the work instead (the store was only used to count)."""
    import pyoxigraph as ox

    from kg.pipeline.reason import materialise, store_inconsistencies
    from kg.pipeline.storebuild import Locator, blank_node_labels, load_into_store, write_trig
    from kg.pipeline.validate import validate_store

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    store = ox.Store()
    data_sources = load_into_store(store, layout.data_files)
    n_asserted = len(store)
    if choose_engine(engine, n_asserted) == "rdflib":
        del store
        manifest, report, more = _build_rdflib(layout, tmp, reasoner)
        return manifest, report, more, "rdflib"
    if reasoner == "owlrl":
        raise BuildError("the store engine reasons with kg.pipeline.reason; use --engine rdflib with --reasoner owlrl")
    ontology, ont_sources = load_files(layout.ontology_files)
    missing = unsupported_features(ontology)
    if missing:
        raise BuildError("the store engine's reasoner does not cover " + ", ".join(missing)
                         + " used by the ontology; build with --engine rdflib --reasoner owlrl")
    onto = ox.NamedNode(str(GRAPH_ONTOLOGY))
    store.extend([ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), onto) for s, p, o in ontology])
    shapes, _ = load_files(layout.shape_files)
    sources = ont_sources + data_sources
    for src in sources:  # locations in reports are relative to the project root
        src.path = Path(layout.rel(src.path))
    try:
        queries = load_qc_queries(layout.qc_dir)
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    t0 = _timed(timings, "load", t0)
    materialise(store)
    problems = store_inconsistencies(store, ontology)
    if problems:
        locate = Locator(sources)
        where = []
        for node in sorted({n for _, ns in problems for n in ns}, key=str):
            loc = locate(node)
            if loc:
                where.append(f"{loc[0]}:{loc[1]}:{loc[2]}: {node} is involved")
        exc = InconsistencyError([m for m, _ in problems], [])
        raise BuildError(str(exc) + ("\n" + "\n".join(where) if where else "")) from None
    t0 = _timed(timings, "reason", t0)
    try:
        report = validate_store(store, ontology, shapes, queries, sources, Locator(sources))
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    t0 = _timed(timings, "validate", t0)
    try:
        derive(store, load_rules(layout.derive_dir))
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    t0 = _timed(timings, "derive", t0)
    rg = ox.NamedNode(str(GRAPH_REPORT))
    if report.graph is not None:
        store.extend([ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), rg) for s, p, o in report.graph])
    counts: dict[str, int] = {}
    for row in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
        counts[row[0].value] = int(row[1].value)
    labels = blank_node_labels(store)
    for f in report.findings:  # a blank-node focus is named by its label in remit.trig
        if f.focus.startswith("_:") and f.focus[2:] in labels:
            f.focus = "_:b" + labels[f.focus[2:]]
    report.findings.sort(key=lambda f: f.sort_key())
    write_trig(store, [URIRef(g) for g in counts], tmp / "remit.trig", labels)
    # The served store is bulk-loaded from remit.trig once this in-memory store is gone: copying it
    # straight across (Store.bulk_extend) is 5 s faster at 1M triples but needs both in memory (2.1 GB).
    del store
    _timed(timings, "write", t0)
    manifest: dict[str, Any] = {
        "ontologyVersion": _ontology_version(ontology),
        "graphs": dict(sorted(counts.items())),
        "triples": sum(counts.values()),
        "conforms": report.conforms,
        "findings": report.counts,
        "reasoner": FAST_REASONER,
    }
    return manifest, report, timings, "store"


def validate(layout: Layout | None = None, files: list[Path] | None = None) -> Report:
    """The validation report for the sources, or for ``files`` merged over them.

    With no ``files`` and an up-to-date build, the built report is read back instead of recomputed.
    """
    layout = layout or Layout()
    out = layout.out
    assert out is not None
    if not files:
        digest, _ = source_hash(layout)
        if _is_fresh(layout, digest):
            report = Report.from_json(json.loads((out / "report.json").read_text(encoding="utf-8")))
            report.graph = Graph().parse(out / "report.ttl", format="turtle")
            return report
    return check(layout, files).report


def _dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

