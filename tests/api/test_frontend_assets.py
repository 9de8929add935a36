"""GOV.UK Frontend's stylesheet comes from node_modules (npm govuk-frontend, pinned): served at one stable path and
linked from every page; without node_modules the pages still render as plain HTML and the log says why."""

from __future__ import annotations

import datetime as dt
import logging
import types
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kg.api.ui import mount_frontend
from kg.publication.frontend import GOVUK_CSS, MISSING, govuk_css_file
from kg.publication.site import Site


def _page(site: Site) -> str:
    return site.render("not_found.html", "/id/body/x.html", title="Not found", iri="https://example.org/x",
                       suggestions=[])


def test_installed_stylesheet_is_served_and_linked() -> None:
    f = govuk_css_file()
    assert f is not None, "node_modules/govuk-frontend is missing: run `make node`"
    assert "node_modules" in f.parts and f.name == "govuk-frontend.min.css"
    app = FastAPI()
    assert mount_frontend(app) is True
    r = TestClient(app).get(GOVUK_CSS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert ".govuk-table" in r.text and ".govuk-summary-list" in r.text
    # the GOV.UK Transport typeface is reserved to GOV.UK services: its @font-face rules are not served, so no
    # browser fetches its files (the compiled file in node_modules has them)
    assert "@font-face" in f.read_text() and "/assets/fonts/" in f.read_text()
    assert "@font-face" not in r.text and "/assets/fonts/" not in r.text
    html = _page(Site(types.SimpleNamespace(), as_of=dt.date(2024, 1, 1)))
    assert '<link rel="stylesheet" href="../../static/govuk/govuk-frontend.min.css">' in html
    assert 'class="govuk-template"' in html and "Skip to main content" in html


def test_without_node_modules_pages_are_plain_html_and_the_log_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("REMIT_NODE_MODULES", str(tmp_path))
    assert govuk_css_file() is None
    app = FastAPI()
    with caplog.at_level(logging.WARNING, logger="kg.api.ui"):
        assert mount_frontend(app) is False
    assert MISSING in caplog.text and "make node" in caplog.text
    assert TestClient(app).get(GOVUK_CSS).status_code == 404
    html = _page(Site(types.SimpleNamespace(), as_of=dt.date(2024, 1, 1)))
    assert "govuk-frontend.min.css" not in html
    assert '<link rel="stylesheet" href="../../static/remit.css">' in html and "<h1" in html and "Not found" in html
