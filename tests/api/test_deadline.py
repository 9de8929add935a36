"""Deadlines, worker replacement, crash survival, bounded queue and per-client budget on a real server."""

from __future__ import annotations

import threading
import time

import httpx
import psutil
import pytest

from support.probes import process_gone

from .conftest import DEADLINE, RUNAWAY, start_server, stop_server


def test_runaway_is_stopped_and_cpu_goes_idle(server):
    before = server.wait_workers(2)
    t0 = time.monotonic()
    r = httpx.get(server.sparql, params={"query": RUNAWAY}, headers={"Accept": "application/json"}, timeout=30)
    elapsed = time.monotonic() - t0
    assert r.status_code == 503
    assert r.headers["retry-after"].isdigit()
    assert r.json()["title"] == "query timed out"
    assert DEADLINE <= elapsed < DEADLINE + 5
    after = server.wait_workers(2)
    killed = set(before["pids"]) - set(after["pids"])
    assert len(killed) == 1
    pid = killed.pop()
    assert process_gone(pid)
    # nothing of ours keeps burning CPU
    procs = [psutil.Process(server.proc.pid), *psutil.Process(server.proc.pid).children(recursive=True)]
    for p in procs:
        p.cpu_percent(None)
    time.sleep(1.0)
    assert sum(p.cpu_percent(None) for p in procs if p.is_running()) < 50
    # and the next query is served
    ok = httpx.get(server.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
    assert ok.status_code == 200 and "true" in ok.text


def _wait_for(pred, timeout: float = 30.0, what: str = "state"):
    """Poll an observable state (the admin workers endpoint) instead of sleeping a fixed time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _runaways(server, n: int, results: list) -> list[threading.Thread]:
    threads = [threading.Thread(target=lambda: results.append(
        httpx.get(server.sparql, params={"query": RUNAWAY}, timeout=60))) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


ATTEMPTS = 5  # an attempt whose runaway ended before the probes did proves nothing: it is run again


def test_health_answers_fast_during_runaway(server):
    """While a runaway holds a worker, /health answers at once and another query runs on the other worker.
    Each attempt checks afterwards that the runaway was still running (it had not answered), so a slow
    machine can make an attempt inconclusive, never make it pass wrongly."""
    for attempt in range(ATTEMPTS):
        server.wait_workers(2)
        results: list = []
        threads = _runaways(server, 1, results)
        _wait_for(lambda: server.workers()["busy"] == 1 or results, what="the runaway to hold a worker")
        timings = []
        for _ in range(5):
            t0 = time.monotonic()
            h = httpx.get(server.url + "/health", timeout=10)
            timings.append(time.monotonic() - t0)
            assert h.status_code == 200 and h.json()["status"] == "ok"
        # another query runs on the other worker meanwhile
        other = httpx.get(server.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
        still_running = not results and server.workers()["busy"] >= 1
        for t in threads:
            t.join(60)
        assert results[0].status_code == 503
        if not still_running:
            continue
        assert other.status_code == 200
        # answered while the query ran, not after it: still_running says the runaway had not answered when the
        # probes had; a probe queued behind the runaway would have taken its whole deadline. (Not a speed target:
        # until 2026-12-06 this said < DEADLINE / 2, which a loaded machine missed, running four test processes
        # on two cores, with /health still answered before the runaway's end.)
        assert max(timings) < DEADLINE, timings
        return
    pytest.fail(f"in {ATTEMPTS} attempts the runaway never stayed busy while /health was asked")


def test_worker_crash_is_survived(server):
    """A worker that dies under a query: the query is run once more on another worker (a read is
    idempotent); when that one dies too, the answer is 500 and both are replaced."""
    server.wait_workers(2)
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(
        r=httpx.get(server.sparql, params={"query": RUNAWAY}, timeout=30)))
    t.start()
    killed: list[int] = []
    for _ in range(2):
        busy: list[int] = []
        for _ in range(100):
            busy = [p for p in server.workers()["busy_pids"] if p not in killed]
            if busy:
                break
            time.sleep(0.05)
        assert busy, f"the query was not run (again) after {killed} died"
        psutil.Process(busy[0]).kill()
        killed.append(busy[0])
    t.join(30)
    assert result["r"].status_code == 500
    assert "Traceback" not in result["r"].text
    server.wait_workers(2)
    ok = httpx.get(server.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
    assert ok.status_code == 200


def test_queue_full_is_503_with_retry_after(server):
    """Two workers busy and the one queue place taken: the next query is refused at once (503, Retry-After)
    instead of waiting. The state is observed (admin workers: busy 2, waiting 1) before the probe, and
    afterwards no runaway had answered yet, so the state held throughout the probe."""
    for attempt in range(ATTEMPTS):
        server.wait_workers(2)
        results: list = []
        threads = _runaways(server, 3, results)  # two run, one waits (queue limit 1)
        _wait_for(lambda: (lambda st: st["busy"] == 2 and st["waiting"] == 1)(server.workers()) or results,
                  what="two busy workers and one waiting query")
        t0 = time.monotonic()
        # a query no earlier test asked (a repeated one is answered from the response cache, without a worker)
        r = httpx.get(server.sparql, params={"query": f"ASK {{ ?s ?p ?o }} # queue-full {attempt}"}, timeout=30)
        elapsed = time.monotonic() - t0
        held = not results
        for t in threads:
            t.join(60)
        assert sorted(x.status_code for x in results) == [503, 503, 503]
        if not held:
            continue
        assert r.status_code == 503 and "busy" in r.text
        assert r.headers["retry-after"] == "5"
        assert elapsed < DEADLINE, elapsed  # refused at once, not queued behind a runaway
        server.wait_workers(2)
        return
    pytest.fail(f"in {ATTEMPTS} attempts the workers never stayed busy with a full queue during the probe")


@pytest.fixture(scope="module")
def budget_server(store_dir, tmp_path_factory):
    s = start_server(store_dir, tmp_path_factory.mktemp("log"), REMIT_CLIENT_BUDGET_SECONDS="1",
                     REMIT_WORKERS="1")
    yield s
    stop_server(s)


def test_client_budget_is_429(budget_server):
    r = httpx.get(budget_server.sparql, params={"query": RUNAWAY}, timeout=30)
    assert r.status_code == 503
    r2 = httpx.get(budget_server.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
    assert r2.status_code == 429
    assert 1 <= int(r2.headers["retry-after"]) <= 60
    assert httpx.get(budget_server.url + "/health", timeout=5).status_code == 200
