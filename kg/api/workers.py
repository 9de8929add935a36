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
import pickle
import select
import signal
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from kg.api.jobs import job_error, run_job, store_graphs
from kg.api.remote_backend import open_remote, restrict_connections
from kg.rdf.store import MemoryCopy, open_store, release_memory
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


def _rss() -> int:
    """This process's resident set size in bytes (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


#: Answers up to this many pickled bytes travel in one message with their head and are read on the event
#: loop; larger ones follow their head as a second message, read in a thread.
_INLINE_ANSWER_BYTES = 256 << 10
#: An answer's head: the worker's retire flag (see :func:`_retire_now`), whether it is warm (its copy of the
#: store in memory made, or none to make: :class:`kg.rdf.store.MemoryCopy`) and the answer's pickled size.
_HEAD = struct.Struct("<??Q")


def _send_answer(conn: Any, data: bytes, retire: bool, warm: bool) -> None:
    """Send one answer: its head, with the pickled bytes in the same message when they are few (one write,
    so one wake-up of the web process), else as a second message."""
    head = _HEAD.pack(retire, warm, len(data))
    if len(data) <= _INLINE_ANSWER_BYTES:
        conn.send_bytes(head + data)
    else:
        conn.send_bytes(head)
        conn.send_bytes(data)


def _trim_above(max_growth: int) -> int:
    """Bytes past its base memory above which a worker gives freed memory back after sending a large answer: half
    the growth it may have, at most 32 MiB. Giving it back (a garbage collection and ``malloc_trim``) took 20-40 ms
    with the store in memory, after every 1,000-row page of the named queries, while the pool could hand the
    worker its next job (py-spy: a third of a worker's samples)."""
    return min(max_growth // 2, 32 << 20) if max_growth else 32 << 20


def _retire_now(size: int, base_rss: int, max_growth: int) -> bool:
    """Before an answer of ``size`` pickled bytes is sent (the answer itself freed, its bytes not yet): True
    when this worker should exit after sending it, because its memory, less those bytes, grew more than
    ``max_growth`` bytes past ``base_rss`` (what it held when it started). The memory is read as it is first;
    only when that is over the limit, and the answer was large, is freed memory given back and the memory read
    again: giving it back (a garbage collection and ``malloc_trim``) took 25-40 ms of each 1,000-row answer of
    the named queries at 100k when done before every large answer was sent (it is done after sending)."""
    if not (max_growth and base_rss):
        return False
    if _rss() - size - base_rss <= max_growth:  # freeing memory can only lower it
        return False
    if size > _INLINE_ANSWER_BYTES:
        release_memory()
    return _rss() - size - base_rss > max_growth


def _worker_main(conn: Any, store_path: str, isolate: bool, max_growth: int = 0, in_memory_max_quads: int = 0,
                 copy_delay: float = 0.0) -> None:
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
    # ready at once, answering from disk; from memory once the copy is made (kg.rdf.store.MemoryCopy)
    held = MemoryCopy(store, 0 if remote else in_memory_max_quads, copy_delay, merge=True)
    del store
    conn.send(("ready", {"pid": os.getpid(), "network_isolated": isolated}))
    base_rss, rebased = _rss(), held.copied.is_set()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        if not rebased and held.copied.is_set():  # the copy is the worker's memory now, not a job's growth
            base_rss, rebased = _rss(), True
        try:
            outcome = run(held.store, graphs, job)
        except RecursionError:
            outcome = job_error(400, "query too complex", "the query is nested too deeply")
        except Exception as exc:
            log.exception("job failed")
            outcome = job_error(500, "internal error", f"the query could not be run ({type(exc).__name__})")
        del job
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        del outcome
        size = len(data)
        # not while the store is being copied into memory: that growth is the copy, not the job's (a worker
        # retired for it would start a copy again)
        retire = rebased and _retire_now(size, base_rss, max_growth)
        try:
            _send_answer(conn, data, retire, held.copied.is_set())
        except (BrokenPipeError, OSError):
            return
        del data
        if retire:  # the parent read the flag with the answer and replaces this worker
            return
        if size > _INLINE_ANSWER_BYTES and _rss() - base_rss > _trim_above(max_growth):
            release_memory()


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
    warm: bool = False  # as the worker said with its last answer (see _HEAD)


class WorkerPool:
    """A fixed number of query worker processes with a deadline per job and a bounded queue."""

    def __init__(self, store_path: Path, size: int, queue_limit: int, *, isolate_network: bool = True,
                 start_timeout: float = 120.0, max_rss_growth: int = 0, monitor_interval: float = 0.5,
                 in_memory_max_quads: int = 0, copy_delay: float = 0.0):
        self.store_path = store_path if is_remote(store_path) else Path(store_path)
        self.size = size
        self.queue_limit = queue_limit
        self.isolate_network = isolate_network
        self.start_timeout = start_timeout
        #: bytes a worker's memory may grow past its start before it exits after a job (0: never)
        self.max_rss_growth = max_rss_growth
        #: a store of at most this many quads: each worker answers from its own copy in memory (0: from disk)
        self.in_memory_max_quads = in_memory_max_quads
        #: seconds a new worker answers from disk before it begins its copy (kg.rdf.store.MemoryCopy)
        self.copy_delay = copy_delay
        self.monitor_interval = monitor_interval
        self.recycled = 0  # workers replaced because their memory grew past the limit
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
        proc = self._ctx.Process(target=_worker_main, args=(child, path, self.isolate_network, self.max_rss_growth,
                                                            self.in_memory_max_quads, self.copy_delay),
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
        if self.monitor_interval > 0:
            task = loop.create_task(self._monitor())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _monitor(self) -> None:
        """Every ``monitor_interval`` seconds: an idle worker that has died (killed, crashed) leaves the pool
        and a replacement is started, so /health never lists a dead worker and no query is sent to one."""
        while not self._closed:
            await asyncio.sleep(self.monitor_interval)
            self._drop_dead_idle()

    def _drop_dead_idle(self) -> None:
        if self._idle is None or self._closed:
            return
        idle: list[_Slot] = []
        while not self._idle.empty():
            idle.append(self._idle.get_nowait())
        for slot in idle:
            if self._alive(slot):
                self._idle.put_nowait(slot)
            else:
                log.warning("query worker %d died while idle; starting a replacement", slot.pid)
                self._slots.pop(slot.pid, None)
                self._close_conn(slot)
                if slot.generation == self.generation:
                    self._start_replacement()

    @staticmethod
    def _alive(slot: _Slot) -> bool:
        """The worker process runs and its pipe is quiet: neither its sentinel (readable once the process has
        ended) nor its idle pipe (readable only at its EOF) is readable. One system call."""
        try:
            poller = select.poll()
            poller.register(slot.process.sentinel, select.POLLIN)
            poller.register(slot.conn.fileno(), select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    @staticmethod
    def _close_conn(slot: _Slot) -> None:
        try:
            slot.conn.close()
        except OSError:
            pass

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
    def _live(self) -> list[_Slot]:
        """The workers whose process is running (a dead one is dropped by the monitor or when next taken)."""
        out = []
        for s in list(self._slots.values()):
            try:
                if s.process.is_alive():
                    out.append(s)
            except (OSError, ValueError):
                pass
        return out

    def status(self) -> dict[str, Any]:
        live = self._live()
        busy = sum(1 for s in live if s.busy_since is not None)
        return {"workers": len(live), "busy": busy, "waiting": self._waiting, "warm": sum(s.warm for s in live),
                "replaced": self.replaced,
                "recycled": self.recycled, "generation": self.generation, "store": str(self.store_path),
                "network_isolated": all(s.network_isolated for s in live) if live else None}

    def pids(self) -> list[int]:
        return sorted(s.pid for s in self._live())

    def busy_pids(self) -> list[int]:
        return sorted(s.pid for s in self._live() if s.busy_since is not None)

    # ---------------------------------------------------------------- running
    async def _acquire(self, timeout: float) -> _Slot:
        """An idle, live worker (a dead one found here is dropped and replaced), marked busy."""
        assert self._idle is not None
        while True:
            if not self._waiting and not self._idle.empty():  # free and nobody before us: no task, no timer
                slot = self._idle.get_nowait()
            else:
                self._waiting += 1
                try:
                    slot = await asyncio.wait_for(self._idle.get(), timeout=max(timeout, 1.0) * 2)
                except asyncio.TimeoutError:
                    raise PoolBusy() from None
                finally:
                    self._waiting -= 1
            if self._alive(slot):
                slot.busy_since = time.monotonic()
                return slot
            log.warning("query worker %d was found dead; starting a replacement", slot.pid)
            await self._retire(slot)
            if self._closed:
                raise PoolUnavailable("the query workers are not running")

    async def run(self, job: dict[str, Any], timeout: float,
                  charge: Optional[Callable[[float], None]] = None) -> dict[str, Any]:
        """Run ``job`` on a worker within ``timeout`` seconds of evaluation. ``charge`` is told the seconds
        each worker spent on the job (time waiting for a free worker is not counted). Every job is a read
        (idempotent), so a worker that dies under it is replaced and the job is run once more on another."""
        if self._idle is None or self._closed:
            raise PoolUnavailable("the query workers are not running")
        if self._idle.empty() and self._waiting >= self.queue_limit:
            raise PoolBusy()
        for attempt in (1, 2):
            slot = await self._acquire(timeout)
            started = time.monotonic()
            try:
                outcome, retire, slot.warm = await self._exchange_async(slot, job, timeout, self._threads)
            except (QueryTimeout, WorkerCrashed) as exc:
                if charge is not None:
                    charge(time.monotonic() - started)
                await self._retire(slot)
                if self._closing:
                    raise PoolUnavailable("the server is shutting down") from None
                if isinstance(exc, WorkerCrashed) and attempt == 1:
                    log.warning("query worker %d died during a job; running it once more on another", slot.pid)
                    continue
                raise
            except asyncio.CancelledError:  # the client went away: the worker's answer cannot be trusted to arrive
                if charge is not None:
                    charge(time.monotonic() - started)
                self._slots.pop(slot.pid, None)
                self._kill(slot.process)
                if slot.generation == self.generation and not self._closed:
                    self._start_replacement()
                raise
            if charge is not None:
                charge(time.monotonic() - started)
            slot.busy_since = None
            if retire:  # its memory grew past the limit: it has exited; a fresh one takes its place
                self.recycled += 1
                await self._retire(slot, failed=False)
            elif slot.generation != self.generation or self._closed:  # a reload happened meanwhile: retire it
                self._slots.pop(slot.pid, None)
                asyncio.get_running_loop().run_in_executor(self._threads, self._stop, slot)
            else:
                self._idle.put_nowait(slot)
            return outcome
        raise WorkerCrashed()  # not reached: the second attempt returns or raises

    @staticmethod
    def _read_pickled(conn: Any) -> dict[str, Any]:
        """A large answer's pickled bytes, the message after its head."""
        return pickle.loads(conn.recv_bytes())

    @classmethod
    async def _exchange_async(cls, slot: _Slot, job: dict[str, Any], timeout: float,
                              threads: ThreadPoolExecutor) -> tuple[dict[str, Any], bool, bool]:
        """Send ``job`` and wait (on the event loop, no thread) until the worker's answer is readable or
        ``timeout`` passes. The worker pickles its whole answer first: a small answer arrives with its head
        in one message and is read here at once, a large one is read in a thread (``threads``), so the event
        loop never waits on a long read. A worker that dies (killed, crashed) makes the pipe readable with EOF.
        Returns the answer, the worker's retire flag and whether it is warm."""
        loop = asyncio.get_running_loop()
        conn = slot.conn
        try:  # the idle worker is blocked reading, so this does not wait on it
            conn.send_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            fd = conn.fileno()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            raise WorkerCrashed() from None
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
            raw = conn.recv_bytes()
            retire, warm, size = _HEAD.unpack_from(raw)
            if size <= _INLINE_ANSWER_BYTES:
                return pickle.loads(memoryview(raw)[_HEAD.size:]), retire, warm
            return await loop.run_in_executor(threads, cls._read_pickled, conn), retire, warm
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError, pickle.UnpicklingError, struct.error):
            raise WorkerCrashed() from None

    async def _retire(self, slot: _Slot, failed: bool = True) -> None:
        """Kill ``slot``'s process (terminate, then kill) and start a replacement in the background
        (counted in ``replaced`` when the worker ``failed``)."""
        self._slots.pop(slot.pid, None)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, self._kill, slot.process)
        try:
            slot.conn.close()
        except OSError:
            pass
        if slot.generation == self.generation and not self._closed:  # an old generation's worker is not replaced
            self._start_replacement(failed)

    def _start_replacement(self, failed: bool = True) -> None:
        self.replaced += int(failed)
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
