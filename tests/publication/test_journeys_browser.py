"""Issue 14's done-when, in Debian's headless Chromium over a real server on the real build: a newcomer answers four
questions from the home page in at most three clicks each (a form submit is a click; choosing a drop-down option is
not), then downloads each answer as a spreadsheet: the XLSX opens with openpyxl and holds the expected rows, the CSV
starts with a byte-order mark and parses. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any, Iterator

import openpyxl
import pytest

from support.browser import ARTIFACTS

pytestmark = pytest.mark.timeout(240)

WALES_AND_WIDER = {"Wales", "England and Wales", "United Kingdom"}


@pytest.fixture(scope="module")
def page(browser: Any, real_server: str) -> Iterator[Any]:
    """A page in the module's Chromium on the session's server on the real build (tests/publication/conftest.py)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    p = context.new_page()
    p.set_default_timeout(30_000)
    p.errors = []
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    yield p
    context.close()


class Journey:
    """Counts the clicks from the home page (a form submit counts; choosing an option does not)."""

    def __init__(self, page: Any, base: str):
        self.page, self.clicks = page, 0
        page.goto(base + "/", wait_until="load")

    def click(self, locator: Any) -> None:
        self.clicks += 1
        with self.page.expect_navigation(wait_until="load"):
            locator.click()

    def rows(self) -> list[dict[str, str]]:
        """The answer's table as the person reads it: column title -> cell text."""
        table = self.page.locator("table.govuk-table")
        heads = [h.strip() for h in table.locator("thead th").all_inner_texts()]
        return [dict(zip(heads, [c.strip() for c in tr.locator("td").all_inner_texts()]))
                for tr in table.locator("tbody tr").all()]

    def download(self, name: str) -> bytes:
        with self.page.expect_download() as info:
            self.page.get_by_role("link", name=name, exact=True).click()
        return Path(info.value.path()).read_bytes()

    def spreadsheets(self) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """The XLSX's Results sheet (title -> value) and the CSV's rows (column -> value)."""
        wb = openpyxl.load_workbook(io.BytesIO(self.download("spreadsheet (XLSX)")), read_only=True)
        sheet = list(wb["Results"].iter_rows(values_only=True))
        xlsx = [dict(zip(sheet[0], r)) for r in sheet[1:]]
        data = self.download("CSV")
        assert data.startswith(codecs.BOM_UTF8)
        return xlsx, list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_who_covers_health_care_at_parc_and_who_leads(page: Any, real_server: str) -> None:
    j = Journey(page, real_server)
    j.click(page.get_by_role("link", name="Who covers this establishment, and who leads?"))
    page.get_by_label("Establishment").select_option(label="HMP Parc")
    j.click(page.get_by_role("button", name="Show the answer"))
    assert j.clicks <= 3 and "establishment=" in page.url  # the address is the permalink
    assert page.get_by_label("Establishment").input_value() == "https://w3id.org/remit/id/setting/parc"  # kept
    health = [r for r in j.rows() if r["Function"] == "health and social care inspection"]
    assert [r["Body"] for r in health] == ["Healthcare Inspectorate Wales"]
    assert health[0]["Leads"] == "none named"
    page.screenshot(path=str(ARTIFACTS / "question-establishment-parc.png"), full_page=True)
    xlsx, rows = j.spreadsheets()
    assert any(r["Body"] == "Healthcare Inspectorate Wales" and r["Function"] == "health and social care inspection"
               for r in xlsx)
    assert any(r["bodyLabel"] == "Healthcare Inspectorate Wales" and r["functionLabel"] == "health and social care inspection"
               for r in rows)
    assert not page.errors, page.errors


def test_which_agreements_are_overdue(page: Any, real_server: str) -> None:
    j = Journey(page, real_server)
    j.click(page.get_by_role("link", name="Which agreements are overdue for review?"))
    assert j.clicks <= 3
    rows = j.rows()
    overdue = [r for r in rows if r["Review status"] == "overdue"]
    assert overdue and rows[: len(overdue)] == overdue  # overdue first
    first = page.locator("table.govuk-table tbody tr").first
    assert first.locator("strong.govuk-tag.govuk-tag--red").text_content() == "overdue"  # flagged, in words
    assert "HMI Probation–CQC memorandum of understanding on YOT inspections" in [r["Agreement"] for r in overdue]
    assert all(r["Review interval"] in ("", "every year") or r["Review interval"].startswith("every ") for r in rows)
    xlsx, csv_rows = j.spreadsheets()
    assert xlsx[0]["Review status"] == "overdue" and csv_rows[0]["reviewStatus"] == "overdue"
    assert {r["Agreement"] for r in xlsx if r["Review status"] == "overdue"} == {r["Agreement"] for r in overdue}


def test_whom_to_call_at_cqc_about_yot_inspections(page: Any, real_server: str) -> None:
    j = Journey(page, real_server)
    j.click(page.get_by_role("link", name="Whom do I contact about joint work, and how old is that information?"))
    page.get_by_label("Agreement").select_option(label="HMI Probation–CQC memorandum of understanding on YOT inspections")
    page.get_by_label("Body or office").select_option(label="Care Quality Commission")
    j.click(page.get_by_role("button", name="Show the answer"))
    assert j.clicks <= 3
    at_cqc = [r for r in j.rows() if r.get("Contact for") == "Care Quality Commission"]
    assert any("Youth Offending Programme Manager" in r["Contact name"] for r in at_cqc), at_cqc
    page.screenshot(path=str(ARTIFACTS / "question-contacts-cqc-yot.png"), full_page=True)
    xlsx, rows = j.spreadsheets()
    assert any(r["Contact for"] == "Care Quality Commission" and "Youth Offending Programme Manager" in r["Contact name"]
               for r in xlsx)
    assert any(r["contactForLabel"] == "Care Quality Commission" for r in rows)


def test_where_work_is_duplicated_in_wales(page: Any, real_server: str) -> None:
    j = Journey(page, real_server)
    j.click(page.get_by_role("link", name="Where is work duplicated with no lead named?"))
    page.get_by_label("Nation or jurisdiction").select_option(label="Wales")
    j.click(page.get_by_role("button", name="Show the answer"))
    assert j.clicks <= 3
    rows = j.rows()
    assert rows and {r["Jurisdiction"] for r in rows} <= WALES_AND_WIDER
    assert any(r["Body 1"] == "Healthcare Inspectorate Wales" and r["Body 2"] == "HM Inspectorate of Prisons"
               and r["Setting type"] == "prison" for r in rows)
    page.screenshot(path=str(ARTIFACTS / "question-duplications-wales.png"), full_page=True)
    xlsx, csv_rows = j.spreadsheets()
    assert len(xlsx) == len(csv_rows) == len(rows)
    assert {r["Jurisdiction"] for r in xlsx} <= WALES_AND_WIDER
    assert {r["jurisdictionLabel"] for r in csv_rows} <= WALES_AND_WIDER
    assert not page.errors, page.errors
