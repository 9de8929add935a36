"""Place pages: one page per setting type and nation ("Prisons in Wales", ``/places/prison/wales.html``), one
per establishment (the *remit card*, on the establishment's own page ``/id/setting/parc.html``), the list of
places (``/places/index.html``) and a CSV download of each page's tables.

Nothing here is a second model of who covers or who leads: the card reads the ``establishment`` named query
(its rows come from the derived ``remit:coveredBy`` links, queries/derive/25-setting-coverage.rq) and the
overlap records of the matrix (the ``overlaps`` and ``duplications`` named queries on the status date,
:func:`kg.publication.views.matrix_cells`); a place page reads ``remit-matrix`` (responsibilities in force) and
the same overlap records; contacts come from the ``contacts`` named query (roles and organisations only: no
telephone, email or address is shown). Every page is plain English: labels, never IRIs or prefixes.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import posixpath
import re
from typing import Any, Callable, Iterable, Optional
from urllib.parse import urlencode

from kg.publication.site import ST_PREFIX, Site, Value, slug
from kg.publication.views import OVERLAP_KEY, matrix_cells
from kg.query.registry import ALL_ROWS, LIST_SEPARATOR
from kg.rdf.namespaces import ID

__all__ = ["NATIONS", "JUR_PREFIX", "SETTING_PREFIX", "place_path", "place_csv_path", "card_csv_path", "card_csv_paths",
           "place_title", "plural", "place_types", "place_paths", "places_grid", "place_view", "card_view",
           "place_csv", "card_csv", "csv_bytes", "resolve_place", "setting_type_places", "establishment_iris",
           "card_keys", "contacts_by_agreement", "contact_rows"]

JUR_PREFIX = str(ID) + "jurisdiction/"
SETTING_PREFIX = str(ID) + "setting/"
#: The nations a place page is made for (Remit covers England and Wales), by jurisdiction slug.
NATIONS = ("england", "wales")
PREFIX = "PREFIX remit: <https://w3id.org/remit/def/>\n"
#: Setting-type labels that take no plural ("police custody", "approved premises").
_UNCOUNTABLE = ("custody", "detention", "accommodation", "premises", "protection")


# ----------------------------------------------------------------------------------------------- paths

def place_path(st: str, nation: str) -> Optional[str]:
    """``/places/{setting type}/{nation}.html`` for a setting type and a nation IRI (None for other IRIs)."""
    s, n = slug(st, ST_PREFIX), slug(nation, JUR_PREFIX)
    return f"/places/{s}/{n}.html" if s and n else None


def place_csv_path(st: str, nation: str, table: str = "") -> Optional[str]:
    """The CSV of a place page's coverage table (``table=""``) or establishments (``"establishments"``)."""
    p = place_path(st, nation)
    return p[: -len(".html")] + (f"-{table}" if table else "") + ".csv" if p else None


def card_csv_path(setting: str) -> Optional[str]:
    """The CSV of an establishment's remit card: ``/places/establishments/{slug}.csv``."""
    s = slug(setting, SETTING_PREFIX)
    return f"/places/establishments/{s}.csv" if s else None


def resolve_place(path: str) -> Optional[tuple[str, str, str]]:
    """``/places/prison/wales.html`` → (setting type IRI, nation IRI, kind: "html", "csv" or
    "establishments"); None when the path is no place page's."""
    m = re.match(r"^/places/([a-z0-9-]+)/([a-z0-9-]+?)(-establishments)?\.(html|csv)$", path)
    if not m or m.group(1) == "establishments" or m.group(2) not in NATIONS:
        return None
    if m.group(3) and m.group(4) != "csv":
        return None
    kind = "establishments" if m.group(3) else m.group(4)
    return ST_PREFIX + m.group(1), JUR_PREFIX + m.group(2), kind


# ----------------------------------------------------------------------------------------------- words

