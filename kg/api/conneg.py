"""Content negotiation for the SPARQL endpoint (RFC 9110 Accept with q-values and wildcards).

Pure functions, no web framework: the query workers use them too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

__all__ = [
    "Format", "RESULT_FORMATS", "GRAPH_FORMATS", "NotAcceptable", "UnknownFormat",
    "parse_accept", "negotiate", "FORMAT_NAMES", "browser_wants_html",
]


@dataclass(frozen=True)
class Format:
    key: str                 # short name, also the value of ``format=``
    media_type: str          # what we answer with in Content-Type
    aliases: tuple[str, ...]  # other media types that select it
    ox_name: str             # QueryResultsFormat / RdfFormat attribute in pyoxigraph
    w3c_format: str          # http://www.w3.org/ns/formats/ IRI (service description)

    @property
    def content_type(self) -> str:
        if self.media_type.startswith("text/") or self.media_type.endswith(("+xml", "+json")) \
                or self.media_type in ("application/n-triples", "application/trig", "application/ld+json"):
            return f"{self.media_type}; charset=utf-8"
        return self.media_type


_W3 = "http://www.w3.org/ns/formats/"

#: Formats of SELECT and ASK results, first = default.
RESULT_FORMATS: tuple[Format, ...] = (
    Format("json", "application/sparql-results+json", ("application/json",), "JSON", _W3 + "SPARQL_Results_JSON"),
    Format("xml", "application/sparql-results+xml", ("application/xml", "text/xml"), "XML", _W3 + "SPARQL_Results_XML"),
    Format("csv", "text/csv", (), "CSV", _W3 + "SPARQL_Results_CSV"),
    Format("tsv", "text/tab-separated-values", (), "TSV", _W3 + "SPARQL_Results_TSV"),
)

#: Formats of CONSTRUCT and DESCRIBE results (and of the service description), first = default.
GRAPH_FORMATS: tuple[Format, ...] = (
    Format("turtle", "text/turtle", ("application/turtle", "application/x-turtle", "text/n3", "text/rdf+n3",
                                     "application/n3"), "TURTLE", _W3 + "Turtle"),
    Format("jsonld", "application/ld+json", ("application/x-json+ld",), "JSON_LD", _W3 + "JSON-LD"),
    Format("nt", "application/n-triples", ("text/plain",), "N_TRIPLES", _W3 + "N-Triples"),
    Format("rdfxml", "application/rdf+xml", ("application/xml", "text/xml"), "RDF_XML", _W3 + "RDF_XML"),
    Format("trig", "application/trig", ("application/x-trig",), "TRIG", _W3 + "TriG"),
)

#: ``format=`` values understood, per query form family (SPARQLWrapper's names included).
FORMAT_NAMES: dict[str, dict[str, str]] = {
    "results": {"json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv"},
    "named": {"json": "json", "csv": "csv", "xlsx": "xlsx", "html": "html"},
    "graph": {"turtle": "turtle", "ttl": "turtle", "n3": "turtle", "jsonld": "jsonld", "json-ld": "jsonld",
              "json": "jsonld", "nt": "nt", "ntriples": "nt", "n-triples": "nt", "rdfxml": "rdfxml",
              "rdf+xml": "rdfxml", "rdf": "rdfxml", "xml": "rdfxml", "trig": "trig"},
}
_ALL_NAMES = {"html", "xlsx", "json", "xml", "csv", "tsv", "turtle", "ttl", "n3", "jsonld", "json-ld", "nt", "ntriples",
              "n-triples", "rdfxml", "rdf+xml", "rdf", "trig"}


class NotAcceptable(Exception):
    """No representation the client accepts; ``available`` lists what the query form can produce."""

    def __init__(self, available: Sequence[Format], asked: str):
        self.available = list(available)
        super().__init__(
            f"cannot produce any of: {asked or '(nothing)'}. Available for this query: "
            + ", ".join(f"{f.media_type} (format={f.key})" for f in self.available)
        )


class UnknownFormat(ValueError):
    pass


_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def parse_accept(header: Optional[str]) -> list[tuple[str, float, int]]:
    """``[(media-range, q, order)]``; a missing or empty header means ``*/*``."""
    if not header or not header.strip():
        return [("*/*", 1.0, 0)]
    out: list[tuple[str, float, int]] = []
    for order, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        rng = pieces[0].lower()
        if not rng:
            continue
        if "/" not in rng:
            rng = "*/*" if rng == "*" else rng
            if "/" not in rng:
                continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()  # RFC 9110 qvalue: 0 to 1, at most three decimals; anything else
                q = float(value) if _QVALUE.fullmatch(value) else 0.0  # (NaN, inf, 1e0, -1) excludes the range
        out.append((rng, q, order))
    return out


