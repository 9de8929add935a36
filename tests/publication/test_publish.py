"""`kg publish OUTDIR`: the static site has every page and document, its relative links all resolve to
files, and its dumps are the bytes the server serves."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from rdflib import Graph

from fixture import ROOT


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.links.append(v)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> tuple[Path, dict[str, int]]:
    """The fixture store published once for the module (what ``kg publish`` runs, in this process, by one process)
    with every clock the page code could read made to raise; the site and its counts. The command itself, with
    its default of one process per CPU, is run by test_publish_as_of_and_source_date_epoch."""
    out = tmp_path_factory.mktemp("site") / "public"
    with pytest.MonkeyPatch.context() as mp:
        from kg.publication.publication import publish_site

        counts = publish_site(_without_clock(mp, store_path), out, service_base="https://remit.example", jobs=1)
    return out, counts


@pytest.fixture(scope="module")
def site(published: tuple[Path, dict[str, int]]) -> Path:
    return published[0]


def test_static_site_has_the_publication(site: Path) -> None:
    for rel in ("index.html", "matrix.html", "agreements.html", "bodies.html", "def.html", "def.ttl", "404.html",
                "id/agreement/fixture-alpha-beta.html", "id/agreement/fixture-alpha-beta.ttl",
                "id/agreement/fixture-alpha-beta/area-1.jsonld", "id/agreement/fixture-alpha-beta/index.html",
                "id/setting-type/prison.nt", "def/AreaOfJointWork.rdf", "shapes/AreaOfJointWorkShape.html",
                ".well-known/void", ".well-known/void.jsonld", "context.jsonld", "static/remit.css",
                "static/govuk/govuk-frontend.min.css",
                "matrix/prison/inspection.html", "dumps/index.html", "dumps/latest/remit.ttl",
                "places/index.html", "places/prison/england.html", "places/prison/wales.html", "places/prison/england.csv",
                "places/prison/england-establishments.csv", "places/establishments/fixture-one.csv",
                "id/setting/fixture-one.html", "network.html", "charts/overlaps.html"):
        assert (site / rel).is_file(), rel
    Graph().parse(site / "id/agreement/fixture-alpha-beta/area-1.jsonld", format="json-ld")
    # pyLODE documentation, not a hand-written page
    assert "pyLODE" in (site / "def.html").read_text()


def test_static_links_resolve_to_files(site: Path) -> None:
    broken = []
    for page in site.rglob("*.html"):
        p = _Links()
        p.feed(page.read_text())
        for href in p.links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("#", "mailto:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {href}")
    assert not broken, "\n".join(broken[:30])


def test_static_service_links_are_absolute(site: Path) -> None:
    home = (site / "index.html").read_text()
    assert 'href="https://remit.example/queries/overlaps"' in home
    assert 'href="https://remit.example/ui"' in home


def test_static_dumps_match_the_server(site: Path, client: httpx.Client) -> None:
    dumps = sorted((site / "dumps").glob("remit-*"))
    assert len([d for d in dumps if not d.name.endswith(".sha256")]) == 4
    for d in dumps:
        if d.name.endswith(".sha256"):
            digest, name = d.read_text().split()
            assert hashlib.sha256((site / "dumps" / name).read_bytes()).hexdigest() == digest
            continue
        served = client.get(f"/dumps/{d.name}")
        assert served.status_code == 200 and served.content == d.read_bytes(), d.name


# ------------------------------------------------------------------ reproducible publication (as-of date)

class _NoClockDate(__import__("datetime").date):
    @classmethod
    def today(cls):  # type: ignore[override]
        raise AssertionError("the publication read the clock (date.today)")


class _NoClockDateTime(__import__("datetime").datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        raise AssertionError("the publication read the clock (datetime.now)")

    @classmethod
    def utcnow(cls):  # type: ignore[override]
        raise AssertionError("the publication read the clock (datetime.utcnow)")

    @classmethod
    def today(cls):  # type: ignore[override]
        raise AssertionError("the publication read the clock (datetime.today)")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _without_clock(monkeypatch: pytest.MonkeyPatch, store_path: Path) -> Any:
    """Every clock the page code could read made to raise, SOURCE_DATE_EPOCH unset; the settings to publish with."""
    import datetime as real_dt
    import types

    import kg.publication.site
    import kg.publication.publication
    import kg.publication.views
    import kg.publication.publish
    import kg.query.registry
    from kg.settings import get_settings

    fake = types.SimpleNamespace(**{k: getattr(real_dt, k) for k in dir(real_dt) if not k.startswith("_")})
    fake.date, fake.datetime = _NoClockDate, _NoClockDateTime
    for mod in (kg.publication.publish, kg.publication.site, kg.publication.views, kg.publication.publication, kg.query.registry):
        monkeypatch.setattr(mod, "dt", fake)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("REMIT_QUERIES_DIR", str(ROOT / "queries"))
    return get_settings(store_path=store_path)


def test_publish_never_reads_the_clock_and_is_byte_identical(published: tuple[Path, dict[str, int]], tmp_path: Path,
                                                             store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two publications of the same store with every clock the page code could read made to raise (the first is
    the module's ``published`` site): the trees are byte for byte the same (the second written by two processes),
    and every page states the date statuses were judged on."""
    import kg.publication.publication
    from kg.publication.publication import publish_site

    settings = _without_clock(monkeypatch, store_path)
    # the second in two forked processes (kg publish --jobs 2; the fixture is small, so fork anyway): the same bytes
    monkeypatch.setattr(kg.publication.publication, "_MIN_SHARE", 1)
    monkeypatch.setattr(kg.publication.publication, "PROGRESS_SECONDS", 0.02)
    site_one, counts = published
    said: list[tuple[str, float]] = []
    assert publish_site(settings, tmp_path / "two", service_base="https://remit.example", jobs=2,
                        on_step=lambda what, s: said.append((what, s))) == counts
    # kg publish --progress: each part as it is written, the resources counted across both processes
    whats = [w for w, _ in said]
    # (the answers every worker needs, read once before they are forked from the store in memory; 2026-12-04)
    assert whats[0] == "read what every process needs" and whats[1].startswith("wrote the home")
    assert whats[-1] == "wrote the dumps, VoID and the static files"
    total = [w for w in whats if w.endswith("(a page and four RDF documents each)")]
    assert len(total) == 1
    n = int(total[0].split()[1].replace(",", ""))
    assert n > 50 and counts["pages"] > n  # every resource has a page, and there are other pages too
    running = [int(w.split()[1].replace(",", "")) for w in whats if w.endswith(f"of {n:,} resources")]
    assert running == sorted(running) and all(0 <= k <= n for k in running)
    assert [s for _, s in said] == sorted(s for _, s in said)
    one, two = _tree(site_one), _tree(tmp_path / "two")
    assert one.keys() == two.keys()
    assert [k for k in one if one[k] != two[k]] == []
    # the date basis is the data's latest date (2011-11-01 in the fixture), said on every page with a status
    for page in ("index.html", "matrix.html", "id/agreement/fixture-alpha-beta.html", "matrix/prison/inspection.html"):
        text = one[page].decode("utf-8")
        assert 'datetime="2011-11-01"' in text and "the date of the data" in text, page
    assert "Judged as of" in one["id/agreement/fixture-alpha-beta.html"].decode("utf-8")


