"""A real Remit server (``kg serve`` in a subprocess: uvicorn on 127.0.0.1 at a free port) for the check tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from kg.rdf.store import write_store
from support.browser import browser  # noqa: F401  (the shared Chromium fixture)
from support.servers import free_port, spawn_serve, terminate, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "tests" / "api" / "fixtures" / "dataset.trig"


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path, store: Path):
        self.proc, self.port, self.log, self.store = proc, port, log, store
        self.url = f"http://127.0.0.1:{port}"


def start(store: Path, log_dir: Path, **env: str) -> Server:
    port = free_port()
    full = {**os.environ, "REMIT_WORKERS": "1", "REMIT_CLIENT_BUDGET_SECONDS": "1000", **env}
    full.pop("REMIT_PUBLIC_BASE_URL", None)
    log = log_dir / f"server-{port}.log"
    server = Server(spawn_serve(store, port, full, log, cwd=ROOT), port, log, store)
    wait_healthy(server.proc, server.url, log)
    return server


def stop(server: Server) -> None:
    terminate(server.proc)


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
