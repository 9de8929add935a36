"""A short bounded load run (4 clients, 5 s, a runaway query every 2 s) on a real server: zero unexpected
errors, only the expected 503/429 refusals, and the runaways are stopped at the deadline."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ lives beside kg/, not installed
from bench.load import run_load  # noqa: E402

pytestmark = pytest.mark.timeout(90)


def test_short_load_has_no_unexpected_errors(server):
    report = run_load(server.url, seconds=5, clients=4, runaway_every=2)
    assert report.unexpected == 0, report.phases
    steady, runaway = report.phases["steady"], report.phases["runaway"]
    assert steady["requests"] > 10 and runaway["requests"] > 5
    assert set(steady["statuses"]) <= {"200", "429", "503"}
    assert runaway["runaway_statuses"] and set(runaway["runaway_statuses"]) <= {"503", "429"}
    assert steady["p50_ms"] is not None and runaway["p99_ms"] is not None
    server.wait_idle(2)
