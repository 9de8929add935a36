"""A live server never loads the whole label table (15 s of CPU in the web process at a million triples):
labels are looked up one resource at a time, with the same choice, and 404 suggestions come from the
store; the static site (``kg publish``) keeps the table."""

from __future__ import annotations

from pathlib import Path

from fixture import build_fixture

from kg.publication.site import Site
from kg.settings import Settings


def test_live_labels_match_the_table_and_never_load_it(tmp_path: Path) -> None:
    settings = Settings(store_path=build_fixture(tmp_path))
    live, table = Site(settings), Site(settings, static=True)
    iris = sorted(table.labels)
    assert len(iris) > 20
    assert [live.label(i) for i in iris] == [table.label(i) for i in iris]
    for text in ("fixture alpha", "prison-healthcare", "zzqx-wvvk"):
        got = [v.text for v in live.suggestions("/x.html", text)]
        want = [v.text for v in table.suggestions("/x.html", text)]
        assert got == want, text
        assert bool(got) == (text != "zzqx-wvvk"), text
    assert live._labels is None  # the table was never built


def test_resources_with_the_same_label_are_ordered_by_iri(tmp_path: Path) -> None:
    """Regression: lists were sorted by label alone, so two resources labelled alike ("area 1" of two
    agreements) came in a set's order, which differs between processes: two `kg serve --store` instances
    on one store rendered the same body page differently (test_remote_cache)."""
    site = Site(Settings(store_path=build_fixture(tmp_path)))
    iris = ["https://w3id.org/remit/id/x/b", "https://w3id.org/remit/id/x/a", "https://w3id.org/remit/id/x/c"]
    site.label = lambda iri: "area 1"  # type: ignore[method-assign]
    assert sorted(iris, key=site.sort_key) == sorted(iris)
    assert sorted(reversed(iris), key=site.sort_key) == sorted(iris)
