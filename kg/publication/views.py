"""The data of the analyst pages: agreement, body, remit matrix and a matrix cell's explanation.

Each function takes a :class:`~kg.publication.site.Site` and the page path (for relative links) and returns a
plain dict for its Jinja template. Queries run on the store's default graph; named queries from
``queries/`` (``reviews-due``, ``overlaps``, ``explain``) are used when they exist.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Optional
from urllib.parse import urlencode

import pyoxigraph as ox

from kg.publication.plaintext import humanise_duration
from kg.publication.site import (FN_PREFIX, R, ST_PREFIX, Site, Value,
                            iri_local_name, slug)
from kg.query.registry import ALL_ROWS, LIST_SEPARATOR, list_columns
from kg.query.remote import StoreUnavailable
from kg.rdf.namespaces import VCARD

log = logging.getLogger(__name__)

__all__ = ["agreement_view", "body_view", "matrix_view", "explain_view", "named_table", "matrix_cells"]

PREFIX = "PREFIX remit: <https://w3id.org/remit/def/>\nPREFIX vcard: <http://www.w3.org/2006/vcard/ns#>\n"


def named_table(site: Site, page: str, name: str, params: Optional[dict[str, str]] = None,
                mentions: Optional[set[str]] = None) -> Optional[dict[str, Any]]:
    """Run a named query and shape it as a table (IRIs as labelled links). ``mentions`` keeps only rows that
    mention one of those IRIs. None when the query does not exist."""
    refused: dict[str, str] = site.__dict__.setdefault("_refused_questions", {})  # per site: one store version
    if name in refused:
        return {"name": name, "error": refused[name], "columns": [], "rows": [], "summary": ""}
    try:
        res = site.run_named(name, params)
    except StoreUnavailable as exc:
        if not exc.refused:  # the store cannot be reached: the whole page is a 502
            raise
        # an external store that refuses this question (Virtuoso 7's compiler on some named queries) refuses it for
        # every page: say so here, and on later pages without asking again; its address stays in the log
        log.warning("the store refused the named query %r on a page: %s", name, exc)
        refused[name] = STORE_REFUSED
        return {"name": name, "error": STORE_REFUSED, "columns": [], "rows": [], "summary": ""}
    except Exception as exc:  # a malformed or failing named query must not take the page down
        return {"name": name, "error": str(exc), "columns": [], "rows": [], "summary": ""}
    if res is None:
        return None
    lists = list_columns(site.queries[name].text)
    rows = []
    for b in res.rows:
        iris = {v["value"] for v in b.values() if v.get("type") == "uri"}
        if mentions is not None and not (iris & mentions):
            continue
        cells = []
        for c in res.columns:
            v = b.get(c)
            if v is None:
                cells.append(Value(""))
            elif v["type"] == "uri":
                cells.append(site.link(page, v["value"]))
            elif (c + "Label") in b:  # a code (``role``) with its words beside it (``roleLabel``): the words
                cells.append(Value(site.plain(b[c + "Label"]["value"])))
            elif c in lists:  # its parts come sorted (kg.query.registry.ordered_lists); an IRI part reads as its label
                cells.append(Value(LIST_SEPARATOR.join(site.plain(x) for x in v["value"].split(LIST_SEPARATOR))))
            elif v.get("datatype") == XSD_DURATION:
                cells.append(Value(every(v["value"])))
            else:
                cells.append(Value(site.plain(v["value"])))
        rows.append(cells)
    nq = site.queries[name]
    return {"name": name, "summary": nq.summary, "columns": res.columns, "rows": rows, "error": None,
            "headers": [column_words(c) for c in res.columns], "show": _shown_columns(res.columns, params or {}),
            "params": params or {}}


XSD_DURATION = "http://www.w3.org/2001/XMLSchema#duration"
#: What a page says where the external store refused one of its questions.
STORE_REFUSED = "the SPARQL store that holds the data could not answer it (the server's log says why)"


def _shown_columns(columns: list[str], params: dict[str, str]) -> list[int]:
    """The columns a page shows of a named query's table: not ``xLabel`` beside ``x`` (the link already reads as
    the label), nor a column that only repeats a parameter the page bound (the body or agreement of the page)."""
    cols = set(columns)
    return [i for i, c in enumerate(columns)
            if not (c.endswith("Label") and c[:-5] in cols) and not (c in params and len(columns) > 1)]


def column_words(name: str) -> str:
    """A query's column name in words: ``reviewInterval`` → "Review interval", ``body1`` → "Body 1"."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[0-9])(?=[A-Za-z])", " ", name.replace("_", " ")).lower().strip()
    return words[:1].upper() + words[1:]


