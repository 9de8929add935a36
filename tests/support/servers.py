"""Starting and stopping a real `kg serve` process for tests (shared by tests/api, tests/hardening,
tests/revision): spawn it on a free loopback port, wait until /health says ok, stop it by SIGTERM and, if
it lingers, SIGKILL to its process group."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping, Optional

import httpx

__all__ = ["free_port", "spawn_serve", "wait_healthy", "terminate", "stop_by_pid", "OXIGRAPH", "oxigraph_server",
           "VIRTUOSO", "ISQL", "Virtuoso", "virtuoso_server", "virtuoso_ini", "REDIS", "redis_server"]


#: The Oxigraph server binary installed from PyPI (`oxigraph`, pinned in pyproject.toml).
OXIGRAPH = Path(sys.executable).parent / "oxigraph"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_serve(store: Path, port: int, env: Mapping[str, str], log: Path,
                cwd: Optional[Path] = None) -> subprocess.Popen:
    """`kg serve` on 127.0.0.1:port in its own session, output to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--store", str(store)],
        env=dict(env), cwd=str(cwd) if cwd else None, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    """Return when ``url``/health answers ``{"status": "ok"}``; stop the process and raise if it exits or
    does not come up in ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    terminate(proc)
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")


def stop_by_pid(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM to the process alone (it shares the test's process group), then SIGKILL after ``grace`` s."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def terminate(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL to the whole process group after 15 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@contextmanager
def oxigraph_server(location: Path, *options: str, timeout: float = 30) -> Iterator[str]:
    """A real Oxigraph server (`oxigraph serve`) on a free loopback port over the store folder
    ``location``, with extra command-line ``options``; yields its base URL once `ASK {}` answers, and
    stops it by PID (SIGTERM, then SIGKILL) afterwards. The log is written beside ``location``."""
    if not OXIGRAPH.exists():
        raise RuntimeError(f"the Oxigraph server binary is missing at {OXIGRAPH} (pip install oxigraph, see pyproject.toml)")
    port = free_port()
    log_path = location.parent / f"oxigraph-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(OXIGRAPH), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                                 *options], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(base + "/query", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"Oxigraph did not start on port {port}: {log_path.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        stop_by_pid(proc)


#: OpenLink Virtuoso 7 open source, from Debian's ``virtuoso-opensource-7-bin`` (``make virtuoso``).
VIRTUOSO = Path(shutil.which("virtuoso-t") or "/usr/bin/virtuoso-t")
ISQL = Path(shutil.which("isql-vt") or "/usr/bin/isql-vt")

#: The account ``kg push`` writes with: a plain SQL user with the SPARQL_UPDATE role, never dba.
VIRTUOSO_PUSH_USER = "remit_push"


@dataclass(frozen=True)
class Virtuoso:
    base: str  # http://127.0.0.1:PORT
    user: str  # the push account (SPARQL_UPDATE role only), for /sparql-graph-crud-auth (HTTP digest)
    password: str

    @property
    def sparql(self) -> str:
        return self.base + "/sparql"

    @property
    def graph_store(self) -> str:
        return self.base + "/sparql-graph-crud-auth"


def virtuoso_ini(folder: Path, http_port: int, sql_port: int) -> str:
    """A virtuoso.ini for a throw-away database in ``folder``: Debian's default (/usr/share/virtuoso-opensource-7/
    virtuoso.ini in virtuoso-opensource-7) cut to what a test needs, both ports on loopback only, no plug-ins,
    no VAD directory, and the SPARQL result cap and query-time limits lifted so no answer is silently cut. The
    query memory pool is 1 GB (``MaxMemPoolSize``; Virtuoso's default, 400 MB, refused ``establishment`` now and
    then with "SQ200: The memory pool size … reached the limit", by the plan it chose: docs/deploy.md)."""
    d = folder.resolve()
    return f"""[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 0
CaseMode = 2
DirsAllowed = {d}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 4
MaxMemPoolSize = 1000000000

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 0
MaxQueryCostEstimationTime = 0
"""


def _isql(sql_port: int, password: str, sql: str) -> None:
    r = subprocess.run([str(ISQL), f"127.0.0.1:{sql_port}", "dba", password, "VERBOSE=OFF", "BANNER=OFF",
                        "PROMPT=OFF", "ERRORS=STDOUT", f"exec={sql}"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or "*** Error" in r.stdout:
        raise RuntimeError(f"isql-vt on port {sql_port} failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")


@contextmanager
def virtuoso_server(folder: Path, timeout: float = 60) -> Iterator[Virtuoso]:
    """A real Virtuoso (``virtuoso-t +foreground``) over a new database in ``folder``, its HTTP and ISQL ports
    free loopback ports; yields it once ``ASK {}`` answers at /sparql and the push account exists, and stops
    it by PID (SIGTERM, then SIGKILL) afterwards. The dba password is replaced by a random one, and the push
    account (a SQL user with only the SPARQL_UPDATE role, random password) is what writes through the Graph
    Store Protocol; anonymous /sparql stays read-only. The log is ``folder``/virtuoso.log."""
    if not VIRTUOSO.exists() or not ISQL.exists():
        raise RuntimeError(f"Virtuoso is missing ({VIRTUOSO}, {ISQL}): run `make virtuoso` "
                           "(Debian package virtuoso-opensource-7-bin)")
    folder.mkdir(parents=True, exist_ok=True)
    http_port, sql_port = free_port(), free_port()
    while sql_port == http_port:
        sql_port = free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(virtuoso_ini(folder, http_port, sql_port), encoding="utf-8")
    with open(folder / "virtuoso.out", "wb") as out:
        proc = subprocess.Popen([str(VIRTUOSO), "+foreground", "+configfile", str(ini)], cwd=str(folder),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{http_port}"
    try:
        end = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(base + "/sparql", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                log = folder / "virtuoso.log"
                raise RuntimeError(f"Virtuoso did not start on ports {http_port}/{sql_port}: "
                                   f"{(log.read_text() if log.exists() else '')[-3000:]}"
                                   f"{(folder / 'virtuoso.out').read_text()[-2000:]}")
            time.sleep(0.1)
        dba, push_pw = secrets.token_hex(12), secrets.token_hex(12)
        _isql(sql_port, "dba", f"DB.DBA.USER_CREATE('{VIRTUOSO_PUSH_USER}', '{push_pw}'); "
                                f"GRANT SPARQL_UPDATE TO \"{VIRTUOSO_PUSH_USER}\"; "
                                f"DB.DBA.USER_CHANGE_PASSWORD('dba', 'dba', '{dba}');")
        yield Virtuoso(base=base, user=VIRTUOSO_PUSH_USER, password=push_pw)
    finally:
        stop_by_pid(proc, grace=15)


#: Debian's Redis server (``redis-server``, ``make redis``): the shared counter of the per-client budget.
REDIS = Path(shutil.which("redis-server") or "/usr/bin/redis-server")


@contextmanager
def redis_server(folder: Path, timeout: float = 30) -> Iterator[str]:
    """A real Redis server on a free loopback port, nothing saved to disk; yields its ``redis://`` URL once
    it answers PING, and stops it by PID (SIGTERM, then SIGKILL) afterwards. The log is written in ``folder``."""
    if not REDIS.exists():
        raise RuntimeError(f"the Redis server binary is missing at {REDIS} (make redis installs Debian's redis-server)")
    port = free_port()
    log_path = folder / f"redis-{port}.log"
    proc = subprocess.Popen([str(REDIS), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder), "--logfile", str(log_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"Redis did not start on port {port}: "
                                   f"{log_path.read_text() if log_path.exists() else ''}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_by_pid(proc)