def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def plural(site: Site, st: str) -> str:
    """The setting type's label in the plural where it counts ("prisons", "police custody")."""
    label = site.label(st)
    if not label.lower().endswith(_UNCOUNTABLE):
        if re.search(r"[^aeiou]y$", label):
            label = label[:-1] + "ies"
        elif not label.endswith("s"):
            label += "s"
    return label


def place_title(site: Site, st: str, nation: str) -> str:
    """"Prisons in Wales", "Police custody in England"."""
    return f"{_capital(plural(site, st))} in {site.label(nation)}"


# ----------------------------------------------------------------------------------------------- graph

def _kept(site: Site, name: str, key: Any, make: Callable[[], Any]) -> Any:
    """``make()``, kept under ``key`` in the memo ``name`` (:func:`_memo`) and made once."""
    memo = _memo(site, name)
    if key not in memo:
        memo[key] = make()
    return memo[key]


def _memo(site: Site, key: str) -> dict[Any, Any]:
    memo: dict[Any, Any] = site.__dict__.setdefault("_places_memo", {})
    day = site.status_date()
    if memo.get("_day") != day:
        memo.clear()
        memo["_day"] = day
    return memo.setdefault(key, {})


def _broader_or_self(site: Site) -> dict[str, set[str]]:
    """``remit:broaderOrSelf`` (derived by kg build, queries/derive/10-broader-or-self.rq): concept → itself
    and every broader concept."""
    memo = _memo(site, "broader")
    if not memo:
        for r in site.select(PREFIX + "SELECT ?a ?b WHERE { ?a remit:broaderOrSelf ?b }"):
            memo.setdefault(r["a"].value, {r["a"].value}).add(r["b"].value)
    return memo


def _within(site: Site, narrow: str, broad: str) -> bool:
    return narrow == broad or broad in _broader_or_self(site).get(narrow, set())


def _v(b: Optional[dict[str, Any]], col: str) -> str:
    return ((b or {}).get(col) or {}).get("value", "")


def _split(text: str) -> list[str]:
    return [x for x in (text or "").split(LIST_SEPARATOR) if x]


def _establishments(site: Site) -> list[dict[str, str]]:
    """Every establishment with its setting type, nation, operator and dates (one row per type and nation)."""
    memo = _memo(site, "establishments")
    if "rows" not in memo:
        rows = site.select(PREFIX + """
            SELECT ?s ?st ?j (SAMPLE(?op) AS ?operator) (SAMPLE(?o) AS ?opened) (SAMPLE(?c) AS ?closed) WHERE {
              ?s a remit:Setting ; remit:settingType ?st ; remit:jurisdiction ?j .
              OPTIONAL { ?s remit:operatedBy ?op } OPTIONAL { ?s remit:openedOn ?o } OPTIONAL { ?s remit:closedOn ?c }
            } GROUP BY ?s ?st ?j""")
        memo["rows"] = [{"iri": r["s"].value, "st": r["st"].value, "nation": r["j"].value,
                         "operator": r["operator"].value if r["operator"] else "",
                         "opened": r["opened"].value if r["opened"] else "",
                         "closed": r["closed"].value if r["closed"] else ""} for r in rows]
    return memo["rows"]


def establishment_iris(site: Site) -> list[str]:
    """The establishments in the nations that have place pages (each has a remit card)."""
    return sorted({e["iri"] for e in _establishments(site) if slug(e["nation"], JUR_PREFIX) in NATIONS})


def _matrix_rows(site: Site) -> list[dict[str, Any]]:
    """Every row of the ``remit-matrix`` named query on the status date (responsibilities in force)."""
    memo = _memo(site, "matrix")
    if "rows" not in memo:
        res = site.run_named("remit-matrix", {}, limit=ALL_ROWS)
        memo["rows"] = list(res.rows) if res is not None else []
    return memo["rows"]


def _overlaps(site: Site) -> list[dict[str, Any]]:
    """The distinct overlap records of the matrix (``overlaps`` and ``duplications`` on the status date)."""
    seen: dict[tuple[str, ...], dict[str, Any]] = {}
    for c in matrix_cells(site).values():
        for o in c["overlaps"]:
            seen.setdefault(tuple(o[k] for k in OVERLAP_KEY), o)
    return [seen[k] for k in sorted(seen)]


