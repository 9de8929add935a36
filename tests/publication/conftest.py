"""Real uvicorn servers (``kg.api.app:create_app``) on free loopback ports: ``server`` over the fixture store, and
``real_server`` over the real build, each started once per session and shared by every test that reads it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture import ROOT, build_fixture  # noqa: E402
from support.browser import browser  # noqa: E402,F401  (the shared Chromium fixture)
from support.realbuild import ensure_real_build  # noqa: E402
from support.servers import free_port  # noqa: E402


@pytest.fixture(scope="session")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pages")
    build_fixture(d)
    return d


@pytest.fixture(scope="session")
def store_path(fixture_dir: Path) -> Path:
    return fixture_dir / "store"


@contextlib.contextmanager
def run_server(store: Path, logdir: Path) -> Iterator[str]:
    """``uvicorn kg.api.app:create_app --factory`` on a free loopback port; yields the base URL."""
    port = free_port()
    env = dict(os.environ, REMIT_STORE_PATH=str(store), REMIT_QUERIES_DIR=str(ROOT / "queries"),
               REMIT_HOST="127.0.0.1", REMIT_PORT=str(port), REMIT_WORKERS="1")
    env.pop("REMIT_PUBLIC_BASE_URL", None)
    logfile = logdir / f"server-{port}.log"
    log = open(logfile, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "kg.api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("server exited: " + logfile.read_text()[-3000:])
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + logfile.read_text()[-3000:])
            time.sleep(0.2)
        # the dumps and VoID are built by a child process after start: wait for them (503 until then); over the
        # real build with no finished publication cache that takes about a minute on a loaded 2-core machine
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(base + "/.well-known/void", timeout=5).status_code != 503:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dumps not ready: " + logfile.read_text()[-3000:])
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def server(fixture_dir: Path) -> Iterator[str]:
    with run_server(fixture_dir / "store", fixture_dir) as base:
        yield base


@pytest.fixture(scope="session")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60, follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real build's store: ``REMIT_REAL_STORE`` when set, else a copy of the real build (store and search index)
    that a rebuild elsewhere cannot change mid-session. Its publication cache is not copied: the cache is keyed by
    the store's path, so the copy's server builds the dumps afresh, once a session."""
    if os.environ.get("REMIT_REAL_STORE"):
        return Path(os.environ["REMIT_REAL_STORE"])
    tmp = tmp_path_factory.mktemp("real-build")
    shutil.copytree(ensure_real_build(), tmp / "build", ignore=shutil.ignore_patterns("publication-cache"))
    return tmp / "build" / "store"


@pytest.fixture(scope="session")
def real_server(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server on the real build for the session (its pages, documents, dumps, search and forms are only
    read by the tests): started once, not once per module."""
    with run_server(real_store, tmp_path_factory.mktemp("real-server")) as base:
        yield base
