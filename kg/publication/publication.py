"""The publication over one store: its pages, RDF documents, dumps and VoID (:class:`Publication`), and the
same documents written as a static site (:class:`StaticWriter`, :func:`publish_site`, ``kg publish OUTDIR``).

No HTTP here: :mod:`kg.api.pages` maps the routes of a live server onto a :class:`Publication`.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import importlib.metadata
import json
import logging
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import pyoxigraph as ox
from rdflib import Graph

from kg.publication import pictures, places, views
from kg.publication.frontend import GOVUK_CSS, MISSING, govuk_css
from kg.publication.describe import describe, describe_ontology, resource_exists, to_rdflib
from kg.publication.publish import (CACHE_FORMAT, DATASET_IRI, LICENSE, Dump, build_dumps, graph_version, jsonld_context,
                                    publication_date, rdf_documents, read_publication_cache, RDF_EXTS, serialize,
                                    source_date_epoch, void_dir, void_graph)
from kg.publication.site import FN_PREFIX, ST_PREFIX, STATIC, Site, iri_local_name
from kg.publication.questions import question_title
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_SHAPES, ONTOLOGY_IRI, RSH
from kg.rdf.store import fits_in_memory

log = logging.getLogger(__name__)

__all__ = ["Publication", "PublicationPending", "PublicationFailed", "StaticWriter", "publish_site"]


class PublicationPending(Exception):
    """The dumps (and the VoID that lists them) are still being built by the dump job."""

    retry_after = 10

    def __init__(self, where: Path):
        super().__init__(f"the dumps are being built (into {where}); try again in {self.retry_after} s")


def _stop(job: "subprocess.Popen[bytes]") -> None:
    """At exit: a dump job still running is ended (a later start builds again)."""
    if job.poll() is None:
        job.terminate()
        try:
            job.wait(timeout=5)
        except subprocess.TimeoutExpired:
            job.kill()


class PublicationFailed(RuntimeError):
    """The dump job ended without writing the dumps."""


def _load_pylode() -> Any:
    """pyLODE 3.4.1 reads its version from a pyproject.toml that its wheel does not ship; give it the
    installed distribution's version instead so the import works."""
    if "pylode.version" not in sys.modules:
        mod = types.ModuleType("pylode.version")
        mod.__version__ = importlib.metadata.version("pylode")  # type: ignore[attr-defined]
        sys.modules["pylode.version"] = mod
    # pyLODE's supermodel profile calls logging.basicConfig(level=DEBUG) on import, which turned every
    # library's debug and info messages on for the rest of the process (kg publish printed asyncio's
    # "Using selector" and pyLODE's "Loading background ontologies" lines): the root logger is put back
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        import pylode
    finally:
        root.setLevel(level)
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
    return pylode