def place_types(site: Site) -> list[str]:
    """The setting types that get place pages: the matrix's rows and the establishments' types."""
    memo = _memo(site, "types")
    if "list" not in memo:
        types = {st for st, _fn in matrix_cells(site)} | {e["st"] for e in _establishments(site)}
        memo["list"] = sorted((t for t in types if slug(t, ST_PREFIX)), key=lambda t: site.label(t).lower())
    return memo["list"]


def _nations() -> list[str]:
    return [JUR_PREFIX + n for n in NATIONS]


def place_paths(site: Site) -> list[str]:
    """Every place page and its CSV downloads, and the list of places."""
    out = ["/places/index.html"]
    for st in place_types(site):
        for n in _nations():
            out += [place_path(st, n) or "", place_csv_path(st, n) or "", place_csv_path(st, n, "establishments") or ""]
    out += card_csv_paths(site)
    return sorted(set(p for p in out if p))


def card_csv_paths(site: Site) -> set[str]:
    """The CSV downloads of the establishments' remit cards (``/places/establishments/{slug}.csv``)."""
    return {p for p in (card_csv_path(e["iri"]) for e in _establishments(site)) if p}


def places_grid(site: Site, page: str) -> dict[str, Any]:
    """The setting types × nations, each with its page link and number of establishments (home and index)."""
    nations = _nations()
    ests = _establishments(site)
    rows = []
    for st in place_types(site):
        cells = []
        for n in nations:
            count = len({e["iri"] for e in ests if _within(site, e["st"], st) and _within(site, e["nation"], n)})
            cells.append({"href": site.rel(page, place_path(st, n) or "/"), "title": place_title(site, st, n),
                          "establishments": count})
        rows.append({"setting": Value(_capital(site.label(st)), site.href(page, st), iri=st), "cells": cells})
    return {"nations": [Value(site.label(n)) for n in nations], "rows": rows}


def setting_type_places(site: Site, page: str, st: str) -> list[Value]:
    """Links to a setting type's place pages (for its own page and the matrix row headers)."""
    if st not in place_types(site):
        return []
    return [Value(place_title(site, st, n), site.rel(page, place_path(st, n) or "/")) for n in _nations()]


# ----------------------------------------------------------------------------------------------- leads

def _overlaps_for(site: Site, st: str, nation: str) -> list[dict[str, Any]]:
    """Overlap records that hold for a place: the overlap's setting type is the place's or broader, and its
    jurisdiction contains the nation."""
    return [o for o in _overlaps(site) if _within(site, st, o["settingType"])
            and (not o["jurisdiction"] or _within(site, nation, o["jurisdiction"]))]


def _lead_state(site: Site, page: str, body: str, fn: str, records: list[dict[str, Any]],
                extra_leads: Iterable[str] = (), present: Optional[set[str]] = None) -> dict[str, Any]:
    """Who leads one body's function at a place, from the overlap records: ``duplication`` when an overlap
    with another body here has no lead named, ``led`` when every overlap is settled, ``sole`` when no other
    body's remit overlaps it here. ``extra_leads``: leads the establishment query names for the row."""
    mine = []
    for o in records:
        for side, other in (("1", "2"), ("2", "1")):
            if o["body" + side] == body and o["function" + side] == fn and (present is None or o["body" + other] in present):
                mine.append((o, o["body" + other]))
    leads = set(extra_leads)
    for o, _other in mine:
        leads |= set(o["leads"])
    dups = sorted({other for o, other in mine if o["duplication"]}, key=site.sort_key)
    others = sorted({other for _o, other in mine}, key=site.sort_key)
    state = "duplication" if dups else "led" if mine or leads else "sole"
    text = {"duplication": "No lead named", "led": "Lead named", "sole": "No other body does this here"}[state]
    return {"state": state, "text": text,
            "leads": [site.link(page, x) for x in sorted(leads, key=site.sort_key)],
            "others": [site.link(page, x) for x in others],
            "without_lead": [site.link(page, x) for x in dups],
            "cells": sorted({(o["settingType"], fn) for o, _x in mine})}


