"""Linked-data publication: dereferenceable IRIs, pages for people, VoID/DCAT, dumps, JSON-LD context.

Routes (see ``docs/publication.md``):

* ``/id/…``, ``/def``, ``/def/…``, ``/shapes/…`` — an IRI minted by Remit, mapped onto this server. The bare
  path answers ``303 See Other`` to a document chosen by content negotiation (``.html``, ``.ttl``,
  ``.jsonld``, ``.nt``, ``.rdf``); the documents themselves are served directly. Unknown: 404 page.
* ``/`` (home), ``/agreements.html``, ``/bodies.html``, ``/matrix.html``, ``/matrix/{setting}/{function}.html``
* ``/places/index.html``, ``/places/{setting type}/{nation}.html`` and their ``.csv`` downloads,
  ``/places/establishments/{establishment}.csv`` (:mod:`kg.publication.places`)
* ``/network.html`` (bodies and agreements) and ``/charts/overlaps.html`` (overlaps by setting type and nation),
  the pictures (:mod:`kg.publication.pictures`)
* ``/.well-known/void`` (VoID + DCAT, Turtle by default; a page for browsers, also at ``void.html``), ``/context.jsonld``, ``/dumps/…``

:func:`install` adds all of it (and the ``/static`` files) to an app. The documents themselves come from a
:class:`kg.publication.publication.Publication`; :class:`kg.publication.publication.StaticWriter` writes the
same documents to a folder (``kg publish``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any, Callable, Optional

import pyoxigraph as ox
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from kg.api.conneg import Format, NotAcceptable, browser_wants_html, negotiate
from kg.api.errors import error_response
from kg.api.ui import make_ui_router, mount_frontend, mount_ui_assets
from kg.publication.publication import Publication, PublicationFailed, PublicationPending
from kg.publication.publish import DATASET_IRI, RDF_EXTS, RDF_MEDIA
from kg.publication.site import DOC_FORMATS, STATIC, iri_local_name

__all__ = ["make_router", "install", "DOC_NEGOTIATION"]

log = logging.getLogger("kg.api.pages")

_W3 = "http://www.w3.org/ns/formats/"
#: What a bare IRI can 303 to, in our order of preference for ``*/*`` (Turtle first: browsers ask for HTML).
DOC_NEGOTIATION: tuple[Format, ...] = (
    Format("ttl", "text/turtle", ("application/turtle", "application/x-turtle", "text/n3"), "TURTLE", _W3 + "Turtle"),
    Format("html", "text/html", ("application/xhtml+xml",), "", ""),
    Format("jsonld", "application/ld+json", ("application/json",), "JSON_LD", _W3 + "JSON-LD"),
    Format("nt", "application/n-triples", ("text/plain",), "N_TRIPLES", _W3 + "N-Triples"),
    Format("rdf", "application/rdf+xml", ("application/xml", "text/xml"), "RDF_XML", _W3 + "RDF_XML"),
)
#: The home page: HTML first (``*/*`` gets the page), RDF clients go to VoID.
HOME_NEGOTIATION: tuple[Format, ...] = (DOC_NEGOTIATION[1], DOC_NEGOTIATION[0], *DOC_NEGOTIATION[2:])
#: Forms of VoID and other RDF-only documents.
RDF_NEGOTIATION = tuple(f for f in DOC_NEGOTIATION if f.key != "html")
_EXT_RE = re.compile(r"^(?P<path>.+?)\.(?P<ext>html|ttl|jsonld|nt|rdf)$")


def _resolver(resolve: Callable[[Request, str], Response], route: str) -> Callable[..., Response]:
    """The endpoint of ``route`` (``/id/{rest:path}``, or a path with no parameter): the path resolved
    (pages, documents, 303s, 404s)."""
    prefix = route.split("{", 1)[0]
    if prefix == route:
        def exact(request: Request) -> Response:
            return resolve(request, route)
        return exact

    def endpoint(request: Request, rest: str) -> Response:
        return resolve(request, prefix + rest)
    return endpoint


def _valid_iri(iri: str) -> bool:
    """``iri`` is an absolute IRI the store accepts (RFC 3987 syntax)."""
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return True


def _content_type(ext: str) -> str:
    media = DOC_FORMATS[ext][0] if ext in DOC_FORMATS else RDF_MEDIA[ext][0]
    return f"{media}; charset=utf-8"


def _negotiated(body: bytes | str, media: str, status: int = 200, **headers: str) -> Response:
    return Response(body, status_code=status, media_type=media, headers={"Vary": "Accept", **headers})


def make_router(pub: Publication) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    site = pub.site

    def get(path: str, **kw: Any) -> Any:  # GET and HEAD (link checkers and crawlers use HEAD)
        return router.api_route(path, methods=["GET", "HEAD"], **kw)

    def not_found(request: Request, path: str) -> Response:
        accept = request.headers.get("accept", "")
        if "text/html" in accept or not accept:
            return HTMLResponse(pub.not_found(request.url.path, path), status_code=404)
        return Response(f"404 Not Found: no resource {site.path_to_iri(path)} in Remit\n", status_code=404,
                        media_type="text/plain; charset=utf-8")

    def resolve(request: Request, path: str) -> Response:
        if not _valid_iri(site.path_to_iri(path)):  # a space, '>', '"', '{', '\\', NUL, ...: no IRI Remit mints
            return not_found(request, path)
        m = _EXT_RE.match(path)
        if m:  # a document: serve it directly
            iri, ext = site.path_to_iri(m.group("path")), m.group("ext")
            if site.iri_to_path(iri) is None or not pub.exists(iri):
                return not_found(request, path)
            if ext == "html":
                return HTMLResponse(pub.html(iri, path))
            return Response(pub.rdf(iri, ext), media_type=_content_type(ext))
        iri = site.path_to_iri(path)
        if str(iri) == str(DATASET_IRI):
            return _negotiated(b"", "text/plain", status=303, Location=site.rel(path, "/.well-known/void"))
        if site.iri_to_path(iri) is None or not pub.exists(iri):
            return not_found(request, path)
        try:
            fmt = negotiate(DOC_NEGOTIATION, request.headers.get("accept"), request.query_params.getlist("format"),
                            family="graph")
        except NotAcceptable as exc:
            links = "".join(f"{f.media_type}: {iri_local_name(path)}.{f.key}\n" for f in DOC_NEGOTIATION)
            return _negotiated(f"406 Not Acceptable: {exc}\nAvailable documents:\n{links}", "text/plain; charset=utf-8",
                               status=406)
        except ValueError as exc:  # an unknown format= value
            return _negotiated(f"400 Bad Request: {exc}\n", "text/plain; charset=utf-8", status=400)
        if fmt.key == "html" and pub.is_ontology_term(iri):
            target = site.rel(path, "/def.html#" + pub.term_anchor(iri))
        else:
            target = iri_local_name(path) + "." + fmt.key
        return _negotiated(b"", fmt.content_type, status=303, Location=target)

    @get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        """The home page; a client that prefers RDF is sent to the dataset description (VoID)."""
        try:
            fmt = negotiate(HOME_NEGOTIATION, request.headers.get("accept"), family="graph")
        except NotAcceptable:
            fmt = HOME_NEGOTIATION[0]
        if fmt.key != "html":
            return _negotiated(b"", fmt.content_type, status=303, Location=".well-known/void")
        return _negotiated(pub.home("/index.html"), "text/html; charset=utf-8")

    @get("/index.html", response_class=HTMLResponse)
    def index() -> Response:
        return HTMLResponse(pub.home("/index.html"))

    @get("/agreements.html", response_class=HTMLResponse)
    @get("/bodies.html", response_class=HTMLResponse)
    @get("/matrix.html", response_class=HTMLResponse)
    @get("/dumps/index.html", response_class=HTMLResponse)
    @get("/matrix/{st}/{fn}.html", response_class=HTMLResponse)
    @get("/places/index.html", response_class=HTMLResponse)
    @get("/places/{st}/{nation}.html", response_class=HTMLResponse)
    @get("/network.html", response_class=HTMLResponse)
    @get("/charts/overlaps.html", response_class=HTMLResponse)
    def fixed(request: Request) -> Response:
        html = pub.page(request.url.path)
        if html is None:
            return not_found(request, request.url.path)
        return HTMLResponse(html)

    @get("/places/{st}/{name}.csv")
    def place_csv(request: Request, st: str, name: str) -> Response:
        """A place page's or an establishment's table as CSV (UTF-8 with a byte-order mark), an attachment."""
        data = pub.download(request.url.path)
        if data is None:
            return not_found(request, request.url.path)
        return Response(data, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{st}-{name}.csv"'})

    @get("/places/")
    def places_index() -> Response:
        return HTMLResponse(pub.page("/places/index.html") or "")

    @get("/dumps/")
    def dumps_index() -> Response:
        return HTMLResponse(pub.page("/dumps/index.html") or "")

    # the dataset's resources, the shapes and the ontology's terms: each path resolved as it is
    for route, name in (("/id/{rest:path}", "id_"), ("/shapes/{rest:path}", "shapes"), ("/def", "ontology"),
                        ("/def.{rest}", "ontology_doc"), ("/def/{rest:path}", "term")):
        get(route, name=name)(_resolver(resolve, route))

    @get("/.well-known/void")
    def void(request: Request) -> Response:
        accept = request.headers.get("accept")
        if not request.query_params.getlist("format") and browser_wants_html(accept, RDF_NEGOTIATION):
            return _negotiated(pub.void_page(), "text/html; charset=utf-8")  # people: a page, not void.rdf
        try:
            fmt = negotiate(RDF_NEGOTIATION, request.headers.get("accept"), request.query_params.getlist("format"),
                            family="graph")
        except NotAcceptable as exc:
            return _negotiated(f"406 Not Acceptable: {exc}\n", "text/plain; charset=utf-8", status=406)
        except ValueError as exc:
            return _negotiated(f"400 Bad Request: {exc}\n", "text/plain; charset=utf-8", status=400)
        return _negotiated(pub.void(fmt.key), fmt.content_type)

    @get("/.well-known/void.{ext}")
    def void_doc(ext: str) -> Response:
        if ext == "html":
            return HTMLResponse(pub.void_page("/.well-known/void.html"))
        if ext not in RDF_EXTS:
            return Response("404 Not Found: VoID is served as .ttl, .jsonld, .nt or .rdf\n", status_code=404,
                            media_type="text/plain; charset=utf-8")
        return Response(pub.void(ext), media_type=_content_type(ext))

    @get("/context.jsonld")
    def context() -> Response:
        return Response(json.dumps(pub.context(), indent=2, sort_keys=False), media_type="application/ld+json")

    @get("/dumps/{name:path}")
    def dump(request: Request, name: str) -> Response:
        checksum = name.endswith(".sha256")
        d = pub.dump(name[: -len(".sha256")] if checksum else name)
        if d is None:
            names = ", ".join(x.name for x in pub.dumps())
            return Response(f"404 Not Found: no dump {name!r}. Dumps: {names} (and latest/remit.<ext>)\n",
                            status_code=404, media_type="text/plain; charset=utf-8")
        if checksum:
            return Response(d.checksum_file, media_type="text/plain; charset=utf-8")
        media = "application/gzip" if d.compressed else d.media_type
        headers = {"Content-Disposition": f'attachment; filename="{d.name}"', "Digest": f"sha-256={d.sha256}"}
        if d.path is not None:  # a file of the dump job: streamed from disk, never held in memory
            return FileResponse(d.path, media_type=media, headers=headers)
        return Response(d.data, media_type=media, headers=headers)

    return router


def install(app: FastAPI, settings: Any, store: Optional[ox.Store] = None) -> Publication:
    """Add the publication routes, the query UI and the static files to ``app``."""
    pub = Publication(settings, store=store)
    app.state.publication = pub

    # public bodies name no folder of this machine: the details (the cache folder, the job's output) go to the log
    async def pending(request: Request, exc: Exception) -> Response:
        log.info("%s: %s", request.url.path, exc)
        wait = PublicationPending.retry_after
        return error_response(request, 503, "dumps not ready", f"the data dumps are being built; try again in {wait} s.",
                              {"Retry-After": str(wait)})

    async def failed(request: Request, exc: Exception) -> Response:
        log.error("%s: %s", request.url.path, exc)
        return error_response(request, 500, "dumps unavailable",
                              "the data dumps could not be built; the operator has the details in the server log.")

    app.add_exception_handler(PublicationPending, pending)
    app.add_exception_handler(PublicationFailed, failed)
    endpoint = getattr(app.state, "endpoint", None)
    if endpoint is not None and hasattr(endpoint, "queries"):  # reuse the registry the endpoint loads at start
        pub.site.queries_from = lambda: endpoint.queries if getattr(endpoint, "started", False) else None
    threading.Thread(target=pub.warm_up, name="remit-publication-warm-up", daemon=True).start()
    app.include_router(make_router(pub))
    app.include_router(make_ui_router(pub))
    mount_frontend(app)  # before /static: its path is under it
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="remit-static")
    mount_ui_assets(app)
    return pub
