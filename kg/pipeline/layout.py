"""Where the sources are and where the artefacts go, and the hash that says whether a build is fresh."""

from __future__ import annotations

import contextlib
import hashlib
import json
import resource
import time
from contextvars import ContextVar
from dataclasses import dataclass
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Callable, Iterator, Optional

from kg import __version__
from kg.pipeline.derive import RULES_DIR
from kg.pipeline.load import find_files

__all__ = ["ARTEFACTS", "RESTRICTED_DIR", "RESTRICTED_FILE", "BuildError", "Layout", "source_hash", "tool_versions", "is_fresh", "timed",
           "steps_reported"]

#: The files every complete build leaves in the out folder.
ARTEFACTS: tuple[str, ...] = ("remit.trig", "report.ttl", "report.json", "manifest.json", "store", "restricted.trig", "search.sqlite")
#: The restricted sources (personal data, outside ``data/`` so they are never read as public data) and the
#: one artefact made from them, which nothing public reads (see :mod:`kg.pipeline.restricted`).
RESTRICTED_DIR = "data-restricted"
RESTRICTED_FILE = "restricted.trig"
#: The packages whose code makes the artefacts: a change to any of their modules rebuilds.
_CODE_PACKAGES = ("pipeline", "rdf", "findings")


class BuildError(Exception):
    """Bad input the build cannot get past (exit code 2); the message says what and where."""


@dataclass
class Layout:
    """Where the sources are and where the artefacts go (paths relative to ``root`` unless absolute)."""

    root: Path = Path(".")
    data: list[Path] | None = None
    out: Path | None = None
    #: folder of the restricted sources (default ``data-restricted``; may be absent: no restricted data)
    restricted: Path | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.data = [self._abs(d) for d in (self.data or [Path("data")])]
        self.out = self._abs(self.out or Path("build"))
        self.restricted = self._abs(self.restricted or Path(RESTRICTED_DIR))

    def _abs(self, p: Path | str) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.root / p

    @property
    def ontology_files(self) -> list[Path]:
        files: list[Path] = []
        for d in (self.root / "ontology", self.root / "ontology" / "vocab"):
            if d.is_dir():
                files += find_files([d], recursive=False)
        return files

    @property
    def shape_files(self) -> list[Path]:
        d = self.root / "shapes"
        return find_files([d], "*.shapes.ttl", recursive=False) if d.is_dir() else []

    @property
    def data_files(self) -> list[Path]:
        return find_files(self.data or [])

    @property
    def restricted_files(self) -> list[Path]:
        d = self.restricted
        return find_files([d]) if d is not None and d.is_dir() else []

    @property
    def qc_dir(self) -> Path:
        return self.root / "queries" / "qc"

    @property
    def derive_dir(self) -> Path:
        return self.root / RULES_DIR

    def rel(self, p: Path) -> str:
        try:
            return p.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return p.resolve().as_posix()


def tool_versions() -> dict[str, str]:
    return {name: _dist_version(name) for name in ("rdflib", "owlrl", "pyshacl", "pyoxigraph")}


def source_hash(layout: Layout) -> tuple[str, list[dict[str, str]]]:
    """SHA-256 over (path, bytes) of every source file, sorted by path, plus the build code and tool
    versions (so a changed reasoner or check also rebuilds). Returns the hash and the per-file list."""
    files = layout.ontology_files + layout.shape_files + layout.data_files + layout.restricted_files
    if layout.qc_dir.is_dir():
        files += sorted(layout.qc_dir.glob("*-violation.rq"))
    if layout.derive_dir.is_dir():
        files += sorted(layout.derive_dir.glob("*.rq"))
    entries = sorted((layout.rel(p), p) for p in set(files))
    h = hashlib.sha256()
    listing = []
    for rel, p in entries:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        listing.append({"path": rel, "sha256": digest})
        h.update(rel.encode() + b"\0" + digest.encode() + b"\n")
    kg_dir = Path(__file__).resolve().parent.parent
    for f in sorted(p for pkg in _CODE_PACKAGES for p in (kg_dir / pkg).glob("*.py")):
        h.update(f"kg/{f.parent.name}/{f.name}\0".encode() + hashlib.sha256(f.read_bytes()).digest())
    h.update(json.dumps({"remit": __version__, **tool_versions()}, sort_keys=True).encode())
    return "sha256:" + h.hexdigest(), listing


def is_fresh(layout: Layout, digest: str) -> bool:
    out = layout.out
    assert out is not None
    if not all((out / name).exists() for name in ARTEFACTS):
        return False
    from kg.search.index import FORMAT, INDEX_FILE, index_format  # an index of an older format: rebuild

    if index_format(out / INDEX_FILE) != FORMAT:
        return False
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("sourceHash") == digest


#: Who hears of each finished step (``kg build``'s progress on stderr); None: nobody.
_STEP_LISTENER: ContextVar[Optional[Callable[[str, float], None]]] = ContextVar("remit_step_listener", default=None)


@contextlib.contextmanager
def steps_reported(listener: Callable[[str, float], None]) -> Iterator[None]:
    """Within the block, ``listener(step, seconds)`` is called as each pipeline step finishes."""
    token = _STEP_LISTENER.set(listener)
    try:
        yield
    finally:
        _STEP_LISTENER.reset(token)


def timed(timings: dict[str, float], step: str, t0: float) -> float:
    """Record the seconds since ``t0`` for ``step`` and the peak RSS so far (``step.rss_mb``); return now.
    The step's listener, if any (:func:`steps_reported`), hears of it."""
    now = time.perf_counter()
    timings[step] = round(now - t0, 3)
    timings[step + ".rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    listener = _STEP_LISTENER.get()
    if listener is not None:
        listener(step, timings[step])
    return now
