"""A real Remit server (``kg serve`` in a subprocess, uvicorn on 127.0.0.1 at a free port) on a fixture store."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from kg.rdf.store import write_store
from support.servers import free_port, spawn_serve, terminate, wait_healthy

FIXTURES = Path(__file__).parent / "fixtures"
QUERIES = FIXTURES / "queries"
ADMIN_TOKEN = "test-admin-token"
ROW_LIMIT = 20
DEADLINE = 2.0
#: Runs for hours on the fixture (ten patterns joined only on the predicate: ~12x more rows per pattern),
#: yet passes the cost guard (a plain cartesian product is refused before it runs): the deadline must stop it.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?a{i} ?p ?b{i}" for i in range(10)) + " }"


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path):
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.sparql = self.url + "/sparql"
        self.log = log

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 30), **kw)  # type: ignore[arg-type]

    def workers(self) -> dict:
        r = httpx.get(self.url + "/admin/workers", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
        r.raise_for_status()
        return r.json()

    def wait_workers(self, n: int, timeout: float = 30) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.workers()
            if st["workers"] == n and st["busy"] == 0:
                return st
            time.sleep(0.1)
        raise AssertionError(f"workers did not come back: {self.workers()}")


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("remit") / "store"
    write_store(FIXTURES / "dataset.trig", d)
    return d


def start_server(store: Path, tmp: Path, **env_overrides: str) -> Server:
    port = free_port()
    env = {**os.environ, "REMIT_QUERIES_DIR": str(QUERIES), "REMIT_QUERY_TIMEOUT": str(DEADLINE),
           "REMIT_ROW_LIMIT": str(ROW_LIMIT), "REMIT_WORKERS": "2", "REMIT_QUEUE_LIMIT": "1",
           "REMIT_ADMIN_TOKEN": ADMIN_TOKEN, "REMIT_CLIENT_BUDGET_SECONDS": "1000", **env_overrides}
    env.pop("REMIT_PUBLIC_BASE_URL", None)
    log = tmp / f"server-{port}.log"
    server = Server(spawn_serve(store, port, env, log), port, log)
    wait_healthy(server.proc, server.url, log)
    return server


def stop_server(server: Server) -> None:
    terminate(server.proc)


@pytest.fixture(scope="session")
def server(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(store_dir, tmp_path_factory.mktemp("log"))
    yield s
    stop_server(s)
