"""The endpoint's remote backend: ``kg serve --store URL`` answers from an external SPARQL 1.1 store.

When :attr:`kg.settings.Settings.remote_store_url` is set, each query worker (:mod:`kg.api.workers`) opens a
:class:`RemoteDataset` instead of the local pyoxigraph store. Everything in front of the store stays the
same: the guard (updates, ``SERVICE``, ``FROM``/``LOAD`` of unknown graphs, cost and size limits) runs in
the worker before anything is sent; the deadline kills the worker (and so the connection to the store);
results are re-serialised by the same code as the embedded store's, with the same row cap.

How a query reaches the store: SPARQLWrapper (SPARQL 1.1 Protocol, POST form). Without a dataset in the
query or the request, the default graph is the union of the ontology, asserted and inferred graphs (one
``default-graph-uri`` each); the request's own ``default-graph-uri``/``named-graph-uri`` are passed on.
The store is asked for SPARQL JSON/XML results or N-Triples/Turtle/RDF/XML and the answer is parsed by
pyoxigraph *as it streams*, so a result larger than the row cap is cut after ``row_limit + 1`` rows and
the connection closed. Named queries use :meth:`kg.query.remote.RemoteStore.select_page` (parameters bound with
a ``VALUES`` block, the page pushed down as ``LIMIT``/``OFFSET``).

Network. A remote worker needs the network, so it is not moved into an empty network namespace. Instead
:func:`restrict_connections` installs an audit hook (PEP 578, cannot be removed) that refuses every
``connect`` and name lookup other than the store's host and port (and the HTTP proxy urllib would use for
it): the only host a worker can talk to is the configured store.

Pages and linked data (``/``, ``/id/…``, ``/def``, ``/dumps/…``, VoID, ``/ui``, ``/search``) are rendered in the web
process by the one site model over the same store: :mod:`kg.api.remote_site`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Optional
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

import pyoxigraph as ox
from SPARQLWrapper import POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException

from kg.api.jobs import job_error, named_answer, run_job
from kg.query.remote import RemoteError, RemoteStore, incomplete_answer
from kg.query.terms import ParamError
from kg.rdf.store import DEFAULT_GRAPHS
from kg.settings import Settings

__all__ = ["RemoteDataset", "RemoteUnavailable", "open_remote", "remote_graph_counts", "restrict_connections",
           "run_remote_job"]

#: Results the store is asked for, in order of preference (any SPARQL 1.1 store can give one of them).
_ACCEPT = ("application/sparql-results+json, application/sparql-results+xml;q=0.9, "
           "application/n-triples;q=0.9, text/turtle;q=0.8, application/rdf+xml;q=0.5")


class RemoteUnavailable(Exception):
    """The external store could not be reached or failed; the message names the endpoint."""


# ============================================================================ the network rule

def _store_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _proxy_for(url: str) -> Optional[tuple[str, int]]:
    """The proxy urllib would send a request for ``url`` through, if any."""
    scheme = urlsplit(url).scheme
    host = urlsplit(url).hostname or ""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    return _store_address(proxy)


def _addresses(host: str, port: int) -> set[str]:
    try:
        return {str(ipaddress.ip_address(host))}
    except ValueError:
        pass
    return {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}


def restrict_connections(url: str) -> set[tuple[str, int]]:
    """From now on this process may open TCP connections only to the store of ``url`` (or the proxy urllib
    uses for it) and look up no other host name. Returns the allowed (address, port) pairs.

    An audit hook (:func:`sys.addaudithook`) cannot be removed, so nothing the process does later (a
    ``SERVICE`` that slipped past the guard cannot run here anyway: queries are evaluated by the store) can
    reach another host. Unix sockets (the pipes to the parent) are unaffected."""
    targets = [_store_address(url)]
    proxy = _proxy_for(url)
    if proxy:
        targets.append(proxy)
    names = {h.lower() for h, _ in targets}
    allowed = {(addr, port) for host, port in targets for addr in _addresses(host, port)}

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.connect":
            sock, address = args[0], args[1]
            if getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6):
                if (str(address[0]), int(address[1])) not in allowed:
                    raise PermissionError(f"this query worker may only connect to the SPARQL store {url} "
                                          f"(refused: {address[0]} port {address[1]})")
        elif event == "socket.getaddrinfo":
            host = args[0]
            if isinstance(host, bytes):
                host = host.decode("ascii", "replace")
            if host is not None and str(host).lower() not in names and str(host) not in {a for a, _ in allowed}:
                raise PermissionError(f"this query worker may only look up the SPARQL store's host, not {host!r}")

    sys.addaudithook(hook)
    return allowed


# ============================================================================ the dataset

class RemoteDataset:
    """The part of :class:`pyoxigraph.Store`'s interface the job functions use, over SPARQLWrapper.

    ``query`` returns :class:`pyoxigraph.QuerySolutions` / :class:`pyoxigraph.QueryBoolean` parsed from the
    store's answer as it streams, or an iterator of :class:`pyoxigraph.Triple` for CONSTRUCT/DESCRIBE."""

    def __init__(self, endpoint: str, timeout: float = 60.0, auth: Optional[tuple[str, str]] = None):
        self.endpoint = endpoint
        self.timeout = timeout
        self.remote = RemoteStore(endpoint, timeout=timeout, auth=auth)
        self._response: Any = None
        self._graphs: Optional[list[ox.NamedNode]] = None

    # -- pyoxigraph.Store-like
    def named_graphs(self) -> Iterator[ox.NamedNode]:
        if self._graphs is None:
            try:
                _, rows = self.remote.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }", {}, [])
            except RemoteError as exc:
                raise RemoteUnavailable(str(exc)) from None
            self._graphs = [ox.NamedNode(r["g"]["value"]) for r in rows if r.get("g", {}).get("type") == "uri"]
        return iter(self._graphs)

    def query(self, query: str, *, default_graph: Optional[Sequence[Any]] = None,
              named_graphs: Optional[Sequence[Any]] = None, **unsupported: Any) -> Any:
        if unsupported:
            raise TypeError(f"RemoteDataset.query: unsupported arguments {sorted(unsupported)}")
        self.close()
        sw = SPARQLWrapper(self.endpoint, agent="remit (SPARQLWrapper)")
        sw.setMethod(POST)
        sw.setTimeout(max(1, int(self.timeout)))
        if self.remote.auth:
            sw.setCredentials(*self.remote.auth)
        for g in default_graph or ():
            sw.addDefaultGraph(getattr(g, "value", g))
        for g in named_graphs or ():
            sw.addNamedGraph(getattr(g, "value", g))
        sw.setQuery(query)
        sw.addCustomHttpHeader("Accept", _ACCEPT)
        try:
            response = sw.query().response
        except QueryBadFormed as exc:  # the store's parser refused what rdflib's accepted
            raise SyntaxError(f"the store refused the query: {_store_message(exc)}") from None
        except SPARQLWrapperException as exc:
            raise RemoteUnavailable(f"{self.endpoint}: the store failed: {_store_message(exc)}") from None
        except HTTPError as exc:
            raise RemoteUnavailable(f"{self.endpoint}: the store answered HTTP {exc.code}") from None
        except (URLError, OSError) as exc:
            raise RemoteUnavailable(f"{self.endpoint}: cannot reach the store: {getattr(exc, 'reason', exc)}") from None
        incomplete = incomplete_answer(response.status, response.headers)
        if incomplete is not None:
            response.close()
            raise RemoteUnavailable(f"{self.endpoint}: {incomplete}")
        self._response = response
        media = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        results_format = ox.QueryResultsFormat.from_media_type(media) if media else None
        if results_format is not None:
            return ox.parse_query_results(response, format=results_format)
        rdf_format = ox.RdfFormat.from_media_type(media) if media else None
        if rdf_format is None:
            raise RemoteUnavailable(f"{self.endpoint}: the store answered with an unexpected type {media!r}")
        return (ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(response, format=rdf_format))

    def close(self) -> None:
        """Close the connection of the last answer (read to the end or not)."""
        if self._response is not None:
            try:
                self._response.close()
            except OSError:
                pass
            self._response = None


