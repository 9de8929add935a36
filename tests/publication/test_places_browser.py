"""Headless Chromium (Debian's) over a real server on the real build: home → "Prisons in Wales" → HMP Parc's remit
card, where health care is HIW's and no lead is named; the card's CSV link downloads a file that parses with its
byte-order mark. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

from support.browser import ARTIFACTS


def test_home_to_prisons_in_wales_to_parc(browser: Any, real_server: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(real_server + "/", wait_until="load")
    page.get_by_role("link", name="Prisons in Wales", exact=True).first.click()  # click 1
    page.wait_for_url("**/places/prison/wales.html")
    assert page.get_by_role("heading", level=1).inner_text() == "Prisons in Wales"
    page.screenshot(path=str(ARTIFACTS / "place-prisons-wales.png"), full_page=True)
    page.get_by_role("link", name="HMP Parc", exact=True).first.click()  # click 2
    page.wait_for_url("**/id/setting/parc.html")
    assert page.get_by_role("heading", level=1).inner_text() == "HMP Parc"
    row = page.locator("table.card tr", has_text="health and social care inspection")
    assert row.count() == 1
    text = row.inner_text()
    assert "Healthcare Inspectorate Wales" in text and "No lead named" in text
    # sources are folded: closed until opened
    details = row.locator("details.sources")
    assert not details.locator("ul.citations").is_visible()
    details.locator("summary").click()
    assert details.locator("ul.citations").is_visible()
    page.screenshot(path=str(ARTIFACTS / "remit-card-parc.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="spreadsheet (CSV)").click()
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert any(r["Function"] == "health and social care inspection" and r["Body"] == "Healthcare Inspectorate Wales"
               for r in rows)
    assert not errors, errors
