"""Reload a running server onto a rebuilt graph, only when the rebuild is good (SIGHUP or ``POST /admin/reload``).

Steps (one reload at a time):

1. **Unchanged?** The source hash (:func:`kg.pipeline.build.source_hash`) equals the served build's
   ``manifest.json`` ``sourceHash``: nothing to do (status ``unchanged``).
2. **Build** ``kg build`` in a child process, from ``settings.source_root`` and ``settings.data_dir``, into a
   staging folder beside ``settings.build_dir`` (``.<name>.reload``), within ``settings.reload_timeout``.
   A parse error, a logical inconsistency or a bad check stops here (status ``failed``, with the build's
   own message: file, line, column).
3. **Gate** the new validation report against the served one: refused (``failed``) when it has a finding
   at or above ``settings.reload_fail_on`` (default ``violation``) from a *check* (a shape or a QC query)
   that the served report has no finding of at that severity. Findings the served graph already has —
   the real data legitimately has Violations, e.g. agreements that name no lead — do not block a reload;
   a new kind of problem does. ``none`` accepts any report that built. When the served store has no
   ``report.json`` beside it, every finding at or above the threshold is new.
4. **Switch**: the staging folder becomes ``settings.build_dir`` (the previous one is removed once no
   worker reads it), then :meth:`kg.api.workers.WorkerPool.switch` starts new workers on the new store and
   swaps them in atomically; the service description, graph counts and pages are repointed.

The outcome is returned and kept (``Reloader.state``) for ``/health``: ``last_reload`` and
``last_reload_error``. On any failure the served graph is exactly as it was.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from kg.rdf.store import open_store

__all__ = ["Reloader", "ReloadOutcome", "ReloadBusy", "SEVERITIES", "new_finding_checks"]

log = logging.getLogger("kg.api.reload")

SEVERITIES = ("Info", "Warning", "Violation")


class ReloadBusy(Exception):
    """A reload is already running."""


@dataclass
class ReloadOutcome:
    status: str                       # reloaded | unchanged | failed
    detail: str
    trigger: str
    finished: float                   # Unix time
    seconds: float
    store: Optional[str] = None
    source_hash: Optional[str] = None
    triples: Optional[int] = None
    findings: dict[str, int] = field(default_factory=dict)
    new_checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _at_or_above(threshold: str) -> set[str]:
    if threshold.lower() == "none":
        return set()
    i = [s.lower() for s in SEVERITIES].index(threshold.lower())
    return set(SEVERITIES[i:])


def new_finding_checks(new_report: dict[str, Any], old_report: Optional[dict[str, Any]],
                       threshold: str) -> list[dict[str, Any]]:
    """Findings of ``new_report`` at or above ``threshold`` whose (check, severity) ``old_report`` lacks.
    One finding per new check (the first), so the message stays short."""
    sev = _at_or_above(threshold)
    known = {(f.get("check"), f.get("severity")) for f in (old_report or {}).get("findings", [])}
    out: dict[tuple[Any, Any], dict[str, Any]] = {}
    for f in new_report.get("findings", []):
        key = (f.get("check"), f.get("severity"))
        if f.get("severity") in sev and key not in known and key not in out:
            out[key] = f
    return list(out.values())


def _read_json(path: Path) -> Optional[dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Reloader:
    """Rebuilds, gates and switches ``endpoint`` (a :class:`kg.api.sparql.SparqlEndpoint`) onto a new store."""

    def __init__(self, endpoint: Any, app_state: Any = None):
        self.endpoint = endpoint
        self.settings = endpoint.settings
        self.app_state = app_state
        self._lock = asyncio.Lock()
        self._proc: Optional[asyncio.subprocess.Process] = None
        self.last: Optional[ReloadOutcome] = None
        self.last_error: Optional[ReloadOutcome] = None
        self.running = False

    # ------------------------------------------------------------------ state for /health
    def state(self) -> dict[str, Any]:
        return {
            "reloading": self.running,
            "last_reload": None if self.last is None else {
                "status": self.last.status, "trigger": self.last.trigger, "finished": self.last.finished,
                "detail": self.last.detail},
            "last_reload_error": None if self.last_error is None else {
                "trigger": self.last_error.trigger, "finished": self.last_error.finished,
                "detail": self.last_error.detail},
        }

    def public_state(self) -> dict[str, Any]:
        """:meth:`state` without the details (file paths, lines, messages) — what unauthenticated
        ``/health`` shows; ``GET /admin/reload`` and the log have the rest."""
        st = self.state()
        for k in ("last_reload", "last_reload_error"):
            if st[k] is not None:
                st[k] = {**st[k], "detail": "see GET /admin/reload or the server log" if k == "last_reload_error"
                         or st[k]["status"] == "failed" else ""}
        return st

    # ------------------------------------------------------------------ paths
    @property
    def root(self) -> Path:
        return Path(self.settings.source_root).resolve()

    def _abs(self, p: Path) -> Path:
        p = Path(p)
        return p if p.is_absolute() else (Path.cwd() / p)

    @property
    def build_dir(self) -> Path:
        return self._abs(self.settings.build_dir)

    @property
    def staging(self) -> Path:
        return self.build_dir.with_name(f".{self.build_dir.name}.reload")

    def served_build(self) -> Path:
        return Path(self.endpoint.pool.store_path).resolve().parent

    # ------------------------------------------------------------------ the reload
    async def reload(self, trigger: str) -> ReloadOutcome:
        if self._lock.locked():
            raise ReloadBusy()
        async with self._lock:
            self.running = True
            started = time.monotonic()
            try:
                outcome = await self._reload(trigger, started)
            except Exception as exc:  # never leave the lock held or the error unreported
                log.exception("reload failed")
                outcome = self._outcome("failed", f"reload failed: {type(exc).__name__}: {exc}", trigger, started)
            finally:
                self.running = False
            self.last = outcome
            if outcome.ok:
                self.last_error = None
                log.info("reload (%s): %s — %s", trigger, outcome.status, outcome.detail)
            else:
                self.last_error = outcome
                log.error("reload (%s) refused, still serving the previous graph: %s", trigger, outcome.detail)
            return outcome

    def _outcome(self, status: str, detail: str, trigger: str, started: float, **kw: Any) -> ReloadOutcome:
        return ReloadOutcome(status, detail, trigger, time.time(), round(time.monotonic() - started, 3), **kw)

    async def _reload(self, trigger: str, started: float) -> ReloadOutcome:
        # imported on the first reload, not at start: the build pipeline costs the server 0.4 s of start-up
        from kg.pipeline.build import Layout, source_hash

        s = self.settings
        if s.is_remote:
            # the graph lives in an external store: rebuild locally and `kg push` it there instead
            return self._outcome("failed", "reload is not available when serving from an external store "
                                 "(REMIT_REMOTE_STORE_URL); rebuild and `kg push` to the store instead",
                                 trigger, started)
        data = self._abs(s.data_dir)
        served = self.served_build()
        served_manifest = _read_json(served / "manifest.json") or {}
        loop = asyncio.get_running_loop()
        try:
            digest, _ = await loop.run_in_executor(None, lambda: source_hash(Layout(root=self.root, data=[data])))
        except OSError as exc:
            return self._outcome("failed", f"cannot read the sources: {exc}", trigger, started)
        if digest == served_manifest.get("sourceHash"):
            return self._outcome("unchanged", "the sources are unchanged; still serving the same graph", trigger,
                                 started, store=str(self.endpoint.pool.store_path), source_hash=digest,
                                 triples=served_manifest.get("triples"), findings=served_manifest.get("findings", {}))

        staging = self.staging
        if staging.exists():
            shutil.rmtree(staging)
        code, output = await self._run_build(data, staging)
        if code is None:
            shutil.rmtree(staging, ignore_errors=True)
            return self._outcome("failed", f"the build took longer than {s.reload_timeout:g} s and was stopped",
                                 trigger, started)
        if code != 0 or not (staging / "store").is_dir():
            shutil.rmtree(staging, ignore_errors=True)
            return self._outcome("failed", "the build failed: " + (output.strip() or f"exit code {code}"),
                                 trigger, started)
        manifest = _read_json(staging / "manifest.json") or {}
        report = _read_json(staging / "report.json") or {"findings": []}
        baseline = _read_json(served / "report.json")
        new = new_finding_checks(report, baseline, s.reload_fail_on)
        if new:
            shutil.rmtree(staging, ignore_errors=True)
            lines = [f"{f.get('severity')} {f.get('check')} at {f.get('location') or f.get('focus')}: "
                     f"{f.get('message', '')}" for f in new[:5]]
            return self._outcome(
                "failed", f"the new build has {len(new)} new kind(s) of finding at or above "
                f"{s.reload_fail_on} that the served graph does not have:\n" + "\n".join(lines),
                trigger, started, findings=manifest.get("findings", {}),
                new_checks=[f"{f.get('severity')} {f.get('check')}" for f in new])

        # ---- accept: staging becomes the build folder, the workers switch
        target = self.build_dir
        old = target.with_name(f".{target.name}.replaced-{os.getpid()}-{int(time.time() * 1000)}")
        had_old = target.exists()
        if had_old:
            target.rename(old)
        staging.rename(target)
        try:
            await self.switch_store(target / "store")
        except Exception as exc:
            shutil.rmtree(target, ignore_errors=True)
            if had_old:
                old.rename(target)
            return self._outcome("failed", f"the new store could not be opened: {exc}", trigger, started)
        if had_old:  # old workers finishing a query keep their open files; nothing new opens them
            shutil.rmtree(old, ignore_errors=True)
        return self._outcome("reloaded", f"now serving the build of {digest}", trigger, started,
                             store=str(target / "store"), source_hash=manifest.get("sourceHash"),
                             triples=manifest.get("triples"), findings=manifest.get("findings", {}))

    async def _run_build(self, data: Path, out: Path) -> tuple[Optional[int], str]:
        cmd = [sys.executable, "-m", "kg.cli", "build", "--data", str(data), "--out", str(out), "--force"]
        self._proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=str(self.root), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True)
        try:
            out_bytes, _ = await asyncio.wait_for(self._proc.communicate(), timeout=self.settings.reload_timeout)
        except asyncio.TimeoutError:
            self._kill_build()
            await self._proc.wait()
            return None, ""
        finally:
            rc = self._proc.returncode
            self._proc = None
        return rc, out_bytes.decode("utf-8", "replace")[-4000:]

    def _kill_build(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        """Shutdown: stop a running build."""
        self._kill_build()

    async def switch_store(self, store: Path) -> None:
        """Point the endpoint (workers, graph counts, service description) and the pages at ``store``."""
        ep = self.endpoint
        loop = asyncio.get_running_loop()

        def count() -> dict[str, int]:
            st = open_store(store)
            counts = {}
            for sol in st.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
                counts[sol["g"].value] = int(sol["n"].value)
            return counts

        counts = await loop.run_in_executor(None, count)
        await ep.pool.switch(store)
        # the rest has no await: requests see the new counts, description and pages together
        ep.graph_counts = counts
        ep._sd_cache = {}
        self.settings.store_path = Path(store)
        if hasattr(ep, "graph_changed"):  # new graph version: the response cache starts empty (kg/api/cache.py)
            ep.graph_changed()
        pub = getattr(self.app_state, "publication", None) if self.app_state is not None else None
        if pub is not None:
            # Publication keeps its store and its cached dumps/VoID per instance: start it afresh.
            pub.__init__(pub.settings)
