"""An agreement page's review paragraph (:func:`kg.publication.views.review_status`) reads the review schedule
``kg build`` derives (queries/derive/50-review-schedule.rq), the dates the named query ``reviews-due`` reads:
one computation of the next review date, not a second one in Python. Regression: the page worked the date out
itself, said "1 year after the signed, 2012-04-18", and on Virtuoso (durations kept as months) "reviews every
12, but no date to count from"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyoxigraph as ox

from kg.pipeline.derive import derive, load_rules
from kg.publication.site import Site
from kg.publication.views import review_status
from kg.rdf.namespaces import GRAPH_ASSERTED
from kg.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DATA = """@prefix remit: <https://w3id.org/remit/def/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/> .
ex:signed a remit:Agreement ; remit:documentDate "2011-11"^^xsd:gYearMonth ;
    remit:signature [ remit:signedOn "2012-04-18"^^xsd:date ] , [ remit:signedOn "2012-01-31"^^xsd:date ] ;
    remit:reviewCommitment [ remit:reviewInterval "P1Y"^^xsd:duration ; remit:onRequestOfEitherParty true ] .
ex:month-end a remit:Agreement ; remit:lastReviewed "2020-01-31"^^xsd:date ;
    remit:reviewCommitment [ remit:reviewInterval "P1M"^^xsd:duration ] .
ex:days a remit:Agreement ; remit:documentDate "2020-01-01"^^xsd:date ;
    remit:reviewCommitment [ remit:reviewInterval "P30D"^^xsd:duration ] .
ex:undated a remit:Agreement ; remit:reviewCommitment [ remit:reviewInterval "P2Y"^^xsd:duration ] .
ex:no-cycle a remit:Agreement ; remit:documentDate "2020"^^xsd:gYear .
"""


def _site(as_of: dt.date) -> Site:
    store = ox.Store()
    store.load(input=DATA.encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_ASSERTED)))
    rules = [r for r in load_rules(ROOT / "queries" / "derive") if r.name == "50-review-schedule"]
    assert derive(store, rules) > 0
    return Site(Settings(queries_dir=str(ROOT / "queries")), store=store, as_of=as_of)


def test_review_paragraph_reads_the_derived_schedule() -> None:
    site = _site(dt.date(2013, 1, 1))
    signed = review_status(site, "https://example.org/signed")
    assert {k: signed[k] for k in ("state", "due", "basis_label", "basis", "interval", "every", "on_request")} == {
        "state": "due", "due": "2013-04-18", "basis_label": "latest signature", "basis": "2012-04-18",
        "interval": "1 year", "every": "every year", "on_request": True}
    assert review_status(site, "https://example.org/signed", today=dt.date(2013, 4, 19))["state"] == "overdue"
    # the day clamped to the month's end, as reviews-due counts it
    end = review_status(site, "https://example.org/month-end")
    assert (end["due"], end["basis_label"], end["state"]) == ("2020-02-29", "last reviewed", "due")
    # an interval in days: a base date but no next review date (reviews-due: not in years and months)
    days = review_status(site, "https://example.org/days")
    assert (days["state"], days["due"], days["basis"]) == ("unknown", "", "2020-01-01")
    undated = review_status(site, "https://example.org/undated")
    assert (undated["state"], undated["basis"], undated["every"]) == ("unknown", "", "every 2 years")
    assert review_status(site, "https://example.org/no-cycle")["state"] == "no-interval"
