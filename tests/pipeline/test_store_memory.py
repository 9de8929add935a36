"""``kg.rdf.store.open_store``: a built store of at most ``in_memory_max_quads`` quads is answered from a copy in
memory (the same quads; Oxigraph's in-memory store answers Remit's named queries 4–11 times faster than its
on-disk store read-only), a larger one, or with 0, from disk, read-only."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.rdf.store import open_store, write_store
from kg.settings import Settings

QUADS = """
<https://example.org/a> <https://example.org/p> "one" <https://example.org/g1> .
<https://example.org/a> <https://example.org/p> _:b <https://example.org/g2> .
_:b <https://example.org/q> "two" <https://example.org/g2> .
"""


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    nq = tmp_path / "data.nq"
    nq.write_text(QUADS, encoding="utf-8")
    assert write_store(nq, tmp_path / "store") == 3
    return tmp_path / "store"


def _quads(store: ox.Store) -> list[str]:
    return sorted(ox.serialize(store, format=ox.RdfFormat.N_QUADS).decode("utf-8").splitlines())


def _writable(store: ox.Store) -> bool:
    try:
        store.add(ox.Quad(ox.NamedNode("https://example.org/x"), ox.NamedNode("https://example.org/p"), ox.Literal("x")))
    except (OSError, RuntimeError):  # pyoxigraph 0.5: "Transaction are only possible on read-write instances"
        return False
    return True


def test_a_small_store_is_answered_from_memory_with_the_same_quads(built: Path) -> None:
    on_disk = open_store(built)
    in_memory = open_store(built, in_memory_max_quads=3)
    assert _quads(in_memory) == _quads(on_disk) and len(in_memory) == 3
    # the copy is in memory: it takes a write (the on-disk store is read-only) and the folder stays as it was
    assert not _writable(on_disk)
    assert _writable(in_memory) and len(in_memory) == 4
    assert len(open_store(built)) == 3


@pytest.mark.parametrize("limit", [0, 2])
def test_a_larger_store_or_no_limit_is_read_from_disk(built: Path, limit: int) -> None:
    assert not _writable(open_store(built, in_memory_max_quads=limit))


def test_the_setting_defaults_to_a_quarter_of_memory_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    from kg.settings import QUAD_BYTES_IN_MEMORY
    monkeypatch.delenv("REMIT_WORKERS", raising=False)
    monkeypatch.delenv("REMIT_STORE_IN_MEMORY_MAX_QUADS", raising=False)
    copies = 1 + Settings().workers  # the pages' process and each default worker
    default = Settings().store_in_memory_max_quads
    assert default * QUAD_BYTES_IN_MEMORY * copies <= psutil.virtual_memory().total / 4
    assert (default + 1) * QUAD_BYTES_IN_MEMORY * copies > psutil.virtual_memory().total / 4 - QUAD_BYTES_IN_MEMORY * copies
    assert default > 100_000  # a test machine (>= 2 GB) holds the 100k synthetic build in memory
    monkeypatch.setenv("REMIT_STORE_IN_MEMORY_MAX_QUADS", "0")
    assert Settings().store_in_memory_max_quads == 0
    monkeypatch.setenv("REMIT_STORE_IN_MEMORY_MAX_QUADS", "-1")
    with pytest.raises(ValueError):
        Settings()


@pytest.mark.parametrize("path", ["/id/agreement/hmi-probation-cqc-yot.html", "/def.html", "/matrix.html",
                                  "/id/setting/parc.html", "/id/body/cqc.html"])
def test_pages_from_memory_are_the_pages_from_disk(path: str) -> None:
    """The real build's pages, answered from memory and from disk, are the same bytes. Regression: a contact's
    telephone and address came in the order the store gave them (an in-memory store gives another order), so
    the HMI Probation–CQC YOT agreement page differed; and pyLODE's /def.html followed the store's order."""
    from support.realbuild import ensure_real_build

    from kg.publication.publication import Publication

    store = ensure_real_build() / "store"
    pages = []
    for limit in (0, 1_000_000):
        pub = Publication(Settings(store_path=store, store_in_memory_max_quads=limit), static=True)
        assert isinstance(pub.store, ox.Store) and (len(pub.store) <= limit) is (limit > 0)  # one of each
        iri = pub.site.path_to_iri(path[: -len(".html")]) if path.startswith("/id/") else None
        if path == "/def.html":  # the ontology's documentation (pyLODE)
            pages.append(pub.ontology_docs()[0])
        else:
            pages.append(pub.html(iri, path) if iri else pub.page(path))
    assert pages[0] and pages[0] == pages[1]


def test_a_server_answers_from_disk_at_once_and_from_memory_once_copied(built: Path) -> None:
    """kg.rdf.store.MemoryCopy (what the pages and each query worker hold): the on-disk store is there at
    once, the copy takes its place when made, with the same quads; a store over the limit stays on disk."""
    from kg.rdf.store import MemoryCopy

    disk = open_store(built)
    held = MemoryCopy(disk, 3)
    assert held.copied.wait(30)
    assert held.store is not disk and _quads(held.store) == _quads(disk) and _writable(held.store)
    over = MemoryCopy(disk, 2)
    assert over.copied.is_set() and over.store is disk
    # with a delay (REMIT_STORE_COPY_DELAY_SECONDS: a server's start-up goes first) the disk store answers until
    # the delay is over and the copy made
    later = MemoryCopy(disk, 3, delay=1.0)
    assert not later.copied.wait(0.5) and later.store is disk
    assert later.copied.wait(30) and later.store is not disk and _quads(later.store) == _quads(disk)
