"""Schemathesis against Remit's own OpenAPI document (/openapi.json of the real app, every route): no
server error other than the documented 503, no undocumented status code, content type or JSON shape.
Examples are limited so the run stays well under a minute."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

pytestmark = pytest.mark.timeout(180)


CHECKS = [checks.status_code_conformance, checks.content_type_conformance, checks.response_schema_conformance]


def test_every_route_keeps_its_contract(server):
    from .conftest import LEAK

    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 5
    tried: dict[str, int] = {}
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case) -> None:
            response = case.call(base_url=server.url, timeout=30)
            tried[op.label] = tried.get(op.label, 0) + 1
            assert response.status_code < 500 or response.status_code == 503, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")
            if response.status_code >= 400:
                assert not LEAK.search(response.text), response.text[:300]
            case.validate_response(response, checks=CHECKS)

        run()
    assert len(tried) == len(operations), tried


def test_document_declares_the_real_contract(server):
    import httpx

    doc = httpx.get(server.url + "/openapi.json", timeout=10).json()
    ops = {(m, p) for p, o in doc["paths"].items() for m in o}
    assert ("get", "/sparql") in ops and ("post", "/sparql") in ops and ("get", "/health") in ops
    for (m, p) in ops:
        responses = doc["paths"][p][m]["responses"]
        assert "422" not in responses and {"400", "503"} <= set(responses), (m, p)
    post = doc["paths"]["/sparql"]["post"]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "application/sparql-query"} <= set(post)
