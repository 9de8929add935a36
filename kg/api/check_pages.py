"""Forms for people revising an agreement: ``GET /check`` and ``GET /diff`` are HTML forms; a browser's post
of them (``application/x-www-form-urlencoded`` or ``multipart/form-data``, with ``Accept: text/html``) gets the
check report or the diff as a page, in plain English.

:mod:`kg.api.check` keeps the machine answers (JSON, Turtle, SARIF, text, Markdown) and asks
:func:`wants_page` which one a request gets. This module reads the form fields (:func:`read_form`), turns a
:class:`~kg.revision.check.CheckResult` or a diff into what the templates ``check.html`` and ``diff.html``
show (findings grouped by agreement and area, each at its line of the draft; the impact; the diff's
sections), and writes the pages: labels instead of IRIs or prefixed names (:func:`plain`), the form filled
again with what the person sent, and errors (a located draft error, a too large body, a busy server) as
pages with their 4xx/503 status. No script: the forms work without JavaScript, under the site's
Content-Security-Policy (:mod:`kg.api.headers`).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from itertools import groupby
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse

from kg.api.conneg import parse_accept
from kg.findings.model import SEVERITIES
from kg.publication.plaintext import CURIE, plain_text
from kg.publication.site import Site
from kg.rdf.namespaces import PREFIXES

__all__ = ["wants_page", "read_form", "FormField", "FormTooLarge", "CheckForm", "DiffForm", "check_page",
           "diff_page", "plain", "located_errors", "drain", "MAX_FORM_PARTS"]

_HTML = ("text/html", "application/xhtml+xml")
#: What the machine answers of /check and /diff are asked for by.
_MACHINE = ("application/json", "text/turtle", "application/sarif+json", "text/plain", "text/markdown",
            "application/ld+json", "application/problem+json")
#: Most fields of a form post read (the diff form has seven); more: 400 before parsing.
MAX_FORM_PARTS = 12
_BOUNDARY = re.compile(r'boundary="?([^";,\s]+)"?', re.IGNORECASE)


def wants_page(request: Request) -> bool:
    """The client is a browser asking for a page: its Accept header names ``text/html`` at a q at least that
    of every machine format it names (browsers send ``text/html,…,*/*;q=0.8``). A missing Accept, ``*/*``, a
    machine type or a ``format`` parameter (a machine format, validated as before) keeps the machine answer."""
    if "format" in request.query_params:
        return False
    ranges = parse_accept(request.headers.get("accept"))
    html_q = max((q for rng, q, _ in ranges if rng in _HTML), default=0.0)
    machine_q = max((q for rng, q, _ in ranges if rng in _MACHINE), default=0.0)
    return html_q > 0 and html_q >= machine_q


@dataclass
class FormField:
    """One field of a form post: its text and, for a file input, the file's name (empty: no file chosen)."""

    text: str
    filename: Optional[str] = None
    content_type: str = "text/plain"


class FormTooLarge(ValueError):
    pass


async def read_form(ctype: str, body: bytes) -> dict[str, FormField]:
    """The fields of a form post (``application/x-www-form-urlencoded`` or ``multipart/form-data``).
    :class:`ValueError` for anything else, a body without a boundary, more than :data:`MAX_FORM_PARTS`
    parts, or a field that is not UTF-8."""
    media = ctype.split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the form is not UTF-8") from None
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_PARTS)
        return {k: FormField(v.replace("\r\n", "\n")) for k, v in pairs}  # browsers send a textarea's lines with CRLF
    if media != "multipart/form-data":
        raise ValueError("a form is sent as application/x-www-form-urlencoded or multipart/form-data")
    boundary = _BOUNDARY.search(ctype)
    if boundary is None:
        raise ValueError("the multipart body has no boundary parameter")
    sent = body.count(b"--" + boundary.group(1).encode("latin-1")) - 1
    if sent > MAX_FORM_PARTS:
        raise ValueError(f"the form has {sent} parts; at most {MAX_FORM_PARTS} are read")

    def parse() -> Any:
        return BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body)

    msg = await asyncio.get_running_loop().run_in_executor(None, parse)  # off the event loop
    out: dict[str, FormField] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"the field {name!r} is not UTF-8 text") from None
        out[str(name)] = FormField(text.replace("\r\n", "\n"), part.get_filename(), part.get_content_type())
    return out


async def drain(request: Request, limit: int) -> None:
    """Read and drop up to ``limit`` more bytes of a refused body, so that a browser still sending it reads
    the 413 page instead of a reset connection."""
    seen = 0
    while seen <= limit:
        message = await request.receive()
        if message.get("type") != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return


# ------------------------------------------------------------------------------------------ plain English