def every(duration: str) -> str:
    """A review interval for a sentence: ``P1Y`` → "every year", ``P3Y`` → "every 3 years"."""
    text = humanise_duration(duration)
    return "every " + (text[2:] if text.startswith("1 ") and "," not in text else text)


def params_for(site: Site, name: str, **wanted: str) -> dict[str, str]:
    """The subset of ``wanted`` that the named query declares as parameters."""
    nq = site.queries.get(name)
    if nq is None:
        return {}
    names = {p.name for p in nq.params}
    return {k: v for k, v in wanted.items() if k in names}


def _contact(site: Site, page: str, iri: str) -> dict[str, Any]:
    # what hangs off a blank node (an address's parts) comes in the same query: an external store's blank
    # nodes do not survive between two queries (kg.api.remote_site)
    rows = site.select(PREFIX + """
        SELECT ?p ?o ?bp ?bo WHERE { ?c ?p ?o . FILTER(?p IN (vcard:hasEmail, vcard:hasTelephone, vcard:hasAddress,
                                                       remit:contactFor, remit:contactPurpose, remit:informationAsOf))
                                     OPTIONAL { ?o ?bp ?bo . FILTER(isBlank(?o)) } }""",
                       c=iri)
    out: dict[str, Any] = {"link": site.link(page, iri), "channels": [], "for": [], "purpose": "", "as_of": ""}
    hanging: dict[Any, list[tuple[Any, Any]]] = {}
    channels: list[tuple[str, Value]] = []  # (predicate, channel as shown)
    firsts = []
    for r in rows:
        key = (r["p"], r["o"])
        if key not in hanging:
            hanging[key] = []
            firsts.append(r)
        if r["bp"] is not None:
            hanging[key].append((r["bp"], r["bo"]))
    for r in firsts:
        p, o = r["p"].value, r["o"]
        if p == R + "contactFor":
            out["for"].append(site.link(page, o.value))
        elif p == R + "contactPurpose":
            out["purpose"] = o.value
        elif p == R + "informationAsOf":
            out["as_of"] = o.value
        elif isinstance(o, ox.Literal):
            channels.append((p, Value(o.value)))
        elif isinstance(o, ox.BlankNode):  # a vcard:Address or a typed telephone: its parts, in vCard order
            order = ["street-address", "locality", "region", "postal-code", "country-name"]
            parts: dict[str, str] = {}
            href = None
            for bp, bo in hanging[(r["p"], o)]:
                if bp.value == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type":
                    continue
                name = bp.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
                if isinstance(bo, ox.Literal):
                    parts.setdefault(name, bo.value)
                elif isinstance(bo, ox.NamedNode) and bo.value.startswith(("tel:", "mailto:", "http")):
                    href = bo.value
            text = ", ".join(parts[k] for k in sorted(parts, key=lambda k: (order.index(k) if k in order
                                                                            else len(order), k)))
            channels.append((p, Value(text or (href or "").split(":", 1)[-1] or "(no details)", href,
                                      external=bool(href))))
        elif o.value.startswith(("http://", "https://", "mailto:", "tel:")):
            channels.append((p, Value(site.label(o.value), o.value, external=True)))
        else:
            channels.append((p, site.link(page, o.value)))
    # in one order whatever the store returns the rows in (an in-memory and an on-disk store differ): email,
    # telephone, address, then by what they say
    kinds = {str(VCARD.hasEmail): 0, str(VCARD.hasTelephone): 1, str(VCARD.hasAddress): 2}
    channels.sort(key=lambda pc: (kinds.get(pc[0], 3), pc[1].text, pc[1].href or ""))
    out["channels"] = [c for _, c in channels]
    return out


