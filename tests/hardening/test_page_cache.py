"""The page cache (kg/api/page_cache.py) on a real server: a repeated page is answered from the cache (the
``Remit-Cache`` header says so, with the same bytes and ETag, and 304 for its tag); pages that must not be kept
(404, /search) are not; and after ``POST /admin/reload`` onto a changed build (a real ``kg build`` in a child)
the page shows the new content."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.pipeline.build import Layout, build

from .conftest import make_source_tree, start_server, stop_server
from .test_reload_search import KESTREL

pytestmark = pytest.mark.timeout(300)

HTML = {"Accept": "text/html"}


def test_pages_are_cached_per_build_and_a_reload_shows_the_new_build(tmp_path: Path) -> None:
    root = make_source_tree(tmp_path)
    build(Layout(root=root))
    live = start_server(root / "build" / "store", tmp_path, cwd=root, REMIT_SOURCE_ROOT=str(root),
                        REMIT_DATA_DIR=str(root / "data"), REMIT_BUILD_DIR=str(root / "build"))
    try:
        assert live.get("/id/body/kestrel.html", headers=HTML).status_code == 404  # not in this build yet
        first = live.get("/bodies.html", headers=HTML)
        assert first.status_code == 200 and first.headers["remit-cache"] == "miss"
        second = live.get("/bodies.html", headers=HTML)
        assert second.headers["remit-cache"] == "hit"
        assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
        assert second.headers["content-type"].startswith("text/html")
        assert "content-security-policy" in second.headers  # a hit is an HTML answer like any other
        again = live.get("/bodies.html", headers={**HTML, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        head = live.get("/", headers=HTML)
        assert head.status_code == 200
        assert live.get("/", headers=HTML).headers["remit-cache"] == "hit"
        # the home page negotiates: an RDF client still gets its redirect, never the cached HTML
        rdf = live.get("/", headers={"Accept": "text/turtle"}, follow_redirects=False)
        assert rdf.status_code == 303 and "remit-cache" not in rdf.headers
        fresh = live.get("/bodies.html", headers={**HTML, "Cache-Control": "no-cache"})
        assert fresh.headers["remit-cache"] == "miss" and fresh.content == first.content

        for _ in range(2):  # never kept: a 404 page and a search (free text)
            missing = live.get("/bodies-nowhere.html", headers=HTML)
            assert missing.status_code == 404 and "remit-cache" not in missing.headers
            found = live.get("/search", params={"q": "inspectorate"}, headers=HTML)
            assert found.status_code == 200 and "remit-cache" not in found.headers

        (root / "data" / "kestrel.ttl").write_text(KESTREL, encoding="utf-8")
        r = live.admin("POST", "/admin/reload", timeout=240)
        assert r.status_code == 200 and r.json()["status"] == "reloaded", r.text
        after = live.get("/bodies.html", headers=HTML)
        assert after.status_code == 200 and after.headers["remit-cache"] == "miss"  # emptied by the reload
        assert after.headers["etag"] != first.headers["etag"]  # tags name the graph version
        stale = live.get("/bodies.html", headers={**HTML, "If-None-Match": first.headers["etag"]})
        assert stale.status_code == 200 and stale.headers["remit-cache"] == "hit"
        home = live.get("/", headers=HTML)  # its counts come from the new graph, not the kept page
        assert home.headers["remit-cache"] == "miss" and home.content != head.content
        page = live.get("/id/body/kestrel.html", headers=HTML)
        assert page.status_code == 200 and "Kestrel Inspectorate of Aviaries" in page.text
        assert live.get("/id/body/kestrel.html", headers=HTML).headers["remit-cache"] == "hit"
    finally:
        stop_server(live)