def _cell_link(site: Site, page: str, st: str, fn: str) -> Optional[str]:
    s, f = slug(st, ST_PREFIX), slug(fn, str(ID) + "function/")
    return site.rel(page, f"/matrix/{s}/{f}.html") if s and f and (st, fn) in matrix_cells(site) else None


def _function_group(site: Site, fn: str) -> str:
    """The broadest function above ``fn`` (inspection, regulation, monitoring, investigation, ...)."""
    ups = _broader_or_self(site).get(fn, {fn})
    tops = [u for u in ups if _broader_or_self(site).get(u, {u}) == {u}]
    return sorted(tops, key=site.sort_key)[0] if tops else fn


# ----------------------------------------------------------------------------------------------- contacts

#: The rows of one agreement's ``contacts`` answer a card or a place page reads (the named query's first page).
_CONTACT_PAGE = 1000


def contacts_by_agreement(site: Site) -> Optional[dict[str, list[dict[str, Any]]]]:
    """A publication's (``kg publish``) ``contacts`` answer for every agreement, asked once and kept, each
    agreement's rows in the answer's order: at 1M synthetic triples a card named about fifty agreements, each
    asked on its own (0.1-0.3 s each), and 8,633 agreements fitted no memo. None on a live server (one card must
    not wait for every agreement's contacts) or when the store gave no answer."""
    if not site.static:
        return None
    memo = _memo(site, "contacts")
    if "by" not in memo:
        res = site.run_named("contacts", {}, limit=ALL_ROWS)
        by: Optional[dict[str, list[dict[str, Any]]]] = None
        if res is not None:
            by = {}
            for b in res.rows:
                by.setdefault(_v(b, "agreement"), []).append(b)
        memo["by"] = by
    return memo["by"]


def contact_rows(site: Site, agreement: str) -> list[dict[str, Any]]:
    """The ``contacts`` named query's rows for one agreement: from :func:`contacts_by_agreement` in a publication
    (the query orders by agreement first, so they are the rows the agreement's own question gives), else, or
    past a first page, the agreement's own question, cut at its first page as before."""
    by = contacts_by_agreement(site)
    if by is not None:
        rows = by.get(agreement, [])
        if len(rows) < _CONTACT_PAGE:
            return rows
    elif site.static:  # the store gave the publication no answer
        return []
    res = site.run_named("contacts", {"agreement": agreement}, limit=_CONTACT_PAGE)
    return list(res.rows) if res is not None else []


def _contacts(site: Site, page: str, agreements: Iterable[str]) -> tuple[list[dict[str, Any]], list[Value]]:
    """Contact points of the agreements (``contacts`` named query): role, organisation, purpose and the
    agreement, never a telephone, email or address; and the agreements with no contact named. Kept per folder
    of the page (its links are relative to it) and set of agreements: the remit cards of a publication's
    establishments name the same agreements, card after card (read-only: the pages only show it); a server
    does not keep them (as many as its establishments, at worst)."""
    names = tuple(sorted(set(agreements)))
    if not site.static:
        return _contacts_block(site, page, names)
    return _kept(site, "contacts-block", (posixpath.dirname(page), names), lambda: _contacts_block(site, page, names))


