"""A named-query job's outcome: the JSON body written where the page was made, or the page itself."""

from __future__ import annotations

import orjson

from kg.api.jobs import named_answer
from kg.query.registry import ResultPage, page_to_json


def _page() -> ResultPage:
    rows = [{"body": {"type": "uri", "value": "https://w3id.org/remit/id/body/cqc"},
             "label": {"type": "literal", "value": "Care Quality Commission – CQC", "xml:lang": "en"}},
            {"body": {"type": "bnode", "value": "b0"},
             "count": {"type": "literal", "value": "3", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}]
    return ResultPage(columns=["body", "label", "count"], rows=rows, limit=2, offset=4, has_more=True,
                      params={"body": "https://w3id.org/remit/id/body/cqc"})


def test_json_is_the_response_body():
    page = _page()
    out = named_answer(page, {"kind": "named", "format": "json", "name": "leads"})
    assert set(out) == {"status", "json"} and out["status"] == 200
    assert isinstance(out["json"], bytes)
    doc = orjson.loads(out["json"])
    assert doc == page_to_json(page, "leads")
    assert doc["query"] == "leads" and doc["page"] == {"limit": 2, "offset": 4, "count": 2, "hasMore": True}
    assert "Care Quality Commission – CQC" in out["json"].decode("utf-8")  # UTF-8, not \u escapes


def test_other_formats_get_the_page():
    page = _page()
    for fmt in ("csv", "xlsx", "html", None):
        out = named_answer(page, {"kind": "named", "format": fmt, "name": "leads"})
        assert out == {"status": 200, "page": page}
