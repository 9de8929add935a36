"""The one build pipeline, as plain functions over an in-memory Oxigraph store.

:func:`run` calls the steps in order; ``kg build`` (:func:`kg.pipeline.build.build`) writes what it
returns, and ``kg check`` (:mod:`kg.revision.check`) runs it with a draft laid over the data.

1. :func:`load`: the ontology and vocabularies into ``id:graph/ontology``, the data files (or a given
   graph, e.g. an external store's) into ``id:graph/asserted``, then, for a check, the agreement a draft
   replaces removed and the draft added. Bad input raises :class:`~kg.pipeline.load.SourceError` with
   ``file:line:column``.
2. :func:`reason`: the OWL 2 RL entailments into ``id:graph/inferred``, by :mod:`kg.pipeline.reason`
   (targeted rules inside the store), or by owlrl (:mod:`kg.pipeline.owlrl_reason`, the reference) when
   asked for or when the ontology uses an OWL feature the targeted rules do not cover.
3. :func:`validate`: SHACL core (:mod:`kg.pipeline.shacl`), SHACL-SPARQL constraints and the
   ``queries/qc/*-violation.rq`` checks (:mod:`kg.pipeline.validate`), or pyshacl (the reference) when
   asked for or when the shapes use a feature :mod:`kg.pipeline.shacl` does not run.
4. :func:`derive`: the ``queries/derive/*.rq`` rules into ``id:graph/derived``, and the data date
   (:mod:`kg.rdf.datadate`).

Steps 3 and 4 run side by side on two threads (Oxigraph lets go of Python's lock while it evaluates a query):
validation reads only the ontology, asserted and inferred graphs, and the derive step writes only its own graph,
so neither sees the other. ``kg check`` runs them one after the other, as its rule checks read every graph.

The reference engines are one switch (``reference=True``, ``kg build --reference``); the test suite runs
them as oracles (``tests/oracle/``): same inferred graph and same findings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.findings.model import Report
from kg.pipeline import derive as derive_rules
from kg.pipeline.layout import BuildError, Layout, timed
from kg.pipeline.load import ASSERTED_NODE, Locator, SourceFile, load_files, load_into_store
from kg.pipeline.owlrl_reason import REASONER as OWLRL_REASONER
from kg.pipeline.owlrl_reason import InconsistencyError, infer
from kg.pipeline.reason import FAST_REASONER, materialise, store_inconsistencies, unsupported_features
from kg.pipeline.validate import QCQuery, load_qc_queries, unsupported_shapes, validate_graphs, validate_store
from kg.rdf import datadate
from kg.rdf.canon import from_ox, to_ox
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_DERIVED, GRAPH_INFERRED, GRAPH_ONTOLOGY

__all__ = ["Loaded", "Run", "load", "reason", "validator", "validate", "derive", "run", "graph_of", "remove_agreement",
           "FAST_VALIDATOR", "REFERENCE_VALIDATOR"]

_ONTOLOGY = ox.NamedNode(str(GRAPH_ONTOLOGY))
_INFERRED = ox.NamedNode(str(GRAPH_INFERRED))


@dataclass
class Loaded:
    """What step 1 read besides the data it put in the store: the ontology and the shapes (small, as
    rdflib graphs), the QC queries and the source files (for locating findings)."""

    ontology: Graph
    shapes: Graph
    queries: list[QCQuery]
    sources: list[SourceFile]
    #: triples removed with the agreement a draft replaces
    removed: int = 0

    @cached_property
    def unsupported(self) -> list[str]:
        """What the shapes use that :mod:`kg.pipeline.shacl` does not run (compiled once: ~35 ms)."""
        return unsupported_shapes(self.shapes)


@dataclass
class Run:
    """The result of :func:`run`: the store holding every graph, what was loaded, the report."""

    store: ox.Store
    loaded: Loaded
    report: Report
    reasoner: str
    #: which engine validated (:func:`validator`): the manifest says so
    validator: str = ""
    #: seconds per step, and ``<step>.rss_mb`` the peak RSS after it (never written to an artefact)
    timings: dict[str, float] = field(default_factory=dict)
    #: what each of ``run``'s ``readers`` returned, by name
    read: dict[str, Any] = field(default_factory=dict)


def graph_of(store: ox.Store, name: URIRef | str) -> Graph:
    """One named graph of ``store`` as an rdflib graph (blank nodes keep the store's ids)."""
    g = Graph()
    for q in store.quads_for_pattern(None, None, None, ox.NamedNode(str(name))):
        g.add((from_ox(q.subject), URIRef(q.predicate.value), from_ox(q.object)))
    return g


def _quad(s: Node, p: Node, o: Node, graph: ox.NamedNode) -> ox.Quad:
    return ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), graph)  # type: ignore[arg-type]