def _values(site: Site, page: str, subject: str, prop: str) -> list[Value]:
    rows = site.select("SELECT DISTINCT ?o WHERE { ?s ?p ?o }", s=subject, p=prop)
    vals = []
    for r in rows:
        o = r["o"]
        vals.append(site.link(page, o.value) if not hasattr(o, "datatype") else Value(site.literal_text(o)))
    return sorted(vals, key=lambda v: v.text.lower())


def _parts(site: Site, page: str, agreement: str, prop: str) -> list[dict[str, Any]]:
    rows = site.select("SELECT DISTINCT ?x ?ord WHERE { ?a ?p ?x . OPTIONAL { ?x remit:ordinal ?ord } }"
                       .replace("SELECT", PREFIX + "SELECT"), a=agreement, p=R + prop)
    out = []
    for r in rows:
        x = r["x"].value
        out.append({"iri": x, "link": site.link(page, x), "ordinal": r["ord"].value if r["ord"] else "",
                    "statement": " ".join(v.text for v in _values(site, page, x, R + "statement")),
                    "citations": site.citations_of(page, x)})
    out.sort(key=lambda d: (len(d["ordinal"]), d["ordinal"], d["link"].text))
    return out


def review_status(site: Site, agreement: str, today: Optional[dt.date] = None) -> dict[str, Any]:
    """When the agreement's next review falls due, as ``kg build`` derived it (``remit:reviewBasis``,
    ``remit:reviewBaseDate``, ``remit:nextReviewDate``: queries/derive/50-review-schedule.rq, the dates the named
    query ``reviews-due`` reads too); ``overdue`` when that is before ``today`` (default: the site's status date)."""
    today = today or site.status_date()
    rows = site.select(PREFIX + """
        SELECT ?interval ?either ?basis ?base ?next WHERE {
          OPTIONAL { ?a remit:reviewCommitment ?rc . OPTIONAL { ?rc remit:reviewInterval ?interval }
                     OPTIONAL { ?rc remit:onRequestOfEitherParty ?either } }
          OPTIONAL { ?a remit:reviewBasis ?basis }
          OPTIONAL { ?a remit:reviewBaseDate ?base }
          OPTIONAL { ?a remit:nextReviewDate ?next }
        }""", a=agreement)

    def greatest(var: str) -> Optional[str]:  # the rule's choice where the data give several values
        return max((r[var].value for r in rows if r[var] is not None), default=None)

    interval, basis_label, basis, due = greatest("interval"), greatest("basis"), greatest("base"), greatest("next")
    either = any(r["either"] is not None and r["either"].value == "true" for r in rows)
    out: dict[str, Any] = {"interval": humanise_duration(interval) if interval else "", "on_request": either,
                           "every": every(interval) if interval else "",
                           "basis_label": basis_label or "", "basis": basis or "", "due": "", "state": "unknown"}
    if not interval:
        out["state"] = "no-interval"
        return out
    if due is None:
        return out
    out["due"] = due
    out["state"] = "overdue" if dt.date.fromisoformat(due) < today else "due"
    return out


