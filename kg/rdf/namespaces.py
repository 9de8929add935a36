"""Every namespace Remit uses, declared once.

Term IRIs live on one stable base with no version in them:

* ``REMIT``  https://w3id.org/remit/def/      ontology classes and properties
* ``RSH``    https://w3id.org/remit/shapes/   SHACL shapes
* ``ID``     https://w3id.org/remit/id/       everything the data mints (bodies, agreements, concepts ...)

The ontology's version lives in ``owl:versionIRI``/``owl:versionInfo`` only.
"""

from __future__ import annotations

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SH, SKOS, VOID, XSD

__all__ = [
    "BASE", "REMIT", "RSH", "ID", "ONTOLOGY_IRI", "ID_PREFIXES",
    "ORG", "PROV", "SKOS", "DCTERMS", "DCAT", "VOID", "SD", "VCARD", "OWL", "RDF", "RDFS",
    "SH", "XSD", "FOAF", "TIME", "SCHEMA", "LEG", "PREFIXES", "bind_all",
    "GRAPH_ASSERTED", "GRAPH_INFERRED", "GRAPH_ONTOLOGY", "GRAPH_SHAPES", "GRAPH_REPORT", "GRAPH_DERIVED",
    "GRAPH_RESTRICTED", "GRAPH_META", "DATASET", "DATASET_VERSION",
]

BASE = "https://w3id.org/remit/"
REMIT = Namespace(BASE + "def/")
RSH = Namespace(BASE + "shapes/")
ID = Namespace(BASE + "id/")
ONTOLOGY_IRI = BASE + "def"

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
TIME = Namespace("http://www.w3.org/2006/time#")
SCHEMA = Namespace("https://schema.org/")
LEG = Namespace("http://www.legislation.gov.uk/id/")

# Named graphs of the built dataset (asserted and inferred triples are kept apart).
GRAPH_ASSERTED = ID["graph/asserted"]
GRAPH_INFERRED = ID["graph/inferred"]
GRAPH_ONTOLOGY = ID["graph/ontology"]
GRAPH_SHAPES = ID["graph/shapes"]
GRAPH_REPORT = ID["graph/validation-report"]
#: Facts derived at build time by ``queries/derive/*.rq`` (CONSTRUCT) from the reasoned graph, so the
#: analyst queries read them instead of recomputing them per request (see ``kg.pipeline.derive``).
GRAPH_DERIVED = ID["graph/derived"]
#: Personal data (named officials and their direct contact details): written only to
#: ``build/restricted.trig``, never to ``remit.trig``, the store, the dumps or the site (``kg.pipeline.restricted``).
GRAPH_RESTRICTED = ID["graph/restricted"]
#: Written by ``kg push`` into an external store, last, and only there: one triple
#: ``<DATASET> <DATASET_VERSION> "sha256:…"`` naming the content digest of the pushed ``remit.trig``. ``kg serve
#: --store URL`` keys its response cache by it (``kg.api.cache``; docs/scale.md). Not in the default graph.
GRAPH_META = ID["graph/meta"]
#: The dataset as a whole (VoID/DCAT's subject, ``kg.publication.publish.DATASET_IRI``).
DATASET = ID["dataset"]
#: DCAT 3 ``dcat:version``: the pushed build's version (its content digest) in :data:`GRAPH_META`.
DATASET_VERSION = URIRef("http://www.w3.org/ns/dcat#version")  # rdflib's closed DCAT namespace predates DCAT 3

#: One prefix per kind of instance (Turtle prefixed names cannot contain "/").
ID_PREFIXES: dict[str, str] = {
    "body": str(ID) + "body/",
    "office": str(ID) + "office/",
    "agreement": str(ID) + "agreement/",
    "st": str(ID) + "setting-type/",
    "fn": str(ID) + "function/",
    "jur": str(ID) + "jurisdiction/",
    "status": str(ID) + "agreement-status/",
    "scheme": str(ID) + "scheme/",
    "doc": str(ID) + "document/",
    "statute": str(ID) + "statute/",
    "provision": str(ID) + "provision/",
    "arrangement": str(ID) + "arrangement/",
    "resp": str(ID) + "responsibility/",
    "event": str(ID) + "event/",
    "setting": str(ID) + "setting/",
    "membership": str(ID) + "membership/",
    "graph": str(ID) + "graph/",
}

PREFIXES: dict[str, str] = {
    "remit": str(REMIT),
    "rsh": str(RSH),
    "id": str(ID),
    **ID_PREFIXES,
    "org": str(ORG),
    "prov": str(PROV),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "dcat": str(DCAT),
    "void": str(VOID),
    "sd": str(SD),
    "vcard": str(VCARD),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "sh": str(SH),
    "xsd": str(XSD),
    "foaf": str(FOAF),
    "time": str(TIME),
    "schema": str(SCHEMA),
    "leg": str(LEG),
}


def bind_all(g: Graph) -> Graph:
    """Bind Remit's prefixes on a graph (replacing rdflib's defaults for the same prefix)."""
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns, override=True, replace=True)
    return g


def sparql_prologue() -> str:
    """PREFIX lines for every namespace, for queries written in Python."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