class Publication:
    """The publication over one store: pages, RDF documents, dumps, VoID (cached per process)."""

    def __init__(self, settings: Any, store: Optional[ox.Store] = None, static: bool = False,
                 service_base: Optional[str] = None, as_of: Optional[dt.date] = None, as_of_basis: str = ""):
        self.settings = settings
        self.site = Site(settings, store=store, static=static, service_base=service_base, as_of=as_of,
                         as_of_basis=as_of_basis)
        self.site.term_anchor = self.term_anchor  # type: ignore[attr-defined]
        self._lock = threading.RLock()
        self._dumps: Optional[list[Dump]] = None
        self._context: Optional[dict[str, Any]] = None
        self._onto: Optional[tuple[str, dict[str, str]]] = None
        self._void: dict[str, Graph] = {}
        self._shapes: Any = None
        # served from a store folder (``kg serve``): dumps and VoID are built by a child process into a
        # cache folder beside the store, never in this process (see :meth:`dumps`)
        self.background = store is None and not static
        self._job: Optional[subprocess.Popen[bytes]] = None
        self._job_started = 0.0
        self._cache: Optional[Path] = None

    @property
    def store(self) -> ox.Store:
        return self.site.store

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    # ------------------------------------------------------------------ cached artefacts
    def version(self) -> str:
        return self.site.ontology_version()

    def context(self) -> dict[str, Any]:
        with self._lock:
            if self._context is None:
                self._context = jsonld_context(describe_ontology(self.store, ONTOLOGY_IRI))
            return self._context

    def dumps(self) -> list[Dump]:
        """The four dumps. Served from a store folder, they are built by a child process (low priority)
        into :meth:`cache_dir`; until that is done this raises :class:`PublicationPending` (the routes
        answer 503 with ``Retry-After``), and :class:`PublicationFailed` if the build failed."""
        with self._lock:
            if self._dumps is None:
                if self.background:
                    self._dumps = self._cached_dumps()
                else:
                    # an external store (kg.api.remote_site) gives one snapshot: blank nodes keep their
                    # identity only within one of its answers, and the dumps read the store several times
                    source = getattr(self.store, "snapshot", None)
                    self._dumps = build_dumps(source() if source else self.store, self.version(), self.context())
            return self._dumps

    def cache_dir(self) -> Path:
        """``publication-cache/<key>`` beside the store, the key naming the graph (the manifest's
        ``sourceHash`` and the store's path, :func:`kg.publication.publish.graph_version`), the release and
        :data:`kg.publication.publish.CACHE_FORMAT` (the VoID for each base URL is a folder inside it). A store without a manifest (nothing says when it changes) or in
        a folder that cannot be written gets a folder under the system's temporary folder, for this
        process only."""
        if self._cache is None:
            store = Path(self.settings.store_path)
            raw = "\n".join([graph_version(store), self.version(), CACHE_FORMAT])
            key = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]
            root: Optional[Path] = None
            if (store.parent / "manifest.json").is_file():
                root = store.resolve().parent / "publication-cache"
                try:
                    root.mkdir(exist_ok=True)
                    if not os.access(root, os.W_OK):
                        root = None
                except OSError:
                    root = None
            if root is None:
                root = Path(tempfile.mkdtemp(prefix="remit-publication-"))
                atexit.register(shutil.rmtree, root, True)
            self._cache = root / key
        return self._cache

    def _cached_dumps(self) -> list[Dump]:
        self._await_cache(void=False)
        found = read_publication_cache(self.cache_dir())
        assert found is not None
        return found

    def _await_cache(self, void: bool) -> None:
        """Return when the cache folder holds the dumps (and, with ``void``, the VoID for this base URL);
        else start the dump job if it is not running and raise :class:`PublicationPending`."""
        out = self.cache_dir()

        def ready() -> bool:
            return (out / "index.json").is_file() and (not void or (void_dir(out, self.base_url) / "void.ttl").is_file())

        if ready():
            return
        log = out.with_name(out.name + ".log")
        if self._job is None:  # once per Publication (a reload makes a new one): a failure is reported, not retried
            ctx_file = out.with_name(out.name + ".context.json")
            ctx_file.write_text(json.dumps(self.context()), encoding="utf-8")
            with open(log, "wb") as err:
                self._job = subprocess.Popen(
                    [sys.executable, "-m", "kg.publication.publish", str(Path(self.settings.store_path).resolve()), str(out),
                     self.version(), self.base_url, str(ctx_file)],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err, close_fds=True)
            self._job_started = time.monotonic()
            atexit.register(_stop, self._job)
            # reaped as soon as it ends, even after a reload has replaced this Publication (no zombie)
            threading.Thread(target=self._job.wait, name="kg-dump-job-reaper", daemon=True).start()
        code = self._job.poll()
        if code is None:
            raise PublicationPending(out)
        if ready():
            return
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.is_file() else ""
        raise PublicationFailed(f"the dump build (python -m kg.publication.publish, exit code {code}) did not finish "
                                f"to {out}: {tail.strip() or 'no output'}")

    def dump(self, name: str) -> Optional[Dump]:
        """A dump by its versioned name or its ``latest/remit.<ext>`` name."""
        for d in self.dumps():
            if d.name == name:
                return d
            if name == "latest/remit." + d.kind:
                return d.renamed("remit." + d.kind)
        return None

    def void(self, ext: str) -> bytes:
        if self.background:  # written by the dump job beside the dumps (it counts over the whole store)
            with self._lock:
                self._await_cache(void=True)
            return (void_dir(self.cache_dir(), self.base_url) / f"void.{ext}").read_bytes()
        with self._lock:
            key = self.base_url
            if key not in self._void:
                self._void[key] = void_graph(self.store, self.base_url, self.version(), self.dumps())
            g: Graph = self._void[key]
        return serialize(g, ext)

    def ontology_docs(self) -> tuple[str, dict[str, str]]:
        """pyLODE's HTML documentation of the ontology and its term IRI → anchor map."""
        with self._lock:
            if self._onto is None:
                pylode = _load_pylode()
                g = to_rdflib(describe_ontology(self.store, ONTOLOGY_IRI))
                html = pylode.OntPub(ontology=g).make_html()
                # landmarks and language for assistive technology (pyLODE's page has neither)
                html = html.replace("<html>", '<html lang="en">', 1)
                html = html.replace('<div id="content">', '<div id="content" role="main">', 1)
                # colours of pyLODE's stylesheet under the 4.5:1 contrast of WCAG 2 AA on white (axe-core,
                # tests/publication/test_accessibility.py): grey, lightskyblue and orange, darkened
                html = html.replace("</head>", "<style>#pylode { color: #595959; } .sup-fp { color: #0b6fa4; } "
                                    ".sup-c, .sup-con { color: #a35200; } "
                                    # a long IRI or link wraps instead of widening the page on a phone (WCAG 1.4.10)
                                    "#content a, #content code, #content td { overflow-wrap: anywhere; }"
                                    "</style></head>", 1)
                # pyLODE links rdfs:isDefinedBy <ontology> to "#<local name>", which it never defines: anchor
                # that name on the ontology's metadata section
                own = iri_local_name(ONTOLOGY_IRI)
                if f'href="#{own}"' in html and f'id="{own}"' not in html:
                    html = html.replace('<div class="section" id="metadata">',
                                        f'<div class="section" id="metadata"><span id="{own}"></span>', 1)
                anchors = {}
                for m in re.finditer(r'id="([^"]+)">\s*<h3>.{0,400}?<th>IRI</th>\s*<td>\s*<code>([^<]+)</code>',
                                     html, re.S):
                    anchors[m.group(2).strip()] = m.group(1)
                self._onto = (html, anchors)
            return self._onto

    def warm_up(self) -> None:
        """Compute the cached artefacts ahead of the first request: start the dump job (a child process,
        when served from a store folder) first, then labels and the ontology docs in this thread."""
        try:
            if self.background:
                try:
                    with self._lock:
                        self._await_cache(void=True)
                except PublicationPending:
                    pass
            if not self.background:  # a live server looks labels up one resource at a time (kg.publication.site)
                self.site.labels
            if self.site.queries_from is None:
                self.site.queries
            self.ontology_docs()
            if not self.background:
                self.dumps()
                self.void("ttl")
        except Exception:  # noqa: BLE001 - a request will compute (and report) the same error
            pass

    def term_anchor(self, iri: str) -> str:
        return self.ontology_docs()[1].get(iri, iri_local_name(iri))

    # ------------------------------------------------------------------ shapes
    def shapes(self) -> Optional["Publication"]:
        """When the store holds no shapes graph, a publication over the SHACL files (``shapes/*.ttl`` beside
        the data folder) so that shape IRIs (``https://w3id.org/remit/shapes/…``) still resolve."""
        with self._lock:
            if self._shapes is None:
                self._shapes = False
                if str(GRAPH_SHAPES) not in {g.value for g in self.store.named_graphs()}:
                    folder = Path(self.settings.data_dir).parent / "shapes"
                    files = sorted(folder.glob("*.ttl")) if folder.is_dir() else []
                    if files:
                        mem = ox.Store()
                        for f in files:
                            mem.load(path=str(f), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(GRAPH_SHAPES)))
                        for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(str(GRAPH_ONTOLOGY))):
                            mem.add(q)
                        sub = Publication(self.settings, store=mem, static=self.site.static,
                                          service_base=self.site.service_base, as_of=self.site.as_of,
                                          as_of_basis=self.site.as_of_basis)
                        sub.site.term_anchor = self.term_anchor  # type: ignore[attr-defined]
                        sub.ontology_docs = self.ontology_docs  # type: ignore[method-assign]
                        self._shapes = sub
            return self._shapes or None

    def _owner(self, iri: str) -> "Publication":
        if iri.startswith(str(RSH)) and not resource_exists(self.store, iri):
            sub = self.shapes()
            if sub is not None:
                return sub
        return self

    # ------------------------------------------------------------------ documents
    def is_ontology_term(self, iri: str) -> bool:
        return iri.startswith(ONTOLOGY_IRI + "/")

    def exists(self, iri: str) -> bool:
        if iri == ONTOLOGY_IRI:
            return True
        owner = self._owner(iri)
        return resource_exists(owner.store, iri)

    def rdf(self, iri: str, ext: str) -> bytes:
        return self.rdf_all(iri, (ext,))[ext]

    def rdf_all(self, iri: str, exts: Sequence[str]) -> dict[str, bytes]:
        """The resource's description in each of ``exts``, described once."""
        owner = self._owner(iri)
        if owner is not self:
            return owner.rdf_all(iri, exts)
        if iri == ONTOLOGY_IRI:
            triples = describe_ontology(self.store, ONTOLOGY_IRI)
        else:
            triples = describe(self.store, iri)
        return rdf_documents(triples, exts, self.context())

    def html(self, iri: str, page: str) -> str:
        owner = self._owner(iri)
        if owner is not self:
            return owner.html(iri, page)
        site = self.site
        if iri == ONTOLOGY_IRI:
            return self.ontology_docs()[0]
        if self.is_ontology_term(iri):  # the term's own page: a pointer to the ontology documentation
            data = site.resource(iri, page)
            return site.render("resource.html", page, r=data, kind="term",
                               onto_href=site.rel(page, "/def.html#" + self.term_anchor(iri)))
        if views.is_kind(site, iri, "Agreement"):
            return site.render("agreement.html", page, r=views.agreement_view(site, page, iri))
        if views.is_kind(site, iri, "Setting"):  # an establishment: its remit card (kg.publication.places)
            return site.render("setting.html", page, c=places.card_view(site, page, iri))
        if (views.is_kind(site, iri, "FunctionHolder") or views.is_kind(site, iri, "OversightBody")
                or site.select("SELECT ?r WHERE { ?r <https://w3id.org/remit/def/holder> ?b } LIMIT 1", b=iri)):
            return site.render("body.html", page, r=views.body_view(site, page, iri))
        return site.render("resource.html", page, r=site.resource(iri, page), kind="resource",
                           places=places.setting_type_places(site, page, iri) if iri.startswith(ST_PREFIX) else [])

    def not_found(self, page: str, path: str) -> str:
        sugg = self.site.suggestions(page, iri_local_name(path) or path)
        return self.site.render("not_found.html", page, path=path, iri=self.site.path_to_iri(path),
                                suggestions=sugg, title="Not found")

    # ------------------------------------------------------------------ fixed pages
    def void_page(self, page: str = "/.well-known/void") -> str:
        """The dataset description (VoID/DCAT) for people: what the data is, its licence, how many facts each
        graph holds, where to download it and where to query it. Read from the VoID document itself."""
        ds = ox.NamedNode(str(DATASET_IRI))
        triples = list(ox.parse(self.void("nt"), format=ox.RdfFormat.N_TRIPLES))

        def value(s: Any, p: str) -> Optional[str]:
            return next((t.object.value for t in triples if t.subject == s and t.predicate.value == p), None)

        void, dct = "http://rdfs.org/ns/void#", "http://purl.org/dc/terms/"
        about = {str(GRAPH_ONTOLOGY): "the vocabulary: the classes and properties Remit's data is written in",
                 str(GRAPH_ASSERTED): "the facts taken from the sources, each with its citation",
                 str(GRAPH_INFERRED): "the facts a reasoner (OWL 2 RL) concludes from the other two"}
        graphs = []
        for t in triples:
            if t.subject == ds and t.predicate.value == void + "subset":
                n = value(t.object, void + "triples")
                graphs.append({"name": t.object.value.rsplit("/", 1)[-1], "iri": t.object.value,
                               "about": about.get(t.object.value, ""), "triples": int(n or 0)})
        graphs.sort(key=lambda g: g["name"])
        licence = value(ds, dct + "license") or ""
        counts = {k: int(value(ds, void + k) or 0) for k in ("triples", "entities", "classes", "properties")}
        return self.site.render(
            "void.html", page, title="About the dataset", dataset_title=value(ds, dct + "title") or "Remit",
            description=value(ds, dct + "description") or "", licence=licence,
            licence_label="Open Government Licence v3.0" if licence == str(LICENSE) else licence,
            version=value(ds, "http://www.w3.org/2002/07/owl#versionInfo") or self.version(),
            counts=counts, graphs=graphs, dumps=self.dumps(), endpoint=value(ds, void + "sparqlEndpoint") or "")

    def home(self, page: str = "/index.html") -> str:
        site = self.site
        queries = [{"name": n, "question": question_title(q), "href": site.service(page, f"/queries/{n}")}
                   for n, q in sorted(site.queries.items(), key=lambda nq: question_title(nq[1]).lower())]
        return site.render("home.html", page, title="Remit", counts=site.counts(), queries=queries,
                           version=self.version(), agreements=len(site.agreements(page)),
                           bodies=len(site.bodies(page)), grid=places.places_grid(site, page))

    def page(self, path: str) -> Optional[str]:
        """A fixed page by path, or None."""
        site = self.site
        if path in ("/", "/index.html"):
            return self.home("/index.html")
        if path == "/agreements.html":
            return site.render("agreements.html", path, title="Agreements", rows=site.agreements(path))
        if path == "/bodies.html":
            return site.render("bodies.html", path, title="Bodies and offices", rows=site.bodies(path))
        if path == "/matrix.html":
            mv = views.matrix_view(site, path)
            for row in mv["grid"]:  # each row header links to its place pages (setting type × nation)
                row["places"] = places.setting_type_places(site, path, row["setting"].iri or "")
            return site.render("matrix.html", path, m=mv)
        if path == pictures.NETWORK_PATH:  # the pictures (kg.publication.pictures)
            return site.render("network.html", path, v=pictures.network_view(site, path))
        if path == pictures.OVERLAPS_CHART_PATH:
            return site.render("overlaps_chart.html", path, v=pictures.overlaps_chart_view(site, path))
        if path == "/places/index.html":
            return site.render("places.html", path, grid=places.places_grid(site, path))
        place = places.resolve_place(path)
        if place is not None and place[2] == "html":
            if place[0] not in places.place_types(site):
                return None
            return site.render("place.html", path, v=places.place_view(site, path, place[0], place[1]))
        if path == "/dumps/index.html":
            return site.render("dumps.html", path, title="Data dumps", dumps=self.dumps(), version=self.version())
        m = re.match(r"^/matrix/([a-z0-9-]+)/([a-z0-9-]+)\.html$", path)
        if m:
            st, fn = ST_PREFIX + m.group(1), FN_PREFIX + m.group(2)
            if (st, fn) not in views.matrix_cells(site):
                return None
            return site.render("explain.html", path, e=views.explain_view(site, path, st, fn))
        return None

    def download(self, path: str) -> Optional[bytes]:
        """A place page's CSV (``/places/{setting type}/{nation}[-establishments].csv``) or an establishment's
        (``/places/establishments/{slug}.csv``), or None."""
        site = self.site
        m = re.match(r"^/places/establishments/([a-z0-9-]+)\.csv$", path)
        if m:
            iri = places.SETTING_PREFIX + m.group(1)
            return places.card_csv(site, iri) if views.is_kind(site, iri, "Setting") else None
        place = places.resolve_place(path)
        if place is None or place[2] == "html" or place[0] not in places.place_types(site):
            return None
        return places.place_csv(site, place[0], place[1], "establishments" if place[2] == "establishments" else "")

    def cell_paths(self) -> list[str]:
        out = []
        for st, fn in views.matrix_cells(self.site):
            if st.startswith(ST_PREFIX) and fn.startswith(FN_PREFIX):
                out.append(f"/matrix/{st[len(ST_PREFIX):]}/{fn[len(FN_PREFIX):]}.html")
        return sorted(out)