def agreement_view(site: Site, page: str, iri: str) -> dict[str, Any]:
    base = site.resource(iri, page)
    sigs = []
    for r in site.select(PREFIX + """
            SELECT ?s ?name ?role ?for ?on WHERE { ?a remit:signature ?s .
              OPTIONAL { ?s remit:signatoryName ?name } OPTIONAL { ?s remit:signatoryRole ?role }
              OPTIONAL { ?s remit:signedFor ?for } OPTIONAL { ?s remit:signedOn ?on } }""", a=iri):
        sigs.append({"link": site.link(page, r["s"].value), "name": r["name"].value if r["name"] else "",
                     "role": r["role"].value if r["role"] else "",
                     "for": site.link(page, r["for"].value) if r["for"] else None,
                     "on": r["on"].value if r["on"] else "", "citations": site.citations_of(page, r["s"].value)})
    sigs.sort(key=lambda s: (s["on"], s["name"]))
    areas = _parts(site, page, iri, "areaOfJointWork")
    for a in areas:
        a["functions"] = _values(site, page, a["iri"], R + "function")
        a["settings"] = _values(site, page, a["iri"], R + "settingType")
        a["leads"] = _values(site, page, a["iri"], R + "leadBody")
        a["contacts"] = [_contact(site, page, c.iri) for c in _values(site, page, a["iri"], R + "contactPoint") if c.iri]
    agreement_contacts = [_contact(site, page, c.iri) for c in _values(site, page, iri, R + "contactPoint") if c.iri]
    review = review_status(site, iri)
    reviews_due = named_table(site, page, "reviews-due", params_for(site, "reviews-due", agreement=iri),
                              mentions={iri})
    return dict(
        base,
        parties=_values(site, page, iri, R + "party"),
        status=_values(site, page, iri, R + "status"),
        date=" ".join(v.text for v in _values(site, page, iri, R + "documentDate")),
        sources=_values(site, page, iri, R + "sourceDocument"),
        supersedes=_values(site, page, iri, R + "supersedes"),
        scope_settings=_values(site, page, iri, R + "scopeSettingType"),
        scope_functions=_values(site, page, iri, R + "scopeFunction"),
        signatures=sigs, areas=areas, contacts=agreement_contacts,
        cooperation=_parts(site, page, iri, "cooperationArea"),
        lead_rules=_parts(site, page, iri, "leadRule"),
        review=review, reviews_due=reviews_due,
        findings=site.findings(page, [iri], prefix=iri + "/"),
    )


def body_view(site: Site, page: str, iri: str) -> dict[str, Any]:
    base = site.resource(iri, page)
    resps = []
    for r in site.select(PREFIX + """
            SELECT ?r WHERE { ?r remit:holder ?b }""", b=iri):
        x = r["r"].value
        resps.append({"link": site.link(page, x), "functions": _values(site, page, x, R + "function"),
                      "settings": _values(site, page, x, R + "settingType"),
                      "jurisdictions": _values(site, page, x, R + "jurisdiction"),
                      "bases": _values(site, page, x, R + "legalBasis"),
                      "from": " ".join(v.text for v in _values(site, page, x, R + "validFrom")),
                      "until": " ".join(v.text for v in _values(site, page, x, R + "validUntil")),
                      "citations": site.citations_of(page, x)})
    resps.sort(key=lambda d: ([v.text for v in d["settings"]], [v.text for v in d["functions"]], d["link"].iri or ""))
    agreements = sorted({r["a"].value for r in site.select(PREFIX + "SELECT ?a WHERE { ?a remit:party ?b }", b=iri)},
                        key=site.sort_key)
    # the overlaps of the matrix (the `overlaps` and `duplications` queries on the status date), each from the
    # cell of this body's own function
    overlaps = []
    for (st, fn), c in matrix_cells(site).items():
        for o in c["overlaps"]:
            side = "1" if o["body1"] == iri else "2" if o["body2"] == iri else None
            if side is None or o["function" + side] != fn:
                continue
            other = "2" if side == "1" else "1"
            cell = _cell_path(st, fn)
            overlaps.append({"other": site.link(page, o["body" + other]), "function": site.link(page, fn),
                             "other_function": site.link(page, o["function" + other]),
                             "setting": site.link(page, st), "duplication": o["duplication"],
                             "jurisdiction": site.link(page, o["jurisdiction"]) if o["jurisdiction"] else Value(""),
                             "leads": [site.link(page, x) for x in sorted(o["leads"], key=site.sort_key)],
                             "cell": site.rel(page, cell) if cell else None})
    overlaps.sort(key=lambda o: (o["setting"].text, o["function"].text, o["other"].text, o["jurisdiction"].text))
    return dict(
        base,
        acronyms=_values(site, page, iri, R + "acronym"),
        legal_status=_values(site, page, iri, R + "legalStatus"),
        established_by=_values(site, page, iri, R + "establishedBy"),
        jurisdictions=_values(site, page, iri, R + "jurisdiction"),
        offices=[site.link(page, r["o"].value) for r in site.select(PREFIX + "SELECT DISTINCT ?o WHERE { ?o remit:officeOf ?b }", b=iri)],
        responsibilities=resps,
        agreements=[site.link(page, a) for a in agreements],
        overlaps=overlaps,
        overlaps_named=named_table(site, page, "overlaps", params_for(site, "overlaps", body=iri), mentions={iri}),
    )


