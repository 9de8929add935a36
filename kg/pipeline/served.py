"""The served store (``build/store``), written while the pipeline runs.

Bulk-loading the 2M quads of a 1M-triple build into Oxigraph's on-disk store costs about as much as the rest
of the write step, and loading them in one piece at the end needs the memory the in-memory store has just
given back. So each graph goes to the served store as soon as it is final, on a thread of its own (Oxigraph
lets go of Python's lock while it serialises and loads):

* :meth:`ServedStoreWriter.graph_final` (the pipeline calls it for the ontology and asserted graphs after the
  load step, the inferred graph after reasoning, the derived graph after deriving, the report graph once
  written): the graph's statements without a blank node, picked out and written as N-Triples inside the
  in-memory store, then bulk-loaded in pieces of about :data:`PIECE_BYTES`;
* :meth:`ServedStoreWriter.finish`: every statement with a blank node, of every graph, in TriG pieces of about
  :data:`BLANK_PIECE_BYTES` (:func:`kg.rdf.serialize.blank_pieces`). Oxigraph gives the blank nodes of each parse new
  identifiers, so each node has all its statements in one piece. The build hands these statements over as soon
  as the blank-node labels are made from them, so their load (7 s at 1M triples) runs beside the writing of
  ``remit.trig`` and the search index rather than after them; in pieces, the loader's memory stays small while
  the in-memory store is still held. Then the store is compacted.

A blank node's identifier in the served store is arbitrary, as it was when the store was loaded from
``remit.trig``; the published bytes (``remit.trig``, the dumps) label blank nodes by their content.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox

from kg.rdf.serialize import blank_pieces
from kg.rdf.store import release_memory

__all__ = ["ServedStoreWriter", "PIECE_BYTES", "BLANK_PIECE_BYTES"]

#: N-Triples bytes bulk-loaded at a time (about 250,000 statements): the loader's memory stays a few hundred MB.
PIECE_BYTES = 30_000_000
#: TriG bytes of statements with a blank node loaded at a time: smaller, as they are loaded while the build still
#: holds its in-memory store (a 1M build's peak: 1.94 GB with pieces of 30 MB, 1.88 GB with 15 MB).
BLANK_PIECE_BYTES = 15_000_000

_PLAIN = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(!isBlank(?s) && !isBlank(?o)) }"


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

    def finish(self, texts: Mapping[str, bytes], graphs: Sequence[str]) -> None:
        """Load the statements with a blank node of ``graphs`` (IRIs) from ``texts``
        (:func:`kg.rdf.serialize.blank_texts`, emptied on the way), then compact the store; no job may follow."""
        self._jobs.put(("blank", (texts, graphs), ""))
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
                    del data
                else:
                    texts, graphs = data  # type: ignore[misc]
                    del data  # the pieces are made, then the texts let go, before the first is loaded
                    pieces = blank_pieces(texts, graphs, BLANK_PIECE_BYTES)
                    del texts
                    while pieces:
                        target.bulk_load(input=pieces.pop(), format=ox.RdfFormat.TRIG)
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
