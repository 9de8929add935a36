"""Shared parts of the hardening tests: a real server subprocess (``kg serve``), the canary listener fixture
(:class:`support.probes.Canary`), and the checks every hostile response must pass.

Every test is bounded twice: pytest-timeout per test, and an httpx timeout on every request.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator, Optional

import httpx
import pytest

from kg.rdf.store import write_store
from support.probes import Canary
from support.servers import free_port, spawn_serve, terminate, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
API_FIXTURES = ROOT / "tests" / "api" / "fixtures"
QUERIES = API_FIXTURES / "queries"
TOKEN = "hardening-admin-token"
DEADLINE = 2.0
ROW_LIMIT = 20
HTTP_TIMEOUT = httpx.Timeout(20.0, connect=5.0)

#: What must never appear in an error body: a traceback, a source path, a version string.
LEAK = re.compile(
    r"Traceback|File \"|\.py\b|/work/|/home/|/usr/|site-packages|\bline \d+, in\b|"
    r"(?:python|uvicorn|starlette|fastapi|pyoxigraph|oxigraph|rdflib)[ /]?v?\d+\.\d+", re.IGNORECASE)


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path, store: Path):
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.sparql = self.url + "/sparql"
        self.log = log
        self.store = store

    def get(self, path: str, **kw: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=kw.pop("timeout", HTTP_TIMEOUT), **kw)  # type: ignore[arg-type]

    def post(self, path: str, **kw: object) -> httpx.Response:
        return httpx.post(self.url + path, timeout=kw.pop("timeout", HTTP_TIMEOUT), **kw)  # type: ignore[arg-type]

    def admin(self, method: str, path: str, timeout: float = 120) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=timeout)

    def workers(self) -> dict:
        r = self.admin("GET", "/admin/workers", timeout=10)
        r.raise_for_status()
        return r.json()

    def wait_idle(self, n: int, timeout: float = 30) -> dict:
        end = time.monotonic() + timeout
        st: dict = {}
        while time.monotonic() < end:
            st = self.workers()
            if st["workers"] == n and st["busy"] == 0:
                return st
            time.sleep(0.1)
        raise AssertionError(f"workers did not settle: {st}")


def start_server(store: Path, tmp: Path, cwd: Optional[Path] = None, **env_overrides: str) -> Server:
    port = free_port()
    env = {**os.environ, "REMIT_QUERIES_DIR": str(QUERIES), "REMIT_QUERY_TIMEOUT": str(DEADLINE),
           "REMIT_ROW_LIMIT": str(ROW_LIMIT), "REMIT_WORKERS": "2", "REMIT_QUEUE_LIMIT": "4",
           "REMIT_ADMIN_TOKEN": TOKEN, "REMIT_CLIENT_BUDGET_SECONDS": "1000",
           "REMIT_SHUTDOWN_GRACE": "1", **env_overrides}
    env = {k: v for k, v in env.items() if v != ""}  # an override of "" removes the variable
    env.pop("REMIT_PUBLIC_BASE_URL", None)
    log = tmp / f"server-{port}.log"
    server = Server(spawn_serve(store, port, env, log, cwd=cwd or ROOT), port, log, store)
    wait_healthy(server.proc, server.url, log)
    return server


def stop_server(server: Server) -> None:
    terminate(server.proc)


def assert_clean_error(r: httpx.Response) -> None:
    """A 4xx/5xx body says what went wrong and nothing about the machine it runs on."""
    assert r.status_code >= 400
    assert not LEAK.search(r.text), f"leak in {r.status_code} body: {r.text[:500]}"
    assert "server" not in {k.lower() for k in r.headers}


@pytest.fixture(scope="session")
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


@pytest.fixture(scope="session")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile") / "store"
    write_store(API_FIXTURES / "dataset.trig", d)
    return d


@pytest.fixture(scope="session")
def server(hostile_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(hostile_store, tmp_path_factory.mktemp("log"))
    yield s
    stop_server(s)


QC_TREE = ROOT / "tests" / "qc" / "tree"


def make_source_tree(tmp: Path) -> Path:
    """A small, complete source tree (ontology, shapes, QC queries, data) to build, break and fix."""
    root = tmp / "tree"
    shutil.copytree(QC_TREE, root)
    shutil.copytree(ROOT / "queries" / "qc", root / "queries" / "qc")
    return root
