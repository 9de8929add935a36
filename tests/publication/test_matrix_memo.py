"""The matrix cells (behind every explanation page) are computed once per site and status date: at 100k
triples each computation took 3.5 s and an explanation page needed it twice (7 s a page)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fixture import build_fixture

from kg.publication import views
from kg.publication.publication import Publication
from kg.settings import Settings


def test_matrix_cells_are_computed_once_per_status_date(tmp_path: Path) -> None:
    pub = Publication(Settings(store_path=build_fixture(tmp_path)), static=True, as_of=dt.date(2026, 1, 1))
    site = pub.site
    calls = []
    real = site.run_named
    site.run_named = lambda name, *a, **k: (calls.append(name) if name == "duplications" else None) or real(name, *a, **k)  # type: ignore[method-assign]
    first = views.matrix_cells(site)
    assert first and views.matrix_cells(site) is first
    for path in pub.cell_paths():
        assert pub.page(path) is not None, path
    assert len(calls) == 1  # one `duplications` run for the matrix and every explanation page
    site.as_of = dt.date(2030, 1, 1)  # statuses judged on another day: computed again
    again = views.matrix_cells(site)
    assert again is not first and len(calls) == 2 and set(again) == set(first)
