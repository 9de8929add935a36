"""The forms for people revising an agreement (issue 14), over a real `kg serve` (uvicorn) on the real build:
GET /check and GET /diff are forms; a browser's post (form encodings, Accept text/html) gets the report or the
diff as a page, grouped by agreement and area, each finding at its line, with labels and never raw IRIs or
prefixed names; bad input is a 4xx page with the form filled again; machine answers are unchanged. The same
draft's JSON report is the oracle for the page."""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from typing import Any, Iterator, Optional

import httpx
import pytest

from support.browser import ARTIFACTS
from support.realbuild import ROOT, ensure_real_build

from .conftest import Server, start, stop

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
EXAMPLE = ROOT / "examples" / "hmi-probation-cqc-yot-revision.yaml"
THREE = ROOT / "tests" / "revision" / "fixtures" / "three-mistakes.yaml"
YOT = "agreement:hmi-probation-cqc-yot"
MAX_BODY = 262144
#: What must never be shown to people in a report or a diff: full IRIs and the project's prefixed names.
RAW = re.compile(r"https?://|\b(?:body|fn|st|jur|agreement|rsh|rule|remit|doc|status|id|vcard|rdfs|owl|skos|dcterms):[A-Za-z]")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store = tmp_path_factory.mktemp("forms") / "store"
    shutil.copytree(ensure_real_build() / "store", store)  # a copy: a rebuild elsewhere cannot change it mid-test
    s = start(store, tmp_path_factory.mktemp("log"), REMIT_MAX_BODY_BYTES=str(MAX_BODY),
              REMIT_QUERIES_DIR=str(ROOT / "queries"))
    yield s
    stop(s)


# ------------------------------------------------------------------------------------------ a small DOM

class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Optional["Node"]):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []  # type: list[Any]

    def text(self, skip: tuple[str, ...] = ()) -> str:
        return "".join(c if isinstance(c, str) else "" if c.tag in skip else c.text(skip) for c in self.children)

    def words(self) -> str:
        """The text people read as Remit's words: without the excerpts of their own draft (``pre``)."""
        return self.text(skip=("pre", "textarea"))

    def all(self, tag: Optional[str] = None, **attrs: str) -> list["Node"]:
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and all(
                        (v in c.attrs.get(k.rstrip("_"), "").split()) if k == "class_" else c.attrs.get(k) == v
                        for k, v in attrs.items()):
                    out.append(c)
                out += c.all(tag, **attrs)
        return out

    def one(self, tag: Optional[str] = None, **attrs: str) -> "Node":
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


_VOID = {"meta", "link", "input", "br", "img", "hr"}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in _VOID:
            self.cur = node

    def handle_endtag(self, tag: str) -> None:
        n: Optional[Node] = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data: str) -> None:
        self.cur.children.append(data)


def dom(text: str) -> Node:
    p = _Parser()
    p.feed(text)
    return p.root


def _post_check(server: Server, fields: dict[str, str], files: Optional[dict[str, Any]] = None,
                headers: Optional[dict[str, str]] = None) -> httpx.Response:
    return httpx.post(server.url + "/check", data=fields, files=files, headers=headers or BROWSER, timeout=120)


# ------------------------------------------------------------------------------------------ the check form