def _specificity(rng: str, media: str) -> int:
    """How precisely ``rng`` matches ``media`` (3 exact, 2 type/*, 1 */*), or 0 for no match."""
    if rng == media:
        return 3
    t, _, _sub = media.partition("/")
    if rng == f"{t}/*":
        return 2
    if rng == "*/*":
        return 1
    return 0


def _quality(ranges: list[tuple[str, float, int]], media: str, exact_only: bool = False) -> tuple[float, int, int]:
    """(q, specificity, -order) of the most specific range that matches ``media`` (aliases: exact only)."""
    best = (-1.0, 0, 0)
    best_spec = 0
    for rng, q, order in ranges:
        spec = _specificity(rng, media)
        if exact_only and spec < 3:
            continue
        if spec > best_spec:
            best_spec = spec
            best = (q, spec, -order)
    return best


def negotiate(available: Sequence[Format], accept: Optional[str],
              format_values: Iterable[str] = (), family: str = "results") -> Format:
    """Pick the representation.

    ``format_values`` (the ``format=``/``output=`` parameters) win over Accept: the first recognised value
    is used; a recognised name this query form cannot produce raises :class:`NotAcceptable`; values that
    are all unknown raise :class:`UnknownFormat`. Otherwise the Accept header decides: highest q, then the
    most specific range, then the order the client listed, then ours; q=0 excludes.
    """
    values = [v.strip() for v in format_values if v and v.strip()]
    if values:
        names = FORMAT_NAMES[family]
        # a format is found by its own key (a file extension such as "ttl") or by its canonical name ("turtle")
        by_key = {k: f for f in available for k in (f.key, names.get(f.key, f.key))}
        for v in values:
            lv = v.lower()
            if lv in by_key:  # one of this resource's own forms, by its key (html, ttl, rdf, ...)
                return by_key[lv]
            if lv in names:
                fmt = by_key.get(names[lv])
                if fmt is not None:
                    return fmt
                raise NotAcceptable(available, f"format={v}")
            if "/" in lv:  # a media type given as format value
                for f in available:
                    if lv.split(";")[0].strip() in (f.media_type, *f.aliases):
                        return f
            if lv in _ALL_NAMES:
                raise NotAcceptable(available, f"format={v}")
        known = ", ".join(sorted({*FORMAT_NAMES["results"], *FORMAT_NAMES["graph"]}))
        raise UnknownFormat(f"unknown format {values[0]!r}; known format names: {known}")

    ranges = parse_accept(accept)
    best: Optional[tuple[tuple[float, int, int, int], Format]] = None
    for idx, fmt in enumerate(available):
        cands = [_quality(ranges, fmt.media_type)] + [_quality(ranges, m, True) for m in fmt.aliases]
        q, spec, neg_order = max(cands)
        if q <= 0:
            continue
        score = (q, spec, neg_order, -idx)
        if best is None or score > best[0]:
            best = (score, fmt)
    if best is None:
        raise NotAcceptable(available, accept or "")
    return best[1]


_HTML_TYPES = ("text/html", "application/xhtml+xml")


def browser_wants_html(accept: Optional[str], rdf: Sequence[Format]) -> bool:
    """A browser asking for a page that also has an RDF form (``/sparql``, VoID): HTML wins when the client
    lists ``text/html`` (or ``application/xhtml+xml``) explicitly at a q at least that of the best of the
    ``rdf`` formats. Browsers send ``text/html,…,application/xml;q=0.9,*/*;q=0.8``: a page, not a download
    of RDF/XML. A missing header, ``*/*`` or a client naming only RDF types keeps RDF."""
    ranges = parse_accept(accept)
    html_q = max((q for rng, q, _ in ranges if rng in _HTML_TYPES), default=0.0)
    if html_q <= 0:
        return False
    rdf_q = 0.0
    for fmt in rdf:
        cands = [_quality(ranges, fmt.media_type)] + [_quality(ranges, m, True) for m in fmt.aliases]
        rdf_q = max(rdf_q, max(c[0] for c in cands))
    return html_q >= rdf_q
