"""The pure parts of the draft forms (kg.api.check_pages): which requests get a page, how messages are put in
plain English, how a draft error is split into its places, how form posts are read."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from kg.api.check_pages import MAX_FORM_PARTS, located_errors, plain, read_form, suggestions_labelled, wants_page
from kg.revision.draft import DraftError

LABELS = {"https://w3id.org/remit/id/body/hmi-probation": "HM Inspectorate of Probation",
          "https://w3id.org/remit/def/citedDocument": "cited document"}


def label(iri: str) -> str:
    return LABELS.get(iri, iri.rsplit("/", 1)[-1].replace("-", " "))


def _request(accept: str | None, query: str = "") -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request({"type": "http", "method": "POST", "path": "/check", "query_string": query.encode(),
                    "headers": headers})


@pytest.mark.parametrize("accept,query,page", [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", True),  # Chromium, Firefox
    (None, "", False), ("*/*", "", False), ("application/json", "", False),
    ("application/sarif+json, text/html;q=0.5", "", False), ("text/html;q=NaN", "", False),
    ("text/html", "format=json", False), ("text/html", "format=html", False),  # format=html stays a 400 (issue 15)
])
def test_a_page_only_for_a_browser(accept: str | None, query: str, page: bool) -> None:
    assert wants_page(_request(accept, query)) is page


def test_plain_english_has_labels_and_no_iris_or_prefixed_names() -> None:
    text = ('"Area 2" (agreement:x/area-2) names HM Inspectorate of Probation (body:hmi-probation) as lead; '
            "contact mailto:a@b.example, tel:+441234; review every P1Y; see https://w3id.org/remit/id/body/hmi-probation "
            "and {remit:citedDocument: doc x}")
    out = plain(text, label)
    assert out == ('"Area 2" names HM Inspectorate of Probation as lead; contact a@b.example, +441234; review every '
                   "1 year; see HM Inspectorate of Probation and {cited document: doc x}")
    assert plain("Validation: status: in force at 12:30", label) == "Validation: status: in force at 12:30"


def test_suggestions_say_what_they_name_and_keep_what_the_author_wrote() -> None:
    msg = "unknown body body:hmi-probaton: not in the graph — did you mean body:hmi-probation or body:x-y?"
    assert suggestions_labelled(msg, label) == ("unknown body body:hmi-probaton: not in the graph — did you mean "
                                               "body:hmi-probation (HM Inspectorate of Probation) or body:x-y?")


def test_a_draft_error_becomes_one_entry_per_place_with_its_line() -> None:
    text = "a: 1\nb: [\nc: 'x\n"
    exc = DraftError("draft.yaml", "first problem\ndraft.yaml:3:4: second problem", 2, 4)
    errors = located_errors(exc, text)
    assert [(e.line, e.column, e.message, e.source, e.caret) for e in errors] == [
        (2, 4, "first problem", "b: [", "   ^"), (3, 4, "second problem", "c: 'x", "   ^")]
    opened = located_errors(DraftError("d.yaml", "the '[' opened at line 1, column 2 is not closed", 3, 1), text)[0]
    assert opened.opened is not None and (opened.opened.line, opened.opened.source) == (1, "a: 1")


def test_form_posts_are_read_and_bounded() -> None:
    fields = asyncio.run(read_form("application/x-www-form-urlencoded", b"draft=a%0D%0Ab&asOf="))
    assert fields["draft"].text == "a\nb" and fields["asOf"].text == ""
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="x.yaml"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\nid: x\r\n--B--\r\n")
    f = asyncio.run(read_form("multipart/form-data; boundary=B", body))["file"]
    assert (f.text, f.filename) == ("id: x", "x.yaml")
    many = b"".join(b'--B\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % i
                    for i in range(MAX_FORM_PARTS + 1)) + b"--B--\r\n"
    with pytest.raises(ValueError, match="parts"):
        asyncio.run(read_form("multipart/form-data; boundary=B", many))
    with pytest.raises(ValueError):
        asyncio.run(read_form("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(20)).encode()))
    with pytest.raises(ValueError, match="not UTF-8"):
        asyncio.run(read_form("multipart/form-data; boundary=B", body.replace(b"id: x", b"\xff\xfe")))
