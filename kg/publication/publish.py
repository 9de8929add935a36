"""Publication artefacts: RDF documents, the JSON-LD context, reproducible dumps, VoID + DCAT, the date a
publication judges statuses on, and the dump cache the server's dump job writes (``python -m
kg.publication.publish``). The static site (``kg publish OUTDIR``) is :mod:`kg.publication.publication`.

Dumps are versioned with the ontology's ``owl:versionInfo`` and reproducible byte for byte: blank nodes
get canonical labels (rdflib's RDF canonicalisation, computed over all graphs at once so a blank node
shared by two graphs keeps one label), triples are written in sorted order, and gzip members carry
``mtime=0`` and no file name.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.plugins.serializers.jsonld import from_rdf as jsonld_from_rdf
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, RDFS, VOID, XSD

from kg.publication.describe import describe_ontology, to_rdflib
from kg.rdf.namespaces import (GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, ID, ONTOLOGY_IRI, PREFIXES, SD,
                           bind_all)
from kg.rdf import datadate
from kg.rdf.serialize import blank_node_labels, sorted_lines
from kg.rdf.store import open_store

__all__ = [
    "serialize", "RDF_MEDIA", "jsonld_context", "Dump", "build_dumps", "void_graph", "DATASET_IRI",
    "LICENSE", "SPDX", "publication_date", "parse_as_of", "source_date_epoch",
]

LICENSE = URIRef("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")
SPDX = "http://spdx.org/rdf/terms#"
DATASET_IRI = URIRef(str(ID) + "dataset")
DUMP_GRAPHS = (str(GRAPH_ONTOLOGY), str(GRAPH_ASSERTED), str(GRAPH_INFERRED))

#: Document extension → (media type, rdflib format).
RDF_MEDIA: dict[str, tuple[str, str]] = {
    "ttl": ("text/turtle", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
    "nt": ("application/n-triples", "nt"),
    "rdf": ("application/rdf+xml", "xml"),
    "trig": ("application/trig", "trig"),
}


# ----------------------------------------------------------------------------------------- JSON-LD context

def jsonld_context(ontology_triples: Iterable[ox.Triple]) -> dict[str, Any]:
    """The ``@context``: every prefix of :data:`kg.rdf.namespaces.PREFIXES`, plus a term per ontology property
    (``leadBody`` → ``remit:leadBody``). A property whose local name is already a prefix keeps its
    prefixed form (``remit:status``), so no term is defined twice. No type coercion: values keep their own
    ``@id``/``@value`` form, which rdflib writes and reads back without loss (with ``"@type": "@id"``
    coercion rdflib 7.6 drops blank-node objects on the round trip)."""
    ctx: dict[str, Any] = {p: ns for p, ns in sorted(PREFIXES.items())}
    remit = PREFIXES["remit"]
    kinds: dict[str, str] = {}
    for t in ontology_triples:
        if (t.predicate.value == str(RDF.type) and isinstance(t.subject, ox.NamedNode)
                and t.subject.value.startswith(remit)):
            if t.object.value == str(OWL.ObjectProperty):
                kinds[t.subject.value] = "object"
            elif t.object.value == str(OWL.DatatypeProperty):
                kinds.setdefault(t.subject.value, "data")
    for iri in sorted(kinds):
        name = iri[len(remit):]
        if not name or name in ctx or not name.replace("_", "").isalnum():
            continue
        ctx[name] = {"@id": iri}
    return {"@context": ctx}


# ----------------------------------------------------------------------------------------- serialisation

def serialize(graph: Graph, ext: str, context: Optional[dict[str, Any]] = None, bound: bool = False) -> bytes:
    """One graph as a document of the format named by ``ext`` (ttl, jsonld, nt, rdf). ``bound``: Remit's
    prefixes are already bound on ``graph`` (binding them costs ~1.5 ms a graph in rdflib; only the JSON-LD
    writer reads them). N-Triples, Turtle and RDF/XML are written from the graph's sorted N-Triples
    (:func:`_written_documents`), JSON-LD by rdflib."""
    media, fmt = RDF_MEDIA[ext]
    if fmt == "json-ld":
        if not bound:
            bind_all(graph)
        # rdflib's JSON-LD writer's own conversion, without its text: the object is sorted and written once here.
        # use_native_types=True is what the writer passes (its keyword arrives as a one-element tuple, truthy)
        doc = jsonld_from_rdf(graph, context["@context"] if context is not None else None, None, True, False,
                              auto_compact=True)
        if not doc:
            return json.dumps({"@context": context["@context"] if context else {}, "@graph": []}).encode("utf-8")
        return _stable_json(doc)
    if ext in _FROM_LINES:
        return _written_documents(_nt_lines(graph), (ext,))[ext]
    if not bound:
        bind_all(graph)
    return graph.serialize(format=fmt, encoding="utf-8")


#: The documents :func:`_written_documents` makes from sorted N-Triples lines.
_FROM_LINES = ("nt", "ttl", "rdf")


def _nt_lines(graph: Graph) -> list[bytes]:
    """The graph's statements as N-Triples lines (rdflib's writer), each once, sorted."""
    return sorted(set(line for line in graph.serialize(format="nt", encoding="utf-8").split(b"\n") if line.strip()))


def _written_documents(lines: list[bytes], exts: Sequence[str]) -> dict[str, bytes]:
    """Sorted N-Triples lines as the documents of ``exts`` among nt, ttl and rdf: N-Triples as they are; Turtle
    (Remit's prefixes that occur, sorted, then each subject's statements together in line order) and RDF/XML
    written by Oxigraph from the same lines, parsed once (rdflib's Turtle writer took 1.5 s for the largest
    description at 1M synthetic triples, 44,601 statements: docs/publication.md)."""
    out: dict[str, bytes] = {}
    if "nt" in exts:
        out["nt"] = b"\n".join(lines) + b"\n" if lines else b""
    if "ttl" in exts or "rdf" in exts:
        triples = list(ox.parse(b"\n".join(lines) + b"\n", format=ox.RdfFormat.N_TRIPLES)) if lines else []
        if "ttl" in exts:
            iris = {x.value for t in triples for x in (t.subject, t.predicate, t.object) if isinstance(x, ox.NamedNode)}
            iris.update(t.object.datatype.value for t in triples if isinstance(t.object, ox.Literal))
            used = {p: ns for p, ns in PREFIXES.items() if any(i.startswith(ns) for i in iris)}
            out["ttl"] = (_prefix_header(used) + b"\n" + _write_sorted(lines, ox.RdfFormat.TURTLE, used) + b"\n"
                          if lines else b"")
        if "rdf" in exts:  # RDF/XML needs the predicates' namespaces as prefixes
            used = {p: ns for p, ns in PREFIXES.items() if any(t.predicate.value.startswith(ns) for t in triples)}
            out["rdf"] = ox.serialize(triples, format=ox.RdfFormat.RDF_XML, prefixes=used)
    return out


def _sorted_jsonld(node: Any, in_list: bool = False) -> Any:
    """JSON-LD with its unordered arrays sorted (``@list`` arrays keep their order)."""
    if isinstance(node, dict):
        return {k: _sorted_jsonld(v, in_list=(k == "@list")) for k, v in node.items()}
    if isinstance(node, list):
        items = [_sorted_jsonld(v) for v in node]
        return items if in_list else sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return node


def _stable_json(doc: Any) -> bytes:
    """rdflib's JSON-LD writer orders nodes and values by hash-seeded sets; sort them so the bytes are the
    same in every process."""
    return (json.dumps(_sorted_jsonld(doc), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class Dump:
    """One dump file: its bytes in memory (``data``), or a file written by the dump builder (``path``, with
    its size and SHA-256 recorded when it was written, so nothing is read until it is served)."""

    name: str            # file name, e.g. remit-0.1.0.ttl
    kind: str            # ttl | nt.gz | jsonld | trig
    media_type: str      # of the payload (before compression)
    content: Optional[bytes] = None
    compressed: bool = False
    path: Optional[Path] = None
    digest: str = ""
    byte_size: int = -1

    @property
    def data(self) -> bytes:
        if self.content is None:
            assert self.path is not None
            return Path(self.path).read_bytes()
        return self.content

    @property
    def size(self) -> int:
        return self.byte_size if self.byte_size >= 0 else len(self.data)

    @property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.data).hexdigest()

    @property
    def checksum_file(self) -> bytes:
        """``sha256sum`` format: ``<hex>  <file name>``."""
        return f"{self.sha256}  {self.name}\n".encode("ascii")

    def renamed(self, name: str) -> "Dump":
        return Dump(name, self.kind, self.media_type, self.content, self.compressed, self.path, self.digest,
                    self.byte_size)


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


_SKOLEM = "urn:x-remit:bnode:"
_SKOLEM_ANGLE = re.compile(rb"<urn:x-remit:bnode:([0-9A-Za-z-]+)>")
_SKOLEM_JSON = re.compile(rb'"urn:x-remit:bnode:([0-9A-Za-z-]+)"')


def _labelled_graph(store: ox.Store, graph: str, labels: dict[str, str]) -> list[bytes]:
    """The statements of ``graph`` as sorted N-Triples lines, each blank node written as the IRI
    ``<urn:x-remit:bnode:LABEL>`` (LABEL from :func:`kg.rdf.serialize.blank_node_labels`; turned back into
    ``_:bLABEL`` in the written dumps), so that nothing depends on the store's own blank-node ids."""
    def iri(node: bytes) -> bytes:
        return f"<{_SKOLEM}{labels[node.decode()]}>".encode()

    return sorted_lines(store, graph, iri)


