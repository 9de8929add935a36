"""A real Remit server (``kg serve`` in a subprocess: uvicorn on 127.0.0.1 at a free port) for the check tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from kg.store import write_store

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "tests" / "api" / "fixtures" / "dataset.trig"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path, store: Path):
        self.proc, self.port, self.log, self.store = proc, port, log, store
        self.url = f"http://127.0.0.1:{port}"


def start(store: Path, log_dir: Path, **env: str) -> Server:
    port = free_port()
    full = {**os.environ, "REMIT_WORKERS": "1", "REMIT_CLIENT_BUDGET_SECONDS": "1000", **env}
    full.pop("REMIT_PUBLIC_BASE_URL", None)
    log = log_dir / f"server-{port}.log"
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--store", str(store)], cwd=ROOT, env=full, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(proc, port, log, store)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(5)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("check-store") / "store"
    write_store(DATASET, d)
    return d


@pytest.fixture(scope="module")
def server(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start(store_dir, tmp_path_factory.mktemp("log"), REMIT_MAX_BODY_BYTES="262144")
    yield s
    stop(s)


@pytest.fixture(scope="module")
def slow_server(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose check deadline (0.5 s) is shorter than any real check."""
    s = start(store_dir, tmp_path_factory.mktemp("log"), REMIT_CHECK_TIMEOUT="0.5")
    yield s
    stop(s)
