"""Query workers: processes that each open the store read-only and run one query at a time.

The web process never evaluates a query itself. It hands a job to an idle worker and waits at most the
deadline; past it the worker is terminated (then killed), a fresh one replaces it and the caller gets
:class:`QueryTimeout`. A worker that dies (crash, out of memory, killed) is replaced the same way
(:class:`WorkerCrashed`). At most ``queue_limit`` requests wait for a free worker; past that
:class:`PoolBusy` is raised at once.

Workers are started by multiprocessing's ``forkserver`` (a clean single-threaded parent, so forking is safe
and fast). On Linux each worker first moves itself into a new network namespace with no interfaces up,
so even a query that slipped past the checks could not reach the network (best effort: skipped where
the kernel refuses).

The job functions (what a worker runs on its store) are in :mod:`kg.api.jobs`.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from kg.api.jobs import job_error, run_job, store_graphs
from kg.api.remote_backend import open_remote, restrict_connections
from kg.rdf.store import open_store
from kg.settings import is_remote

__all__ = ["WorkerPool", "PoolBusy", "QueryTimeout", "WorkerCrashed", "PoolUnavailable", "start_forkserver"]

log = logging.getLogger("kg.api.workers")


class PoolBusy(Exception):
    """Every worker is busy and the queue is full."""


class QueryTimeout(Exception):
    """The query passed its deadline; its worker was killed and replaced."""


class WorkerCrashed(Exception):
    """The worker died while running the query; it was replaced."""


class PoolUnavailable(Exception):
    """No worker could be started (e.g. no built store)."""


# ============================================================================ worker process

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000


def _isolate_network() -> bool:
    """Move this process into a fresh network namespace (no interfaces up). True when done."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(_CLONE_NEWNET) == 0:
            return True
        if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
            return True
    except (OSError, AttributeError):
        pass
    return False


