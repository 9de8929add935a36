"""The dumps and VoID of a served store are built by a child process into a cache folder beside the
store (never in the web process): pending until written, the same bytes as an in-process build, reused
by the next server on the same build, and a new folder for a new build."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fixture import build_fixture

from kg.publication.publication import Publication, PublicationPending
from kg.publication.describe import describe_ontology
from kg.rdf.namespaces import ONTOLOGY_IRI
from kg.publication.publish import build_dumps, jsonld_context, serialize, void_graph
from kg.settings import Settings
from kg.rdf.store import open_store


def _served(tmp: Path, source_hash: str) -> tuple[Path, Settings]:
    store = build_fixture(tmp)
    (tmp / "manifest.json").write_text(json.dumps({"sourceHash": source_hash}), encoding="utf-8")
    return store, Settings(store_path=store, public_base_url="https://example.org/remit")


def _wait(pub: Publication) -> list:
    """The dumps, once the job has written them and the VoID."""
    deadline = time.monotonic() + 90
    while True:
        try:
            pub.void("ttl")
            return pub.dumps()
        except PublicationPending:
            assert time.monotonic() < deadline, "the dump job did not finish in 90 s"
            time.sleep(0.1)


def test_dumps_are_built_by_a_child_process_into_a_cache(tmp_path: Path) -> None:
    store, settings = _served(tmp_path, "hash-one")
    pub = Publication(settings)
    assert pub.background
    with pytest.raises(PublicationPending) as pending:
        pub.dumps()  # the job has just started: nothing is built in this process
    assert "being built" in str(pending.value) and pub._job is not None and pub._job.pid
    dumps = _wait(pub)
    cache = pub.cache_dir()
    assert cache.parent == store.resolve().parent / "publication-cache"
    st = open_store(store)
    here = build_dumps(st, pub.version(), jsonld_context(describe_ontology(st, ONTOLOGY_IRI)))
    assert [(d.name, d.size, d.sha256) for d in dumps] == [(d.name, d.size, d.sha256) for d in here]
    for d, h in zip(dumps, here):
        assert d.path is not None and d.path.read_bytes() == h.data, d.name
    void = serialize(void_graph(st, settings.base_url, pub.version(), here), "ttl")
    assert pub.void("ttl") == void

    again = Publication(settings)  # the next server on the same build reads the folder, starts no job
    assert [d.sha256 for d in again.dumps()] == [d.sha256 for d in dumps] and again._job is None


def test_a_new_build_gets_a_new_cache_folder(tmp_path: Path) -> None:
    store, settings = _served(tmp_path, "hash-one")
    first = Publication(settings).cache_dir()
    (tmp_path / "manifest.json").write_text(json.dumps({"sourceHash": "hash-two"}), encoding="utf-8")
    assert Publication(settings).cache_dir() != first


def test_a_store_without_manifest_gets_a_private_cache(tmp_path: Path) -> None:
    store = build_fixture(tmp_path)
    pub = Publication(Settings(store_path=store))
    assert not str(pub.cache_dir()).startswith(str(tmp_path))
    assert [d.kind for d in _wait(pub)] == ["ttl", "nt.gz", "jsonld", "trig"]


def test_another_base_url_reuses_the_dumps_and_gets_its_own_void(tmp_path: Path) -> None:
    store, settings = _served(tmp_path, "hash-one")
    first = Publication(settings)
    dumps = _wait(first)
    other = Publication(Settings(store_path=store, public_base_url="https://example.org/elsewhere"))
    assert other.cache_dir() == first.cache_dir()  # the dumps do not name the server
    assert [d.sha256 for d in other.dumps()] == [d.sha256 for d in dumps] and other._job is None
    deadline = time.monotonic() + 90
    while True:
        try:
            void = other.void("ttl")
            break
        except PublicationPending:  # only the VoID is built
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert b"https://example.org/elsewhere/sparql" in void and b"https://example.org/remit/" not in void
    assert b"https://example.org/remit/sparql" in first.void("ttl")


def test_blank_node_labels_in_dumps_leave_literals_alone_and_span_graphs() -> None:
    """Blank nodes are relabelled in the subject and object positions only (a literal that reads like a
    blank node stays as it is), and a node in two graphs keeps one label in the TriG dump."""
    import pyoxigraph as ox
    from rdflib import Dataset, Literal

    from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED

    s = ox.Store()
    b = ox.BlankNode()
    a, i = ox.NamedNode(str(GRAPH_ASSERTED)), ox.NamedNode(str(GRAPH_INFERRED))
    s.add(ox.Quad(ox.NamedNode("https://w3id.org/remit/id/x"), ox.NamedNode("http://example.org/p"), b, a))
    s.add(ox.Quad(b, ox.NamedNode("http://example.org/q"), ox.Literal("ends with _:abc ."), a))
    s.add(ox.Quad(b, ox.NamedNode("http://example.org/r"), ox.Literal("x"), i))
    dumps = {d.kind: d for d in build_dumps(s, "t")}
    ds = Dataset()
    ds.parse(data=dumps["trig"].data, format="trig")
    nodes = {q[0] for q in ds.quads((None, None, None, None)) if q[1].endswith(("/q", "/r"))}
    assert len(nodes) == 1, nodes
    assert (None, None, Literal("ends with _:abc .")) in ds.graph(ds.graph(str(GRAPH_ASSERTED)).identifier)
    assert b'"ends with _:abc ."' in dumps["ttl"].data


def test_a_rebuild_in_place_prunes_the_old_cache(tmp_path: Path) -> None:
    store, settings = _served(tmp_path, "hash-one")
    old = Publication(settings)
    _wait(old)
    (tmp_path / "manifest.json").write_text(json.dumps({"sourceHash": "hash-two"}), encoding="utf-8")
    new = Publication(settings)
    _wait(new)
    assert new.cache_dir().is_dir() and not old.cache_dir().exists()