def test_workers_over_a_store_on_disk_write_the_same_bytes(published: tuple[Path, dict[str, int]], tmp_path: Path,
                                                           store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forked workers use the parent's store when it is a copy in memory, and open the store afresh when it is
    on disk (a store folder too large to copy, ``REMIT_STORE_IN_MEMORY_MAX_QUADS=0`` here): the same bytes."""
    import kg.publication.publication
    from kg.publication.publication import publish_site

    settings = _without_clock(monkeypatch, store_path).model_copy(update={"store_in_memory_max_quads": 0})
    monkeypatch.setattr(kg.publication.publication, "_MIN_SHARE", 1)
    site_one, counts = published
    assert publish_site(settings, tmp_path / "disk", service_base="https://remit.example", jobs=2) == counts
    one, disk = _tree(site_one), _tree(tmp_path / "disk")
    assert one.keys() == disk.keys() and [k for k in one if one[k] != disk[k]] == []


def _publish_cli(out: Path, store_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, REMIT_STORE_PATH=str(store_path), REMIT_QUERIES_DIR=str(ROOT / "queries"), **env)
    if "SOURCE_DATE_EPOCH" not in env:
        full.pop("SOURCE_DATE_EPOCH", None)
    return subprocess.run([sys.executable, "-m", "kg.cli", "publish", str(out), "--service-url", "https://remit.example",
                           *args], cwd=str(ROOT), env=full, capture_output=True, text=True, timeout=240)


def test_publish_as_of_and_source_date_epoch(tmp_path: Path, store_path: Path) -> None:
    """``--as-of`` decides the review status; SOURCE_DATE_EPOCH is the default; bad values are refused with a
    message, exit 2, and the existing output is left alone."""
    early = _publish_cli(tmp_path / "early", store_path, "--as-of", "2012-01-01")
    late = _publish_cli(tmp_path / "late", store_path, "--as-of", "2099-01-01")
    assert early.returncode == 0 and late.returncode == 0, early.stderr + late.stderr
    assert "wrote" in early.stdout and "wrote" in late.stdout
    # no library's log lines (pyLODE turned the root logger to DEBUG on import: "DEBUG:asyncio:…", "INFO:root:…")
    assert not re.search(r"^(DEBUG|INFO):", early.stdout + early.stderr, re.M), early.stderr
    page = "id/agreement/fixture-alpha-beta.html"
    e, l = (tmp_path / "early" / page).read_text(), (tmp_path / "late" / page).read_text()
    assert 'datetime="2012-01-01"' in e and "(--as-of)" in e and "Review overdue" not in e
    assert 'datetime="2099-01-01"' in l and "Review overdue" in l
    sde = _publish_cli(tmp_path / "sde", store_path, SOURCE_DATE_EPOCH="4070908800")  # 2099-01-01T00:00:00Z
    assert sde.returncode == 0, sde.stderr
    s = (tmp_path / "sde" / page).read_text()
    assert 'datetime="2099-01-01"' in s and "SOURCE_DATE_EPOCH=4070908800" in s
    assert s.replace("SOURCE_DATE_EPOCH=4070908800", "--as-of") == l
    bad = _publish_cli(tmp_path / "early", store_path, "--as-of", "2012-13-01")
    assert bad.returncode == 2 and "--as-of '2012-13-01'" in bad.stderr
    bad = _publish_cli(tmp_path / "early", store_path, SOURCE_DATE_EPOCH="yesterday")
    assert bad.returncode == 2 and "SOURCE_DATE_EPOCH='yesterday'" in bad.stderr
    assert (tmp_path / "early" / page).read_text() == e  # nothing lost


def test_live_pages_say_which_date_they_used(client: httpx.Client) -> None:
    """The live server judges statuses on the data date (the latest date in the fixture's data, 2011-11-01), the
    day the named queries default to, never its clock, and says so on the page."""
    text = client.get("/id/agreement/fixture-alpha-beta.html").text
    assert 'Judged as of <time datetime="2011-11-01">' in text
    assert "the date of the data: the latest date any of its sources states" in text
    rows = client.get("/queries/reviews-due", params={"format": "json"}).json()
    assert rows["params"]["asOf"] == "2011-11-01"