def _cell_path(st: str, fn: str) -> Optional[str]:
    s, f = slug(st, ST_PREFIX), slug(fn, FN_PREFIX)
    return f"/matrix/{s}/{f}.html" if s and f else None


#: The columns that identify one overlap (one pair of bodies, their functions, setting type, jurisdiction).
OVERLAP_KEY = ("body1", "function1", "body2", "function2", "settingType", "jurisdiction")


def _value(b: dict[str, Any], col: str) -> str:
    return (b.get(col) or {}).get("value", "")


def _all_rows(site: Site, name: str, params: Optional[dict[str, str]] = None) -> Optional[list[dict[str, Any]]]:
    """Every row of a named query (the site's status date as ``asOf``); None when the query is absent."""
    res = site.run_named(name, params or {}, limit=ALL_ROWS)
    return None if res is None else list(res.rows)


def in_force(day: str, start: str = "", until: str = "", ended: str = "") -> bool:
    """The named queries' test of a fact in effect on ``day`` (``YYYY-MM-DD``): each stated date is compared on
    as many characters as it has (xsd:gYear, gYearMonth or date), so ``2017-07`` ends on the last day of July;
    ``until`` is the last day in effect, ``ended`` the first day no longer in effect (a body's end)."""
    def cut(d: str) -> str:
        return d[:10]
    if start and not cut(start) <= day[:len(cut(start))]:
        return False
    if until and not cut(until) >= day[:len(cut(until))]:
        return False
    if ended and not cut(ended) > day[:len(cut(ended))]:
        return False
    return True


def _lifetimes(site: Site) -> dict[str, tuple[str, str, str]]:
    """Each body's life as ``in_force`` arguments (start, "", end): ``remit:activeFrom``/``remit:activeUntil``
    (derived from dated successions and renamings, when the build derives them), else ``remit:dissolved``."""
    out: dict[str, tuple[str, str, str]] = {}
    for r in site.select(PREFIX + """
            SELECT ?b (MAX(STR(?f)) AS ?from) (MIN(STR(?e)) AS ?end) WHERE {
              { ?b remit:activeFrom ?f } UNION { ?b remit:activeUntil ?e } UNION { ?b remit:dissolved ?e } }
            GROUP BY ?b"""):
        out[r["b"].value] = (r["from"].value if r["from"] else "", "", r["end"].value if r["end"] else "")
    return out


def _overlap_records(site: Site) -> Optional[dict[tuple[str, ...], dict[str, Any]]]:
    """The distinct overlaps of the ``overlaps`` named query on the status date, keyed by :data:`OVERLAP_KEY`,
    each with its covering agreements, the leads they name and ``duplication`` (the key is a row of the
    ``duplications`` named query). None when either query is absent."""
    overlaps, dups = _all_rows(site, "overlaps"), _all_rows(site, "duplications")
    if overlaps is None or dups is None:
        return None
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for b in overlaps:
        key = tuple(_value(b, c) for c in OVERLAP_KEY)
        rec = out.setdefault(key, {**dict(zip(OVERLAP_KEY, key)), "agreements": set(), "leads": set(),
                                   "duplication": False, "without_lead": set()})
        if _value(b, "agreement"):
            rec["agreements"].add(_value(b, "agreement"))
        if _value(b, "lead"):
            rec["leads"].add(_value(b, "lead"))
    for b in dups:
        key = tuple(_value(b, c) for c in OVERLAP_KEY)
        rec = out.setdefault(key, {**dict(zip(OVERLAP_KEY, key)), "agreements": set(), "leads": set(),
                                   "duplication": False, "without_lead": set()})
        rec["duplication"] = True
        rec["without_lead"] = {a for a in _value(b, "agreementsWithoutLead").split(LIST_SEPARATOR) if a}
    return out


