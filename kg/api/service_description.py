"""The SPARQL 1.1 Service Description of the endpoint (https://www.w3.org/TR/sparql11-service-description/).

Describes the endpoint (``sd:endpoint`` = the configured public URL + ``/sparql``), the result formats,
the default dataset (the default graph is the union of the ontology, asserted and inferred graphs; each
graph of the store is a named graph, with its triple count) and the limits. Each limit is a node of the
description (``<…/sparql#result-row-limit>`` …) with ``rdf:value``, linked from the service with
``rdfs:seeAlso``; a truncated result links to ``#result-row-limit``.
"""

from __future__ import annotations

from typing import Mapping

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, VOID, XSD

from kg.api.conneg import GRAPH_FORMATS, RESULT_FORMATS
from kg.rdf.namespaces import SD, bind_all
from kg.settings import Settings
from kg.rdf.store import DEFAULT_GRAPHS

__all__ = ["service_description"]


def _duration(seconds: float) -> str:
    return f"PT{seconds:g}S"


def service_description(settings: Settings, graph_counts: Mapping[str, int]) -> Graph:
    ep = settings.sparql_endpoint_url
    g = bind_all(Graph())
    svc = URIRef(ep + "#service")
    g.add((svc, RDF.type, SD.Service))
    g.add((svc, SD.endpoint, URIRef(ep)))
    g.add((svc, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((svc, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS):
        g.add((svc, SD.resultFormat, URIRef(fmt.w3c_format)))
    g.add((svc, DCTERMS.title, Literal("Remit SPARQL endpoint", lang="en")))
    g.add((svc, RDFS.comment, Literal(
        "Read-only SPARQL 1.1 Query endpoint. SPARQL Update, SERVICE, LOAD and FROM of graphs outside this "
        "store are refused. The default graph is the union of the ontology, asserted and inferred graphs "
        "(OWL 2 RL entailments are materialised in the inferred graph).", lang="en")))

    ds = URIRef(ep + "#dataset")
    g.add((svc, SD.defaultDataset, ds))
    g.add((ds, RDF.type, SD.Dataset))
    dg = URIRef(ep + "#default-graph")
    g.add((ds, SD.defaultGraph, dg))
    g.add((dg, RDF.type, SD.Graph))
    g.add((dg, DCTERMS.description, Literal(
        "Union of " + ", ".join(f"<{x}>" for x in DEFAULT_GRAPHS), lang="en")))
    g.add((dg, VOID.triples, Literal(sum(n for x, n in graph_counts.items() if x in DEFAULT_GRAPHS))))
    for name, count in sorted(graph_counts.items()):
        ng = BNode()
        gr = BNode()
        g.add((ds, SD.namedGraph, ng))
        g.add((ng, RDF.type, SD.NamedGraph))
        g.add((ng, SD.name, URIRef(name)))
        g.add((ng, SD.graph, gr))
        g.add((gr, RDF.type, SD.Graph))
        g.add((gr, VOID.triples, Literal(count)))

    limits = [
        ("result-row-limit", "Result row limit", Literal(settings.row_limit),
         "Most rows (SELECT) or triples (CONSTRUCT, DESCRIBE) in one answer. A longer result is cut and says so: "
         "header Remit-Result-Truncated, and in SPARQL JSON a 'truncated' member and this IRI in head.link."),
        ("result-byte-limit", "Answer byte limit", Literal(settings.max_answer_bytes),
         "Most bytes in one answer. A longer result is cut at a whole row or triple and says so: header "
         "Remit-Result-Truncated (max-bytes=N), and in SPARQL JSON a 'truncated' member and this IRI in head.link."),
        ("query-time-limit", "Query time limit", Literal(_duration(settings.query_timeout), datatype=XSD.duration),
         "A query still running after this long is stopped; the answer is 503 with Retry-After."),
        ("max-query-length", "Longest query (characters)", Literal(settings.max_query_length),
         "A longer query is refused with 413."),
        ("max-request-body", "Largest request body (bytes)", Literal(settings.max_body_bytes),
         "A larger body is refused with 413."),
        ("max-url-length", "Longest request URL (bytes)", Literal(settings.max_url_length),
         "A longer request target is refused with 414; use POST."),
        ("client-time-budget", "Query time per client per minute", Literal(
            _duration(settings.client_budget_seconds), datatype=XSD.duration),
         "Worker time one client address may use in any 60-second window; past it the answer is 429."),
    ]
    for frag, label, value, comment in limits:
        node = URIRef(f"{ep}#{frag}")
        g.add((svc, RDFS.seeAlso, node))
        g.add((node, RDFS.label, Literal(label, lang="en")))
        g.add((node, RDF.value, value))
        g.add((node, RDFS.comment, Literal(comment, lang="en")))
    return g
