"""The served store (``build/store``), written while the pipeline runs.

Bulk-loading the 2M quads of a 1M-triple build into Oxigraph's on-disk store costs about as much as the rest
of the write step, and loading them in one piece at the end needs the memory the in-memory store has just
given back. So each graph goes to the served store as soon as it is final, on a thread of its own (Oxigraph
lets go of Python's lock while it serialises and loads):

* :meth:`ServedStoreWriter.graph_final` (the pipeline calls it for the ontology and asserted graphs after the
  load step, the inferred graph after reasoning, the derived graph after deriving, the report graph once
  written): the graph's statements without a blank node, picked out and written as N-Triples inside the
  in-memory store, then bulk-loaded in pieces of about :data:`PIECE_BYTES`;
* :meth:`ServedStoreWriter.finish`: every statement with a blank node, of every graph, in one TriG parse
  (:func:`blank_statements`). Oxigraph gives the blank nodes of each parse new identifiers, so a node must
  never be split between two parses; the build makes this text before it frees the in-memory store and hands
  it over after, so the biggest load runs with that memory free. Then the store is compacted.

A blank node's identifier in the served store is arbitrary, as it was when the store was loaded from
``remit.trig``; the published bytes (``remit.trig``, the dumps) label blank nodes by their content.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from kg.rdf.serialize import blank_ntriples
from kg.rdf.store import release_memory

__all__ = ["ServedStoreWriter", "blank_statements", "PIECE_BYTES"]

#: N-Triples bytes bulk-loaded at a time (about 250,000 statements): the loader's memory stays a few hundred MB.
PIECE_BYTES = 30_000_000

_PLAIN = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(!isBlank(?s) && !isBlank(?o)) }"


def blank_statements(store: ox.Store, graphs: Iterable[str]) -> bytes:
    """TriG of every statement of ``graphs`` that has a blank subject or object, one block per graph
    (:func:`kg.rdf.serialize.blank_ntriples`, which the blank-node labels read too: the build asks twice rather
    than hold the ~100 MB of text at 1M triples through the TriG writing, its memory peak)."""
    parts: list[bytes] = []
    for g in graphs:
        parts += [f"<{g}> {{\n".encode(), blank_ntriples(store, ox.NamedNode(g)), b"}\n"]
    return b"".join(parts)


class ServedStoreWriter(threading.Thread):
    """Writes a new on-disk store at ``store_dir`` from the jobs it is given, one at a time, in order.
    :meth:`result` waits for the last and returns the quad count, or raises what a job raised; :meth:`cancel`
    drops what is left and waits for the job under way."""

    def __init__(self, store_dir: Path):
        super().__init__(name="kg-build-store", daemon=True)
        self.store_dir = Path(store_dir)
        self._jobs: queue.Queue[tuple[str, object, str] | None] = queue.Queue()
        self._cancelled = threading.Event()
        self.error: BaseException | None = None
        self.quads = 0

    def graph_final(self, store: ox.Store, graph: str) -> None:
        """Load ``graph`` of ``store`` (its statements without a blank node); ``store`` is not written to again
        in that graph."""
        self._jobs.put(("plain", store, graph))

    def finish(self, blank: bytes) -> None:
        """Load ``blank`` (:func:`blank_statements`), then compact the store; no job may follow."""
        self._jobs.put(("blank", blank, ""))
        self._jobs.put(None)

    def cancel(self) -> None:
        self._cancelled.set()
        self._jobs.put(None)
        if self.is_alive():
            self.join()

    def result(self) -> int:
        self.join()
        if self.error is not None:
            raise self.error
        return self.quads

    def run(self) -> None:
        try:
            target = ox.Store(str(self.store_dir))
            while (job := self._jobs.get()) is not None:
                if self._cancelled.is_set():
                    continue
                kind, data, graph = job
                del job
                if kind == "plain":
                    self._load_plain(target, data, graph)  # type: ignore[arg-type]
                else:
                    target.bulk_load(input=data, format=ox.RdfFormat.TRIG)  # type: ignore[arg-type]
                del data
            if not self._cancelled.is_set():
                release_memory()
                target.optimize()
                self.quads = len(target)
                target.flush()
        except BaseException as exc:  # handed to the build by result()
            self.error = exc

    @staticmethod
    def _load_plain(target: ox.Store, store: ox.Store, graph: str) -> None:
        node = ox.NamedNode(graph)
        text = store.query(_PLAIN, default_graph=node).serialize(format=ox.RdfFormat.N_TRIPLES)
        del store
        start = 0
        while start < len(text):
            end = text.find(b"\n", start + PIECE_BYTES)
            end = len(text) if end < 0 else end + 1
            target.bulk_load(input=text[start:end], format=ox.RdfFormat.N_TRIPLES, to_graph=node)
            start = end
