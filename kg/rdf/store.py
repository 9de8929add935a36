"""The embedded store: a pyoxigraph on-disk store written by the build and opened read-only to serve.

The build writes the store into a fresh folder beside the target and swaps it in with a rename, so a
reader sees the old store or the new one, never a half-written one.
"""

from __future__ import annotations

import ctypes
import gc
import os
import shutil
import re
import threading
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_DERIVED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from kg.rdf.rq import scan

__all__ = ["write_store", "open_store", "release_memory", "DEFAULT_GRAPHS", "default_graph_nodes", "MemoryCopy",
           "copy_to_memory", "fits_in_memory", "MergedCopy", "names_graphs"]

#: The graphs whose union is the default graph of every query Remit serves.
DEFAULT_GRAPHS: tuple[str, ...] = (str(GRAPH_ONTOLOGY), str(GRAPH_ASSERTED), str(GRAPH_INFERRED), str(GRAPH_DERIVED))


def default_graph_nodes() -> list[ox.NamedNode]:
    return [ox.NamedNode(g) for g in DEFAULT_GRAPHS]


def write_store(dataset_file: Path, store_dir: Path) -> int:
    """Bulk-load a TriG or N-Quads file into a new on-disk store at ``store_dir``; return the quad count.

    The store is written to a sibling temporary folder and renamed into place only when complete.
    """
    dataset_file = Path(dataset_file)
    store_dir = Path(store_dir)
    tmp = store_dir.with_name(store_dir.name + ".new")
    old = store_dir.with_name(store_dir.name + ".old")
    for leftover in (tmp, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    store = ox.Store(str(tmp))
    fmt = ox.RdfFormat.from_extension(dataset_file.suffix.lstrip(".")) or ox.RdfFormat.TRIG
    store.bulk_load(path=str(dataset_file), format=fmt)
    store.optimize()
    count = len(store)
    store.flush()
    del store
    if store_dir.exists():
        store_dir.rename(old)
    tmp.rename(store_dir)
    if old.exists():
        shutil.rmtree(old)
    return count


def release_memory() -> None:
    """Give freed memory back to the system (glibc keeps what a large store or answer used otherwise), so
    the next large step (an answer, a bulk load) does not add its peak on top of the last one's."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def open_store(store_dir: Path, in_memory_max_quads: int = 0) -> ox.Store:
    """Open a built store read-only (many processes may do so at once). A store of at most
    ``in_memory_max_quads`` quads (0: none) is copied into memory instead and answered from there: Oxigraph's
    in-memory store answers Remit's named queries 4–11 times faster than its on-disk store read-only
    (100k synthetic triples, 166k quads: 1.9 s to copy, ~460 bytes a quad; docs/scale.md)."""
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise FileNotFoundError(f"no built store at {store_dir}: run `kg build` first")
    store = ox.Store.read_only(str(store_dir))
    return copy_to_memory(store) if fits_in_memory(store, in_memory_max_quads) else store


def fits_in_memory(store: ox.Store, max_quads: int) -> bool:
    """Whether ``store`` is to be answered from a copy in memory: at most ``max_quads`` quads (0: never)."""
    return max_quads > 0 and len(store) <= max_quads


#: Quads copied into memory in one call: pyoxigraph holds the GIL for the whole of a call, so a server's
#: other threads (its answers) wait at most one chunk (~0.1 s) for the copy, not the whole of it.
COPY_CHUNK = 2_000


def copy_to_memory(store: ox.Store) -> ox.Store:
    """Every quad of ``store`` in a new in-memory store (blank nodes keep their identifiers: a dump and a
    reload would rename them, and two workers would then name one node differently)."""
    memory = ox.Store()
    _copy_quads(store.quads_for_pattern(None, None, None, None), memory)
    return memory


def _copy_quads(quads: Iterator[ox.Quad], into: ox.Store, to_default_graph: bool = False) -> None:
    """Add ``quads`` to ``into`` :data:`COPY_CHUNK` at a time, into its default graph with ``to_default_graph``."""
    while chunk := list(islice(quads, COPY_CHUNK)):
        into.bulk_extend([ox.Quad(q.subject, q.predicate, q.object) for q in chunk] if to_default_graph else chunk)


#: The keyword ``GRAPH`` in a query's code (comments, strings and IRIs blanked by :func:`kg.rdf.rq.scan`), not a
#: part of a prefixed name (``id:graph/asserted``) or of a variable's name (``?graph``).
_GRAPH_KEYWORD = re.compile(r"(?<![\w:/?$.-])GRAPH(?![\w:/.-])", re.IGNORECASE)


@lru_cache(maxsize=512)
def names_graphs(text: str) -> bool:
    """Whether a query's text has a ``GRAPH`` pattern (a test that may say yes for none: the query is then
    answered from the store with the named graphs, which is only slower)."""
    if "graph" not in text.lower():  # most queries: no lexing
        return False
    code = [" "] * len(text)
    for i, c in scan(text):
        code[i] = c
    return _GRAPH_KEYWORD.search("".join(code)) is not None


class MergedCopy:
    """The union of a built store's default graphs (:data:`DEFAULT_GRAPHS`) as the default graph of a store in
    memory, answering the queries that read that union alone, beside the store itself, which answers the rest.

    Oxigraph evaluates a default graph given as a list of four named graphs by looking each triple pattern up in
    each of them: the named queries' first pages at 100k synthetic triples took 1.2-2.1 times as long as over one
    graph holding the same triples (agreements 119 -> 64 ms, powers-without-agreement 490 -> 237 ms; 2026-12-05,
    docs/scale.md). A query is answered from the copy when its default graph is exactly those graphs, no named
    graphs are given and its text has no ``GRAPH`` pattern (:func:`names_graphs`); any other (``FROM``, the
    protocol's dataset, ``GRAPH``, the validation report) from ``full``: the store itself, in memory where two
    copies fit (:class:`MemoryCopy`), else on disk (4-11 times slower than from memory, as before the copy is
    made). The union is a set of triples, as the merge of RDF graphs is: a triple in two of the graphs is one
    triple (there are none in a built store; the test suite checks that every named query answers alike both
    ways)."""

    _DEFAULT = frozenset(DEFAULT_GRAPHS)

    def __init__(self, full: ox.Store):
        self.full = full
        self.merged = ox.Store()
        for g in DEFAULT_GRAPHS:
            _copy_quads(full.quads_for_pattern(None, None, None, ox.NamedNode(g)), self.merged, to_default_graph=True)

    def answers(self, text: str, kwargs: dict[str, Any]) -> bool:
        """Whether the copy answers ``text`` queried with ``kwargs`` (:meth:`pyoxigraph.Store.query`'s)."""
        default = kwargs.get("default_graph")
        if default is None or kwargs.get("named_graphs") is not None or kwargs.get("use_default_graph_as_union"):
            return False
        if not isinstance(default, Sequence) or len(default) != len(self._DEFAULT):
            return False
        return {getattr(g, "value", None) for g in default} == self._DEFAULT and not names_graphs(text)

    def query(self, text: str, **kwargs: Any) -> Any:
        if self.answers(text, kwargs):
            del kwargs["default_graph"]
            return self.merged.query(text, **kwargs)
        return self.full.query(text, **kwargs)

    def quads_for_pattern(self, *args: Any, **kwargs: Any) -> Any:
        return self.full.quads_for_pattern(*args, **kwargs)

    def named_graphs(self) -> Any:
        return self.full.named_graphs()

    def __len__(self) -> int:
        return len(self.full)


class MemoryCopy:
    """A built store that answers from disk at once and from a copy in memory once a background thread has made
    it (when it has at most ``max_quads`` quads), beginning ``delay`` seconds after it is opened: what a server
    opens, so it answers within its start-up time and then faster. :attr:`store` is the one to query now;
    :attr:`copied` is set when the copy is in place (or when there is none to make). With ``merge``, the copy is
    a :class:`MergedCopy`: the default graphs' union in memory, the store itself for the rest, copied into memory
    too where twice its quads are at most ``max_quads``, else read from disk (what the query workers answer from)."""

    def __init__(self, store: ox.Store, max_quads: int, delay: float = 0.0, merge: bool = False):
        self.store: Any = store
        self.copied = threading.Event()
        self.delay = delay
        self.merge = merge
        self.max_quads = max_quads
        if fits_in_memory(store, max_quads):
            threading.Thread(target=self._copy, name="kg-store-copy", daemon=True).start()
        else:
            self.copied.set()

    def _copy(self) -> None:
        # ``delay`` seconds first: the copy needs the interpreter for every chunk of quads (and each process
        # makes its own), so begun at once it slowed a server's start-up by ~1.6 s at 100k (docs/scale.md)
        time.sleep(self.delay)
        try:
            # the lowest CPU priority for this thread only (Linux): the server's start-up and answers go first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        try:
            if not self.merge:
                self.store = copy_to_memory(self.store)
            else:  # the store itself in memory too where twice its quads fit, else read from disk
                full = copy_to_memory(self.store) if fits_in_memory(self.store, self.max_quads // 2) else self.store
                self.store = MergedCopy(full)
        finally:
            self.copied.set()
