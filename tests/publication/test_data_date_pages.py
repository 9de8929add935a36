"""Over HTTP and on the pages, ``asOf`` defaults to the build's data date (``id:dataset remit:dataDate``), not the
clock: ``GET /queries/NAME`` with no ``asOf`` gives the rows of ``asOf=<data date>``, says which date it used,
and is cached like any deterministic answer; the pages judge statuses on the same day and say so. On the
session's server over the real build (tests/publication/conftest.py); the CLI is tests/query/test_data_date.py."""

from __future__ import annotations

from pathlib import Path

import httpx

from kg.rdf import datadate
from kg.rdf.store import open_store


def _day(real_store: Path) -> str:
    return datadate.data_date(open_store(real_store)).isoformat()


def _rows(answer: dict) -> list[dict]:
    """The rows, with `` | ``-joined cells (GROUP_CONCAT, whose order SPARQL leaves open) as sorted parts."""
    return [{k: (v["type"], tuple(sorted(v["value"].split(" | "))), v.get("datatype")) for k, v in row.items()}
            for row in answer["results"]["bindings"]]


def test_http_without_asof_is_the_data_date_and_cached(real_server: str, real_store: Path) -> None:
    data_day = _day(real_store)
    with httpx.Client(base_url=real_server, timeout=120) as client:
        for name, extra in (("npm-membership", {}), ("reviews-due", {}),
                            ("establishment", {"establishment": "setting:parc"})):
            default = client.get(f"/queries/{name}", params={**extra, "format": "json", "limit": "1000"})
            given = client.get(f"/queries/{name}", params={**extra, "asOf": data_day, "format": "json",
                                                          "limit": "1000"})
            assert default.status_code == given.status_code == 200, default.text
            d, g = default.json(), given.json()
            assert d["params"]["asOf"] == data_day
            assert _rows(d) == _rows(g) and d["page"]["count"] > 0, name
        # deterministic now: the same request again is answered from the response cache
        again = client.get("/queries/npm-membership", params={"format": "json", "limit": "1000"})
        assert again.headers.get("Remit-Cache") == "hit"
        d = again.json()
        early = client.get("/queries/npm-membership", params={"format": "json", "asOf": "2008-06-01"}).json()
        assert early["params"]["asOf"] == "2008-06-01" and _rows(early) != _rows(d)


def test_pages_judge_statuses_on_the_data_date(real_server: str, real_store: Path) -> None:
    day = _day(real_store)
    text = httpx.get(real_server + "/id/agreement/hmi-probation-cqc-yot.html", timeout=60).text
    assert f'datetime="{day}"' in text
    assert "the date of the data: the latest date any of its sources states" in text