def remove_agreement(store: ox.Store, agreement: URIRef, graph: ox.NamedNode = ASSERTED_NODE) -> int:
    """Remove from ``graph`` the agreement and its parts (subjects equal to ``agreement`` or under
    ``agreement/``) with the blank nodes they reach; return the number of triples removed."""
    prefix = str(agreement) + "/"
    todo: list[ox.NamedNode | ox.BlankNode] = []
    for q in store.quads_for_pattern(None, None, None, graph):
        s = q.subject
        if isinstance(s, ox.NamedNode) and (s.value == str(agreement) or s.value.startswith(prefix)):
            todo.append(s)
    seen: set[object] = set()
    doomed: list[ox.Quad] = []
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        for q in store.quads_for_pattern(s, None, None, graph):
            if isinstance(q.object, ox.BlankNode):
                todo.append(q.object)
            doomed.append(q)
    for q in doomed:
        store.remove(q)
    return len(doomed)


def load(layout: Layout, store: ox.Store, *, asserted: Graph | None = None, overlay: Graph | None = None,
         replaces: URIRef | None = None, extra_files: Sequence[Path] = ()) -> Loaded:
    """Step 1. ``extra_files`` are Turtle files read after the data files (``kg validate FILE``);
    ``asserted`` replaces the data files (an external store's asserted graph); ``replaces`` names an
    agreement to take out before ``overlay`` (a draft) is added."""
    ontology, ont_sources = load_files(layout.ontology_files)
    store.extend([_quad(s, p, o, _ONTOLOGY) for s, p, o in ontology])
    if asserted is None:
        paths = layout.data_files
        seen = {p.resolve() for p in paths}
        paths += [Path(p) for p in extra_files if Path(p).resolve() not in seen]
        data_sources = load_into_store(store, paths)
    else:
        data_sources = []
        store.extend([_quad(s, p, o, ASSERTED_NODE) for s, p, o in asserted])
    removed = 0
    if replaces is not None:
        removed = remove_agreement(store, replaces)
        if not removed:
            raise BuildError(f"no agreement {replaces} in the graph")
    if overlay is not None:
        store.extend([_quad(s, p, o, ASSERTED_NODE) for s, p, o in overlay])
    shapes, _ = load_files(layout.shape_files)
    sources = ont_sources + data_sources
    for src in sources:  # locations in reports are relative to the project root
        src.path = Path(layout.rel(src.path))
    try:
        queries = load_qc_queries(layout.qc_dir)
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    return Loaded(ontology, shapes, queries, sources, removed)


def _inconsistent(messages: list[str], nodes: Sequence[Node], sources: Sequence[SourceFile]) -> BuildError:
    locate = Locator(sources)
    where = []
    for node in sorted({n for n in nodes if isinstance(n, URIRef)}, key=str):
        loc = locate(node)
        if loc:
            where.append(f"{loc[0]}:{loc[1]}:{loc[2]}: {node} is involved")
    text = str(InconsistencyError(messages, []))
    return BuildError(text + ("\n" + "\n".join(where) if where else ""))


def reason(store: ox.Store, loaded: Loaded, *, reference: bool = False) -> str:
    """Step 2: write the inferred triples into ``id:graph/inferred``; return the reasoner's name.
    Raises :class:`BuildError` (with the places involved) when ontology and data are inconsistent."""
    if reference or unsupported_features(loaded.ontology):
        try:
            inferred = infer(loaded.ontology, graph_of(store, ASSERTED_NODE.value))
        except InconsistencyError as exc:
            raise _inconsistent(exc.messages, exc.nodes, loaded.sources) from None
        store.extend([_quad(s, p, o, _INFERRED) for s, p, o in inferred])
        return OWLRL_REASONER
    materialise(store)
    problems = store_inconsistencies(store, loaded.ontology)
    if problems:
        raise _inconsistent([m for m, _ in problems], [n for _, ns in problems for n in ns], loaded.sources)
    return FAST_REASONER


#: The validators :func:`validator` names.
FAST_VALIDATOR = "kg.pipeline.shacl (SHACL core as SPARQL)"
REFERENCE_VALIDATOR = "pyshacl (reference)"


