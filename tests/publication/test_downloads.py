"""Named-query downloads for spreadsheets (issue 14), from a real server on the real build with the project's
own queries: CSV with a byte-order mark, XLSX (openpyxl) with human titles, labels, and a sources sheet; the
links at the top of the HTML page."""

from __future__ import annotations

import codecs
import csv
import io
import re
from typing import Iterator

import httpx
import openpyxl
import pytest

from kg.query.columns import human_title, reader_columns
from kg.query.registry import ResultPage, term_display
from kg.query.spreadsheet import page_to_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def client(real_server: str) -> Iterator[httpx.Client]:
    """A client of the session's server on the real build (tests/publication/conftest.py)."""
    with httpx.Client(base_url=real_server, timeout=120) as c:
        yield c


def _json(client: httpx.Client, name: str) -> dict:
    r = client.get(f"/queries/{name}", params={"format": "json"})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("name", ["agreements", "leads", "overlaps"])
def test_csv_has_a_bom_and_parses(client: httpx.Client, name: str) -> None:
    r = client.get(f"/queries/{name}", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(codecs.BOM_UTF8) and not r.content[3:].startswith(codecs.BOM_UTF8)
    assert r.headers["content-disposition"] == f'attachment; filename="{name}.csv"'
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    data = _json(client, name)
    assert rows[0] == data["head"]["vars"]  # the first column name is clean: the BOM is not part of it
    assert len(rows) - 1 == len(data["results"]["bindings"]) > 0
    assert rows[1] == [term_display(data["results"]["bindings"][0].get(c)) for c in rows[0]]
    if name == "agreements":  # the en dashes of the agreements' names, as UTF-8 after the mark
        assert "CQC–HMI Prisons".encode("utf-8") in r.content


@pytest.mark.parametrize("name", ["agreements", "leads", "overlaps"])
def test_xlsx_opens_and_has_the_rows_of_the_json(client: httpx.Client, name: str) -> None:
    r = client.get(f"/queries/{name}", params={"format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"] == f'attachment; filename="{name}.xlsx"'
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Results", "Sources", "About"]
    data = _json(client, name)
    cols, bindings = data["head"]["vars"], data["results"]["bindings"]
    shown = reader_columns(cols)
    sheet = [list(row) for row in wb["Results"].iter_rows(values_only=True)]
    assert sheet[0] == ["No."] + [human_title(c) for c in shown]
    assert not any(re.search(r"[a-z][A-Z]", h) for h in sheet[0][1:])  # no camelCase headers
    assert len(sheet) - 1 == len(bindings) > 0
    for i, (row, b) in enumerate(zip(sheet[1:], bindings), start=1):
        assert row[0] == i
        assert [("" if v is None else str(v)) for v in row[1:]] == [term_display(b.get(c)) for c in shown]
    for c in cols:  # a labelled IRI column is shown by its label; sources go to their own sheet
        if c + "Label" in cols:
            assert c not in shown and c + "Label" in shown
    assert not any(c == "sources" or c.endswith("Sources") for c in shown)
    sources = [list(row) for row in wb["Sources"].iter_rows(values_only=True)]
    expected = sum(len([s for s in term_display(b.get(c)).split(" | ") if s.strip()])
                   for b in bindings for c in cols if c == "sources" or c.endswith("Sources"))
    assert len(sources) - 1 == expected > 0
    assert all(isinstance(row[0], int) and 1 <= row[0] <= len(bindings) and "<https://" in row[2]
               for row in sources[1:])
    about = dict(wb["About"].iter_rows(values_only=True))
    assert about["Question"] and "Open Government Licence" in about["Data licence"]


def test_leads_labels_replace_iris(client: httpx.Client) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(client.get("/queries/leads", params={"format": "xlsx"}).content))
    header = [c.value for c in wb["Results"][1]]
    assert "Agreement" in header and "Lead" in header and "Lead basis" in header
    assert "Agreement label" not in header and "Agreement sources" not in header
    agreements = [row[header.index("Agreement")] for row in wb["Results"].iter_rows(min_row=2, values_only=True)]
    assert agreements and not any(str(a).startswith("https://") for a in agreements if a)


def test_html_page_links_the_downloads_at_the_top(client: httpx.Client) -> None:
    r = client.get("/queries/agreements", headers={"accept": "text/html"})
    assert r.status_code == 200
    html = r.text
    downloads = html.index('class="downloads"')
    assert downloads < html.index("<table")
    links = re.findall(r'<a href="([^"]+)"[^>]*>(CSV|spreadsheet \(XLSX\)|JSON)</a>', html[downloads:])
    assert [label for _, label in links] == ["CSV", "spreadsheet (XLSX)", "JSON"]
    for href, label in links:
        target = client.get(href.replace("&amp;", "&"))
        assert target.status_code == 200, href
        expected = {"CSV": "text/csv", "spreadsheet (XLSX)": XLSX, "JSON": "application/json"}[label]
        assert target.headers["content-type"].startswith(expected)


def test_xlsx_text_is_never_a_formula() -> None:
    page = ResultPage(["x", "xLabel", "n"], [{"x": {"type": "uri", "value": "https://e.example/x"},
                                              "xLabel": {"type": "literal", "value": '=HYPERLINK("http://evil")'},
                                              "n": {"type": "literal", "value": "7",
                                                    "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}],
                      10, 0, False)
    wb = openpyxl.load_workbook(io.BytesIO(page_to_xlsx(page, title="t")))
    cell = wb["Results"]["B2"]
    assert cell.value == '=HYPERLINK("http://evil")' and cell.data_type == "s"
    assert wb["Results"]["C2"].value == 7 and [c.value for c in wb["Results"][1]] == ["No.", "X", "N"]