def matrix_cells(site: Site) -> dict[tuple[str, str], dict[str, Any]]:
    """Every (setting type, function) cell that has a responsibility in force or an area of joint work, with
    its overlaps and duplications. Computed once per site and status date (the ``overlaps`` and
    ``duplications`` queries behind it scan every responsibility: seconds at 100k triples, and every
    explanation page needs the cells); the site's store never changes (a reload makes a new site)."""
    memo: dict[Any, dict[tuple[str, str], dict[str, Any]]] = site.__dict__.setdefault("_matrix_cells_memo", {})
    day = site.status_date()
    if day not in memo:
        memo.clear()
        memo[day] = _matrix_cells(site)
    return memo[day]


def _new_cell() -> dict[str, Any]:
    return {"holders": set(), "areas": set(), "leads": set(), "noleads": set(), "overlaps": [], "ended": set()}


def _matrix_cells(site: Site) -> dict[tuple[str, str], dict[str, Any]]:
    day = site.status_date().isoformat()
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    life = _lifetimes(site)
    holders = _all_rows(site, "remit-matrix")
    if holders is None:  # no `remit-matrix` named query: the same rows straight from the graph
        holders = [{"holder": {"value": r["h"].value}, "settingType": {"value": r["st"].value},
                    "fn": {"value": r["fn"].value},
                    "validFrom": {"value": r["from"].value if r["from"] else ""},
                    "validUntil": {"value": r["until"].value if r["until"] else ""}}
                   for r in site.select(PREFIX + """
            SELECT ?h ?st ?fn ?from ?until WHERE { ?r a remit:Responsibility ; remit:holder ?h ;
                 remit:function ?fn ; remit:settingType ?st .
                 OPTIONAL { ?r remit:validFrom ?from } OPTIONAL { ?r remit:validUntil ?until } }""")]
    for b in holders:
        h, st, fn = _value(b, "holder"), _value(b, "settingType"), _value(b, "fn")
        if in_force(day, _value(b, "validFrom"), _value(b, "validUntil")) and in_force(day, *life.get(h, ("", "", ""))):
            cells.setdefault((st, fn), _new_cell())["holders"].add(h)
        else:
            cells.setdefault((st, fn), _new_cell())["ended"].add(h)
    for r in site.select(PREFIX + """
            SELECT DISTINCT ?st ?fn ?area ?lead WHERE { ?area a remit:AreaOfJointWork ;
                 remit:function ?fn ; remit:settingType ?st . OPTIONAL { ?area remit:leadBody ?lead } }"""):
        c = cells.setdefault((r["st"].value, r["fn"].value), _new_cell())
        c["areas"].add(r["area"].value)
        if r["lead"] is not None:
            c["leads"].add(r["lead"].value)
        else:
            c["noleads"].add(r["area"].value)
    # a cell only once responsibilities ended and no area names it: nothing in force to show
    for key in [k for k, c in cells.items() if not c["holders"] and not c["areas"]]:
        del cells[key]
    records = _overlap_records(site) or {}
    for rec in sorted(records.values(), key=lambda r: tuple(r[c] for c in OVERLAP_KEY)):
        for fn in dict.fromkeys((rec["function1"], rec["function2"])):
            cells.setdefault((rec["settingType"], fn), _new_cell())["overlaps"].append(rec)
    for c in cells.values():
        c["duplications"] = [o for o in c["overlaps"] if o["duplication"]]
        n = len(c["holders"])
        if c["duplications"]:
            c["state"] = "duplication"
        elif c["overlaps"]:
            c["state"] = "coordinated"
        elif n >= 2:
            c["state"] = "separate"
        elif n == 1:
            c["state"] = "single"
        else:
            c["state"] = "area-only"
    return cells