def _store_message(exc: Exception) -> str:
    text = str(exc).strip()
    marker = "Response:\n"
    if marker in text:
        text = text.split(marker, 1)[1]
    text = text.strip().strip("b'\"")
    return text[:600] or type(exc).__name__


def open_remote(url: str, timeout: Optional[float] = None) -> tuple[RemoteDataset, Callable[..., dict[str, Any]]]:
    """What a worker opens for an external store: the dataset and its job runner. The client timeout is the
    query deadline (``REMIT_QUERY_TIMEOUT``) plus a second, so the pool's deadline always comes first."""
    if timeout is None:
        timeout = Settings().query_timeout + 1
    dataset = RemoteDataset(url, timeout=timeout)
    list(dataset.named_graphs())  # fail now (reported to the pool) if the store cannot be reached
    return dataset, run_remote_job


def run_remote_job(dataset: RemoteDataset, graphs: list[str], job: dict[str, Any]) -> dict[str, Any]:
    """Run one pool job against the external store (``kind`` ``sparql`` or ``named``)."""
    try:  # the embedded backend's own checks and serialisers (kg.api.jobs)
        if job.get("kind") == "named":
            return _run_named(dataset, graphs, job)
        return run_job(dataset, graphs, job)
    except RemoteUnavailable as exc:
        logging.getLogger("kg.query.remote").warning("%s", exc)
        return job_error(502, "the SPARQL store did not answer", "the external SPARQL store behind this endpoint "
                      "could not be reached or failed; try again later.")
    finally:
        dataset.close()


def _run_named(dataset: RemoteDataset, graphs: list[str], job: dict[str, Any]) -> dict[str, Any]:
    try:
        page = dataset.remote.select_page(job["query"], job["bindings"], job["limit"], job["offset"],
                                          default_graph=[g for g in DEFAULT_GRAPHS if g in graphs])
    except ParamError as exc:  # an IRI parameter that names no term of the store's graph, or several
        return job_error(400, "bad parameter", str(exc))
    except ValueError as exc:
        return job_error(500, "named query is invalid", str(exc))
    except RemoteError as exc:
        raise RemoteUnavailable(str(exc)) from None
    return named_answer(page, job)


def remote_graph_counts(url: str, timeout: float = 120.0) -> dict[str, int]:
    """Triples per named graph of the store (for the service description's VoID counts)."""
    try:
        _, rows = RemoteStore(url, timeout=timeout).select(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", {}, [])
    except RemoteError as exc:
        raise RemoteUnavailable(str(exc)) from None
    return {r["g"]["value"]: int(r["n"]["value"]) for r in rows if r.get("g", {}).get("type") == "uri"}
