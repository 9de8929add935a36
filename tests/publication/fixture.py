"""Build the publication tests' fixture store: the real ontology and vocabularies in the ontology graph,
plus the made-up fixture data of fixture-data.trig (asserted, inferred and validation-report graphs), plus the
derived graph the derive rules (queries/derive) compute from them, as ``kg build`` writes it (the named queries
behind the matrix read remit:broaderOrSelf from it)."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, URIRef

from kg.pipeline.derive import derive, load_rules
from kg.rdf.namespaces import GRAPH_ONTOLOGY
from kg.rdf.store import write_store

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def build_fixture(tmp: Path) -> Path:
    """Write ``tmp/fixture.trig`` and ``tmp/store``; return the store folder."""
    ds = Dataset()
    onto = ds.graph(URIRef(str(GRAPH_ONTOLOGY)))
    for f in [ROOT / "ontology" / "remit.ttl", *sorted((ROOT / "ontology" / "vocab").glob("*.ttl"))]:
        onto.parse(f, format="turtle")
    ds.parse(HERE / "fixture-data.trig", format="trig")
    trig = tmp / "fixture.trig"
    ds.serialize(trig, format="trig")
    mem = ox.Store()
    mem.load(path=str(trig), format=ox.RdfFormat.TRIG)
    derive(mem, load_rules(ROOT / "queries" / "derive"))
    quads = tmp / "fixture-derived.nq"
    mem.dump(output=str(quads), format=ox.RdfFormat.N_QUADS)
    store = tmp / "store"
    write_store(quads, store)
    return store
