"""Smoke test of the publication over the real build (``build/store``; built once per session by
``realbuild.ensure_real_build`` when absent or stale, never skipped), through the session's server on it
(``real_server`` in tests/publication/conftest.py). ``REMIT_REAL_STORE`` points elsewhere."""

from __future__ import annotations

import re

import httpx
from rdflib import Graph


def test_real_build_pages_and_documents(real_server: str) -> None:
    with httpx.Client(base_url=real_server, timeout=120) as c:
        home = c.get("/", headers={"accept": "text/html"})
        assert home.status_code == 200 and "Remit" in home.text
        agreements = c.get("/agreements.html").text
        links = sorted(set(re.findall(r'href="(id/agreement/[a-z0-9-]+\.html)"', agreements)))
        assert len(links) >= 5, "the real build should list its agreements"
        for href in links:
            page = c.get("/" + href)
            assert page.status_code == 200 and "Areas of joint work" in page.text, href
            r = c.get("/" + href[: -len(".html")], headers={"accept": "text/turtle"})
            assert r.status_code == 303
            g = Graph().parse(data=c.get("/" + href[: -len(".html")] + ".ttl").text, format="turtle")
            assert len(g) > 5
        matrix = c.get("/matrix.html")
        assert matrix.status_code == 200 and "cell-" in matrix.text
        cells = re.findall(r'<td class="cell-[a-z-]+"><a href="([^"]+)"', matrix.text)
        assert cells and all(c.get("/" + href).status_code == 200 for href in cells[:10])
        void = Graph().parse(data=c.get("/.well-known/void").text, format="turtle")
        assert len(void) > 50
        assert c.get("/def.html").status_code == 200