# --------------------------------------------------------------------------------------------- static site

_REDIRECT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redirecting</title>
<meta http-equiv="refresh" content="0; url={to}"><link rel="canonical" href="{to}"></head>
<body><main><p>This resource is described at <a href="{to}">{to}</a>.</p></main></body></html>
"""


class StaticWriter:
    """Writes every page and document of a :class:`Publication` as files (``kg publish``)."""

    def __init__(self, settings: Any, outdir: Path, store: Optional[ox.Store] = None,
                 service_base: Optional[str] = None, as_of: Optional[dt.date] = None, as_of_basis: str = "",
                 jobs: Optional[int] = None):
        self.outdir = Path(outdir)
        self.pub = Publication(settings, store=store, static=True,
                               service_base=service_base or settings.base_url, as_of=as_of, as_of_basis=as_of_basis)
        if as_of is None:  # never the clock: the publication's own date basis
            self.pub.site.as_of, self.pub.site.as_of_basis = publication_date(self.pub.store)
        self.counts = {"pages": 0, "documents": 0, "dumps": 0, "files": 0}
        self._cards: Optional[set[str]] = None
        #: told each part as it is written (``kg publish --progress``): what, and seconds since the start
        self.on_step: Callable[[str, float], None] = lambda what, seconds: None
        self._t0 = time.perf_counter()
        # processes writing the resources: ``jobs`` (default one per CPU, never more), but one over a store object
        # (the processes each open the store by path: a store object cannot be shared)
        cpus = os.cpu_count() or 1
        self.jobs = max(1, min(jobs if jobs is not None else cpus, cpus)) if store is None else 1
        self._spec = (settings, self.outdir, service_base, self.pub.site.as_of, self.pub.site.as_of_basis)

    def _said(self, what: str) -> None:
        self.on_step(what, time.perf_counter() - self._t0)

    def _write(self, path: str, data: bytes | str, kind: str = "files") -> None:
        target = self.outdir / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        self.counts[kind] += 1

    def write_resources(self, iris: list[str], done: Optional[Any] = None) -> None:
        """Each resource's page (or its redirect to the ontology documentation) and its four RDF documents.
        ``done``: a shared counter (``multiprocessing.Value``) raised by one for each resource written."""
        pub, site = self.pub, self.pub.site
        for iri in iris:
            if done is not None:
                with done.get_lock():
                    done.value += 1
            path = site.iri_to_path(iri)
            assert path is not None
            if path == "/def":
                continue
            if pub.is_ontology_term(iri):
                to = site.rel(path + ".html", "/def.html#" + pub.term_anchor(iri))
                self._write(path + ".html", _REDIRECT.format(to=to), "pages")
            else:
                self._write(path + ".html", pub.html(iri, path + ".html"), "pages")
            card = places.card_csv_path(iri)
            if card in self._card_csvs():  # an establishment's card as CSV: beside its page, so the card's
                self._write(card, pub.download(card) or b"")  # query runs once, in the same process
            for ext, data in pub.rdf_all(iri, RDF_EXTS).items():
                self._write(f"{path}.{ext}", data, "documents")
            self._write(f"{path}/index.html", _REDIRECT.format(to=f"../{iri_local_name(path)}.html"))

    def _card_csvs(self) -> set[str]:
        """The CSV downloads of the establishments' cards (written with their pages, :meth:`write_resources`)."""
        if self._cards is None:
            self._cards = places.card_csv_paths(self.pub.site)
        return self._cards

    def resources(self) -> list[str]:
        site = self.pub.site
        rows = site.select("SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) }")
        iris = {r["s"].value for r in rows}
        iris |= {r["o"].value for r in site.select("SELECT DISTINCT ?o WHERE { ?s ?p ?o FILTER(isIRI(?o)) }")}
        sub = self.pub.shapes()
        if sub is not None:
            iris |= {r["s"].value for r in sub.site.select(
                "SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), \"%s\")) }" % RSH)}
        return sorted(i for i in iris if site.iri_to_path(i) is not None)

    def _warm_up(self) -> None:
        """Before the workers are forked from a store in memory: the answers each process would otherwise ask
        for itself (the labels, the matrix's overlaps, the validation report, the establishments and the keys of
        their cards, every agreement's contacts, the reviews due), read once and shared by the fork."""
        site = self.pub.site
        site.labels
        site.report_by_focus()
        views.matrix_cells(site)
        places.place_types(site)
        places.card_keys(site)
        places.contacts_by_agreement(site)
        self._card_csvs()
        views.named_table(site, "/index.html", "reviews-due", views.params_for(site, "reviews-due"))
        self._said("read what every process needs")

    def _shares(self, iris: list[str]) -> list[list[str]]:
        """The resources each worker writes: an equal share of them, the establishments whose remit cards ask
        the same question (:func:`kg.publication.places.card_keys`) in the same share, so that each question is
        asked by one worker. Any split gives the same files."""
        keys = places.card_keys(self.pub.site) if self._card_csvs() else {}
        shares: list[list[str]] = [[] for _ in range(self.jobs)]
        groups: dict[Any, list[str]] = {}
        k = 0
        for iri in iris:
            key = keys.get(iri)
            if key is None:
                shares[k % self.jobs].append(iri)
                k += 1
            else:
                groups.setdefault(key, []).append(iri)
        for members in sorted(groups.values(), key=lambda m: (-len(m), m[0])):
            min(shares, key=len).extend(members)
        return [sorted(share) for share in shares]

    def _write_site_pages(self) -> None:
        """The home, list, matrix, picture and place pages and the ontology documentation."""
        pub, site = self.pub, self.pub.site
        for path in ["/index.html", "/agreements.html", "/bodies.html", "/matrix.html", "/dumps/index.html",
                     *pictures.PAGE_PATHS, *pub.cell_paths()]:
            self._write(path, pub.page(path) or "", "pages")
        for path in places.place_paths(site):  # place pages and their CSV downloads (kg.publication.places)
            if path in self._card_csvs():
                continue
            if path.endswith(".csv"):
                self._write(path, pub.download(path) or b"")
            else:
                self._write(path, pub.page(path) or "", "pages")
        self._write("/404.html", pub.not_found("/404.html", "/404"), "pages")
        # the ontology
        self._write("/def.html", pub.ontology_docs()[0], "pages")
        for ext, data in pub.rdf_all(ONTOLOGY_IRI, RDF_EXTS).items():
            self._write(f"/def.{ext}", data, "documents")
        self._write("/def/index.html", _REDIRECT.format(to="../def.html"))
        self._said("wrote the home, list, matrix, picture and place pages and the ontology documentation")

    def write_all(self) -> dict[str, int]:
        pub = self.pub
        iris = self.resources()
        ctx = mp.get_context("fork")
        done = ctx.Value("i", 0)
        pool, running = None, None
        if self.jobs > 1 and len(iris) >= 2 * _MIN_SHARE:
            # Each resource's files depend on nothing but the store: forked workers write an equal share (the
            # same bytes as one process writes), started first so that they run while this process writes the
            # site-wide pages below. A store copied into memory is theirs by the fork (with what this process
            # has looked up so far); a store on disk is opened afresh by each (an open store is not to be forked)
            global _FORKED_FROM
            in_memory = fits_in_memory(pub.store, getattr(pub.settings, "store_in_memory_max_quads", 0))
            if in_memory:  # what every process reads, read once here: the workers get it with the fork
                self._warm_up()
            _FORKED_FROM = self if in_memory else None
            try:
                pool = ctx.Pool(self.jobs, initializer=_share_counter, initargs=(done,))
            finally:
                _FORKED_FROM = None
            running = pool.map_async(_write_share, [(self._spec, share) for share in self._shares(iris)])
        self._write_site_pages()
        if pool is not None and running is not None:
            with pool:
                while not running.ready():
                    running.wait(PROGRESS_SECONDS)
                    if not running.ready():
                        self._said(f"wrote {done.value:,} of {len(iris):,} resources")
                shares = running.get()
            for counts in shares:
                for kind, n in counts.items():
                    self.counts[kind] += n
        else:
            self.write_resources(iris, done)
        self._said(f"wrote {len(iris):,} resources (a page and four RDF documents each)")
        for d in pub.dumps():
            self._write(f"/dumps/{d.name}", d.data, "dumps")
            self._write(f"/dumps/{d.name}.sha256", d.checksum_file)
            latest = pub.dump("latest/remit." + d.kind)
            assert latest is not None
            self._write(f"/dumps/latest/{latest.name}", latest.data, "dumps")
            self._write(f"/dumps/latest/{latest.name}.sha256", latest.checksum_file)
        for ext in RDF_EXTS:
            self._write(f"/.well-known/void.{ext}", pub.void(ext), "documents")
        self._write("/.well-known/void", pub.void("ttl"), "documents")
        self._write("/context.jsonld", json.dumps(pub.context(), indent=2), "documents")
        for f in sorted(STATIC.iterdir()):
            if f.is_file():
                self._write(f"/static/{f.name}", f.read_bytes())
        govuk = govuk_css()
        if govuk is not None:  # the GOV.UK Frontend stylesheet, from node_modules (never kept in the repository)
            self._write(GOVUK_CSS, govuk)
        else:
            log.warning(MISSING)
        self._said("wrote the dumps, VoID and the static files")
        return dict(self.counts)


