"""The short version of ``make load`` (bench/load.py) on a real server: 2 normal clients and the health probe
for 5 s while the hostile client cycles through the cases of issue 16. Asserts outcomes, not timings: no
error for a normal client, the hostile cases were all tried and refused as they should be, the slow heads were
closed by the server, and the workers are back afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ lives beside kg/, not installed
from bench.load import HOSTILE_CASES, run_load  # noqa: E402

pytestmark = pytest.mark.timeout(150)


def test_short_hostile_load_gives_normal_clients_no_error(server):
    report = run_load(server.url, seconds=5, clients=2, pid=server.proc.pid, settle=0)
    assert report.errors == 0, (report.normal["error_samples"], report.health["error_samples"])
    assert report.normal["requests"] >= 10 and report.health["requests"] >= 10
    assert set(report.normal["statuses"]) <= {"200"}
    got = report.hostile
    assert list(got) == HOSTILE_CASES, got  # one whole cycle at least, in order
    assert set(got["long-404-path"]) == {"404"}
    assert set(got["multipart-many-parts"]) == {"400"}
    assert set(got["huge-accept"]) == {"4MiB:431 12KB:431"}  # the head size bound, then the Accept length
    assert set(got["javascript-param"]) <= {"200", "400", "404"}  # no gaps query among the fixtures: 404
    assert set(got["bad-id-path"]) == {"404"}
    assert set(got["runaway-socket-closed"]) == {"sent"}
    assert set(got["distinct-63kb-query"]) == {"200"}
    assert report.rss_mb["start"] and report.rss_mb["peak"] >= report.rss_mb["start"]
    assert "request line and headers not complete" in server.log.read_text(encoding="utf-8")  # slow heads closed
    server.wait_idle(2)