def plain(text: str, label: Callable[[str], str]) -> str:
    """``text`` (a finding's message, a diff's value) for people, every IRI as its label
    (:func:`kg.publication.plaintext.plain_text`)."""
    return plain_text(text, label)


@dataclass
class Located:
    """One located error of a draft, with the line of the draft it points at."""

    message: str
    line: Optional[int] = None
    column: Optional[int] = None
    file: str = ""
    source: Optional[str] = None  # the draft's line
    caret: str = ""  # spaces up to the column
    opened: Optional["Located"] = None  # where an unclosed bracket or quote opened


_MORE = re.compile(r"^.*?:(\d+):(\d+): (.*)$")
_OPENED = re.compile(r"opened at line (\d+), column (\d+)")


def located_errors(exc: Any, draft_text: str) -> list[Located]:
    """A :class:`~kg.revision.draft.DraftError` as one entry per error it names (the check lists every
    place in one message, a line each: ``name:line:column: message``), each with its line of the draft."""
    lines = draft_text.split("\n")
    first, *rest = str(exc.message).split("\n")
    where = str(getattr(exc, "where", "") or "")
    out = [Located(first, exc.line, exc.column, where)]
    for extra in rest:
        m = _MORE.match(extra)
        out.append(Located(m.group(3), int(m.group(1)), int(m.group(2)), where) if m else Located(extra))

    def excerpt(e: Located) -> None:
        if e.line and 0 < e.line <= len(lines):
            e.source = lines[e.line - 1][:300]
            e.caret = " " * max(0, min((e.column or 1) - 1, 300)) + "^"

    for e in out:
        excerpt(e)
        m = _OPENED.search(e.message)
        if m and int(m.group(1)) != e.line:
            e.opened = Located("opened here", int(m.group(1)), int(m.group(2)), where)
            excerpt(e.opened)
    return out


# ------------------------------------------------------------------------------------------ the forms

#: The draft syntaxes a person may choose (``auto``: from the file name, else a look at the text).
SYNTAXES = (("auto", "Work it out"), ("yaml", "YAML"), ("turtle", "Turtle"), ("json-ld", "JSON-LD"))


@dataclass
class CheckForm:
    """What the check form shows (and is filled again with after a post)."""

    draft: str = ""
    filename: str = ""
    syntax: str = "auto"
    replaces: str = ""
    as_of: str = ""


@dataclass
class DiffSide:
    text: str = ""
    filename: str = ""
    agreement: str = ""


@dataclass
class DiffForm:
    old: DiffSide = field(default_factory=DiffSide)
    new: DiffSide = field(default_factory=DiffSide)


def _site(request: Request) -> Site:
    pub = getattr(request.app.state, "publication", None)
    if pub is not None:
        return pub.site
    site = getattr(request.app.state, "check_pages_site", None)
    if site is None:  # kg serve --store URL: no local store; the pages only need the layout
        site = Site(request.app.state.settings)
        request.app.state.check_pages_site = site
    return site


_AGREEMENTS = """PREFIX remit: <https://w3id.org/remit/def/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?a WHERE { ?a a remit:Agreement . FILTER(isIRI(?a)) }"""


def agreements(request: Request) -> list[tuple[str, str]]:
    """``(prefixed name, label)`` of every agreement in the served graph, by label; none without a local store."""
    if getattr(request.app.state, "publication", None) is None:
        return []
    site = _site(request)
    ns = PREFIXES["agreement"]
    try:
        rows = site.select(_AGREEMENTS)
    except Exception:  # noqa: BLE001 — a store not ready yet: the form offers a text box instead
        return []
    out = {}
    for r in rows:
        iri = r["a"].value
        if iri.startswith(ns) and "/" not in iri[len(ns):]:
            out["agreement:" + iri[len(ns):]] = site.label(iri)
    return sorted(out.items(), key=lambda kv: (kv[1].lower(), kv[0]))


def _labeller(request: Request) -> Callable[[str], str]:
    """Labels from the served graph (as the pages show them); without a local store, readable local names."""
    pub = getattr(request.app.state, "publication", None)

    def label(iri: str) -> str:
        if pub is None:
            return _humanise(iri)
        try:
            text = pub.site.label(iri)
        except Exception:  # noqa: BLE001 — a store that cannot answer: a readable local name
            return _humanise(iri)
        return _humanise(iri) if text == iri or CURIE.fullmatch(text) else text
    return label


def _humanise(iri: str) -> str:
    local = re.split(r"[/#:]", iri.rstrip("/"))[-1]
    if re.search(r"[a-z][A-Z]", local):  # a vocabulary's term without a label: hasValue -> has value
        local = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).lower()
    return local.replace("-", " ").replace("_", " ") or iri


