"""Over HTTP (a real uvicorn server on a loopback port, in this process so the test can hold the dump job):
while the dump job runs, the dumps, their list and VoID answer 503 with Retry-After; a job that ends
without writing them gives 500 with what it said. Everything else is served meanwhile."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from support.servers import free_port
from fixture import ROOT, build_fixture

from kg.api.app import create_app
from kg.settings import Settings


def test_dumps_and_void_wait_for_the_dump_job(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = build_fixture(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"sourceHash": "pending-test"}), encoding="utf-8")
    port = free_port()
    settings = Settings(store_path=store, queries_dir=ROOT / "queries", host="127.0.0.1", port=port, workers=1)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    sleeper = None
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        pub = app.state.publication
        while pub._job is None:  # the warm-up thread starts the real job; let it finish, then undo its work
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pub._job.wait(timeout=60)
        with pub._lock:
            shutil.rmtree(pub.cache_dir())
            pub._dumps = None
            sleeper = subprocess.Popen(["sleep", "60"])
            pub._job = sleeper  # a job that is still running
        with httpx.Client(base_url=base, timeout=30) as c:
            for path in ("/dumps/", "/dumps/index.html", "/dumps/latest/remit.ttl", "/.well-known/void",
                         "/.well-known/void.jsonld"):
                r = c.get(path)
                assert r.status_code == 503, (path, r.status_code)
                assert r.headers["retry-after"] == "10" and "being built" in r.text, path
            assert c.get("/agreements.html").status_code == 200  # pages are served meanwhile
            sleeper.terminate()
            sleeper.wait(timeout=10)
            r = c.get("/dumps/index.html")
            # the public body says what happened, without internals; the details go to the server log
            assert r.status_code == 500 and "could not be built" in r.text and str(tmp_path) not in r.text
            logged = "\n".join(rec.getMessage() for rec in caplog.records)
            assert "did not finish" in logged and "exit code -15" in logged
    finally:
        if sleeper is not None and sleeper.poll() is None:
            sleeper.kill()
        server.should_exit = True
        thread.join(timeout=30)
