"""The pages of the named queries for people: ``/queries`` (the questions) and ``/queries/{name}`` (one answer).

Each page is rendered by the site's own Jinja environment (:attr:`kg.publication.site.Site.env`) in the site
layout (``questions.html`` and ``question.html``, extending ``base.html``). What it shows:

* the question in plain English (the ``.rq`` header's ``question`` and ``about``, else its ``summary``);
* a filter form: one field per declared parameter, a drop-down filled from the graph for an IRI parameter
  whose header names ``choices`` (setting type, jurisdiction, establishment, body, function, agreement,
  agreement status), a date input for a date, the chosen values kept. The form's GET address is the
  permalink;
* the rows: column titles in plain English (:func:`kg.query.columns.human_title`, the table the XLSX download
  uses), a label in place of each IRI (linked to the resource's page, or to the IRI itself when it is an
  http(s) address elsewhere; nothing else is ever a link), lists (`` | `` joined) as lists, and the sources
  of each row folded under it (``details``/``summary``).

The rows come as the query orders them (each query orders its rows by what matters: ``reviews-due`` puts
overdue agreements first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from kg.publication.plaintext import humanise_duration
from kg.publication.site import Site, iri_local_name
from kg.query.columns import empty_columns, human_title, is_sources, reader_columns

__all__ = ["CHOICE_CLASSES", "choices", "question_title", "table", "form_fields", "render_question",
           "render_questions", "Cell", "Part"]

R = "https://w3id.org/remit/def/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"

#: The classes whose members fill each kind of drop-down (``choices:`` of a parameter).
CHOICE_CLASSES: dict[str, tuple[str, ...]] = {
    "setting-type": (R + "SettingType",),
    "jurisdiction": (R + "Jurisdiction",),
    "establishment": (R + "Setting",),
    "body": (R + "OversightBody", R + "Office", R + "FunctionHolder"),
    "function": (R + "Function",),
    "agreement": (R + "Agreement",),
}
#: The values of this property fill the ``agreement-status`` drop-down (the statuses in use).
_STATUS = R + "status"
#: The longest drop-down (more terms than this: a text field, which takes a label, a name or an IRI).
MAX_OPTIONS = 1000

_SOURCE = re.compile(r"^(?P<label>.*?)\s*<(?P<iri>[^<>\s]+)>(?:,\s*(?P<locator>.*))?$", re.DOTALL)
_WEB = re.compile(r"^https?://", re.IGNORECASE)
#: Statuses people act on, shown as coloured tags (the words carry the meaning, the colour only repeats it).
_TAGS = {"overdue": "red", "due": "yellow", "no contact named": "red"}
#: Lead columns are shown even when empty, an empty cell reading "none named": no lead is an answer.
_LEAD = re.compile(r"^leads?(?:Label|Labels)?$")
_DURATION = re.compile(r"^P(?=\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?$")


def _duration(value: str, every: bool) -> str:
    """``P1Y`` → ``1 year`` (``every year`` for an interval), ``P18M`` → ``18 months``."""
    text = humanise_duration(value)
    if every:
        return "every " + (text[2:] if text.startswith("1 ") and "," not in text else text)
    return text


@dataclass
class Part:
    """One value in a cell: text, and a link (relative, or an http(s) address) or none."""

    text: str
    href: Optional[str] = None
    external: bool = False
    locator: str = ""
    tag: str = ""  # a status shown as a GOV.UK tag of this colour ("red", "yellow"), the words unchanged


@dataclass
class Cell:
    parts: list[Part] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ the words

def question_title(nq: Any) -> str:
    """The question a named query answers, for people: its ``question``, else its ``summary``, else its name."""
    return (getattr(nq, "question", "") or getattr(nq, "summary", "") or getattr(nq, "name", "")).strip()


def _field_label(p: Any) -> str:
    if p.label:
        return p.label
    if p.type == "date":
        return "As of (date)" if p.name.lower() in ("asof", "on", "day") else human_title(p.name) + " (date)"
    return human_title(p.name)


# ------------------------------------------------------------------------------------------ drop-downs

def choices(site: Site, kind: str) -> list[tuple[str, str]]:
    """(IRI, label) of the terms a drop-down of ``kind`` lists, by label; memoised per site (one per build)."""
    memo: dict[str, list[tuple[str, str]]] = site.__dict__.setdefault("_choice_memo", {})
    if kind in memo:
        return memo[kind]
    if kind == "agreement-status":
        where = f"[] <{_STATUS}> ?x ."
    elif kind in CHOICE_CLASSES:
        where = "VALUES ?c { %s } ?x a ?c ." % " ".join(f"<{c}>" for c in CHOICE_CLASSES[kind])
    else:
        return []
    rows = site.select(f"""
        SELECT ?x (MIN(?l1) AS ?pref) (MIN(?l2) AS ?plain) WHERE {{
          {where} FILTER(isIRI(?x))
          OPTIONAL {{ ?x <{SKOS}prefLabel> ?l1 FILTER(LANG(?l1) = "" || LANGMATCHES(LANG(?l1), "en")) }}
          OPTIONAL {{ ?x <{RDFS}label> ?l2 FILTER(LANG(?l2) = "" || LANGMATCHES(LANG(?l2), "en")) }}
        }} GROUP BY ?x""")
    out = []
    for r in rows:
        iri = r["x"].value
        lab = (r["pref"].value if r["pref"] is not None else None) or \
              (r["plain"].value if r["plain"] is not None else None) or site.label(iri)
        out.append((iri, lab))
    out.sort(key=lambda t: (t[1].lower(), t[0]))
    memo[kind] = out
    return out


def form_fields(site: Optional[Site], nq: Any, given: Mapping[str, str], resolved: Mapping[str, str]) -> list[dict[str, Any]]:
    """The form's fields: name, label, hint, type, required, the value shown and, for a drop-down, its options
    (the chosen one selected: the value as given, or the IRI it was resolved to)."""
    out = []
    for p in getattr(nq, "params", ()):
        value = given.get(p.name, "") or ""
        chosen = {value, resolved.get(p.name, "")} - {""}
        opts = None
        if p.values is not None:
            opts = [{"value": v, "label": v, "selected": v in chosen} for v in p.values]
        elif p.type == "iri" and p.choices and site is not None and site.has_store:
            terms = choices(site, p.choices)
            if 0 < len(terms) <= MAX_OPTIONS:
                opts = [{"value": iri, "label": lab, "selected": iri in chosen} for iri, lab in terms]
                if value and not any(o["selected"] for o in opts):  # a label or name typed in the address
                    opts.insert(0, {"value": value, "label": value, "selected": True})
        hint = ""
        if p.type == "date" and p.default == "today":
            hint = "Leave empty for today."
        elif p.type == "date" and p.default == "data-date":
            hint = "Leave empty for the date of the data (the latest date its sources state)."
        elif p.default is not None and p.type != "iri":
            hint = f"Leave empty for {p.default}."
        elif p.type == "iri" and opts is None:
            hint = "A name, an acronym or an address (IRI)."
        out.append({"name": p.name, "label": _field_label(p), "hint": hint, "type": p.type,
                    "required": p.required, "value": value, "options": opts})
    return out


# ------------------------------------------------------------------------------------------ the table

class _Labeller:
    """Labels and links for IRIs on one page; without a site (or a store), the IRI is its own text."""

    def __init__(self, site: Optional[Site], page: str):
        self.site, self.page = site, page

    def part(self, iri: str, text: Optional[str] = None) -> Part:
        site = self.site
        if site is not None:
            href = site.href(self.page, iri) if site.iri_to_path(iri) else None
            if text is None:
                text = site.known_label(iri) if site.has_store else None
                if text is None and href:
                    text = site.label(iri) if site.has_store else iri_local_name(iri).replace("-", " ")
            if href:
                return Part(text or iri, href)
        if _WEB.match(iri) and not any(c in iri for c in '\x00"<> \t\n\r'):
            return Part(text or iri, iri, external=True)
        return Part(text or iri)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(" | ") if v.strip()]


def _literal_parts(lab: _Labeller, value: str) -> list[Part]:
    """A literal cell: each ``" | "``-separated part an IRI (a link), a "label <IRI>, locator" reference (the
    label linked), or words."""
    parts = []
    for v in _split(value) if " | " in value else [value]:
        if _WEB.match(v) and " " not in v:
            parts.append(lab.part(v))
        elif "<" in v and _SOURCE.match(v):
            parts.append(_reference(lab, v))
        else:
            parts.append(Part(v, tag=_TAGS.get(v, "")))
    return parts


def _reference(lab: _Labeller, text: str) -> Part:
    """"label <IRI>, locator" (a source, a document) as a link to the IRI that reads as the label."""
    m = _SOURCE.match(text)
    if not m:
        return Part(text)
    p = lab.part(m.group("iri"), m.group("label") or None)
    p.locator = (m.group("locator") or "").strip()
    return p


def _source_parts(lab: _Labeller, value: str) -> list[Part]:
    return [_reference(lab, text) for text in _split(value)]


def table(site: Optional[Site], page_path: str, nq: Any, columns: Sequence[str],
          rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The rows for people: ``headers`` (plain-English titles), ``rows`` (each ``cells`` and ``sources``) and
    whether any row has sources. Columns left out: the IRIs a label column stands for, the sources (folded
    under each row), the parameters echoed back (the form shows them) and columns empty in every row."""
    lab = _Labeller(site, page_path)
    echoed = {p.name for p in getattr(nq, "params", ())}
    empty = empty_columns(columns, rows) if rows else set()
    # a list of labels (``agreementLabels``) stands for the list of IRIs it labels (``agreements``)
    lists = {c: c[: -len("Labels")] + "s" for c in columns
             if c.endswith("Labels") and c[: -len("Labels")] + "s" in columns}
    shown = [c for c in reader_columns(columns) if c not in echoed and c not in lists.values()
             and (c not in empty or not rows or _LEAD.match(c))]
    label_of = {c: c[: -len("Label")] for c in shown if c.endswith("Label") and c[: -len("Label")] in columns}
    sources = [c for c in columns if is_sources(c)]
    out_rows = []
    for row in rows:
        cells = []
        for c in shown:
            b = row.get(c)
            if c in label_of:
                iri = row.get(label_of[c])
                text = (b or {}).get("value", "")
                if iri and iri.get("type") == "uri":
                    cells.append(Cell([lab.part(iri["value"], text or None)]))
                elif not text and _LEAD.match(c):
                    cells.append(Cell([Part("none named")]))
                else:
                    cells.append(Cell(_literal_parts(lab, text) if text else []))
            elif c in lists:
                texts = _split(str((b or {}).get("value", "")))
                iris = _split(str((row.get(lists[c]) or {}).get("value", "")))
                if len(iris) == len(texts):
                    cells.append(Cell([lab.part(i, t) if _WEB.match(i) else Part(t) for i, t in zip(iris, texts)]))
                else:
                    cells.append(Cell([Part(t) for t in texts]))
                if not texts and _LEAD.match(c):
                    cells[-1] = Cell([Part("none named")])
            elif not b and _LEAD.match(c):
                cells.append(Cell([Part("none named")]))
            elif not b:
                cells.append(Cell())
            elif b.get("type") == "uri":
                cells.append(Cell([lab.part(b["value"])]))
            elif b.get("type") == "literal" and _DURATION.match(str(b["value"])):
                cells.append(Cell([Part(_duration(str(b["value"]), "interval" in c.lower()))]))
            elif b.get("type") == "literal":
                cells.append(Cell(_literal_parts(lab, str(b["value"]))))
            else:
                cells.append(Cell([Part(str(b.get("value")))]))
        found: list[Part] = []
        for c in sources:
            b = row.get(c)
            if b and b.get("value"):
                found += _source_parts(lab, str(b["value"]))
        out_rows.append({"cells": cells, "sources": found})
    return {"headers": [human_title(lists.get(c, c)) for c in shown], "rows": out_rows,
            "has_sources": bool(sources) and any(r["sources"] for r in out_rows)}


