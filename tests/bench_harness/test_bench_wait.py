"""``make bench`` times a server's named queries once every query worker has its copy of the store in memory.

Regression: the bench waited for the processes' memory to stop growing for 3 s; at 1M triples it stopped
waiting while the copies were still being made, and timed the first pages from disk (agreement-overlaps
8.9 s against 0.58 s once warm). It now waits until ``/health`` counts every worker warm."""

from __future__ import annotations

import httpx

from bench.run import _free_port, _serve_env, _start_from_memory, _stop
from support.realbuild import ensure_real_build


def test_the_bench_starts_timing_when_every_worker_is_warm(tmp_path):
    build = ensure_real_build()
    port = _free_port()
    probe = f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D"
    proc, started, waited = _start_from_memory(_serve_env(build, port), probe, 120, tmp_path / "serve.log")
    try:
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()
        assert health["workers"] >= 2 and health["warm"] == health["workers"], health
        assert started > 0 and waited >= 0
    finally:
        _stop(proc)
    assert proc.poll() is not None
