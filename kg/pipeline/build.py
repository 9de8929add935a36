"""``kg build``: run the pipeline (:mod:`kg.pipeline.steps`) and write the artefacts to ``build/``.

Artefacts (see ``docs/build.md``): ``remit.trig`` (every named graph as sorted N-Triples lines, blank
nodes labelled by a hash of their own quads), ``report.ttl`` and ``report.json`` (the validation report),
``manifest.json`` (version, source hash, counts), ``store/`` (the on-disk Oxigraph store the server
opens read-only, written graph by graph while the pipeline runs: :mod:`kg.pipeline.served`), ``search.sqlite``
(the search index, :mod:`kg.search.index`) and ``restricted.trig`` (personal data, never served publicly: see
:mod:`kg.pipeline.restricted`). They go into a temporary sibling folder that is swapped in only when every step
succeeded, so bad input leaves the previous build exactly as it was. No clock time is recorded anywhere:
the same sources give the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, URIRef

from kg import __version__
from kg.findings.model import Report
from kg.pipeline.layout import ARTEFACTS, BuildError, Layout, is_fresh, source_hash, timed, tool_versions
from kg.pipeline.restricted import RESTRICTED_FILE, check_not_public, load_restricted, write_restricted
from kg.pipeline.served import ServedStoreWriter
from kg.pipeline.steps import run
from kg.rdf.canon import to_ox
from kg.rdf.namespaces import GRAPH_REPORT, ONTOLOGY_IRI, OWL
from kg.rdf.serialize import blank_node_labels, blank_texts, serialize_graph, write_trig
from kg.rdf.store import release_memory
from kg.search.index import INDEX_FILE, write_index

__all__ = ["ARTEFACTS", "BuildError", "BuildResult", "Layout", "build", "validate"]


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


def _ontology_version(ontology: Graph) -> str | None:
    v = ontology.value(URIRef(ONTOLOGY_IRI), OWL.versionInfo)
    return str(v) if v is not None else None


def _dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write(layout: Layout, tmp: Path, reference: bool,
           writer: ServedStoreWriter) -> tuple[dict[str, Any], Report, dict[str, float]]:
    """Run the pipeline and write ``remit.trig`` and the report files into ``tmp``, while ``writer`` writes the
    served store graph by graph (:mod:`kg.pipeline.served`); it has its last job once the statements with a
    blank node are read."""
    # the search index reads the input graphs only: collected and written while validation runs
    index = partial(write_index, path=tmp / INDEX_FILE)
    result = run(layout, reference=reference, readers={"search": index}, on_final=writer.graph_final)
    store, report, timings, reasoner = result.store, result.report, result.timings, result.reasoner
    validator = result.validator
    t0 = time.perf_counter()
    rg = ox.NamedNode(str(GRAPH_REPORT))
    if report.graph is not None:
        store.extend([ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), rg) for s, p, o in report.graph])  # type: ignore[arg-type]
        writer.graph_final(store, str(GRAPH_REPORT))
    counts: dict[str, int] = {}
    for row in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
        counts[row[0].value] = int(row[1].value)
    # the statements with a blank node, read once: they go to the served store, whose load of them (the biggest,
    # ~7 s at 1M triples) runs beside the labels and the writing below, and they make the labels
    texts = blank_texts(store)
    writer.finish(dict(texts), sorted(counts))  # (a dict of its own: the writer empties it as it goes)
    labels = blank_node_labels(store, texts)
    del texts
    for f in report.findings:  # a blank-node focus is named by its label in remit.trig
        if f.focus.startswith("_:") and f.focus[2:] in labels:
            f.focus = "_:b" + labels[f.focus[2:]]
    report.findings.sort(key=lambda f: f.sort_key())
    # Personal data (kg.pipeline.restricted): its own file, never a graph of remit.trig or the store.
    restricted = load_restricted(layout, store)
    check_not_public(store, restricted)
    write_restricted(restricted, tmp / RESTRICTED_FILE)
    write_trig(store, [URIRef(g) for g in counts], tmp / "remit.trig", labels)
    del store, result, labels
    release_memory()
    (tmp / "report.ttl").write_text(serialize_graph(report.graph or Graph()), encoding="utf-8")
    (tmp / "report.json").write_text(_dump_json(report.to_json()), encoding="utf-8")
    t0 = timed(timings, "write", t0)
    manifest: dict[str, Any] = {
        "graphs": dict(sorted(counts.items())),
        "triples": sum(counts.values()),
        "conforms": report.conforms,
        "findings": report.counts,
        "reasoner": reasoner,
        "validator": validator,
    }
    return manifest, report, timings


def build(layout: Layout | None = None, force: bool = False, reference: bool = False) -> BuildResult:
    """Build the artefacts; skipped when the sources are unchanged (unless ``force``).

    ``reference=True`` reasons with owlrl and validates with pyshacl (the reference engines) instead of the
    targeted engines; both give the same dataset and findings on Remit's ontology and shapes, so it is not
    part of the source hash. Raises :class:`~kg.pipeline.load.SourceError` or :class:`BuildError` on bad
    input; the previous artefacts are then left exactly as they were.
    """
    layout = layout or Layout()
    out = layout.out
    assert out is not None
    if out.resolve() == layout.root.resolve() or (out / "ontology").exists():
        raise BuildError(f"{out}: refusing to use the source folder as the output folder")
    digest, listing = source_hash(layout)
    if not force and is_fresh(layout, digest):
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return BuildResult(True, out, manifest, None, [f"{out}: up to date (source hash unchanged); use --force to rebuild"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    for leftover in (tmp, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    tmp.mkdir()
    writer = ServedStoreWriter(tmp / "store")
    writer.start()
    try:
        body, report, timings = _write(layout, tmp, reference, writer)
        from kg.pipeline.load import load_files  # the ontology's version for the manifest (small)

        ontology, _ = load_files(layout.ontology_files)
        manifest = {"name": "remit", "version": __version__, "sourceHash": digest, "sources": listing,
                    "ontologyVersion": _ontology_version(ontology), **body,
                    "tools": tool_versions()}
        t0 = time.perf_counter()
        manifest["quads"] = writer.result()  # "store": the time left waiting for it once the rest is written
        (tmp / "manifest.json").write_text(_dump_json(manifest), encoding="utf-8")
        timed(timings, "store", t0)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        writer.cancel()  # waits for the job under way, before its folder is removed
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    return BuildResult(False, out, manifest, report, [f"{out}: built"], timings)


def validate(layout: Layout | None = None, files: list[Path] | None = None, reference: bool = False) -> Report:
    """The validation report for the sources, or for ``files`` laid over them.

    With no ``files`` and an up-to-date build, the built report is read back instead of recomputed.
    """
    layout = layout or Layout()
    out = layout.out
    assert out is not None
    if not files:
        digest, _ = source_hash(layout)
        if is_fresh(layout, digest):
            report = Report.from_json(json.loads((out / "report.json").read_text(encoding="utf-8")))
            report.graph = Graph().parse(out / "report.ttl", format="turtle")
            return report
        return run(layout, reference=reference, derived=False).report
    return run(layout, reference=reference, extra_files=files, derived=False).report
