"""`kg publish OUTDIR`: the static site has every page and document, its relative links all resolve to
files, and its dumps are the bytes the server serves."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
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
def site(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Path:
    out = tmp_path_factory.mktemp("site") / "public"
    env = dict(os.environ, REMIT_STORE_PATH=str(store_path), REMIT_QUERIES_DIR=str(ROOT / "queries"))
    r = subprocess.run([sys.executable, "-m", "kg.cli", "publish", str(out), "--service-url", "https://remit.example"],
                       cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    return out


def test_static_site_has_the_publication(site: Path) -> None:
    for rel in ("index.html", "matrix.html", "agreements.html", "bodies.html", "def.html", "def.ttl", "404.html",
                "id/agreement/fixture-alpha-beta.html", "id/agreement/fixture-alpha-beta.ttl",
                "id/agreement/fixture-alpha-beta/area-1.jsonld", "id/agreement/fixture-alpha-beta/index.html",
                "id/setting-type/prison.nt", "def/AreaOfJointWork.rdf", "shapes/AreaOfJointWorkShape.html",
                ".well-known/void", ".well-known/void.jsonld", "context.jsonld", "static/remit.css",
                "matrix/prison/inspection.html", "dumps/index.html", "dumps/latest/remit.ttl"):
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