#: What each state of a matrix cell means (the key of /matrix.html; docs/publication.md says the same).
STATE_TEXT = {
    "duplication": "duplication: two bodies both do this work here, in the same place and at the same time, "
                   "and nothing in force says which of them leads",
    "coordinated": "overlap coordinated: bodies both do this work here, and for every pair a lead is named, "
                   "by an agreement between them or by a lead assignment",
    "separate": "no overlap: two or more bodies hold this function here, but in jurisdictions that do not "
                "overlap (for example one in England, one in Wales)",
    "single": "one body holds this function here, overlapping no other",
    "area-only": "agreement area only: an agreement names this function here, but no body holds it on this date",
}


def matrix_view(site: Site, page: str) -> dict[str, Any]:
    cells = matrix_cells(site)
    sts = sorted({k[0] for k in cells}, key=lambda i: site.label(i).lower())
    fns = sorted({k[1] for k in cells}, key=lambda i: site.label(i).lower())
    grid = []
    for st in sts:
        row = {"setting": site.link(page, st), "cells": []}
        for fn in fns:
            c = cells.get((st, fn))
            if c is None:
                row["cells"].append(None)
                continue
            path = _cell_path(st, fn)
            row["cells"].append({
                "state": c["state"], "state_text": STATE_TEXT[c["state"]],
                "holders": [Value(site.label(h)) for h in sorted(c["holders"], key=site.sort_key)],
                "href": site.rel(page, path) if path else None,
                "overlaps": len(c["overlaps"]), "duplications": len(c["duplications"]),
                "noleads": len(c["noleads"]), "leads": len(c["leads"]),
                "title": f"{site.label(fn)} for {site.label(st)}"})
        grid.append(row)
    counts = {s: sum(1 for c in cells.values() if c["state"] == s) for s in STATE_TEXT}
    overlaps = {tuple(o[k] for k in OVERLAP_KEY): o for c in cells.values() for o in c["overlaps"]}
    totals = {"overlaps": len(overlaps), "duplications": sum(1 for o in overlaps.values() if o["duplication"])}
    totals["settled"] = totals["overlaps"] - totals["duplications"]
    return {"functions": [site.link(page, f) for f in fns], "grid": grid, "counts": counts, "totals": totals,
            "state_text": STATE_TEXT, "title": "Remit matrix",
            "overlaps_href": site.service(page, "/queries/overlaps"),
            "duplications_href": site.service(page, "/queries/duplications")}


def _explain_pair(site: Site, page: str, o: dict[str, Any], fn: str, n: int) -> dict[str, Any]:
    """One overlap of a cell for its page: the two bodies, functions, jurisdiction, what settles it (or not),
    and the ``explain`` named query run for exactly that pair, setting type and function."""
    params = {"body1": o["body1"], "body2": o["body2"], "settingType": o["settingType"], "function": fn}
    table = named_table(site, page, "explain", params_for(site, "explain", **params))
    if table is not None:
        table["anchor"] = f"explain-{n}"
        table["query_string"] = urlencode(params)
        table["heading"] = f"Why {site.label(o['body1'])} and {site.label(o['body2'])} overlap here"
    return {"key": " ".join(o[k] for k in OVERLAP_KEY), "duplication": o["duplication"],
            "body1": site.link(page, o["body1"]), "function1": site.link(page, o["function1"]),
            "body2": site.link(page, o["body2"]), "function2": site.link(page, o["function2"]),
            "jurisdiction": site.link(page, o["jurisdiction"]) if o["jurisdiction"] else Value(""),
            "leads": [site.link(page, x) for x in sorted(o["leads"], key=site.sort_key)],
            "agreements": [site.link(page, x) for x in sorted(o["agreements"], key=site.sort_key)],
            "without_lead": [site.link(page, x) for x in sorted(o["without_lead"], key=site.sort_key)],
            "explain": table, "anchor": f"explain-{n}"}


