"""``/health`` says how many query workers are warm: their copy of the store in memory made (or none to
make), as each said with its last answer: what an operator waits for before a server answers at full speed."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import start_server, stop_server


def _health(s) -> dict:
    r = httpx.get(s.url + "/health", timeout=10)
    r.raise_for_status()
    return r.json()


def _ask_until_warm(s, n: int, timeout: float) -> dict:
    end, i = time.monotonic() + timeout, 0
    while time.monotonic() < end:
        i += 1  # a new text each time, so a worker answers (not the cache)
        assert httpx.get(s.sparql, params={"query": f"ASK {{ ?s ?p {i} }}"}, timeout=10).status_code == 200
        h = _health(s)
        if h["warm"] == n:
            return h
        time.sleep(0.05)
    raise AssertionError(f"workers not warm after {timeout} s: {_health(s)}")


@pytest.mark.parametrize("env", [
    {"REMIT_STORE_COPY_DELAY_SECONDS": "0.5"},  # a copy to make: warm once made
    {"REMIT_STORE_IN_MEMORY_MAX_QUADS": "0"},  # no copy: warm at once
], ids=["copy", "no-copy"])
def test_health_counts_warm_workers(store_dir, tmp_path, env):
    s = start_server(store_dir, tmp_path, REMIT_QUEUE_LIMIT="8", **env)
    try:
        assert _health(s)["warm"] == 0  # nothing said yet: no worker has answered
        h = _ask_until_warm(s, 2, 30)
        assert h["workers"] == 2 and h["warm"] == 2
    finally:
        stop_server(s)