def _render(request: Request, template: str, page: str, status: int, **ctx: Any) -> HTMLResponse:
    html = _site(request).render(template, page, **ctx)
    return HTMLResponse(html, status_code=status)


# ------------------------------------------------------------------------------------------ check page

_SEVERITY_TEXT = {"Violation": "Must be fixed", "Warning": "Check this", "Info": "For information"}
_TAG = {"Violation": "violation", "Warning": "warning", "Info": "info"}


def _finding_view(i: Any, label: Callable[[str], str], lines: list[str]) -> dict[str, Any]:
    source = lines[i.line - 1][:300] if i.line and 0 < i.line <= len(lines) else None
    return {"severity": i.severity, "severity_text": _SEVERITY_TEXT[i.severity], "tag": _TAG[i.severity],
            "message": plain(i.message, label), "line": i.line, "column": i.column, "file": i.file,
            "source": source, "contact": plain(i.contact, label) if i.contact else None,
            "why": plain(i.check_summary, label) if i.check_summary else None}


def _row_view(r: dict[str, str], label: Callable[[str], str]) -> str:
    def name(key: str) -> str:
        if r.get(key + "Label"):
            return r[key + "Label"]
        return label(r[key]) if r.get(key) else ""

    text = f"{name('body1')} ({name('function1')}) and {name('body2')} ({name('function2')}) in {name('settingType')}"
    if r.get("jurisdiction") or r.get("jurisdictionLabel"):
        text += f", {name('jurisdiction')}"
    if r.get("agreement"):
        text += f": covered by {name('agreement')}"
        text += f", lead {name('lead')}" if r.get("lead") else ", no lead named"
    return text


def check_view(result: Any, label: Callable[[str], str], draft_text: str) -> dict[str, Any]:
    """The report as the page shows it: findings grouped by agreement, then area of joint work."""
    lines = draft_text.split("\n")
    items = sorted(result.items, key=lambda i: (i.agreement is None, i.agreement or "", i.area is not None,
                                                i.area or "", SEVERITIES.index(i.severity), i.line or 0, i.message))
    groups = []
    for agreement, members in groupby(items, key=lambda i: i.agreement):
        members = list(members)
        title = (members[0].agreement_label or label(agreement)) if agreement else "Not part of an agreement"
        areas = []
        for area, found in groupby(members, key=lambda i: i.area):
            found = list(found)
            areas.append({"title": (found[0].area_label or label(area)) if area else None,
                          "findings": [_finding_view(i, label, lines) for i in found]})
        groups.append({"title": plain(title, label), "areas": areas,
                       "count": len(members)})
    d = result.draft
    impact = []
    for key, title, verbs in (("duplications", "Duplicated work with no lead", ("resolved", "introduced")),
                              ("overlaps", "Overlaps covered by an agreement", ("no longer covered", "newly covered"))):
        imp = result.impact.get(key)
        if not imp:
            continue
        impact.append({"key": key, "title": title, "before": imp["before"], "after": imp["after"],
                       "lists": [{"verb": verb, "rows": [_row_view(r, label) for r in imp[k]]}
                                 for k, verb in zip(("resolved", "introduced"), verbs)]})
    counts = result.counts
    return {"file": d["file"], "syntax": {"yaml": "YAML", "turtle": "Turtle", "json-ld": "JSON-LD"}.get(d["format"], d["format"]),
            "triples": d["triples"], "replaces": label(d["replaces"]) if d.get("replaces") else None,
            "removed": d.get("removedTriples"), "as_of": d["asOf"], "cutoff": d["contactCutoff"],
            "counts": [{"severity": s, "tag": _TAG[s], "n": counts[s], "text": _count_text(counts[s], s)}
                       for s in SEVERITIES],
            "groups": groups, "impact": impact,
            "elsewhere": ", ".join(_count_text(result.elsewhere.get(s, 0), s) for s in SEVERITIES)
            if any(result.elsewhere.values()) else None}


def _count_text(n: int, severity: str) -> str:
    word = {"Violation": "violation", "Warning": "warning", "Info": "note"}[severity]
    return f"{n} {word}{'' if n == 1 else 's'}"


def suggestions_labelled(message: str, label: Callable[[str], str]) -> str:
    """A located error's suggestions with what they name: "did you mean body:hmi-probation (HM Inspectorate of
    Probation)?". The names the author wrote stay as written: they are what to change in the draft."""
    head, sep, tail = message.partition("did you mean ")
    if not sep:
        return message

    def named(m: re.Match[str]) -> str:
        text = label(PREFIXES[m.group(1)] + m.group(2))
        return m.group(0) if text == _humanise(PREFIXES[m.group(1)] + m.group(2)) else f"{m.group(0)} ({text})"
    return head + sep + CURIE.sub(named, tail)


