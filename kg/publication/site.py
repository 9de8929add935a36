"""The publication's model: IRI ↔ URL mapping, labels, and the data behind every page for people.

One :class:`Site` serves both the live server (:mod:`kg.api.pages`) and the static site
(:mod:`kg.publication.publish`): each page is rendered for a *page path* (``/id/body/cqc.html``) and every link in it is
written relative to that path, so the same HTML works under any base URL and on any static host.

IRI ↔ URL: an IRI under the IRI base (default ``https://w3id.org/remit/``) maps to the same path under
the public base: ``https://w3id.org/remit/id/body/cqc`` ↔ ``{public base}/id/body/cqc``. Its documents
are that path plus ``.html``, ``.ttl``, ``.jsonld``, ``.nt`` or ``.rdf``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import os
import posixpath
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence
from urllib.parse import quote

import pyoxigraph as ox
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kg.publication.frontend import GOVUK_CSS, govuk_css_file
from kg.publication.plaintext import humanise_duration, plain_reference, plain_text
from kg.publication.describe import LABEL_PREDICATES, describe, description_graphs, graph_triples
from kg.query.binding import bind_substitutions
from kg.query.registry import load_queries, run_named
from kg.rdf.namespaces import BASE, GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_REPORT, ID, ONTOLOGY_IRI, PREFIXES
from kg.rdf import datadate
from kg.rdf.namespaces import REMIT
from kg.rdf.store import MemoryCopy, open_store

__all__ = ["Site", "DOC_FORMATS", "iri_local_name", "LICENSE_IRI", "ENVIRONMENT", "TEMPLATES"]

TEMPLATES = Path(__file__).parent / "templates"
#: The one Jinja environment of every page for people (the site's pages, the search and named-query pages).
ENVIRONMENT = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                          trim_blocks=True, lstrip_blocks=True)
#: The stylesheet and other static files of the pages.
STATIC = Path(__file__).parent / "static"

#: Document forms of a resource: extension → (media type, label for people).
DOC_FORMATS: dict[str, tuple[str, str]] = {
    "html": ("text/html", "HTML"),
    "ttl": ("text/turtle", "Turtle"),
    "jsonld": ("application/ld+json", "JSON-LD"),
    "nt": ("application/n-triples", "N-Triples"),
    "rdf": ("application/rdf+xml", "RDF/XML"),
}

LICENSE_IRI = "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SH = "http://www.w3.org/ns/shacl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
R = str(REMIT)

#: Literals that are code (a SHACL-SPARQL constraint's query, a prefix declaration): shown as written, in a
#: code block, never through :meth:`Site.plain` (its labels would change the query).
CODE_PREDICATES = frozenset({SH + "select", SH + "ask", SH + "construct", SH + "update", SH + "prefix",
                             SH + "namespace"})

#: Predicates whose value is the page's lead paragraph, best first.
DEFINITION_PREDICATES = (SKOS + "definition", R + "statement", "http://purl.org/dc/terms/description",
                         RDFS + "comment", R + "scopeNote")

_BUILTIN_PROPERTY_LABELS = {
    RDF_TYPE: "type", RDFS + "label": "label", RDFS + "comment": "comment", RDFS + "seeAlso": "see also",
    RDFS + "subClassOf": "subclass of", RDFS + "subPropertyOf": "subproperty of", RDFS + "domain": "domain",
    RDFS + "range": "range", SKOS + "prefLabel": "preferred label", SKOS + "altLabel": "alternative label",
    SKOS + "definition": "definition", SKOS + "broader": "broader", SKOS + "narrower": "narrower",
    SKOS + "inScheme": "in scheme", SKOS + "topConceptOf": "top concept of", SKOS + "scopeNote": "scope note",
    SKOS + "editorialNote": "editorial note",
    "http://xmlns.com/foaf/0.1/page": "public page", "http://purl.org/dc/terms/identifier": "identifier",
    "http://purl.org/dc/terms/date": "date", "http://purl.org/dc/terms/title": "title",
    "http://purl.org/dc/terms/description": "description", "http://purl.org/dc/terms/source": "source",
    "http://www.w3.org/2006/vcard/ns#hasEmail": "email", "http://www.w3.org/2006/vcard/ns#hasTelephone": "telephone",
    "http://www.w3.org/2006/vcard/ns#hasAddress": "address", "http://www.w3.org/2006/vcard/ns#fn": "name",
    "http://www.w3.org/ns/prov#wasDerivedFrom": "derived from",
}


def iri_local_name(iri: str) -> str:
    """The last segment of an IRI (after ``#`` or ``/``)."""
    return re.split(r"[#/]", iri.rstrip("/#"))[-1]


def _humanise(iri: str) -> str:
    return iri_local_name(iri).replace("-", " ").replace("_", " ") or iri


def _words(name: str) -> str:
    """A camelCase term name as lower-case words, in British spelling: ``resultingOrganization`` →
    ``resulting organisation``, ``FormalOrganization`` → ``formal organisation``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ").lower()
    return re.sub(r"organiz", "organis", words) or name


def _term_value(t: Any) -> Optional[str]:
    return None if t is None else t.value


#: The site whose page is being rendered (set by :meth:`Site.render`), for the ``plain`` filter.
_RENDERING: contextvars.ContextVar[Optional["Site"]] = contextvars.ContextVar("remit_rendering_site", default=None)


def _plain_filter(text: Any) -> str:
    """``{{ text|plain }}``: :meth:`Site.plain` of the site rendering the page (without one, the internal
    references still go)."""
    site = _RENDERING.get()
    return site.plain(str(text)) if site is not None else plain_reference(str(text))


ENVIRONMENT.filters["plain"] = _plain_filter  # templates: {{ text|plain }}


@dataclass
class Value:
    """One value of a property, ready for a template."""

    text: str
    href: Optional[str] = None          # relative link, or an external absolute one
    external: bool = False
    iri: Optional[str] = None
    inferred: bool = False
    datatype: Optional[str] = None
    citation: Optional[dict[str, Any]] = None
    nested: list["PropertyRow"] = field(default_factory=list)
    code: bool = False                  # shown as written, in a code block (:data:`CODE_PREDICATES`)


@dataclass
class PropertyRow:
    label: str
    href: Optional[str]
    iri: str
    values: list[Value]


class Site:
    """Everything the pages need: the store, labels, links and the queries behind each page."""

    def __init__(self, settings: Any, store: Optional[ox.Store] = None, static: bool = False,
                 service_base: Optional[str] = None, as_of: Optional[dt.date] = None, as_of_basis: str = ""):
        self.settings = settings
        #: The day statuses (reviews due, agreements in force, duplications) are judged on. None: the store's data
        #: date (the live server); a publication always fixes one (:func:`kg.publication.publish.publication_date`).
        self.as_of = as_of
        #: Where :attr:`as_of` comes from, for people (``--as-of``, ``SOURCE_DATE_EPOCH``, the data).
        self.as_of_basis = as_of_basis
        #: The IRI namespace mapped onto this server's paths: ``settings.iri_base`` if the settings have it,
        #: else ``$REMIT_IRI_BASE``, else https://w3id.org/remit/.
        self.iri_base: str = getattr(settings, "iri_base", None) or os.environ.get("REMIT_IRI_BASE") or BASE
        if not self.iri_base.endswith("/"):
            self.iri_base += "/"
        self.static = static
        #: each node's citation rows, kept during a publication (:meth:`citations_of`)
        self._citation_memo: dict[str, list[dict[str, Any]]] = {}
        #: Where the SPARQL service lives for links from a static site (absolute); None on the server.
        self.service_base = service_base.rstrip("/") if service_base else None
        self._store = store
        self._held: Optional[MemoryCopy] = None  # a served store being copied into memory (see :attr:`store`)
        self._lock = threading.Lock()
        self._labels: Optional[dict[str, str]] = None
        self._queries: Optional[dict[str, Any]] = None
        #: Where to get an already-loaded named-query registry (the SPARQL endpoint's), if any.
        self.queries_from: Optional[Callable[[], Optional[dict[str, Any]]]] = None
        #: Anchor of an ontology term in the ontology's HTML documentation (set by the publication).
        self.term_anchor = iri_local_name
        self.env = ENVIRONMENT
        #: Whether the GOV.UK Frontend stylesheet is installed (kg.publication.frontend): linked from every page if so.
        self.govuk = govuk_css_file() is not None

    # ------------------------------------------------------------------ store, labels, queries
    @property
    def store(self) -> ox.Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    limit = getattr(self.settings, "store_in_memory_max_quads", 0)
                    if self.static:  # kg publish: the copy first, then every page from memory
                        self._store = open_store(Path(self.settings.store_path), limit)
                    else:  # a server: answer from disk at once, from memory once copied (kg.rdf.store.MemoryCopy)
                        self._held = MemoryCopy(open_store(Path(self.settings.store_path)), limit,
                                                getattr(self.settings, "store_copy_delay_seconds", 0.0))
                        self._store = self._held.store
        return self._held.store if self._held is not None else self._store

    def status_date(self) -> dt.date:
        """The day statuses are judged on: :attr:`as_of`, else (the live server) the data date of the store
        (:func:`kg.rdf.datadate.data_date`, read once per site: one site per served build), the day every named
        query defaults to; never the clock."""
        if self.as_of is not None:
            return self.as_of
        memo: dict[str, dt.date] = self.__dict__.setdefault("_data_date", {})
        if "day" not in memo:
            memo["day"] = datadate.data_date(self.store)
        return memo["day"]

    def status_basis(self) -> str:
        if self.as_of is not None:
            return self.as_of_basis or "fixed for this publication"
        return datadate.BASIS

    @property
    def graphs(self) -> list[ox.NamedNode]:
        return description_graphs(self.store)

    def select(self, query: str, graphs: Optional[Sequence[str]] = None, **subs: Any) -> list[dict[str, Any]]:
        """Run a SELECT; keyword arguments bind variables (str values become IRIs), with a ``VALUES`` block
        (:func:`kg.query.binding.bind_substitutions`), on the embedded store as on an external one."""
        bindings = {ox.Variable(k): (ox.NamedNode(v) if isinstance(v, str) else v) for k, v in subs.items()}
        dg = [ox.NamedNode(g) for g in graphs] if graphs is not None else self.graphs
        res = self.store.query(bind_substitutions(query, bindings), default_graph=dg)
        cols = [v.value for v in res.variables]
        return [dict(zip(cols, sol)) for sol in res]  # a solution iterates its values in column order (None: unbound)

    @property
    def labels(self) -> dict[str, str]:
        if self._labels is None:
            best: dict[str, tuple[int, str]] = {}
            order = {p: i for i, p in enumerate(LABEL_PREDICATES)}
            q = "SELECT ?s ?p ?l WHERE { ?s ?p ?l . FILTER(isIRI(?s) && ?p IN (%s)) }" % ", ".join(
                f"<{p}>" for p in LABEL_PREDICATES)
            for row in self.select(q):
                lit = row["l"]
                rank = order[row["p"].value] * 2 + (0 if (lit.language or "en").startswith("en") else 1)
                s = row["s"].value
                if s not in best or rank < best[s][0] or (rank == best[s][0] and lit.value < best[s][1]):
                    best[s] = (rank, lit.value)
            self._labels = {s: v for s, (_r, v) in best.items()}
        return self._labels

    def _label_of(self, iri: str) -> Optional[str]:
        """One resource's label, chosen as :attr:`labels` chooses (predicate order, English first, then the
        smallest), by a query on that IRI: a live server never loads every label of the graph (15 s of
        CPU in the web process at a million triples). Memoised per site."""
        memo: dict[str, Optional[str]] = self.__dict__.setdefault("_label_memo", {})
        if iri in memo:
            return memo[iri]
        order = {p: i for i, p in enumerate(LABEL_PREDICATES)}
        best: Optional[tuple[int, str]] = None
        q = "SELECT ?p ?l WHERE { ?s ?p ?l . FILTER(?p IN (%s)) }" % ", ".join(f"<{p}>" for p in LABEL_PREDICATES)
        for row in self.select(q, s=iri):
            lit = row["l"]
            if not isinstance(lit, ox.Literal):
                continue
            rank = order[row["p"].value] * 2 + (0 if (lit.language or "en").startswith("en") else 1)
            if best is None or rank < best[0] or (rank == best[0] and lit.value < best[1]):
                best = (rank, lit.value)
        if len(memo) >= 200_000:
            memo.clear()
        memo[iri] = best[1] if best else None
        return memo[iri]

    @property
    def has_store(self) -> bool:
        """A store to read (given, or a store folder in the settings); the named-query pages work without one."""
        return self._store is not None or bool(getattr(self.settings, "store_path", None))

    def known_label(self, iri: str) -> Optional[str]:
        """The store's label of ``iri``, or None when it has none (no name made up from the IRI)."""
        return self.labels.get(iri) if (self.static or self._labels is not None) else self._label_of(iri)

    def sort_key(self, iri: str) -> tuple[str, str]:
        """Order resources by label, then by IRI: labels tie (the "area 1" of two agreements), and a set's
        order differs from one process to the next, so a label alone gave pages that differed between two
        ``kg serve`` instances and between publications."""
        return (self.label(iri), iri)

    def label(self, iri: str) -> str:
        lab = self.labels.get(iri) if (self.static or self._labels is not None) else self._label_of(iri)
        if lab:
            return lab
        if iri in _BUILTIN_PROPERTY_LABELS:
            return _BUILTIN_PROPERTY_LABELS[iri]
        if iri.startswith("mailto:") or iri.startswith("tel:"):
            return iri.split(":", 1)[1]
        curie = self.curie(iri)
        if curie != iri and not iri.startswith(self.iri_base):
            return _words(curie.split(":", 1)[1])  # a term of another vocabulary (ORG, PROV, ...): words, no prefix
        return _humanise(iri)

    def plain(self, text: str) -> str:
        """Any text a page shows people (a literal, a locator, a validation message, a cell of a named query)
        in plain English (:func:`kg.publication.plaintext.plain_text`): the dataset's IRIs and prefixed names
        read as their labels; web addresses of other sites stay, for people to follow."""
        return plain_text(text, self.label, own_base=self.iri_base)

    def curie(self, iri: str) -> str:
        best = ""
        for p, ns in PREFIXES.items():
            if iri.startswith(ns) and len(ns) > len(best) and re.match(r"^[A-Za-z0-9_.-]*$", iri[len(ns):]):
                best, name = ns, p
        return f"{name}:{iri[len(best):]}" if best else iri

    @property
    def queries(self) -> dict[str, Any]:
        """The named-query registry (``queries/*.rq``)."""
        if self._queries is None and self.queries_from is not None:
            shared = self.queries_from()
            if shared:
                return shared
        if self._queries is None:
            self._queries = load_queries(Path(self.settings.queries_dir))
        return self._queries

    def run_named(self, name: str, params: Optional[dict[str, str]] = None, limit: int = 1000) -> Optional[Any]:
        """Run a named query if it exists; None when there is no such query. A date parameter whose default
        is ``data-date`` (or ``today``) gets :meth:`status_date` (so a page never reads the clock)."""
        nq = self.queries.get(name)
        if nq is None:
            return None
        params = dict(params or {})
        for p in nq.params:
            if p.type == "date" and p.default in ("today", "data-date") and not params.get(p.name):
                params[p.name] = self.status_date().isoformat()
        # memoised per site (one site per served or published build): a remit card and its CSV, a place page
        # and the cards under it ask the same questions
        memo: dict[tuple[Any, ...], Any] = self.__dict__.setdefault("_named_memo", {})
        key = (name, tuple(sorted(params.items())), limit)
        if key not in memo:
            if len(memo) >= 4096:
                memo.clear()
            memo[key] = run_named(self.store, nq, params, limit=limit, max_limit=max(limit, 1000))
        return memo[key]

    # ------------------------------------------------------------------ IRIs and links
    def iri_to_path(self, iri: str) -> Optional[str]:
        """``https://w3id.org/remit/id/body/cqc`` → ``/id/body/cqc``; None for IRIs Remit does not mint."""
        if iri.startswith(self.iri_base) and len(iri) > len(self.iri_base):
            rest = iri[len(self.iri_base):]
            if rest.split("/")[0] in ("id", "def", "shapes") and "#" not in rest and "?" not in rest:
                return "/" + rest
        if iri + "/" == self.iri_base:
            return None
        return None

    def path_to_iri(self, path: str) -> str:
        return self.iri_base + path.lstrip("/")

    def doc_path(self, iri: str, ext: str = "html") -> Optional[str]:
        """The path of a document about ``iri``; ontology terms' HTML is the ontology page's anchor."""
        path = self.iri_to_path(iri)
        if path is None:
            return None
        onto = self.iri_to_path(ONTOLOGY_IRI) if ONTOLOGY_IRI.startswith(self.iri_base) else None
        if ext == "html" and onto and path.startswith(onto + "/"):
            return f"{onto}.html#{self.term_anchor(iri)}"
        return f"{path}.{ext}"

    @staticmethod
    def rel(from_page: str, to_path: str) -> str:
        """A link from the page at ``from_page`` to ``to_path`` (both absolute paths), relative."""
        frag = ""
        if "#" in to_path:
            to_path, frag = to_path.split("#", 1)
            frag = "#" + frag
        if to_path == "/":
            to_path = "/index.html"
        base = posixpath.dirname(from_page) or "/"
        r = posixpath.relpath(to_path, base)
        if to_path.endswith("/") and not r.endswith("/"):
            r += "/"
        return r + frag

    def href(self, page: str, iri: str) -> Optional[str]:
        d = self.doc_path(iri)
        return self.rel(page, d) if d else None

    def service(self, page: str, path: str) -> str:
        """A link to a live-service route (``/sparql``, ``/ui``, ``/queries/x``)."""
        if self.service_base:
            return self.service_base + path
        return self.rel(page, path.split("?")[0]) + (("?" + path.split("?", 1)[1]) if "?" in path else "")

    def link(self, page: str, iri: str) -> Value:
        d = self.doc_path(iri)
        if d:
            return Value(self.label(iri), self.rel(page, d), iri=iri)
        if iri.startswith(("http://", "https://", "mailto:", "tel:")):
            return Value(self.label(iri), iri, external=True, iri=iri)
        return Value(self.label(iri), None, iri=iri)

    # ------------------------------------------------------------------ rendering
    def render(self, template: str, page: str, **ctx: Any) -> str:
        def url(path: str) -> str:
            return self.rel(page, path)

        def svc(path: str) -> str:
            return self.service(page, path)

        token = _RENDERING.set(self)
        try:
            return self.env.get_template(template).render(
                page=page, url=url, svc=svc, static=self.static, as_of=self.status_date().isoformat(),
                govuk_css=url(GOVUK_CSS) if self.govuk else None,
                as_of_basis=self.status_basis(), iri_base=self.iri_base, **ctx)
        finally:
            _RENDERING.reset(token)

    # ------------------------------------------------------------------ resource pages
    def literal_text(self, lit: ox.Literal) -> str:
        dtype = lit.datatype.value if lit.datatype else ""
        if dtype == XSD + "duration":
            return humanise_duration(lit.value)
        if dtype == XSD + "boolean":
            return "yes" if lit.value in ("true", "1") else "no"
        return lit.value

    def citation(self, page: str, node: Any, by_subject: dict[Any, list[tuple[Any, Any]]]) -> dict[str, Any]:
        """A citation node as a dict for the templates: document (label, link, public page), locator, quotation."""
        props: dict[str, list[Any]] = {}
        for p, o in by_subject.get(node, []):
            props.setdefault(p.value, []).append(o)
        doc = (props.get(R + "citedDocument") or [None])[0]
        out: dict[str, Any] = {"locator": "; ".join(o.value for o in props.get(R + "locator", [])),
                               "quotation": "; ".join(o.value for o in props.get(R + "quotation", [])),
                               "status": "; ".join(o.value for o in props.get(R + "sourceStatus", []))}
        if doc is not None and isinstance(doc, ox.NamedNode):
            out["document"] = self.link(page, doc.value)
            pages = [o.value for p, o in by_subject.get(doc, []) if p.value == "http://xmlns.com/foaf/0.1/page"]
            out["public_page"] = pages[0] if pages else None
        return out

    def citations_of(self, page: str, iri: str) -> list[dict[str, Any]]:
        """Citations of one node, from the store (for the agreement and body pages). A publication keeps each
        node's answer (a remit card lists the citations of every contact of every agreement it names: at 1M
        synthetic triples ~175 questions a card, the same contacts card after card)."""
        memo = self._citation_memo if self.static else None
        rows = memo.get(iri) if memo is not None else None
        if rows is None:
            rows = self._citation_rows(iri)
            if memo is not None:
                if len(memo) >= 200_000:
                    memo.clear()
                memo[iri] = rows
        seen: dict[Any, dict[str, Any]] = {}
        for r in rows:
            c = seen.setdefault(r["c"], {"locator": "", "quotation": "", "document": None, "public_page": None})
            if r["locator"] is not None:
                c["locator"] = r["locator"].value
            if r["quotation"] is not None:
                c["quotation"] = r["quotation"].value
            if r["doc"] is not None:
                c["document"] = self.link(page, r["doc"].value)
            if r["pg"] is not None:
                c["public_page"] = r["pg"].value
        return sorted(seen.values(), key=lambda c: (c["locator"], c["quotation"]))

    def _citation_rows(self, iri: str) -> list[dict[str, Any]]:
        return self.select("""
            PREFIX remit: <https://w3id.org/remit/def/>
            PREFIX foaf: <http://xmlns.com/foaf/0.1/>
            SELECT ?c ?doc ?locator ?quotation ?pg WHERE {
              ?n remit:citation ?c .
              OPTIONAL { ?c remit:citedDocument ?doc . OPTIONAL { ?doc foaf:page ?pg } }
              OPTIONAL { ?c remit:locator ?locator }
              OPTIONAL { ?c remit:quotation ?quotation }
            } ORDER BY ?locator""", n=iri)

    def resource(self, iri: str, page: str) -> dict[str, Any]:
        """The data of a generic resource page."""
        triples = describe(self.store, iri)
        inferred = {(t.predicate.value, t.object) for t in self.store.quads_for_pattern(
            ox.NamedNode(iri), None, None, ox.NamedNode(str(GRAPH_INFERRED)))}
        asserted = {(t.predicate.value, t.object) for t in self.store.quads_for_pattern(
            ox.NamedNode(iri), None, None, ox.NamedNode(str(GRAPH_ASSERTED)))}
        me = ox.NamedNode(iri)
        by_subject: dict[Any, list[tuple[Any, Any]]] = {}
        incoming: dict[str, list[Any]] = {}
        for t in triples:
            by_subject.setdefault(t.subject, []).append((t.predicate, t.object))
            if t.object == me and t.subject != me:
                incoming.setdefault(t.predicate.value, []).append(t.subject)
        own = sorted(set(by_subject.get(me, [])), key=lambda po: (po[0].value, str(po[1])))
        types = [o.value for p, o in own if p.value == RDF_TYPE and isinstance(o, ox.NamedNode)
                 and o.value not in ("http://www.w3.org/2002/07/owl#Thing", RDFS + "Resource")]
        definition = ""
        for dp in DEFINITION_PREDICATES:
            vals = [o.value for p, o in own if p.value == dp and isinstance(o, ox.Literal)]
            if vals:
                definition = self.plain(vals[0])
                break
        rows = self._rows(page, own, by_subject, inferred - asserted, skip={RDF_TYPE, R + "citation", R + "sourceText"})
        cites = [self.citation(page, o, by_subject) for p, o in own if p.value == R + "citation"]
        cites.sort(key=lambda c: (c["locator"], c["quotation"]))
        inc_rows = []
        for p, subs in sorted(incoming.items(), key=lambda kv: self.label(kv[0])):
            vals = sorted({s.value for s in subs}, key=lambda s: (self.label(s).lower(), s))
            inc_rows.append(PropertyRow(self.label(p), self.href(page, p), p, [self.link(page, s) for s in vals]))
        type_vals = [self.link(page, t) for t in sorted(set(types), key=self.sort_key)]
        for v in type_vals:
            v.inferred = (RDF_TYPE, ox.NamedNode(v.iri)) in (inferred - asserted)
        return {
            "iri": iri, "title": self.label(iri), "types": type_vals, "definition": definition,
            "rows": rows, "citations": cites, "incoming": inc_rows,
            "formats": self.formats(page, iri), "findings": self.findings(page, [iri]),
            "describe_query": f"DESCRIBE <{iri}>",
        }

    def _rows(self, page: str, pairs: Iterable[tuple[Any, Any]], by_subject: dict[Any, list[tuple[Any, Any]]],
              inferred: set[tuple[str, Any]], skip: set[str] = frozenset(), depth: int = 0) -> list[PropertyRow]:
        grouped: dict[str, list[Any]] = {}
        for p, o in pairs:
            if p.value in skip:
                continue
            grouped.setdefault(p.value, []).append(o)
        rows = []
        for p, objs in grouped.items():
            values = []
            for o in objs:
                if isinstance(o, ox.NamedNode):
                    v = self.link(page, o.value)
                elif isinstance(o, ox.BlankNode):
                    if p == R + "citation":
                        v = Value("citation", citation=self.citation(page, o, by_subject))
                    elif depth < 3:
                        v = Value("", nested=self._rows(page, by_subject.get(o, []), by_subject, set(), depth=depth + 1,
                                                        skip={RDF_TYPE}))  # a citation's "type: entity" says nothing
                    else:
                        v = Value("(blank node)")
                else:
                    text = self.literal_text(o)
                    code = p in CODE_PREDICATES
                    v = Value(text if code else self.plain(text), code=code,
                              datatype=o.datatype.value if o.datatype else None)
                v.inferred = (p, o) in inferred
                values.append(v)
            # blank nodes have no text: their contents decide, so the order is the same from any store
            values.sort(key=lambda v: (v.inferred, v.text.lower(), _value_key(v)))
            rows.append(PropertyRow(self.label(p), self.href(page, p), p, values))
        rows.sort(key=lambda r: (r.label == "label", r.label.lower()))
        return rows

    def formats(self, page: str, iri: str) -> list[dict[str, str]]:
        path = self.iri_to_path(iri)
        if path is None:
            return []
        return [{"ext": ext, "label": label, "media": media, "href": self.rel(page, f"{path}.{ext}")}
                for ext, (media, label) in DOC_FORMATS.items() if ext != "html"]

    # ------------------------------------------------------------------ validation findings
    def findings(self, page: str, focus: Sequence[str], prefix: Optional[str] = None) -> list[dict[str, Any]]:
        """Validation results (from the validation-report graph) whose focus node is one of ``focus`` or,
        with ``prefix``, any node whose IRI starts with it."""
        by_focus = self.report_by_focus()
        keys = set(focus) | ({f for f in by_focus if f.startswith(prefix)} if prefix else set())
        rows = [r for _, r in sorted((x for f in keys for x in by_focus.get(f, ())), key=lambda x: x[0])]
        out: dict[Any, dict[str, Any]] = {}
        for r in rows:
            f = r["focus"].value
            item = out.setdefault(r["r"], {"focus": self.link(page, f), "severity": "", "messages": set(),
                                          "path": None, "shape": None})
            if r["severity"] is not None:
                item["severity"] = iri_local_name(r["severity"].value)
            if r["message"] is not None:
                item["messages"].add(self.plain(r["message"].value))
            if r["path"] is not None:
                item["path"] = self.link(page, r["path"].value)
            if r["shape"] is not None:
                item["shape"] = self.link(page, r["shape"].value)
        order = {"Violation": 0, "Warning": 1, "Info": 2}
        res = [dict(v, messages=sorted(v["messages"])) for v in out.values()]
        res.sort(key=lambda v: (order.get(v["severity"], 3), v["focus"].text, v["messages"]))
        return res

    def report_by_focus(self) -> dict[str, list[tuple[int, Any]]]:
        """Every row of the validation report (one query per site: each resource page asks for its own
        findings, and the report is read once instead of once a page), by focus node, with its place in the
        answer (so a page lists tied findings in the same order as before)."""
        memo: Optional[dict[str, list[tuple[int, Any]]]] = self.__dict__.get("_report_memo")
        if memo is None:
            rows = self.select(f"""
                PREFIX sh: <{SH}>
                SELECT ?r ?focus ?severity ?message ?path ?shape WHERE {{
                  ?r sh:focusNode ?focus .
                  OPTIONAL {{ ?r sh:resultSeverity ?severity }}
                  OPTIONAL {{ ?r sh:resultMessage ?message }}
                  OPTIONAL {{ ?r sh:resultPath ?path . FILTER(isIRI(?path)) }}
                  OPTIONAL {{ ?r sh:sourceShape ?shape . FILTER(isIRI(?shape)) }}
                  FILTER(isIRI(?focus))
                }}""", graphs=[str(GRAPH_REPORT)])
            memo = {}
            for i, r in enumerate(rows):
                memo.setdefault(r["focus"].value, []).append((i, r))
            self.__dict__["_report_memo"] = memo
        return memo

    # ------------------------------------------------------------------ lists
    def agreements(self, page: str) -> list[dict[str, Any]]:
        rows = self.select("""
            PREFIX remit: <https://w3id.org/remit/def/>
            SELECT ?a (SAMPLE(?d) AS ?date) (SAMPLE(?st) AS ?status)
                   (COUNT(DISTINCT ?area) AS ?areas) (COUNT(DISTINCT ?nolead) AS ?noleads) WHERE {
              ?a a remit:Agreement .
              OPTIONAL { ?a remit:documentDate ?d }
              OPTIONAL { ?a remit:status ?st }
              OPTIONAL { ?a remit:areaOfJointWork ?area .
                         OPTIONAL { ?area a ?t . FILTER NOT EXISTS { ?area remit:leadBody ?l } BIND(?area AS ?nolead) } }
            } GROUP BY ?a""")
        parties = self._multi("SELECT ?s ?o WHERE { ?s <%sparty> ?o }" % R)
        out = []
        for r in rows:
            a = r["a"].value
            out.append({"link": self.link(page, a), "date": _term_value(r["date"]) or "",
                        "status": self.link(page, r["status"].value) if r["status"] else None,
                        "parties": [self.link(page, p) for p in sorted(parties.get(a, []), key=self.sort_key)],
                        "areas": int(r["areas"].value), "noleads": int(r["noleads"].value)})
        out.sort(key=lambda x: (x["link"].text.lower()))
        return out

    def _multi(self, query: str, **subs: Any) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.select(query, **subs):
            if r["o"] is not None:
                out.setdefault(r["s"].value, []).append(r["o"].value)
        return {k: sorted(set(v)) for k, v in out.items()}

    def bodies(self, page: str) -> list[dict[str, Any]]:
        rows = self.select("""
            PREFIX remit: <https://w3id.org/remit/def/>
            SELECT ?b (COUNT(DISTINCT ?r) AS ?resps) (COUNT(DISTINCT ?a) AS ?agrs) WHERE {
              { ?b a remit:OversightBody } UNION { ?b a remit:Office } UNION { [] remit:holder ?b }
              FILTER(isIRI(?b))
              OPTIONAL { ?r remit:holder ?b }
              OPTIONAL { ?a remit:party ?b }
            } GROUP BY ?b""")
        types = self._multi("SELECT ?s ?o WHERE { ?s a ?o . FILTER(STRSTARTS(STR(?o), \"%s\")) }" % R)
        acr = self._multi("SELECT ?s ?o WHERE { ?s <%sacronym> ?o }" % R)
        out = []
        for r in rows:
            b = r["b"].value
            ts = [t for t in types.get(b, []) if t not in (R + "FunctionHolder", R + "OversightBody")] or types.get(b, [])
            out.append({"link": self.link(page, b), "acronyms": ", ".join(acr.get(b, [])),
                        "types": [self.link(page, t) for t in ts],
                        "resps": int(r["resps"].value), "agreements": int(r["agrs"].value)})
        out.sort(key=lambda x: x["link"].text.lower())
        return out

    def counts(self) -> dict[str, int]:
        out = {}
        for g in (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED):
            out[iri_local_name(str(g))] = sum(1 for _ in self.store.quads_for_pattern(None, None, None, ox.NamedNode(str(g))))
        return out

    def ontology_version(self) -> str:
        rows = self.select("SELECT ?v WHERE { ?o <http://www.w3.org/2002/07/owl#versionInfo> ?v }",
                           graphs=[str(GRAPH_ONTOLOGY)], o=ONTOLOGY_IRI)
        return rows[0]["v"].value if rows else "0"

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        return graph_triples(self.store, graph)

    def suggestions(self, page: str, text: str, limit: int = 10) -> list[Value]:
        """Resources whose label shares words with ``text`` (for the 404 page)."""
        # bounded before any work (issue 16): the first SUGGEST_WORDS distinct words of the first
        # SUGGEST_TEXT characters, each at most SUGGEST_WORD characters long
        words = [w for w in re.split(r"[^a-z0-9]+", text[:SUGGEST_TEXT].lower()) if 1 < len(w) <= SUGGEST_WORD]
        words = list(dict.fromkeys(words))[:SUGGEST_WORDS]
        if not words:
            return []
        scored = []
        if self.static or self._labels is not None:
            candidates = self.labels.items()
        else:  # a live server: the store finds the labels that contain a word (no label table in memory)
            q = ("SELECT DISTINCT ?s WHERE { ?s ?p ?l . FILTER(?p IN (%s)) FILTER(isIRI(?s)) FILTER(%s) } LIMIT 2000"
                 % (", ".join(f"<{p}>" for p in LABEL_PREDICATES),
                    " || ".join(f"CONTAINS(LCASE(STR(?l)), {json.dumps(w)}) || CONTAINS(LCASE(STR(?s)), {json.dumps(w)})"
                                for w in words)))
            candidates = [(r["s"].value, self.label(r["s"].value)) for r in self.select(q)]
        for iri, lab in candidates:
            if self.iri_to_path(iri) is None:
                continue
            low = lab.lower() + " " + iri_local_name(iri).lower()
            score = sum(1 for w in words if w in low)
            if score:
                scored.append((-score, lab.lower(), iri))
        scored.sort()
        return [self.link(page, iri) for _s, _l, iri in scored[:limit]]


def _value_key(v: Value) -> tuple[Any, ...]:
    """What orders values with the same text (blank nodes): their citation, then their nested rows."""
    cite = tuple(sorted((k, str(x)) for k, x in (v.citation or {}).items()))
    return (cite, tuple((r.label, tuple((x.text, _value_key(x)) for x in r.values)) for r in v.nested))


#: Bounds of the 404 page's label search: characters of the path read, words used, characters per word.
SUGGEST_TEXT, SUGGEST_WORDS, SUGGEST_WORD = 200, 3, 40


def slug(iri: str, prefix: str) -> Optional[str]:
    return iri[len(prefix):] if iri.startswith(prefix) and "/" not in iri[len(prefix):] else None


ST_PREFIX = str(ID) + "setting-type/"
FN_PREFIX = str(ID) + "function/"
__all__ += ["SUGGEST_TEXT", "SUGGEST_WORDS", "SUGGEST_WORD", "slug", "ST_PREFIX", "FN_PREFIX", "Value", "PropertyRow", "quote"]
