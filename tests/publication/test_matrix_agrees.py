"""The remit matrix and its cell pages agree with the named queries, cell by cell, on the real build.

Every cell of ``/matrix.html`` (rendered by the publication over ``build/store``, built by
``realbuild.ensure_real_build`` when stale) is checked against the rows of ``overlaps`` and ``duplications``
run as ``kg query <name> -p settingType=ST -p asOf=DAY`` runs them (``kg.query.registry.run_named`` on the same
store), restricted to the rows whose ``function1`` or ``function2`` is the cell's function.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from functools import lru_cache
from pathlib import Path

from support.realbuild import ROOT, ensure_real_build

from kg.publication import views
from kg.publication.publication import Publication
from kg.query.registry import load_queries, run_named
from kg.settings import Settings

ID = "https://w3id.org/remit/id/"
ST, FN, BODY, JUR = ID + "setting-type/", ID + "function/", ID + "body/", ID + "jurisdiction/"
KEY = ("body1", "function1", "body2", "function2", "settingType", "jurisdiction")
DAY = dt.date.today()
CELL = re.compile(r'<td class="cell-([a-z-]+)"><a href="([^"]+)"[^>]*>(.*?)</a><span class="state-word" '
                  r'data-overlaps="(\d+)" data-duplications="(\d+)">')


@lru_cache(maxsize=None)
def publication(day: dt.date = DAY) -> Publication:
    return Publication(Settings(store_path=ensure_real_build() / "store"), static=True, as_of=day)


def rows(name: str, **params: str) -> list[dict[str, str]]:
    """Every row of a named query, as ``kg query`` runs it, with plain values."""
    return _rows(name, tuple(sorted(params.items())))


@lru_cache(maxsize=None)
def _rows(name: str, given: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    params = dict(given)
    nq = load_queries(ROOT / "queries")[name]
    if any(p.name == "asOf" for p in nq.params):
        params = {"asOf": DAY.isoformat(), **params}
    page = run_named(publication().site.store, nq, params, limit=1_000_000, max_limit=1_000_000)
    assert not page.has_more
    return [{c: v["value"] for c, v in r.items()} for r in page.rows]


def key(r: dict[str, str]) -> str:
    return " ".join(r.get(c, "") for c in KEY)


def matrix_cells() -> list[tuple[str, str, str, str, int, int]]:
    """(state, setting type, function, holders text, overlaps, duplications) of every cell of /matrix.html."""
    page = publication().page("/matrix.html")
    out = []
    for state, href, holders, n_over, n_dup in CELL.findall(page):
        m = re.fullmatch(r"matrix/([a-z0-9-]+)/([a-z0-9-]+)\.html", href)
        assert m, href
        out.append((state, ST + m.group(1), FN + m.group(2), html.unescape(holders), int(n_over), int(n_dup)))
    return out


def cell_page(st: str, fn: str) -> str:
    page = publication().page(f"/matrix/{st[len(ST):]}/{fn[len(FN):]}.html")
    assert page is not None
    return page


def test_every_cell_counts_the_rows_of_the_queries_and_lists_them() -> None:
    cells = matrix_cells()
    assert len(cells) == len(views.matrix_cells(publication().site)) > 40
    for state, st, fn, _, n_over, n_dup in cells:
        in_cell = lambda r: fn in (r["function1"], r["function2"])  # noqa: E731
        dups = [key(r) for r in rows("duplications", settingType=st) if in_cell(r)]
        overlaps = {key(r) for r in rows("overlaps", settingType=st) if in_cell(r)}
        assert len(dups) == len(set(dups)) == n_dup, (st, fn)
        assert len(overlaps) == n_over and set(dups) <= overlaps, (st, fn)
        assert state == ("duplication" if dups else "coordinated" if overlaps else state), (st, fn, state)
        assert state not in ("duplication", "coordinated") or overlaps, (st, fn, state)
        page = cell_page(st, fn)
        listed = [html.unescape(k) for k in re.findall(r'<tr class="pair[^"]*" data-key="([^"]+)"', page)]
        assert sorted(listed) == sorted(overlaps), (st, fn)
        flagged = [html.unescape(k) for k in re.findall(r'<tr class="pair pair-duplication" data-key="([^"]+)"', page)]
        assert sorted(flagged) == sorted(dups), (st, fn)
        assert f'<span data-count="overlaps">{n_over}</span>' in page and f'<span data-count="duplications">{n_dup}</span>' in page
        # each pair is explained by the `explain` query run with its two bodies, setting type and function
        assert "could not run" not in page and "is required" not in page, (st, fn)
        assert page.count('<h3 id="nq-explain-') == len(overlaps), (st, fn)
        for k in overlaps:
            b1, _, b2, *_ = k.split(" ")
            assert re.search(r"queries/explain\?body1=" + re.escape(b1.replace(":", "%3A").replace("/", "%2F"))
                             + r"&amp;body2=" + re.escape(b2.replace(":", "%3A").replace("/", "%2F")), page), k


def test_the_key_counts_the_distinct_rows_of_the_queries() -> None:
    page = publication().page("/matrix.html")
    totals = {k: int(v) for k, v in re.findall(r'data-total="([a-z]+)">(\d+)<', page)}
    overlaps = {key(r) for r in rows("overlaps")}
    dups = [key(r) for r in rows("duplications")]
    assert totals["overlaps"] == len(overlaps) > 10
    assert totals["duplications"] == len(dups) == len(set(dups)) > 0
    assert totals["settled"] == len(overlaps - set(dups))
    per_state = {k: int(v) for k, v in re.findall(r'data-cells="([a-z-]+)">(\d+)<', page)}
    cells = matrix_cells()
    assert sum(per_state.values()) == len(cells)
    for state, n in per_state.items():
        assert n == sum(1 for c in cells if c[0] == state), state
    assert per_state["duplication"] == sum(1 for c in cells if c[5] > 0)


def _jurisdictions() -> dict[tuple[str, str, str], set[str]]:
    """(holder, setting type, function) → the jurisdictions of its responsibilities (remit-matrix)."""
    out: dict[tuple[str, str, str], set[str]] = {}
    for r in rows("remit-matrix"):
        out.setdefault((r["holder"], r["settingType"], r["fn"]), set()).update(
            j for j in r.get("jurisdictions", "").split(" | ") if j)
    return out


def test_no_cell_pairs_bodies_of_different_nations() -> None:
    juris = _jurisdictions()
    england, wales = {JUR + "england"}, {JUR + "wales"}
    seen = 0
    for _, st, fn, _, n_over, _ in matrix_cells():
        if not n_over:
            continue
        for k in re.findall(r'<tr class="pair[^"]*" data-key="([^"]+)"', cell_page(st, fn)):
            b1, f1, b2, f2, _, _ = html.unescape(k).split(" ")
            j1, j2 = juris[(b1, st, f1)], juris[(b2, st, f2)]
            assert {frozenset(j1), frozenset(j2)} != {frozenset(england), frozenset(wales)}, (st, fn, k)
            seen += 1
    assert seen > 10
    # the contradictions issue 12 found, each a pair the old matrix called a duplication or an overlap
    prison = cell_page(ST + "prison", FN + "health-and-social-care-inspection")
    assert f"{BODY}cqc {FN}health-and-social-care-inspection {BODY}hiw" not in prison
    for fn in ("inspection", "registration"):
        page = cell_page(ST + "secure-childrens-home", FN + fn)
        assert f"{BODY}ciw {FN}{fn} {BODY}ofsted" not in page
    page = cell_page(ST + "approved-premises", FN + "inspection")
    assert f"{BODY}cjini" not in "".join(re.findall(r'data-key="([^"]+)"', page))
    assert 'class="cell-separate"' in publication().page("/matrix.html")


def test_hmic_holds_no_cell_after_its_responsibilities_ended() -> None:
    hmic = BODY + "hmic"
    assert all(hmic not in c["holders"] for c in views.matrix_cells(publication().site).values())
    label = html.escape(publication().site.label(hmic), quote=False)
    assert f'<span class="holder">{label}</span>' not in publication().page("/matrix.html")
    assert all(hmic not in k.split(" ") for c in views.matrix_cells(publication().site).values() for k in
               (" ".join(o[x] for x in KEY) for o in c["overlaps"]))
    # the filter is what keeps it out: in 2015 HMIC still held youth offending team inspection
    before = publication(dt.date(2015, 1, 1))
    assert any(hmic in c["holders"] for c in views.matrix_cells(before.site).values())
    assert f'<span class="holder">{label}</span>' in before.page("/matrix.html")