def validator(loaded: Loaded, *, reference: bool = False) -> str:
    """The engine :func:`validate` uses: pyshacl when asked for or when the shapes use something
    :mod:`kg.pipeline.shacl` does not run (named, as the build then takes much longer at scale), else the
    targeted engine."""
    if reference:
        return REFERENCE_VALIDATOR
    unsupported = loaded.unsupported
    if unsupported:  # (the words must not change from run to run: rdflib's blank-node ids and order do)
        said = sorted({_RDFLIB_BLANK.sub("a shape with no IRI", p) for p in unsupported})
        return f"pyshacl (the shapes use what kg.pipeline.shacl does not run: {'; '.join(said)})"
    return FAST_VALIDATOR


_RDFLIB_BLANK = re.compile(r"\bN[0-9a-f]{32}\b")


def validate(store: ox.Store, loaded: Loaded, *, reference: bool = False) -> Report:
    """Step 3: the SHACL shapes and the QC queries; the findings located in the sources."""
    try:
        if validator(loaded, reference=reference) != FAST_VALIDATOR:
            return validate_graphs(loaded.ontology, graph_of(store, ASSERTED_NODE.value), graph_of(store, _INFERRED.value),
                                   loaded.shapes, loaded.queries, loaded.sources, Locator(loaded.sources))
        return validate_store(store, loaded.ontology, loaded.shapes, loaded.queries, loaded.sources,
                              Locator(loaded.sources))
    except ValueError as exc:
        raise BuildError(str(exc)) from None


def derive(store: ox.Store, layout: Layout) -> int:
    """Step 4: the derive rules into ``id:graph/derived``, then the data date (:func:`kg.rdf.datadate.record`:
    ``id:dataset remit:dataDate``, the latest date the asserted data states, the day every named query defaults
    to); returns the graph's size."""
    try:
        n = derive_rules.derive(store, derive_rules.load_rules(layout.derive_dir))
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    datadate.record(store)
    return n + 1


def run(layout: Layout, *, reference: bool = False, asserted: Graph | None = None, overlay: Graph | None = None,
        replaces: URIRef | None = None, extra_files: Sequence[Path] = (), derived: bool = True,
        before_derive: Callable[[ox.Store, Loaded, Report], None] | None = None,
        readers: Mapping[str, Callable[[ox.Store], Any]] | None = None,
        on_final: Callable[[ox.Store, str], None] | None = None) -> Run:
    """Steps 1–4 on a new in-memory store. ``before_derive`` is called with the reasoned, validated
    store (``kg check`` runs its rule checks there), and the derive step then waits for it; without it,
    validation and derivation run side by side. ``derived=False`` stops before step 4. ``readers`` are
    called with the store once it is reasoned, on the derive step's thread, and must read only the input
    graphs (the build's search index); ``Run.read`` holds what they return. ``on_final`` is called with the
    store and a graph's name as soon as that graph is final (the ontology and asserted graphs after step 1, the
    inferred graph after step 2, the derived graph after step 4): the build starts writing the served store.

    Timings: ``validate`` is validation's own time; ``derive`` the time then left waiting for the derive
    step and the readers (near 0 when they ran within validation's time)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    store = ox.Store()
    loaded = load(layout, store, asserted=asserted, overlay=overlay, replaces=replaces, extra_files=extra_files)
    t0 = timed(timings, "load", t0)
    final = on_final or (lambda _store, _graph: None)
    final(store, str(GRAPH_ONTOLOGY))
    final(store, str(GRAPH_ASSERTED))
    reasoner = reason(store, loaded, reference=reference)
    t0 = timed(timings, "reason", t0)
    final(store, str(GRAPH_INFERRED))
    alongside = derived and before_derive is None

    def derive_and_read() -> dict[str, Any]:
        if alongside:
            derive(store, layout)
            final(store, str(GRAPH_DERIVED))
        return {name: read(store) for name, read in (readers or {}).items()}

    with ThreadPoolExecutor(1, thread_name_prefix="kg-derive") as pool:
        later = pool.submit(derive_and_read)
        report = validate(store, loaded, reference=reference)
        t0 = timed(timings, "validate", t0)
        read = later.result()  # waits for the derive step (and re-raises what it raised)
    if before_derive is not None:
        before_derive(store, loaded, report)
    if derived and not alongside:
        derive(store, layout)
        final(store, str(GRAPH_DERIVED))
    if derived or readers:
        timed(timings, "derive", t0)
    return Run(store, loaded, report, reasoner, validator(loaded, reference=reference), timings, read)
