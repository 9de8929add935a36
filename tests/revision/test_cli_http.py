"""kg check / kg diff on the command line and POST /check, POST /diff on a real server give the same answers;
bad drafts are located errors (exit 2 / 400); refusals fetch nothing; past the deadline: exit 2 / 503; the
served store is never altered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kg.revision.check import CheckResult, render_check
from support.probes import Canary, store_fingerprint

ROOT = Path(__file__).resolve().parents[2]
REVISION = "examples/hmi-probation-cqc-yot-revision.yaml"
YOT = "https://w3id.org/remit/id/agreement/hmi-probation-cqc-yot"


def kg(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def key(findings: list[dict]) -> list[tuple]:
    return sorted((f["severity"], f["check"], f["focus"], f["message"], f.get("line"), f.get("contact"))
                  for f in findings)


@pytest.fixture(scope="module")
def cli_check() -> tuple[int, dict]:
    p = kg("check", REVISION, "--replaces", "agreement:hmi-probation-cqc-yot", "--as-of", "2025-01-01",
           "--format", "json", "--fail-on", "violation")
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, json.loads(p.stdout)


def test_cli_check_of_the_revision(cli_check: tuple[int, dict]) -> None:
    code, data = cli_check
    by = {(f["check"], f["focus"].rsplit("/", 1)[-1]) for f in data["findings"]}
    assert code == 1  # area 3 names no lead: a violation
    assert ("rsh:AreaOfJointWorkShape-leadBody", "area-3") in by
    assert ("rsh:AreaOfJointWorkShape-leadBody", "area-2") not in by  # the revision names a lead for area 2
    assert ("rule:stale-contact", "contact-cqc") not in by  # new contacts, dated 2024-03
    assert ("rule:stale-contact", "contact-public-cqc") in by  # unchanged since 2011-11
    assert not any(c == "rule:review-overdue" for c, _ in by)  # reviewed 2024-03-15, due 2025-03-15
    area3 = next(f for f in data["findings"] if f["focus"].endswith("/area-3"))
    lines = (ROOT / REVISION).read_text().splitlines()
    assert lines[area3["line"] - 1].strip() == "- id: yot:area-3"
    assert data["draft"]["replaces"] == YOT and data["draft"]["removedTriples"] > 600
    assert set(data["impact"]) == {"overlaps", "duplications"}
    leads = {f["focus"].rsplit("/", 1)[-1]: f for f in data["findings"] if f["check"] == "rule:lead-without-function"}
    assert "Example Contact A (fictional)" in leads["lead-rule-2"]["contact"]  # CQC leads lead rule 2: CQC's contact
    assert "Example Contact B (fictional)" in leads["area-2"]["contact"]  # HMI Probation, the new lead of area 2


def test_http_check_matches_cli_and_leaves_the_store_alone(server, cli_check: tuple[int, dict]) -> None:
    before = store_fingerprint(server.store)
    text = (ROOT / REVISION).read_text()
    r = httpx.post(server.url + "/check", content=text.encode(), timeout=300,
                   params={"replaces": "agreement:hmi-probation-cqc-yot", "asOf": "2025-01-01", "name": REVISION},
                   headers={"Content-Type": "application/yaml", "Accept": "application/json"})
    assert r.status_code == 200, r.text
    assert r.headers["remit-check-status"] == "fail"
    assert key(r.json()["findings"]) == key(cli_check[1]["findings"])
    assert r.json()["impact"] == cli_check[1]["impact"]
    # the same draft as a JSON body, answered as SARIF
    r2 = httpx.post(server.url + "/check", timeout=300, headers={"Accept": "application/sarif+json"},
                    json={"draft": text, "format": "yaml", "name": REVISION, "replaces": "agreement:hmi-probation-cqc-yot",
                          "asOf": "2025-01-01"})
    assert r2.status_code == 200 and r2.headers["content-type"].startswith("application/sarif+json")
    check_sarif(r2.json(), len(cli_check[1]["findings"]))
    assert store_fingerprint(server.store) == before
    assert httpx.get(server.url + "/sparql", params={"query": "ASK { ?s ?p \"Example Contact A (fictional)\" }"},
                     headers={"Accept": "application/sparql-results+json"}).json()["boolean"] is False


def check_sarif(sarif: dict, n: int) -> None:
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] and all("id" in r for r in rules)
    assert len(run["results"]) == n
    for res in run["results"]:
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        phys = res["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"]["uri"] == REVISION
        if "region" in phys:
            assert phys["region"]["startLine"] >= 1


def test_sarif_and_turtle_renderings(cli_check: tuple[int, dict]) -> None:
    result = CheckResult.from_json(cli_check[1])
    check_sarif(json.loads(render_check(result, "sarif")), len(result.items))
    from rdflib import Graph
    from rdflib.namespace import SH

    g = Graph().parse(data=render_check(result, "turtle"), format="turtle")
    results = list(g.subjects(None, SH.ValidationResult))
    assert len(results) == len(result.items)
    rule_results = [r for r in results if g.value(r, SH.sourceConstraint) is not None]
    assert rule_results and all(str(g.value(r, SH.sourceConstraint)).startswith("https://w3id.org/remit/shapes/rule/")
                                for r in rule_results)
    assert "Impact on the graph" in render_check(result, "text")


BAD = {
    "turtle": ("@prefix remit: <https://w3id.org/remit/def/> .\n<https://w3id.org/remit/id/agreement/x> remit:party .\n",
               "text/turtle", 2),
    "json-ld": ('{\n  "@id": "https://w3id.org/remit/id/agreement/x",\n  "party": [}\n', "application/ld+json", 3),
    "yaml": ("id: agreement:x\nparty: [body:cqc\nlabel: x\n", "application/yaml", 3),
}


@pytest.mark.parametrize("fmt", sorted(BAD))
def test_malformed_drafts_are_located_errors(server, fmt: str, tmp_path: Path) -> None:
    text, media, line = BAD[fmt]
    r = httpx.post(server.url + "/check", content=text.encode(), timeout=60,
                   headers={"Content-Type": media, "Accept": "application/problem+json, application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["line"] == line and r.json()["column"] >= 1
    suffix = {"turtle": ".ttl", "json-ld": ".jsonld", "yaml": ".yaml"}[fmt]
    f = tmp_path / f"bad{suffix}"
    f.write_text(text)
    p = kg("check", str(f))
    assert p.returncode == 2 and f"{f}:{line}:" in p.stderr, p.stderr


def test_refusals_fetch_nothing(server) -> None:
    canary = Canary()
    base = f"http://127.0.0.1:{canary.port}"
    try:
        drafts = [
            (json.dumps({"@context": base + "/ctx.jsonld", "@id": "https://w3id.org/remit/id/agreement/x",
                         "party": "body:cqc"}), "application/ld+json"),
            (json.dumps({"@context": [{"@import": base + "/ctx.jsonld"}], "@id": "https://w3id.org/remit/id/agreement/x"}),
             "application/ld+json"),
            (f"'@context': {base}/ctx.jsonld\nid: agreement:x\n", "application/yaml"),
            (f"@prefix owl: <http://www.w3.org/2002/07/owl#> .\n<https://w3id.org/remit/id/agreement/x> owl:imports <{base}/o.ttl> .\n",
             "text/turtle"),
            (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF SYSTEM "{base}/x.dtd">\n<rdf:RDF/>\n', "text/turtle"),
            (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF SYSTEM "{base}/x.dtd">\n<rdf:RDF/>\n', "application/rdf+xml"),
        ]
        for text, media in drafts:
            r = httpx.post(server.url + "/check", content=text.encode(), timeout=60,
                           headers={"Content-Type": media, "Accept": "application/json"})
            assert r.status_code == 400, (media, r.text)
        r = httpx.post(server.url + "/diff", timeout=60, json={"old": "agreement:hmi-probation-cqc-yot",
                       "new": {"draft": drafts[0][0], "format": "json-ld"}})
        assert r.status_code == 400
    finally:
        canary.close()
    assert canary.hits == []


def test_limits(server) -> None:
    big = b"# " + b"x" * 300_000 + b"\n"
    r = httpx.post(server.url + "/check", content=big, headers={"Content-Type": "text/turtle"}, timeout=60)
    assert r.status_code == 413
    r = httpx.post(server.url + "/check", content=b"<p>hi</p>", headers={"Content-Type": "text/html"}, timeout=60)
    assert r.status_code == 415


def test_deadline(slow_server) -> None:
    text = (ROOT / REVISION).read_text()
    r = httpx.post(slow_server.url + "/check", content=text.encode(), timeout=60,
                   headers={"Content-Type": "application/yaml"})
    assert r.status_code == 503 and "Retry-After" in r.headers
    p = kg("check", REVISION, REMIT_CHECK_TIMEOUT="0.5")
    assert p.returncode == 2 and "within 0.5 s" in p.stderr
    assert httpx.get(slow_server.url + "/health", timeout=5).status_code == 200


def test_diff_cli_and_http_agree(server) -> None:
    p = kg("diff", "agreement:hmi-probation-cqc-yot", REVISION, "--format", "json", "--raw")
    assert p.returncode == 0, p.stderr
    cli = json.loads(p.stdout)
    (a,) = cli["agreements"]
    assert a["change"] == "changed"
    assert [c["iri"].rsplit("/", 1)[-1] for c in a["leadChanges"]] == ["area-2"]
    assert {c["field"] for c in a["datesAndStatus"]} == {"last reviewed"}
    changed = {c["iri"].rsplit("/", 1)[-1] for c in a["parts"]["contacts"]["changed"]}
    assert changed == {"contact-cqc", "contact-hmi-probation"}
    assert cli["raw"]["added"] and cli["raw"]["removed"]
    text = (ROOT / REVISION).read_text()
    r = httpx.post(server.url + "/diff", timeout=120, json={"old": "agreement:hmi-probation-cqc-yot", "raw": True,
                   "new": {"draft": text, "format": "yaml", "name": REVISION}})
    assert r.status_code == 200, r.text
    assert r.json() == cli
    files = {"old": ("hmi-probation-cqc-yot.yaml", (ROOT / "examples/hmi-probation-cqc-yot.yaml").read_bytes()),
             "new": (REVISION, text.encode())}
    r = httpx.post(server.url + "/diff", files=files, timeout=120, headers={"Accept": "text/markdown"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert "Lead changes" in r.text and "area 2" in r.text
