"""Named-query results as a spreadsheet (``GET /queries/{name}?format=xlsx``), written with openpyxl.

Three sheets: **Results** (a header row of human column titles, one row per result, labels in place of the
IRIs they label), **Sources** (for each result row, each document and place its facts come from, one per
line) and **About** (the question, its parameters, the page, where it came from). Text is written as text:
a value that starts with ``=`` stays a value, never a formula.
"""

from __future__ import annotations

import io
from typing import Any, Mapping, Optional

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from kg.query.columns import human_title, is_sources, reader_columns
from kg.query.registry import ResultPage, term_display

__all__ = ["XLSX_MEDIA_TYPE", "page_to_xlsx", "xlsx_cell"]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = {_XSD + t for t in ("integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger",
                                "nonPositiveInteger", "negativeInteger", "unsignedInt", "unsignedLong")}
_DECIMALS = {_XSD + "decimal", _XSD + "double", _XSD + "float"}
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


def xlsx_cell(b: Optional[Mapping[str, Any]]) -> Any:
    """The value a spreadsheet cell gets: numbers for numeric literals, otherwise the plain text."""
    if not b:
        return None
    dtype = b.get("datatype")
    try:
        if dtype in _INTEGERS:
            return int(b["value"])
        if dtype in _DECIMALS:
            return float(b["value"])
    except ValueError:
        pass
    return term_display(b) or None


def _put(ws: Any, row: int, col: int, value: Any, bold: bool = False) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text, even when it starts with '=' (no formula from the data)
    cell.alignment = _WRAP
    if bold:
        cell.font = _BOLD


def _widths(ws: Any, widths: list[int]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, min(60, w + 2))


def page_to_xlsx(page: ResultPage, *, title: str, description: str = "", url: str = "") -> bytes:
    """The page of results as an XLSX workbook (bytes)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Results"
    cols = reader_columns(page.columns)
    headers = ["No."] + [human_title(c) for c in cols]
    for j, h in enumerate(headers, start=1):
        _put(ws, 1, j, h, bold=True)
    widths = [len(h) for h in headers]
    for i, row in enumerate(page.rows, start=1):
        values = [i] + [xlsx_cell(row.get(c)) for c in cols]
        for j, v in enumerate(values, start=1):
            _put(ws, i + 1, j, v)
            widths[j - 1] = max(widths[j - 1], len(str(v)) if v is not None else 0)
    _widths(ws, widths)
    ws.freeze_panes = "B2"
    if page.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(page.rows) + 1}"

    src = wb.create_sheet("Sources")
    for j, h in enumerate(("No.", "For", "Source (document and place in it)"), start=1):
        _put(src, 1, j, h, bold=True)
    r = 2
    for i, row in enumerate(page.rows, start=1):
        for c in page.columns:
            if not is_sources(c):
                continue
            for text in term_display(row.get(c)).split(" | "):
                if text.strip():
                    what = "the row" if c == "sources" else human_title(c[: -len("Sources")])
                    for j, v in enumerate((i, what, text.strip()), start=1):
                        _put(src, r, j, v)
                    r += 1
    _widths(src, [6, 20, 120])
    src.freeze_panes = "A2"

    about = wb.create_sheet("About")
    facts = [("Question", title), ("Description", description),
             ("Parameters", "; ".join(f"{k} = {v}" for k, v in page.params.items()) or "none"),
             ("Rows", f"{len(page.rows)}, from row {page.offset + 1}"
                      + (" (more rows on the next page: raise limit= or use offset=)" if page.has_more else "")),
             ("Address", url), ("Data licence", "Open Government Licence v3.0")]
    for i, (k, v) in enumerate(facts, start=1):
        _put(about, i, 1, k, bold=True)
        _put(about, i, 2, v)
    _widths(about, [14, 100])

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
