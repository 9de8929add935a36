"""Build the publication tests' fixture store: the real ontology and vocabularies in the ontology graph,
plus the made-up fixture data of fixture-data.trig (asserted, inferred and validation-report graphs)."""

from __future__ import annotations

from pathlib import Path

from rdflib import Dataset, URIRef

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
    store = tmp / "store"
    write_store(trig, store)
    return store
