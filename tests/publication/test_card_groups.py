"""Remit cards asked once per group of alike establishments (kg.publication.places): establishments with the
same setting types, nations, dates and covering responsibilities share the ``establishment`` question's answer
with their own IRI put in. A card must not depend on which establishment of its group was asked first: two
publications of the real build, one making the cards in order and one in reverse (so each group's question is
asked for a different establishment), give byte-identical card pages and card CSVs."""

from __future__ import annotations

from pathlib import Path

from kg.publication import places
from kg.publication.publication import Publication
from kg.rdf.store import open_store
from kg.settings import Settings
from support.realbuild import ROOT


def _cards(store_dir: Path, reverse: bool) -> dict[str, tuple[str, bytes]]:
    pub = Publication(Settings(store_path=str(store_dir), queries_dir=str(ROOT / "queries")),
                      store=open_store(store_dir), static=True)
    iris = places.establishment_iris(pub.site)
    out = {}
    for iri in (reversed(iris) if reverse else iris):
        page = "/id/setting/" + iri.rsplit("/", 1)[-1] + ".html"
        out[iri] = (pub.html(iri, page), places.card_csv(pub.site, iri))
    return out


def test_a_card_is_the_same_whichever_establishment_of_its_group_was_asked_first(real_store: Path) -> None:
    forward, backward = _cards(real_store, False), _cards(real_store, True)
    assert len(forward) > 100 and forward.keys() == backward.keys()
    differ = [iri for iri in forward if forward[iri] != backward[iri]]
    assert differ == []
    parc = forward["https://w3id.org/remit/id/setting/parc"][0]
    assert "HMP Parc" in parc and "Healthcare Inspectorate Wales" in parc


def test_contacts_asked_once_give_each_agreements_own_rows(real_store: Path) -> None:
    """A publication asks the ``contacts`` question once for every agreement and hands each agreement its rows
    (kg.publication.places.contact_rows, 2026-12-04: at 1M a card asked it ~50 times): for every agreement of the
    real build they are the rows, in order, that the agreement's own question gives."""
    pub = Publication(Settings(store_path=str(real_store), queries_dir=str(ROOT / "queries")),
                      store=open_store(real_store), static=True)
    agreements = sorted({r["agreement"]["value"] for r in pub.site.run_named("contacts", {}, limit=100_000).rows})
    assert len(agreements) > 10
    for a in agreements:
        own = pub.site.run_named("contacts", {"agreement": a}, limit=1000)
        assert [dict(r) for r in places.contact_rows(pub.site, a)] == [dict(r) for r in own.rows], a