def check_page(request: Request, form: CheckForm, status: int = 200, result: Any = None, fails: bool = False,
               errors: Optional[list[Located]] = None, problem: Optional[str] = None) -> HTMLResponse:
    """The check page: the form (filled with ``form``), and the report, the draft's located errors or a problem."""
    label = _labeller(request)
    for e in errors or []:
        e.message = suggestions_labelled(e.message, label)
    report = check_view(result, label, form.draft) if result is not None else None
    return _render(request, "check.html", "/check", status, title="Check a draft agreement", form=form,
                   syntaxes=SYNTAXES, agreements=agreements(request), report=report, fails=fails,
                   errors=errors, problem=problem)


# ------------------------------------------------------------------------------------------ diff page

_SECTIONS = (("areas", "Areas of joint work"), ("contacts", "Contact points"), ("review", "Review terms"),
             ("leadRules", "Lead rules"), ("signatures", "Signatures"))


def _value(x: str, label: Callable[[str], str]) -> str:
    """A diff value for people; a described blank node ``{remit:locator: …; …}`` reads ``(locator: …; …)``."""
    text = plain(x, label)
    return "(" + text[1:-1] + ")" if text.startswith("{") and text.endswith("}") else text


def _change(c: dict[str, Any], label: Callable[[str], str]) -> dict[str, Any]:
    field_name = plain(c["field"], label)
    if len(c["before"]) <= 1 and len(c["after"]) <= 1:
        return {"field": field_name, "before": [_value(x, label) for x in c["before"]],
                "after": [_value(x, label) for x in c["after"]]}
    return {"field": field_name, "added": [_value(x, label) for x in c["added"]],
            "removed": [_value(x, label) for x in c["removed"]]}


def _group(g: dict[str, list[Any]], label: Callable[[str], str]) -> dict[str, Any]:
    return {"added": [plain(x["label"], label) for x in g["added"]],
            "removed": [plain(x["label"], label) for x in g["removed"]],
            "changed": [{"label": plain(x["label"], label), "changes": [_change(c, label) for c in x["changes"]]}
                        for x in g["changed"]]}


def diff_view(data: dict[str, Any], label: Callable[[str], str]) -> dict[str, Any]:
    """The domain diff (:func:`kg.revision.diff.diff_graphs`'s JSON) as the page shows it."""
    out = []
    for a in data["agreements"]:
        entry: dict[str, Any] = {"label": plain(a["label"], label), "change": a["change"], "sections": []}
        if a["change"] in ("added", "removed", "unchanged"):
            out.append(entry)
            continue
        secs = entry["sections"]
        p = a["parties"]
        if p["added"] or p["removed"]:
            secs.append({"title": "Parties", "kind": "list",
                         "added": [plain(x, label) for x in p["added"]], "removed": [plain(x, label) for x in p["removed"]]})
        for f, v in a["scope"].items():
            secs.append({"title": "Scope: " + f.replace("scope ", ""), "kind": "list",
                         "added": [plain(x, label) for x in v["added"]], "removed": [plain(x, label) for x in v["removed"]]})
        if a["datesAndStatus"]:
            secs.append({"title": "Dates and status", "kind": "changes",
                         "changes": [_change(c, label) for c in a["datesAndStatus"]]})
        if a["leadChanges"]:
            secs.append({"title": "Lead changes", "kind": "leads",
                         "leads": [{"label": plain(c["label"], label), "before": [plain(x, label) for x in c["before"]],
                                    "after": [plain(x, label) for x in c["after"]]} for c in a["leadChanges"]]})
        for group, title in _SECTIONS:
            if a["parts"].get(group):
                secs.append({"title": title, "kind": "parts", **_group(a["parts"][group], label)})
        for group, g in a["parts"].items():
            if group not in dict(_SECTIONS):
                secs.append({"title": "Other parts (" + plain(group, label) + ")", "kind": "parts", **_group(g, label)})
        if a["fields"]:
            secs.append({"title": "Other fields", "kind": "changes", "changes": [_change(c, label) for c in a["fields"]]})
        out.append(entry)
    return {"old": plain(data["old"], label), "new": plain(data["new"], label), "agreements": out}


def diff_page(request: Request, form: DiffForm, status: int = 200, data: Optional[dict[str, Any]] = None,
              errors: Optional[list[Located]] = None, error_side: str = "", problem: Optional[str] = None) -> HTMLResponse:
    label = _labeller(request)
    view = diff_view(data, label) if data is not None else None
    return _render(request, "diff.html", "/diff", status, title="Compare two versions of an agreement", form=form,
                   agreements=agreements(request), diff=view, errors=errors, error_side=error_side, problem=problem)