#: Below twice this many resources a publication is written by one process (forking costs more than it saves).
_MIN_SHARE = 200
#: How often ``kg publish --progress`` says how many resources are written.
PROGRESS_SECONDS = 10.0

#: In a forked worker: the counter of resources written, shared with the parent (:func:`_share_counter`).
_done: Any = None


def _share_counter(done: Any) -> None:
    global _done
    _done = done


#: In the parent while it forks the workers: its writer, when its store is a copy in memory (the workers use it).
_FORKED_FROM: Optional["StaticWriter"] = None


def _write_share(job: tuple[tuple[Any, ...], list[str]]) -> dict[str, int]:
    """In a forked worker: write these resources' files with the parent's writer (its store in memory and
    what it has looked up, copied by the fork), or with a new one over the store opened afresh; return the
    counts of this worker's files."""
    (settings, outdir, service_base, as_of, as_of_basis), iris = job
    if _FORKED_FROM is not None:
        writer = _FORKED_FROM
        writer.counts = {kind: 0 for kind in writer.counts}
    else:
        writer = StaticWriter(settings, outdir, service_base=service_base, as_of=as_of, as_of_basis=as_of_basis,
                              jobs=1)
    writer.write_resources(iris, _done)
    return dict(writer.counts)


def publish_site(settings: Any, outdir: Path, store: Optional[ox.Store] = None,
                 service_base: Optional[str] = None, as_of: Optional[dt.date] = None,
                 jobs: Optional[int] = None,
                 on_step: Optional[Callable[[str, float], None]] = None) -> dict[str, int]:
    """Write the publication as a static site under ``outdir``; return counts of what was written.

    Statuses are judged on ``as_of`` (default :func:`kg.publication.publish.publication_date`): the same
    store gives the same bytes on any day. ``on_step(what, seconds)`` is told each part as it is written, and
    every :data:`PROGRESS_SECONDS` how many resources are."""
    source_date_epoch(os.environ)  # a malformed SOURCE_DATE_EPOCH fails before anything is removed
    outdir = Path(outdir)
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    writer = StaticWriter(settings, outdir, store=store, service_base=service_base, as_of=as_of,
                          as_of_basis="--as-of" if as_of is not None else "", jobs=jobs)
    if on_step is not None:
        writer.on_step = on_step
    return writer.write_all()
