"""The data date: the latest date the asserted data states, the one day every answer is judged on by default.

``kg build`` records it (:func:`record`, called by :func:`kg.pipeline.derive.derive`) as one triple in the derived
graph, ``id:dataset remit:dataDate "YYYY-MM-DD"^^xsd:date``, so any store holding the build (the embedded one, or an
external one after ``kg push``) can answer it with one small SELECT (:data:`RECORDED_QUERY`), read with each
named query by the store that runs it (the data date changes only with the store's contents). Named queries take it
as their ``asOf`` when none is given (:func:`kg.query.terms.resolve_bindings`), and ``kg publish`` and the live
pages judge statuses on it (:func:`kg.publication.publish.publication_date`). It comes from the sources only,
never the clock, so the same data gives the same answers on any day.

What counts: every literal of the asserted graph typed ``xsd:date``, ``xsd:dateTime``/``dateTimeStamp`` (its day),
``xsd:gYearMonth`` or ``xsd:gYear`` (its first day). No date at all: 1970-01-01.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Optional

import pyoxigraph as ox

from kg.rdf.namespaces import DATASET, GRAPH_ASSERTED, GRAPH_DERIVED, REMIT
from kg.rdf.store import default_graph_nodes

__all__ = ["DATA_DATE", "NO_DATE", "BASIS", "RECORDED_QUERY", "SCAN_QUERY", "latest_date", "compute", "record",
           "read", "data_date"]

#: ``remit:dataDate``: the property of ``id:dataset`` that holds the data date.
DATA_DATE = REMIT["dataDate"]
#: The data date of data that states no date.
NO_DATE = dt.date(1970, 1, 1)
#: Where the date comes from, in plain English (page footers, ``kg publish``).
BASIS = "the date of the data: the latest date any of its sources states"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_DATE_TYPES = tuple(_XSD + t for t in ("date", "dateTime", "dateTimeStamp", "gYearMonth", "gYear"))
_DAY = re.compile(r"^(-?\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")

#: The recorded date, over the served default graph (which holds the derived graph) of any SPARQL 1.1 store
#: holding the build. No ``GRAPH`` clause: a store asked with ``default-graph-uri`` sees no named graph.
RECORDED_QUERY = f"SELECT ?d WHERE {{ <{DATASET}> <{DATA_DATE}> ?d }}"
#: ``remit:nextReviewDate`` (queries/derive/50-review-schedule.rq): the one derived date that no source states (a
#: review's due day, base date + interval, often after the data date), left out of the scan below.
NEXT_REVIEW_DATE = REMIT["nextReviewDate"]
#: The dated literals of the default graph: over the asserted graph at build time; over the served default graph
#: for a store without the recorded triple (the ontology states no dates; the inferred and derived graphs copy
#: asserted ones, or count a year-month or year from its first day as this module does, except the next review
#: dates, which are not counted).
SCAN_QUERY = (f"SELECT DISTINCT ?o WHERE {{ ?s ?p ?o "
              f"FILTER(isLiteral(?o) && DATATYPE(?o) IN ({', '.join(f'<{t}>' for t in _DATE_TYPES)})"
              f" && ?p != <{NEXT_REVIEW_DATE}>) }}")


def latest_date(literals: Iterable[tuple[str, Optional[str]]]) -> Optional[dt.date]:
    """The latest day among ``(lexical form, datatype IRI)`` pairs of the dated types; None when there is none."""
    latest: Optional[dt.date] = None
    for value, datatype in literals:
        if datatype not in _DATE_TYPES:
            continue
        m = _DAY.match(value)
        if not m:
            continue
        try:
            day = dt.date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
        except ValueError:  # a year outside 1..9999, or a malformed date the validator reports
            continue
        latest = day if latest is None or day > latest else latest
    return latest


def compute(store: ox.Store) -> dt.date:
    """The data date of an in-memory or on-disk pyoxigraph store, computed from its asserted graph."""
    pairs = ((s["o"].value, s["o"].datatype.value)
             for s in store.query(SCAN_QUERY, default_graph=[ox.NamedNode(str(GRAPH_ASSERTED))])
             if isinstance(s["o"], ox.Literal))
    return latest_date(pairs) or NO_DATE


def record(store: ox.Store, into: str = str(GRAPH_DERIVED)) -> dt.date:
    """Compute the data date and write it into the graph ``into`` (the build's derived graph); return it."""
    day = compute(store)
    store.add(ox.Quad(ox.NamedNode(str(DATASET)), ox.NamedNode(str(DATA_DATE)),
                      ox.Literal(day.isoformat(), datatype=ox.NamedNode(_XSD + "date")), ox.NamedNode(into)))
    return day


def _day_of(row: Mapping[str, Any], var: str) -> Optional[tuple[str, Optional[str]]]:
    b = row.get(var)
    if not b:
        return None
    if isinstance(b, ox.Literal):
        return b.value, b.datatype.value
    if isinstance(b, Mapping) and b.get("type") in ("literal", "typed-literal"):
        return str(b["value"]), b.get("datatype")
    return None


def read(select: Callable[[str], list[Mapping[str, Any]]]) -> dt.date:
    """The data date of the store ``select`` queries (rows as SPARQL JSON bindings or pyoxigraph terms): the
    recorded one, else (a store loaded without ``kg build``'s derived graph) computed from its asserted graph."""
    recorded = latest_date(p for p in (_day_of(r, "d") for r in select(RECORDED_QUERY)) if p is not None)
    if recorded is not None:
        return recorded
    return latest_date(p for p in (_day_of(r, "o") for r in select(SCAN_QUERY)) if p is not None) or NO_DATE


def data_date(store: ox.Store) -> dt.date:
    """:func:`read` on a pyoxigraph store, over the served default graph."""
    def select(q: str) -> list[Mapping[str, Any]]:
        res = store.query(q, default_graph=default_graph_nodes())
        names = [v.value for v in res.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in res]
    return read(select)