def explain_view(site: Site, page: str, st: str, fn: str) -> dict[str, Any]:
    cells = matrix_cells(site)
    c = cells.get((st, fn))
    day = site.status_date().isoformat()
    life = _lifetimes(site)
    resps, ended = [], []
    for r in site.select(PREFIX + """
            SELECT ?r ?h (SAMPLE(?f) AS ?from) (SAMPLE(?u) AS ?until) WHERE {
              ?r a remit:Responsibility ; remit:holder ?h ; remit:function ?fn ; remit:settingType ?st .
              OPTIONAL { ?r remit:validFrom ?f } OPTIONAL { ?r remit:validUntil ?u } } GROUP BY ?r ?h ?st ?fn""",
                         st=st, fn=fn):
        x = r["r"].value
        start, until = (r["from"].value if r["from"] else ""), (r["until"].value if r["until"] else "")
        item = {"link": site.link(page, x), "holder": site.link(page, r["h"].value),
                "bases": _values(site, page, x, R + "legalBasis"),
                "jurisdictions": _values(site, page, x, R + "jurisdiction"),
                "from": start, "until": until or life.get(r["h"].value, ("", "", ""))[2],
                "citations": site.citations_of(page, x)}
        alive = in_force(day, *life.get(r["h"].value, ("", "", "")))
        (resps if alive and in_force(day, start, until) else ended).append(item)
    resps.sort(key=lambda d: (d["holder"].text, d["link"].text))
    ended.sort(key=lambda d: (d["holder"].text, d["link"].text))
    areas = []
    for r in site.select(PREFIX + """
            SELECT DISTINCT ?area ?a WHERE { ?area a remit:AreaOfJointWork ; remit:function ?fn ; remit:settingType ?st .
                                             OPTIONAL { ?a remit:areaOfJointWork ?area } }""", st=st, fn=fn):
        x = r["area"].value
        areas.append({"link": site.link(page, x),
                      "agreement": site.link(page, r["a"].value) if r["a"] else None,
                      "leads": _values(site, page, x, R + "leadBody"),
                      "citations": site.citations_of(page, x)})
    areas.sort(key=lambda d: (d["agreement"].text if d["agreement"] else "", d["link"].text))
    pairs = [_explain_pair(site, page, o, fn, i) for i, o in enumerate(c["overlaps"] if c else [], 1)]
    return {"title": f"{site.label(fn)} for {site.label(st)}", "setting": site.link(page, st),
            "function": site.link(page, fn), "state": c["state"] if c else "empty",
            "state_text": STATE_TEXT.get(c["state"], "") if c else "nothing recorded",
            "responsibilities": resps, "ended": ended, "areas": areas, "pairs": pairs,
            "duplications": sum(1 for p in pairs if p["duplication"]),
            "overlaps_href": site.service(page, "/queries/overlaps?" + urlencode({"settingType": st, "function": fn})),
            "duplications_href": site.service(page, "/queries/duplications?" + urlencode({"settingType": st, "function": fn})),
            "back": site.rel(page, "/matrix.html")}


def is_kind(site: Site, iri: str, cls: str) -> bool:
    """True when ``iri`` has ``rdf:type remit:{cls}`` (asserted or inferred)."""
    return bool(site.store.query("ASK { ?x a ?c }", default_graph=site.graphs,
                                 substitutions={ox.Variable("x"): ox.NamedNode(iri),
                                                ox.Variable("c"): ox.NamedNode(R + cls)}))


__all__ += ["is_kind", "params_for", "review_status", "STATE_TEXT", "iri_local_name", "in_force", "OVERLAP_KEY"]
