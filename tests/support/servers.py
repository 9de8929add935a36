"""Starting and stopping a real `kg serve` process for tests (shared by tests/api, tests/hardening,
tests/check): spawn it on a free loopback port, wait until /health says ok, stop it by SIGTERM and, if
it lingers, SIGKILL to its process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Mapping, Optional

import httpx

__all__ = ["free_port", "spawn_serve", "wait_healthy", "terminate", "OXIGRAPH", "oxigraph_server"]


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
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