def test_get_check_is_a_form_with_the_agreements_of_the_graph(real: Server) -> None:
    r = httpx.get(real.url + "/check", headers=BROWSER, timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    page = dom(r.text)
    form = page.one("form", class_="draft-form")
    assert form.attrs["method"] == "post" and form.attrs["enctype"] == "multipart/form-data"
    assert form.one("textarea").attrs["name"] == "draft"
    assert form.one("input", type="file").attrs["name"] == "file"
    options = {o.attrs["value"]: o.text() for o in form.one("select", name="replaces").all("option")}
    assert options[YOT] == "HMI Probation–CQC memorandum of understanding on YOT inspections"
    assert options[""].startswith("None")
    assert form.one("input", type="date").attrs["name"] == "asOf"
    assert "<script" not in r.text  # works without JavaScript, under the CSP
    home = dom(httpx.get(real.url + "/", headers=BROWSER, timeout=60).text)
    nav = home.one("nav", **{"aria-label": "Main"})
    assert [a.attrs["href"] for a in nav.all("a") if a.text() == "Check a draft"] == ["check"]
    assert {a.attrs["href"] for a in home.one("main").all("a") if a.text() == "Check a draft"} == {"check"}


def _report_section(text: str) -> Node:
    return dom(text).one("section", id="report")


def test_the_example_revision_posted_as_a_form_shows_its_findings_by_area_at_their_lines(real: Server) -> None:
    draft = EXAMPLE.read_text(encoding="utf-8")
    fields = {"draft": draft, "format": "auto", "replaces": YOT, "asOf": "2025-01-01"}
    r = _post_check(real, fields)  # application/x-www-form-urlencoded, as a browser sends a form
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["remit-check-status"] == "fail"
    # the oracle: the same draft's machine report (JSON), unchanged by the pages
    js = httpx.post(real.url + "/check", content=draft.encode(), timeout=120,
                    params={"replaces": YOT, "asOf": "2025-01-01", "name": "draft.yaml"},
                    headers={"Content-Type": "application/yaml"})
    assert js.status_code == 200 and js.headers["content-type"] == "application/json"
    report = js.json()
    assert report["counts"]["Violation"] >= 1

    section = _report_section(r.text)
    counts = {li.attrs["data-severity"]: li.text() for li in section.all("li", class_="tag")}
    assert counts == {"Violation": f"{report['counts']['Violation']} violation{'s' if report['counts']['Violation'] != 1 else ''}",
                      "Warning": f"{report['counts']['Warning']} warnings", "Info": f"{report['counts']['Info']} notes"}
    groups = section.all("section", class_="finding-group")
    assert [g.one("h3").text() for g in groups] == ["HMI Probation–CQC memorandum of understanding on YOT inspections"]
    areas = {a.one("h4").text(): a for a in groups[0].all("div", class_="area-group")}
    assert {"The agreement as a whole", "HMI Probation–CQC YOT MoU, area 2: reviews, studies and reports",
            "HMI Probation–CQC YOT MoU, area 3: advice and information"} <= set(areas)
    findings = section.all("li", class_="finding")
    assert len(findings) == len(report["findings"])
    # every finding of the JSON report is on the page, under its area, at its line
    for f in report["findings"]:
        title = f.get("areaLabel") or f.get("area_label")
        where = f"draft.yaml:{f['line']}:{f['column']}"
        box = areas[f["area_label"]] if f.get("area_label") else areas["The agreement as a whole"]
        assert any(where in li.text() and f"Line {f['line']}, column {f['column']}" in li.text()
                   for li in box.all("li", class_="finding")), (title, where)
    area3 = areas["HMI Probation–CQC YOT MoU, area 3: advice and information"].one("li", class_="finding")
    assert "finding-violation" in area3.attrs["class"]
    assert "names no lead body for this area of joint work" in area3.text()
    assert "- id: yot:area-3" in area3.one("pre").text()  # the author's own line, shown under the finding
    area2 = areas["HMI Probation–CQC YOT MoU, area 2: reviews, studies and reports"].text()
    assert "The lead body HM Inspectorate of Probation holds no recorded responsibility" in area2
    # plain English: labels, no IRIs and no prefixed names anywhere in the report (the e-mail address reads as one)
    visible = section.words()
    assert not RAW.search(visible), RAW.search(visible)
    assert "mailto:" not in visible and "yot-joint-work@cqc.example" in visible
    # the impact, as in the JSON report
    impact = section.one("section", id="impact")
    dup = impact.one("div", **{"data-impact": "duplications"}).one("h4").text()
    d = report["impact"]["duplications"]
    assert dup == f"Duplicated work with no lead: {d['before']} before, {d['after']} after"
    # the form, filled again with what was sent
    form = dom(r.text).one("form", class_="draft-form")
    assert html.unescape(form.one("textarea").text()) == draft
    assert form.one("option", value=YOT).attrs.get("selected") is not None
    assert form.one("input", type="date").attrs["value"] == "2025-01-01"


def test_three_mistakes_uploaded_as_a_file_are_each_shown_at_their_line(real: Server) -> None:
    text = THREE.read_text(encoding="utf-8")
    r = _post_check(real, {"draft": "", "replaces": YOT, "asOf": "2025-01-01"},
                    files={"file": ("three-mistakes.yaml", text.encode(), "application/octet-stream")})
    assert r.status_code == 400, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    box = dom(r.text).one("div", id="errors")
    errors = box.all("li", class_="located-error")
    assert [e.one("p", class_="where").text().split(" (")[0] for e in errors] == \
        ["Line 10, column 1", "Line 13, column 3", "Line 20, column 3"]
    assert "three-mistakes.yaml:13:3" in errors[1].text()
    assert "unknown body body:hmi-probaton" in errors[1].text()
    assert "did you mean body:hmi-probation (HM Inspectorate of Probation)" in errors[1].text()
    excerpt = errors[1].one("pre").text().split("\n")
    assert excerpt[0].split() == ["13", "-", "body:hmi-probaton"] and excerpt[1].index("^") == excerpt[0].index("body:")
    assert "owl:sameAs is not a term of Remit's vocabulary" in errors[0].text()
    assert "fn:inspecton" in errors[2].text() and "- fn:inspecton" in errors[2].one("pre").text()
    # the uploaded file is put in the box, so the person can fix it there
    assert html.unescape(dom(r.text).one("textarea").text()) == text


def test_invalid_yaml_is_a_400_page_with_its_place_and_the_pasted_text_back(real: Server) -> None:
    bad = "id: agreement:x\ntype: MemorandumOfUnderstanding\nparty: [body:cqc,\nlabel: 'never closed\n"
    r = _post_check(real, {"draft": bad, "format": "yaml"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    page = dom(r.text)
    err = page.one("div", id="errors").one("li", class_="located-error")
    where = err.all("p", class_="where")[0].text()
    assert re.match(r"Line \d+, column \d+ \(draft\.yaml:\d+:\d+\)", where), where
    assert "not valid YAML" in err.text()
    assert "Opened at line 4, column 8" in err.text() or "opened at line 3" in err.text()
    assert html.unescape(page.one("textarea").text()) == bad
    assert page.one("option", value="yaml").attrs.get("selected") is not None
    # a browser sends the box's lines with CRLF: the same place, the same text back
    again = dom(_post_check(real, {"draft": bad.replace("\n", "\r\n"), "format": "yaml"}).text)
    assert again.one("div", id="errors").one("li", class_="located-error").all("p", class_="where")[0].text() == where
    assert html.unescape(again.one("textarea").text()) == bad


def test_bad_input_on_the_form_is_a_4xx_page_never_a_500(real: Server) -> None:
    r = _post_check(real, {"draft": "", "format": "auto"})
    assert r.status_code == 400 and "Paste a draft" in dom(r.text).one("div", id="problem").text()
    r = _post_check(real, {"draft": "id: x", "asOf": "0001-01-01"})
    assert r.status_code == 400 and "as-of date" in dom(r.text).one("div", id="problem").text()
    assert html.unescape(dom(r.text).one("textarea").text()) == "id: x"
    r = _post_check(real, {"draft": "x", "bogus": "1"})
    assert r.status_code == 400 and "bogus" in r.text
    big = "# " + "x" * (MAX_BODY + 10)
    r = _post_check(real, {"draft": big})
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "too large" in dom(r.text).one("div", id="problem").text()
    r = httpx.post(real.url + "/check", files={"file": ("big.yaml", big.encode())}, headers=BROWSER, timeout=60)
    assert r.status_code == 413 and "at most 262,144 bytes" in r.text


def test_the_turtle_twin_pasted_with_its_syntax_worked_out_gets_the_same_findings(real: Server) -> None:
    fields = {"replaces": YOT, "asOf": "2025-01-01", "format": "auto"}
    yaml_page = _report_section(_post_check(real, {**fields, "draft": EXAMPLE.read_text(encoding="utf-8")}).text)
    r = _post_check(real, {**fields, "draft": EXAMPLE.with_suffix(".ttl").read_text(encoding="utf-8")})
    assert r.status_code == 200, r.text[:2000]
    ttl_page = _report_section(r.text)
    assert "draft.ttl (Turtle," in ttl_page.one("dl").text()

    def findings(section: Node) -> list[tuple[str, str]]:
        return sorted((a.one("h4").text(), li.all("p")[0].text()) for a in section.all("div", class_="area-group")
                      for li in a.all("li", class_="finding"))
    assert findings(ttl_page) == findings(yaml_page) != []


def test_machine_answers_are_unchanged(real: Server) -> None:
    draft = EXAMPLE.read_bytes()
    r = httpx.post(real.url + "/check", content=draft, headers={"Content-Type": "application/yaml"},
                   params={"replaces": YOT, "asOf": "2025-01-01", "format": "sarif"}, timeout=120)
    assert r.status_code == 200 and r.json()["version"] == "2.1.0"
    r = httpx.post(real.url + "/check", data={"draft": "x"}, timeout=30)  # a form without a browser: as before
    assert r.status_code == 415
    r = httpx.post(real.url + "/diff", files={"old": ("old.yaml", (ROOT / "examples" / "hmi-probation-cqc-yot.yaml").read_bytes()),
                                              "new": ("new.yaml", draft)}, timeout=120)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["agreements"][0]["change"] == "changed"


def test_post_diff_never_reads_a_path_on_the_server(real: Server) -> None:
    """Found while building the diff form: a side given as a string was read as a file when one existed
    (``{"old": "/etc/hostname"}`` answered "a draft is a mapping", a missing one "no such file", and any YAML or
    Turtle file the server could read was diffed and shown)."""
    example = str(ROOT / "examples" / "hmi-probation-cqc-yot.yaml")
    for ref in ("/etc/hostname", example, "data", "README.md"):
        r = httpx.post(real.url + "/diff", json={"old": ref, "new": YOT}, timeout=60)
        assert r.status_code == 400 and "no agreement" in r.text, (ref, r.text)
        assert "a draft is a mapping" not in r.text and "no such file" not in r.text
    files = {"old": (None, example, "text/plain"), "new": ("new.yaml", EXAMPLE.read_bytes())}
    r = httpx.post(real.url + "/diff", files=files, timeout=60)
    assert r.status_code == 400 and "no agreement" in r.text


# ------------------------------------------------------------------------------------------ the diff form

def test_get_diff_is_a_form(real: Server) -> None:
    r = httpx.get(real.url + "/diff", headers=BROWSER, timeout=60)
    assert r.status_code == 200
    form = dom(r.text).one("form", class_="draft-form")
    assert {t.attrs["name"] for t in form.all("textarea")} == {"oldText", "newText"}
    assert YOT in {o.attrs["value"] for o in form.one("select", name="oldAgreement").all("option")}


def test_diff_form_with_the_agreement_in_the_graph_as_old_version_shows_the_domain_diff(real: Server) -> None:
    r = httpx.post(real.url + "/diff", data={"oldAgreement": YOT, "oldText": "", "newAgreement": ""},
                   files={"newFile": ("revision.yaml", EXAMPLE.read_bytes(), "application/octet-stream")},
                   headers=BROWSER, timeout=120)
    assert r.status_code == 200, r.text[:2000]
    section = dom(r.text).one("section", id="diff")
    article = section.one("article")
    assert article.attrs["data-change"] == "changed"
    assert article.one("h3").text().startswith("HMI Probation–CQC memorandum of understanding on YOT inspections")
    sections = {s.one("h4").text(): s.text() for s in article.all("section", class_="diff-section")}
    assert "Last reviewed" in sections["Dates and status"] and "2024-03-15" in sections["Dates and status"]
    assert "HMI Probation–CQC YOT MoU, area 2: reviews, studies and reports" in sections["Lead changes"]
    assert "HM Inspectorate of Probation" in sections["Lead changes"]
    assert "Youth Justice Joint Inspection Lead (fictional)" in sections["Contact points"]
    assert "cited document:" in sections["Contact points"]  # a citation reads as words, not remit:citedDocument
    visible = section.words()
    assert not RAW.search(visible), RAW.search(visible)
    form = dom(r.text).one("form", class_="draft-form")
    assert form.one("select", name="oldAgreement").one("option", value=YOT).attrs.get("selected") is not None
    assert form.one("select", name="newAgreement").one("option", value=YOT).attrs.get("selected") is None


def test_diff_form_refuses_what_is_not_an_agreement_and_shows_a_bad_draft_at_its_line(real: Server) -> None:
    for ref in ("/etc/hostname", "agreement:no-such-agreement", str(EXAMPLE)):
        r = httpx.post(real.url + "/diff", data={"oldAgreement": ref, "newText": "id: x"}, headers=BROWSER, timeout=60)
        assert r.status_code == 400 and "has no agreement named" in r.text, ref
    r = httpx.post(real.url + "/diff", data={"oldAgreement": YOT, "newText": "id: agreement:x\nparty: [body:cqc\n"},
                   headers=BROWSER, timeout=60)
    assert r.status_code == 400
    box = dom(r.text).one("div", id="errors")
    assert "The new version could not be read" in box.text() and "Line " in box.text()
    assert html.unescape(dom(r.text).one("textarea", name="newText").text()) == "id: agreement:x\nparty: [body:cqc\n"
    r = httpx.post(real.url + "/diff", data={"oldText": ""}, headers=BROWSER, timeout=60)
    assert r.status_code == 400 and "Choose the old version" in r.text


# ------------------------------------------------------------------------------------------ in a browser

def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    return problems


def test_a_person_pastes_a_draft_into_the_form_and_sees_its_findings(real: Server, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)
    page.goto(real.url + "/", wait_until="load")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Check a draft").click()
    page.wait_for_url("**/check")
    assert page.get_by_role("heading", level=1).inner_text() == "Check a draft agreement"
    page.get_by_label("Paste the draft").fill(EXAMPLE.read_text(encoding="utf-8"))
    page.get_by_label("The agreement it replaces").select_option(YOT)
    page.get_by_label("As of").fill("2025-01-01")
    page.get_by_role("button", name="Check the draft").click()
    page.wait_for_selector("#report", timeout=120_000)
    report = page.locator("#report")
    assert report.get_by_role("heading", name="HMI Probation–CQC YOT MoU, area 3: advice and information").is_visible()
    area3 = report.locator(".area-group", has=page.get_by_role("heading", name="HMI Probation–CQC YOT MoU, area 3: advice and information"))
    assert "names no lead body for this area of joint work" in area3.inner_text()
    assert "Line 113, column 3" in area3.inner_text()
    assert report.locator("li.finding").count() >= 2
    words = page.evaluate("""() => { const r = document.querySelector('#report').cloneNode(true);
        r.querySelectorAll('pre').forEach(p => p.remove()); return r.innerText; }""")
    assert "HMI Probation" in words and not RAW.search(words), RAW.search(words)
    assert page.get_by_label("Paste the draft").input_value() == EXAMPLE.read_text(encoding="utf-8")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, width  # nothing runs off the side of a laptop screen
    page.screenshot(path=str(ARTIFACTS / "check-report.png"), full_page=True)

    # a draft with three mistakes: each shown at its line, the text kept in the box
    page.get_by_label("Paste the draft").fill(THREE.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Check the draft").click()
    page.wait_for_selector("#errors", timeout=120_000)
    errors = page.locator("#errors li.located-error")
    assert errors.count() == 3
    assert errors.nth(1).locator(".where").inner_text().startswith("Line 13, column 3")
    assert "body:hmi-probaton" in errors.nth(1).inner_text()
    page.screenshot(path=str(ARTIFACTS / "check-errors.png"), full_page=True)
    assert not problems, problems
    page.close()


def test_a_person_compares_the_agreement_in_the_graph_with_a_pasted_revision(real: Server, browser: Any) -> None:
    """With JavaScript switched off: the forms need none."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    problems = _watch(page)
    page.goto(real.url + "/diff", wait_until="load")
    page.locator("#oldAgreement").select_option(YOT)
    page.locator("#newText").fill(EXAMPLE.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector("#diff", timeout=120_000)
    leads = page.locator(".diff-section", has=page.get_by_role("heading", name="Lead changes"))
    assert "HMI Probation–CQC YOT MoU, area 2: reviews, studies and reports" in leads.inner_text()
    assert "HM Inspectorate of Probation" in leads.inner_text()
    assert not RAW.search(page.locator("#diff").inner_text())
    page.screenshot(path=str(ARTIFACTS / "diff.png"), full_page=True)
    assert not problems, problems
    context.close()