def _worker_main(conn: Any, store_path: str, isolate: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    remote = is_remote(store_path)  # kg serve --store URL: kg/api/remote_backend.py
    isolated = _isolate_network() if isolate and not remote else False
    run = run_job
    try:
        if remote:  # needs the network, so no empty namespace: connections are limited to the store instead
            restrict_connections(store_path)
            store, run = open_remote(store_path)
        else:
            store = open_store(Path(store_path))
        graphs = store_graphs(store)
    except Exception as exc:  # reported to the parent, which logs it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", {"pid": os.getpid(), "network_isolated": isolated}))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            outcome = run(store, graphs, job)
        except RecursionError:
            outcome = job_error(400, "query too complex", "the query is nested too deeply")
        except Exception as exc:
            log.exception("job failed")
            outcome = job_error(500, "internal error", f"the query could not be run ({type(exc).__name__})")
        try:
            conn.send(outcome)
        except (BrokenPipeError, OSError):
            return


# ============================================================================ pool (parent side)

#: What the forkserver imports once, so that every worker forked from it starts with them loaded.
_PRELOAD = ("kg.api.workers", "kg.api.jobs", "kg.rdf.store", "kg.api.guard", "kg.api.cost", "kg.api.conneg", "kg.query.registry",
            "rdflib.plugins.sparql.parser", "rdflib.plugins.sparql.algebra")


def start_forkserver() -> threading.Thread:
    """Start the workers' forkserver (and its imports, about a second of CPU) in the background now, so it
    runs beside the web process's own imports instead of after them; :class:`WorkerPool` uses it as it is.
    Returns the thread doing it (daemon; joining it is optional)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(_PRELOAD))

    def run() -> None:
        from multiprocessing import forkserver

        try:
            forkserver.ensure_running()
        except Exception as exc:  # noqa: BLE001 - the pool starts it again (and reports) when it needs it
            log.warning("could not start the forkserver early: %s", exc)

    t = threading.Thread(target=run, name="kg-forkserver-start", daemon=True)
    t.start()
    return t


@dataclass
class _Slot:
    process: Any
    conn: Any
    pid: int
    network_isolated: bool
    busy_since: Optional[float] = None
    generation: int = 0


class WorkerPool:
    """A fixed number of query worker processes with a deadline per job and a bounded queue."""

    def __init__(self, store_path: Path, size: int, queue_limit: int, *, isolate_network: bool = True,
                 start_timeout: float = 120.0):
        self.store_path = store_path if is_remote(store_path) else Path(store_path)
        self.size = size
        self.queue_limit = queue_limit
        self.isolate_network = isolate_network
        self.start_timeout = start_timeout
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(list(_PRELOAD))
        self._idle: Optional[asyncio.Queue[_Slot]] = None
        self._slots: dict[int, _Slot] = {}
        self._waiting = 0
        self._threads = ThreadPoolExecutor(max_workers=max(4, size * 2 + 2), thread_name_prefix="kg-pool")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._lock = threading.Lock()
        self.replaced = 0
        self.generation = 0
        self._closing = False

    # ---------------------------------------------------------------- lifecycle
    def _spawn(self, store_path: Optional[Path] = None) -> _Slot:
        parent, child = self._ctx.Pipe(duplex=True)
        path, generation = str(store_path or self.store_path), self.generation  # read together, at the start
        proc = self._ctx.Process(target=_worker_main, args=(child, path, self.isolate_network),
                                 daemon=True, name="kg-query-worker")
        proc.start()
        child.close()
        if not parent.poll(self.start_timeout):
            self._kill(proc)
            raise PoolUnavailable("a query worker did not start in time")
        try:
            kind, payload = parent.recv()
        except (EOFError, OSError):
            self._kill(proc)
            raise PoolUnavailable("a query worker exited while starting") from None
        if kind != "ready":
            self._kill(proc)
            raise PoolUnavailable(f"a query worker could not open the store: {payload}")
        return _Slot(proc, parent, payload["pid"], payload["network_isolated"], generation=generation)

    @staticmethod
    def _kill(proc: Any) -> None:
        if proc.is_alive():
            proc.terminate()
            proc.join(1.0)
        if proc.is_alive():
            proc.kill()
            proc.join(2.0)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._idle = asyncio.Queue()
        slots = await asyncio.gather(*(loop.run_in_executor(self._threads, self._spawn) for _ in range(self.size)))
        for s in slots:
            self._slots[s.pid] = s
            self._idle.put_nowait(s)

    async def switch(self, store_path: Path) -> None:
        """Serve ``store_path`` from now on, atomically: ``size`` new workers open it first (on failure
        :class:`PoolUnavailable` is raised and nothing changes); then, in one step of the event loop, they
        replace every idle worker. An old worker that is running a query finishes it and then retires, so
        each query sees the old store or the new one, never a mix."""
        if self._idle is None or self._closed:
            raise PoolUnavailable("the query workers are not running")
        loop = asyncio.get_running_loop()
        path = Path(store_path)
        started = await asyncio.gather(*(loop.run_in_executor(self._threads, self._spawn, path)
                                         for _ in range(self.size)), return_exceptions=True)
        fresh = [s for s in started if isinstance(s, _Slot)]
        failed = [e for e in started if not isinstance(e, _Slot)]
        if failed or self._closed:
            for s in fresh:
                self._kill(s.process)
            err = failed[0] if failed else PoolUnavailable("the pool is closing")
            raise err if isinstance(err, PoolUnavailable) else PoolUnavailable(str(err))
        # ---- from here to the end: no await, so no request can see a half-switched pool
        self.store_path = path
        self.generation += 1
        old_idle: list[_Slot] = []
        while not self._idle.empty():
            old_idle.append(self._idle.get_nowait())
        for s in fresh:
            s.generation = self.generation
            self._slots[s.pid] = s
            self._idle.put_nowait(s)
        for s in old_idle:
            self._slots.pop(s.pid, None)
        # ---- end of the atomic step
        for s in old_idle:
            loop.run_in_executor(self._threads, self._stop, s)

    def _stop(self, slot: _Slot) -> None:
        """Ask a worker to exit (it is idle), then make sure it has."""
        try:
            slot.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        slot.process.join(1.0)
        self._kill(slot.process)
        try:
            slot.conn.close()
        except OSError:
            pass

    def kill_all(self) -> None:
        """Shutdown: SIGKILL every worker at once (safe from any thread). Requests that were waiting on
        them get :class:`PoolUnavailable`; no replacement is started."""
        self._closing = True
        self._closed = True
        for slot in list(self._slots.values()):
            try:
                slot.process.kill()
            except (OSError, AttributeError, ValueError):
                pass

    async def close(self) -> None:
        self._closed = True
        for t in list(self._tasks):
            t.cancel()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._threads, self._stop, s) for s in list(self._slots.values())))
        self._slots.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        busy = sum(1 for s in self._slots.values() if s.busy_since is not None)
        return {"workers": len(self._slots), "busy": busy, "waiting": self._waiting, "replaced": self.replaced,
                "generation": self.generation, "store": str(self.store_path),
                "network_isolated": all(s.network_isolated for s in self._slots.values()) if self._slots else None}

    def pids(self) -> list[int]:
        return sorted(self._slots)

    def busy_pids(self) -> list[int]:
        return sorted(p for p, s in self._slots.items() if s.busy_since is not None)

    # ---------------------------------------------------------------- running
    async def run(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Run ``job`` on a worker within ``timeout`` seconds of evaluation."""
        if self._idle is None or self._closed:
            raise PoolUnavailable("the query workers are not running")
        if self._idle.empty() and self._waiting >= self.queue_limit:
            raise PoolBusy()
        self._waiting += 1
        try:
            slot = await asyncio.wait_for(self._idle.get(), timeout=max(timeout, 1.0) * 2)
        except asyncio.TimeoutError:
            raise PoolBusy() from None
        finally:
            self._waiting -= 1
        loop = asyncio.get_running_loop()
        slot.busy_since = time.monotonic()
        try:
            outcome = await self._exchange_async(slot, job, timeout)
        except (QueryTimeout, WorkerCrashed):
            await self._retire(slot)
            if self._closing:
                raise PoolUnavailable("the server is shutting down") from None
            raise
        except asyncio.CancelledError:  # the client went away: the worker's answer cannot be trusted to arrive
            self._slots.pop(slot.pid, None)
            self._kill(slot.process)
            if slot.generation == self.generation and not self._closed:
                self._start_replacement()
            raise
        slot.busy_since = None
        if slot.generation != self.generation or self._closed:  # a reload happened meanwhile: retire it
            self._slots.pop(slot.pid, None)
            loop.run_in_executor(self._threads, self._stop, slot)
        else:
            self._idle.put_nowait(slot)
        return outcome

    @staticmethod
    async def _exchange_async(slot: _Slot, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``job`` and wait (on the event loop, no thread) until the worker's answer is readable or
        ``timeout`` passes. The worker pickles its whole answer before writing it, so once it is readable
        the rest follows at once; a worker that dies (killed, crashed) makes the pipe readable with EOF."""
        loop = asyncio.get_running_loop()
        conn = slot.conn
        try:
            conn.send(job)  # the idle worker is blocked reading, so this does not wait on it
            fd = conn.fileno()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            raise WorkerCrashed() from None
        if not conn.poll(0):
            ready = loop.create_future()
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
            try:
                await asyncio.wait_for(ready, timeout)
            except asyncio.TimeoutError:
                raise QueryTimeout() from None
            finally:
                loop.remove_reader(fd)
                # uvloop's add_reader switches the pipe to non-blocking: a large answer arriving in parts
                # would then fail half-read (EAGAIN) and look like a crashed worker
                os.set_blocking(fd, True)
        try:
            return conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            raise WorkerCrashed() from None

    @staticmethod
    def _exchange(slot: _Slot, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """The same exchange, blocking (for callers outside an event loop)."""
        try:
            slot.conn.send(job)
            if not slot.conn.poll(timeout):
                raise QueryTimeout()
            return slot.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            raise WorkerCrashed() from None

    async def _retire(self, slot: _Slot) -> None:
        """Kill ``slot``'s process (terminate, then kill) and start a replacement in the background."""
        self._slots.pop(slot.pid, None)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, self._kill, slot.process)
        try:
            slot.conn.close()
        except OSError:
            pass
        if slot.generation == self.generation and not self._closed:  # an old generation's worker is not replaced
            self._start_replacement()

    def _start_replacement(self) -> None:
        self.replaced += 1
        loop = asyncio.get_running_loop()

        async def replace() -> None:
            for attempt in range(30):
                if self._closed:
                    return
                try:
                    new = await loop.run_in_executor(self._threads, self._spawn)
                except PoolUnavailable as exc:
                    log.error("cannot start a query worker (attempt %d): %s", attempt + 1, exc)
                    await asyncio.sleep(min(10.0, 0.5 * (attempt + 1)))
                    continue
                if self._closed or new.generation != self.generation:  # closed, or a reload replaced the pool
                    self._kill(new.process)
                    return
                self._slots[new.pid] = new
                assert self._idle is not None
                self._idle.put_nowait(new)
                return

        task = loop.create_task(replace())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