def _sorted_lines(nt: bytes) -> list[bytes]:
    lines = [line for line in nt.split(b"\n") if line]
    lines.sort()
    return lines


def _write_sorted(lines: list[bytes], fmt: ox.RdfFormat, prefixes: dict[str, str]) -> bytes:
    """Sorted N-Triples lines written in ``fmt`` in that order (Oxigraph's writers keep the input order,
    grouping a subject's consecutive statements), without the prefix lines."""
    if not lines:
        return b""
    triples = ox.parse(b"\n".join(lines) + b"\n", format=ox.RdfFormat.N_TRIPLES)
    text = ox.serialize(triples, format=fmt, prefixes=prefixes) if fmt != ox.RdfFormat.JSON_LD else \
        ox.serialize(triples, format=fmt)
    if fmt == ox.RdfFormat.JSON_LD:
        return text
    return b"\n".join(line for line in text.split(b"\n") if not line.startswith(b"@prefix ")).strip(b"\n")


def _prefix_header(prefixes: dict[str, str]) -> bytes:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(prefixes.items())).encode("utf-8")


def build_dumps(store: ox.Store, version: str, context: Optional[dict[str, Any]] = None) -> list[Dump]:
    """The four dumps of the served graph (ontology + asserted + inferred): Turtle, gzipped N-Triples and
    JSON-LD of the union, and TriG with each graph kept apart.

    Written by Oxigraph's serialisers, never through rdflib graphs (seconds at a million triples). Blank
    nodes are written ``_:b<hash of the node's own quads>`` (:func:`kg.rdf.serialize.blank_node_labels`);
    statements are sorted (as N-Triples lines) and Turtle, TriG and JSON-LD write them in that order.
    The same graph gives the same bytes from any store, in every process."""
    labels = blank_node_labels(store)
    prefixes = dict(PREFIXES)
    per_graph = [_labelled_graph(store, g, labels) for g in DUMP_GRAPHS]
    union = sorted(set().union(*per_graph))
    nt_lines = _sorted_lines(_SKOLEM_ANGLE.sub(rb"_:b\1", b"\n".join(union)))
    nt_bytes = b"\n".join(nt_lines) + b"\n" if nt_lines else b""
    del nt_lines
    ttl = _prefix_header(prefixes) + b"\n" + _write_sorted(union, ox.RdfFormat.TURTLE, prefixes) + b"\n"
    ttl = _SKOLEM_ANGLE.sub(rb"_:b\1", ttl)
    trig_parts = [_prefix_header(prefixes)]
    for g, lines in zip(DUMP_GRAPHS, per_graph):
        trig_parts.append(f"\n<{g}> {{\n".encode() + _write_sorted(lines, ox.RdfFormat.TURTLE, prefixes) + b"\n}\n")
    trig = _SKOLEM_ANGLE.sub(rb"_:b\1", b"".join(trig_parts))
    body = _write_sorted(union, ox.RdfFormat.JSON_LD, prefixes).strip() or b"[]"
    ctx = (context or {}).get("@context", {})
    jsonld = (b'{\n"@context": ' + json.dumps(ctx, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")
              + b',\n"@graph": ' + _SKOLEM_JSON.sub(rb'"_:b\1"', body) + b"\n}\n")
    stem = f"remit-{version}"
    return [
        Dump(f"{stem}.ttl", "ttl", "text/turtle", ttl),
        Dump(f"{stem}.nt.gz", "nt.gz", "application/n-triples", _gzip(nt_bytes), compressed=True),
        Dump(f"{stem}.jsonld", "jsonld", "application/ld+json", jsonld),
        Dump(f"{stem}.trig", "trig", "application/trig", trig),
    ]


# ----------------------------------------------------------------------------------------- VoID + DCAT

def void_graph(store: ox.Store, base_url: str, version: str, dumps: list[Dump]) -> Graph:
    """VoID statistics and DCAT 3 description of the dataset, its dumps and its SPARQL service."""
    base_url = base_url.rstrip("/")
    g = Graph()
    bind_all(g)
    g.bind("spdx", SPDX)
    SPX = lambda t: URIRef(SPDX + t)  # noqa: E731
    ds = DATASET_IRI
    dg = [ox.NamedNode(x) for x in DUMP_GRAPHS]

    def one(query: str) -> int:
        return int(next(iter(store.query(query, default_graph=dg)))["n"].value)

    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal("Remit: who oversees what in places of detention in England and Wales", lang="en")))
    g.add((ds, DCTERMS.description, Literal(
        "An open knowledge graph of the bodies that inspect, regulate and monitor places of detention in England "
        "and Wales, their statutory functions, and the memoranda of understanding that divide joint work, with "
        "clause-level provenance.", lang="en")))
    g.add((ds, DCTERMS.license, LICENSE))
    g.add((ds, DCTERMS.conformsTo, URIRef(ONTOLOGY_IRI)))
    g.add((ds, OWL.versionInfo, Literal(version)))
    g.add((ds, URIRef(str(DCAT) + "version"), Literal(version)))
    g.add((ds, VOID.vocabulary, URIRef(PREFIXES["remit"])))
    g.add((ds, VOID.uriSpace, Literal(str(ID))))
    g.add((ds, VOID.rootResource, URIRef(ONTOLOGY_IRI)))
    g.add((ds, DCAT.landingPage, URIRef(base_url + "/")))
    g.add((ds, RDFS.seeAlso, URIRef(base_url + "/context.jsonld")))
    per_graph = {x: int(next(iter(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{x}> {{ ?s ?p ?o }} }}")))["n"].value)
                 for x in DUMP_GRAPHS}  # counted by the store, not by iterating quads in Python
    triples = sum(per_graph.values())
    distinct = one("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }")
    g.add((ds, VOID.triples, Literal(distinct, datatype=XSD.integer)))
    g.add((ds, VOID.entities, Literal(one(
        "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), \"%s\")) }"
        % str(ID)), datatype=XSD.integer)))
    g.add((ds, VOID.distinctSubjects, Literal(one("SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"),
                                              datatype=XSD.integer)))
    g.add((ds, VOID.distinctObjects, Literal(one("SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }"),
                                             datatype=XSD.integer)))
    g.add((ds, VOID.properties, Literal(one("SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }"),
                                        datatype=XSD.integer)))
    g.add((ds, VOID.classes, Literal(one("SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }"),
                                     datatype=XSD.integer)))
    for row in store.query("SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c ORDER BY ?c",
                           default_graph=dg):
        part = URIRef(f"{ds}#class-" + hashlib.sha1(row["c"].value.encode()).hexdigest()[:12])
        g.add((ds, VOID.classPartition, part))
        g.add((part, VOID["class"], URIRef(row["c"].value)))
        g.add((part, VOID.entities, Literal(int(row["n"].value), datatype=XSD.integer)))
    for row in store.query("SELECT ?p (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } } GROUP BY ?p ORDER BY ?p",
                           default_graph=dg):
        part = URIRef(f"{ds}#property-" + hashlib.sha1(row["p"].value.encode()).hexdigest()[:12])
        g.add((ds, VOID.propertyPartition, part))
        g.add((part, VOID.property, URIRef(row["p"].value)))
        g.add((part, VOID.triples, Literal(int(row["n"].value), datatype=XSD.integer)))
    for gname in DUMP_GRAPHS:
        sub = URIRef(gname)
        n = per_graph[gname]
        g.add((ds, VOID.subset, sub))
        g.add((sub, RDF.type, VOID.Dataset))
        g.add((sub, VOID.triples, Literal(n, datatype=XSD.integer)))
        g.add((sub, SD.name, sub))
    g.add((ds, RDFS.comment, Literal(
        f"void:triples counts distinct triples of the union of the ontology, asserted and inferred graphs "
        f"({triples} quads in those graphs).", lang="en")))

    ep = base_url + "/sparql"
    svc = URIRef(ep + "#service")
    g.add((ds, VOID.sparqlEndpoint, URIRef(ep)))
    g.add((svc, RDF.type, DCAT.DataService))
    g.add((svc, RDF.type, SD.Service))
    g.add((svc, DCTERMS.title, Literal("Remit SPARQL endpoint", lang="en")))
    g.add((svc, DCAT.endpointURL, URIRef(ep)))
    g.add((svc, DCAT.endpointDescription, URIRef(ep)))
    g.add((svc, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
    g.add((svc, DCAT.servesDataset, ds))
    g.add((svc, DCTERMS.license, LICENSE))
    g.add((ds, DCAT.distribution, URIRef(ep + "#distribution")))
    sd_dist = URIRef(ep + "#distribution")
    g.add((sd_dist, RDF.type, DCAT.Distribution))
    g.add((sd_dist, DCAT.accessURL, URIRef(ep)))
    g.add((sd_dist, DCAT.accessService, svc))
    g.add((sd_dist, DCTERMS.title, Literal("SPARQL 1.1 endpoint", lang="en")))

    for d in dumps:
        url = URIRef(f"{base_url}/dumps/{d.name}")
        dist = URIRef(f"{base_url}/dumps/{d.name}#distribution")
        g.add((ds, VOID.dataDump, url))
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(f"Dump {d.name}", lang="en")))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.accessURL, url))
        g.add((dist, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/" + d.media_type)))
        if d.compressed:
            g.add((dist, DCAT.compressFormat, URIRef("https://www.iana.org/assignments/media-types/application/gzip")))
        g.add((dist, DCAT.byteSize, Literal(d.size, datatype=XSD.nonNegativeInteger)))
        g.add((dist, DCTERMS.license, LICENSE))
        ck = BNode(f"checksum-{d.kind.replace('.', '-')}")
        g.add((dist, SPX("checksum"), ck))
        g.add((ck, RDF.type, SPX("Checksum")))
        g.add((ck, SPX("algorithm"), SPX("checksumAlgorithm_sha256")))
        g.add((ck, SPX("checksumValue"), Literal(d.sha256, datatype=XSD.hexBinary)))
        g.add((dist, RDFS.seeAlso, URIRef(f"{base_url}/dumps/{d.name}.sha256")))
    return g


# ----------------------------------------------------------------------------------------- static site



def parse_as_of(text: str) -> dt.date:
    """A ``--as-of`` value: an ISO date ``YYYY-MM-DD``. ValueError says what is wrong."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or ""):
        raise ValueError(f"--as-of {text!r}: expected a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"--as-of {text!r}: {exc}") from None


def source_date_epoch(env: Any) -> Optional[tuple[dt.date, str]]:
    """The day ``SOURCE_DATE_EPOCH`` names in ``env`` and where it came from, or None when it is unset.
    ValueError when it is not a whole number of seconds."""
    sde = (env.get("SOURCE_DATE_EPOCH") or "").strip()
    if not sde:
        return None
    if not re.fullmatch(r"\d+", sde):
        raise ValueError(f"SOURCE_DATE_EPOCH={sde!r}: expected a whole number of seconds since 1970-01-01 UTC")
    return dt.datetime.fromtimestamp(int(sde), tz=dt.timezone.utc).date(), f"SOURCE_DATE_EPOCH={sde}"


def publication_date(store: Any, environ: Optional[dict[str, str]] = None) -> tuple[dt.date, str]:
    """The day a publication judges statuses on when ``--as-of`` is not given, and where it comes from; never
    the clock. ``SOURCE_DATE_EPOCH`` (reproducible-builds.org: seconds since 1970-01-01 UTC) if set, else the
    data date the build recorded (:func:`kg.rdf.datadate.data_date`: the latest date the asserted data states),
    the day every named query defaults to. ValueError for a malformed ``SOURCE_DATE_EPOCH``."""
    sde = source_date_epoch(os.environ if environ is None else environ)
    if sde is not None:
        return sde
    day = datadate.data_date(store)
    if day == datadate.NO_DATE:
        return day, "no date in the data"
    return day, datadate.BASIS


def rdf_documents(triples: Iterable[ox.Triple], exts: Sequence[str],
                  context: Optional[dict[str, Any]] = None) -> dict[str, bytes]:
    """Triples from the store as one document (a resource description) in each of ``exts``, the graph copied and
    canonicalised once (``kg publish`` writes each resource in four). Blank nodes get canonical labels (rdflib's
    RDF canonicalisation), so the same description is the same bytes in every process."""
    # Remit's prefixes are read only by the JSON-LD writer, and only when it is given no context
    bind = context is None and "jsonld" in exts
    graph = to_rdflib(triples, bind=bind)
    if any(isinstance(t, BNode) for triple in graph for t in triple):
        canon = Graph()
        canon.addN((s, p, o, canon) for s, p, o in to_canonical_graph(graph))
        graph = bind_all(canon) if bind else canon
    out = _written_documents(_nt_lines(graph), [e for e in exts if e in _FROM_LINES]) if set(exts) & set(_FROM_LINES) \
        else {}
    out.update((ext, serialize(graph, ext, context, bound=True)) for ext in exts if ext not in out)
    return {ext: out[ext] for ext in exts}


__all__ += ["rdf_documents", "RDF_EXTS"]


# ----------------------------------------------------------------------------------------- dump cache

#: Bump when the bytes :func:`build_dumps` or :func:`void_graph` write change, so old caches are not used.
CACHE_FORMAT = "4"
#: The RDF forms of every document (a resource, the ontology, VoID): its extensions.
RDF_EXTS = ("ttl", "jsonld", "nt", "rdf")


def graph_version(store_path: Path, generation: int = 0) -> str:
    """A short digest naming the served graph: the manifest's source hash (``manifest.json`` beside the
    store, when there is one), the store's resolved path and the pool generation (bumped by each reload).
    It keys the dump cache and the endpoint's response cache (:mod:`kg.api.cache`)."""
    store = Path(store_path)
    source = ""
    try:
        source = json.loads((store.parent / "manifest.json").read_text(encoding="utf-8")).get("sourceHash", "")
    except (OSError, ValueError, AttributeError):
        pass
    raw = f"{source}\n{store.resolve()}\n{generation}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


def void_dir(outdir: Path, base_url: str) -> Path:
    """Where the VoID documents for ``base_url`` go in a cache folder (VoID names the server's URLs; the
    dumps do not)."""
    return Path(outdir) / ("void-" + hashlib.sha256(base_url.encode("utf-8")).hexdigest()[:16])


def _rename_into_place(tmp: Path, target: Path) -> None:
    try:
        os.rename(tmp, target)
    except OSError:  # another process finished the same build first: keep its files (same bytes)
        shutil.rmtree(tmp, ignore_errors=True)


def _prune(outdir: Path) -> None:
    """Remove the other keys' folders of ``publication-cache``: the store beside it was rebuilt in place
    (or the release or the format changed), so they describe a graph no longer there."""
    if outdir.parent.name != "publication-cache":
        return
    for other in outdir.parent.iterdir():
        if other.name.split(".", 1)[0] == outdir.name or ".tmp-" in other.name:
            continue
        if other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
        else:
            other.unlink(missing_ok=True)


def write_publication_cache(store_path: Path, outdir: Path, version: str, base_url: str,
                            context: Optional[dict[str, Any]] = None) -> list[Dump]:
    """Build the dumps and the VoID documents of the store at ``store_path`` into ``outdir``: the dump
    files and ``index.json`` (name, kind, media type, size and SHA-256 of each dump), and
    ``void-<hash of base_url>/void.<ext>``. Each folder is written under a temporary name and renamed into
    place, so a reader sees all of it or nothing; what is already there is not built again. Run by the
    server in a child process (``python -m kg.publication.publish``), never in the web process."""
    store = open_store(Path(store_path))
    outdir = Path(outdir)
    dumps = read_publication_cache(outdir)
    if dumps is None:
        if context is None:
            context = jsonld_context(describe_ontology(store, ONTOLOGY_IRI))
        tmp = outdir.with_name(f"{outdir.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        built = build_dumps(store, version, context)
        for d in built:
            (tmp / d.name).write_bytes(d.data)
        index = [{"name": d.name, "kind": d.kind, "mediaType": d.media_type, "compressed": d.compressed,
                  "size": d.size, "sha256": d.sha256} for d in built]
        (tmp / "index.json").write_text(json.dumps({"version": version, "dumps": index}, indent=2), encoding="utf-8")
        _rename_into_place(tmp, outdir)
        dumps = read_publication_cache(outdir) or built
        _prune(outdir)
    vdir = void_dir(outdir, base_url)
    if not (vdir / "void.ttl").is_file():
        tmp = vdir.with_name(f"{vdir.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        void = void_graph(store, base_url, version, dumps)
        for ext in RDF_EXTS:
            (tmp / f"void.{ext}").write_bytes(serialize(void, ext))
        (tmp / "base-url.txt").write_text(base_url + "\n", encoding="utf-8")
        _rename_into_place(tmp, vdir)
    return dumps


def read_publication_cache(outdir: Path) -> Optional[list[Dump]]:
    """The dumps of a finished cache folder (files not read), or None when it is not complete."""
    outdir = Path(outdir)
    try:
        index = json.loads((outdir / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [Dump(e["name"], e["kind"], e["mediaType"], None, bool(e["compressed"]), path=outdir / e["name"],
                 digest=e["sha256"], byte_size=int(e["size"])) for e in index["dumps"]]


def _main(argv: list[str]) -> int:
    """``python -m kg.publication.publish STORE OUTDIR VERSION BASE_URL [CONTEXT_JSON_FILE]``: the server's dump job,
    at low CPU priority."""
    try:
        os.nice(10)
    except (OSError, AttributeError):
        pass
    store, outdir, version, base_url = argv[:4]
    context = json.loads(Path(argv[4]).read_text(encoding="utf-8")) if len(argv) > 4 else None
    write_publication_cache(Path(store), Path(outdir), version, base_url, context)
    return 0


__all__ += ["write_publication_cache", "read_publication_cache", "void_dir", "CACHE_FORMAT", "graph_version"]

if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