# ------------------------------------------------------------------------------------------ pages

def render_question(site: Site, page_path: str, nq: Any, *, result: Any = None, given: Mapping[str, str] = {},
                    resolved: Mapping[str, str] = {}, urls: Mapping[str, Optional[str]] = {}, error: str = "") -> str:
    """``/queries/{name}`` for people: the question, the form, and (with a ``result`` page) the rows."""
    for p in getattr(nq, "params", ()):  # the error in the form's words
        error = error.replace(f"parameter {p.name!r}", f"“{_field_label(p)}”")
    data = None
    if result is not None:
        data = table(site, page_path, nq, result.columns, result.rows)
    return site.render("question.html", page_path, title=question_title(nq), nq=nq,
                       question=question_title(nq), about=getattr(nq, "about", "") or "",
                       fields=form_fields(site, nq, given, resolved), result=result, table=data,
                       error=error, urls=dict(urls))


def render_questions(site: Site, page_path: str, queries: Mapping[str, Any]) -> str:
    """``/queries`` for people: each question in plain English, linked to its page."""
    items = [{"name": n, "question": question_title(q), "about": getattr(q, "about", "") or "",
              "href": site.rel(page_path, f"/queries/{n}")}
             for n, q in sorted(queries.items(), key=lambda kv: question_title(kv[1]).lower())]
    return site.render("questions.html", page_path, title="Questions", questions=items)