def _contacts_block(site: Site, page: str, agreements: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[Value]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    missing: set[tuple[str, str]] = set()
    for a in agreements:
        for b in contact_rows(site, a):
            if _v(b, "flag") and not _v(b, "contact"):
                missing.add((a, _v(b, "area")))
                continue
            c = _v(b, "contact")
            if not c:
                continue
            item = out.setdefault((c, a), {
                "role": _v(b, "contactTitle") or _v(b, "contactName") or site.label(c),
                "organisation": site.link(page, _v(b, "contactFor")) if _v(b, "contactFor") else Value(""),
                "purpose": _v(b, "purpose"), "agreement": site.link(page, a), "as_of": _v(b, "informationAsOf"),
                "citations": site.citations_of(page, c)})
            item["purpose"] = item["purpose"] or _v(b, "purpose")
    contacts = sorted(out.values(), key=lambda c: (c["organisation"].text, c["role"], c["agreement"].text))
    gaps = []
    for a, area in sorted(missing, key=lambda x: (site.label(x[0]), site.label(x[1]) if x[1] else "")):
        text = (f"{site.label(area)} ({site.label(a)})" if area else site.label(a))
        gaps.append(Value(text, site.href(page, area or a), iri=area or a))
    return contacts, gaps


# ----------------------------------------------------------------------------------------------- the card

#: The order of the card's rows before they are grouped (the query's ORDER BY, then the columns it leaves
#: tied: an establishment of two setting types or nations has a row for each)
_CARD_ORDER = ("body", "function", "responsibility", "legalBasis", "settingType", "nation")
#: What the ``establishment`` question reads of the establishment itself (queries/establishment.rq).
_CARD_INPUTS = ("settingType", "jurisdiction", "openedOn", "closedOn", "coveredBy")


def card_keys(site: Site) -> dict[str, tuple[tuple[str, str], ...]]:
    """For every establishment, everything the ``establishment`` question reads of it (its setting types,
    nations, opening and closing dates and the responsibilities covering it, with repeats): establishments
    with the same key get the same answer but for the establishment's own IRI. One query for all of them."""
    memo = _memo(site, "card-keys")
    if "keys" not in memo:
        values = " ".join(f"remit:{p}" for p in _CARD_INPUTS)
        rows = site.select(PREFIX + f"SELECT ?s ?p ?o WHERE {{ ?s a remit:Setting . VALUES ?p {{ {values} }} ?s ?p ?o }}")
        parts: dict[str, list[tuple[str, str]]] = {}
        for r in rows:
            parts.setdefault(r["s"].value, []).append((r["p"].value, str(r["o"])))
        memo["keys"] = {s: tuple(sorted(v)) for s, v in parts.items()}
    return memo["keys"]


def _establishment_answer(site: Site, iri: str) -> Any:
    """The ``establishment`` question's answer for ``iri``, asked once for each group of establishments alike
    in everything it reads of them (:func:`card_keys`): the others get the group's rows with their own IRI.
    At 100k synthetic triples the 2,958 establishments fall into 120 groups (docs/publication.md)."""
    key = card_keys(site).get(iri)
    answers = _memo(site, "card-answers")
    if key is None or key not in answers:
        res = site.run_named("establishment", {"establishment": iri})
        if key is not None and res is not None:
            answers[key] = res
        return res
    res = answers[key]
    own = {"type": "uri", "value": iri}
    return dataclasses.replace(res, rows=[{**r, "establishment": own} for r in res.rows],
                               params={**res.params, "establishment": iri})


def _card_rows(site: Site, page: str, iri: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The card's rows (one per responsibility covering the establishment on the status date) and the
    establishment's setting type and nation as the ``establishment`` query gives them. The same for every
    establishment of a group (:func:`card_keys`: nothing in the rows names the establishment) and every page in
    one folder (the links are relative), so kept per group and folder (read-only: pages and CSVs only show it)."""
    key = card_keys(site).get(iri)
    if key is None:
        return _card_rows_of(site, page, iri)
    return _kept(site, "card-rows", (posixpath.dirname(page), key), lambda: _card_rows_of(site, page, iri))


def _card_rows_of(site: Site, page: str, iri: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    res = _establishment_answer(site, iri)
    rows = sorted(res.rows, key=lambda b: tuple(_v(b, c) for c in _CARD_ORDER)) if res is not None else []
    where = {"st": _v(rows[0], "settingType"), "nation": _v(rows[0], "nation")} if rows else {}
    present = {_v(b, "body") for b in rows}
    records = _overlaps_for(site, where["st"], where["nation"]) if rows else []
    out = []
    for b in rows:
        body, fn = _v(b, "body"), _v(b, "function")
        lead = _lead_state(site, page, body, fn, records, _split(_v(b, "leads")), present)
        basis = _v(b, "legalBasis")
        out.append({
            "body": site.link(page, body), "function": site.link(page, fn),
            "group": site.label(_function_group(site, fn)),
            "basis": site.link(page, basis) if basis else None,
            "provision": _v(b, "provisionReference"),
            "agreements": [site.link(page, a) for a in sorted(_split(_v(b, "agreements")), key=site.sort_key)],
            "agreement_iris": _split(_v(b, "agreements")),
            "lead": lead,
            "explain": [h for h in (_cell_link(site, page, st, f) for st, f in lead["cells"]) if h],
            "period": " – ".join(x for x in (_v(b, "validFrom"), _v(b, "validUntil")) if x),
            "citations": site.citations_of(page, _v(b, "responsibility")),
        })
    out.sort(key=lambda r: (r["group"].lower(), r["function"].text.lower(), r["body"].text.lower()))
    return out, where


def card_view(site: Site, page: str, iri: str) -> dict[str, Any]:
    """The remit card of one establishment: where it is, who inspects, regulates, monitors and investigates
    what there, under which power, which agreements apply, who leads, whom to contact and what is missing."""
    facts = site.select(PREFIX + """
        SELECT ?p ?o WHERE { ?s ?p ?o . FILTER(?p IN (remit:settingType, remit:jurisdiction, remit:operatedBy,
                                                      remit:healthBoard, remit:openedOn, remit:closedOn)) }""", s=iri)
    by: dict[str, list[str]] = {}
    for r in facts:
        by.setdefault(r["p"].value.rsplit("/", 1)[-1], []).append(r["o"].value)
    rows, _where = _card_rows(site, page, iri)
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    agreements = sorted({a for r in rows for a in r["agreement_iris"]}, key=site.sort_key)
    contacts, no_contact = _contacts(site, page, agreements)
    places = [Value(place_title(site, st, n), site.rel(page, place_path(st, n) or "/"))
              for st in sorted(set(by.get("settingType", []))) for n in sorted(set(by.get("jurisdiction", [])))
              if place_path(st, n) and st in place_types(site) and slug(n, JUR_PREFIX) in NATIONS]
    missing, said = [], set()
    for r in rows:
        pair = (r["function"].text, frozenset([r["body"].text, *(v.text for v in r["lead"]["without_lead"])]))
        if r["lead"]["state"] == "duplication" and pair not in said:  # once per function and set of bodies
            said.add(pair)
            missing.append(f"No lead named for {r['function'].text}: {r['body'].text} and "
                           + ", ".join(v.text for v in r["lead"]["without_lead"]) + " both do this here.")
        if r["basis"] is None:
            missing.append(f"No legal basis recorded for {r['body'].text}'s {r['function'].text}.")
    missing = list(dict.fromkeys(missing))
    missing += [f"No contact named for {a.text}." for a in no_contact]
    if not rows:
        missing.append("No body is recorded as covering this establishment on this date.")
    links = {k: [site.link(page, x) for x in sorted(set(by.get(k, [])), key=site.sort_key)]
             for k in ("settingType", "jurisdiction", "operatedBy", "healthBoard")}
    return {
        "iri": iri, "title": site.label(iri), "places": places,
        "setting_types": links["settingType"], "nations": links["jurisdiction"],
        "operators": links["operatedBy"], "health_boards": links["healthBoard"],
        "opened": ", ".join(sorted(set(by.get("openedOn", [])))), "closed": ", ".join(sorted(set(by.get("closedOn", [])))),
        "citations": site.citations_of(page, iri),
        "groups": [{"label": _capital(g), "rows": rs} for g, rs in groups.items()],
        "rows": rows, "bodies": len({r["body"].iri for r in rows}),
        "agreements": [site.link(page, a) for a in agreements],
        "contacts": contacts, "no_contact": no_contact, "missing": missing,
        "csv": site.rel(page, card_csv_path(iri) or "/"),
        "query_href": site.service(page, "/queries/establishment?" + _qs({"establishment": iri})),
        "query_csv": site.service(page, "/queries/establishment?" + _qs({"establishment": iri, "format": "csv"})),
        "query_xlsx": site.service(page, "/queries/establishment?" + _qs({"establishment": iri, "format": "xlsx"})),
        "formats": site.formats(page, iri),
    }


def _qs(params: dict[str, str]) -> str:
    return urlencode(params)


# ----------------------------------------------------------------------------------------------- the place

def _coverage(site: Site, page: str, st: str, nation: str) -> list[dict[str, Any]]:
    """Responsibilities in force (``remit-matrix``) for the setting type or a broader one, in a jurisdiction
    that contains the nation, each with its lead state."""
    records = _overlaps_for(site, st, nation)
    out = []
    for b in _matrix_rows(site):
        rst = _v(b, "settingType")
        if not _within(site, st, rst):
            continue
        juris = _split(_v(b, "jurisdictions"))
        if juris and not any(_within(site, nation, j) for j in juris):
            continue
        body, fn = _v(b, "holder"), _v(b, "fn") or _v(b, "function")
        lead = _lead_state(site, page, body, fn, records)
        basis = _v(b, "legalBasis")
        out.append({"body": site.link(page, body), "function": site.link(page, fn),
                    "group": site.label(_function_group(site, fn)),
                    "setting": site.link(page, rst), "broader": rst != st,
                    "jurisdictions": [site.link(page, j) for j in juris],
                    "basis": site.link(page, basis) if basis else None, "provision": _v(b, "provisionReference"),
                    "lead": lead,
                    "explain": [h for h in (_cell_link(site, page, s, f) for s, f in lead["cells"]) if h],
                    "citations": site.citations_of(page, _v(b, "responsibility"))})
    out.sort(key=lambda r: (r["group"].lower(), r["function"].text.lower(), r["body"].text.lower()))
    return out


def place_view(site: Site, page: str, st: str, nation: str) -> dict[str, Any]:
    """A setting type in a nation: its establishments, who covers it (bodies, functions, powers), who leads
    where remits overlap, whom to contact and what is missing."""
    ests = sorted({e["iri"]: e for e in _establishments(site)
                   if _within(site, e["st"], st) and _within(site, e["nation"], nation)}.values(),
                  key=lambda e: site.label(e["iri"]).lower())
    coverage = _coverage(site, page, st, nation)
    records = _overlaps_for(site, st, nation)
    agreements = sorted({a for o in records for a in o["agreements"]}, key=site.sort_key)
    contacts, no_contact = _contacts(site, page, agreements)
    overlaps = []
    for o in records:
        overlaps.append({"body1": site.link(page, o["body1"]), "function1": site.link(page, o["function1"]),
                         "body2": site.link(page, o["body2"]), "function2": site.link(page, o["function2"]),
                         "duplication": o["duplication"],
                         "leads": [site.link(page, x) for x in sorted(o["leads"], key=site.sort_key)],
                         "agreements": [site.link(page, x) for x in sorted(o["agreements"], key=site.sort_key)],
                         "explain": _cell_link(site, page, o["settingType"], o["function1"])})
    missing = [f"No lead named where {o['body1'].text} ({o['function1'].text}) and {o['body2'].text} "
               f"({o['function2'].text}) overlap." for o in overlaps if o["duplication"]]
    missing += [f"No contact named for {a.text}." for a in no_contact]
    if not coverage:
        missing.append("No body is recorded as holding a function here on this date.")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in coverage:
        groups.setdefault(r["group"], []).append(r)
    other_nations = [Value(place_title(site, st, n), site.rel(page, place_path(st, n) or "/"))
                     for n in _nations() if n != nation]
    return {
        "title": place_title(site, st, nation), "plural": plural(site, st),
        "setting": site.link(page, st), "setting_title": _capital(site.label(st)), "nation": site.link(page, nation),
        "establishments": [{"link": site.link(page, e["iri"]),
                            "operator": site.link(page, e["operator"]) if e["operator"] else None,
                            "opened": e["opened"], "closed": e["closed"],
                            "setting": site.link(page, e["st"]) if e["st"] != st else None} for e in ests],
        "groups": [{"label": _capital(g), "rows": rs} for g, rs in groups.items()], "coverage": coverage,
        "bodies": len({r["body"].iri for r in coverage}),
        "overlaps": overlaps, "duplications": sum(1 for o in overlaps if o["duplication"]),
        "contacts": contacts, "no_contact": no_contact, "missing": missing, "other_nations": other_nations,
        "csv": site.rel(page, place_csv_path(st, nation) or "/"),
        "csv_establishments": site.rel(page, place_csv_path(st, nation, "establishments") or "/"),
        "matrix_query": site.service(page, "/queries/remit-matrix?" + _qs({"settingType": st})),
        "places_index": site.rel(page, "/places/index.html"),
    }


# ----------------------------------------------------------------------------------------------- CSV

def csv_bytes(header: list[str], rows: Iterable[list[str]]) -> bytes:
    """A CSV in UTF-8 with a byte-order mark (so Excel keeps the en dashes), like the named queries' CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")


def _texts(vs: Iterable[Value]) -> str:
    return "; ".join(v.text for v in vs)


def _cites(cs: Iterable[dict[str, Any]]) -> str:
    out = []
    for c in cs:
        doc = c["document"].text if c.get("document") else "unnamed document"
        out.append(doc + (f", {c['locator']}" if c.get("locator") else ""))
    return "; ".join(out)


_LEAD_HEADER = ["Lead", "Lead status", "Overlaps with", "No lead named with"]


def _lead_cells(lead: dict[str, Any]) -> list[str]:
    return [_texts(lead["leads"]), lead["text"], _texts(lead["others"]), _texts(lead["without_lead"])]


def card_csv(site: Site, iri: str) -> bytes:
    """The remit card's table as CSV: one row per body and function covering the establishment."""
    rows, _w = _card_rows(site, "/places/establishments/x.csv", iri)
    name = site.label(iri)
    return csv_bytes(["Establishment", "Kind of work", "Function", "Body", "Legal basis", "Provision", "Agreements",
                      *_LEAD_HEADER, "Sources"],
                     [[name, _capital(r["group"]), r["function"].text, r["body"].text,
                       r["basis"].text if r["basis"] else "", r["provision"], _texts(r["agreements"]),
                       *_lead_cells(r["lead"]), _cites(r["citations"])] for r in rows])


def place_csv(site: Site, st: str, nation: str, kind: str = "") -> bytes:
    """A place page's coverage table (``kind=""``) or establishments (``"establishments"``) as CSV."""
    page = place_csv_path(st, nation, kind) or "/places/x.csv"
    v = place_view(site, page, st, nation)
    if kind == "establishments":
        return csv_bytes(["Establishment", "Setting type", "Nation", "Operator", "Opened", "Closed"],
                         [[e["link"].text, (e["setting"] or v["setting"]).text, v["nation"].text,
                           e["operator"].text if e["operator"] else "", e["opened"], e["closed"]]
                          for e in v["establishments"]])
    return csv_bytes(["Place", "Kind of work", "Function", "Body", "Setting type of the power", "Jurisdiction",
                      "Legal basis", "Provision", *_LEAD_HEADER, "Sources"],
                     [[v["title"], _capital(r["group"]), r["function"].text, r["body"].text, r["setting"].text,
                       _texts(r["jurisdictions"]), r["basis"].text if r["basis"] else "", r["provision"],
                       *_lead_cells(r["lead"]), _cites(r["citations"])] for r in v["coverage"]])
