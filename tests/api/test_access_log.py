"""The access log (kg.api.access_log): uvicorn's line for every request, written in batches, none lost."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import httpx

from kg.api.access_log import FLUSH_SECONDS, AccessLog

from .conftest import start_server, stop_server

LINE = re.compile(r'^INFO:     127\.0\.0\.1:\d+ - "(GET|POST) (\S+) HTTP/1\.1" (\d{3}) ?(.*)$')


def _access_lines(log: Path) -> list[tuple[str, str, str, str]]:
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        m = LINE.match(line)
        if m:
            out.append(m.groups())
    return out


def test_every_request_has_its_line_in_order_and_none_is_lost_at_shutdown(store_dir: Path, tmp_path: Path) -> None:
    server = start_server(store_dir, tmp_path)
    try:
        paths = [f"/health?n={i}" for i in range(300)]
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get("/no/such/page").status_code == 404
            r = client.get("/sparql", params={"query": "ASK {}"})
            assert r.status_code == 200
            deadline = time.monotonic() + 10 * FLUSH_SECONDS + 5
            while ("GET", "/sparql?query=ASK+%7B%7D", "200", "OK") not in _access_lines(server.log):
                assert time.monotonic() < deadline, server.log.read_text()[-2000:]
                time.sleep(0.05)  # written within a flush interval or so, while the server runs
            for path in paths:
                assert client.get(path).status_code == 200
    finally:
        stop_server(server)
    lines = _access_lines(server.log)
    assert ("GET", "/no/such/page", "404", "Not Found") in lines
    health = [path for method, path, status, phrase in lines if path.startswith("/health?n=")]
    assert health == paths  # every one, in the order made, the last ones written at exit


def test_access_log_off_writes_no_line(store_dir: Path, tmp_path: Path) -> None:
    server = start_server(store_dir, tmp_path, REMIT_ACCESS_LOG="false")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i in range(20):
                assert client.get(f"/health?off={i}").status_code == 200
    finally:
        stop_server(server)
    assert not [line for line in _access_lines(server.log) if "off=" in line[1]]


def test_lines_are_uvicorns_text() -> None:
    """The same words as uvicorn's AccessFormatter without colours, an unknown status with no phrase."""
    out = io.StringIO()
    log = AccessLog(out, interval=3600)
    log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5555", "GET", "/sparql?query=ASK%7B%7D", "1.1", 200)
    log.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:1", "POST", "/check", "1.1", 422)
    log.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:1", "GET", "/x", "1.1", 599)
    assert out.getvalue() == ""
    log.close()
    assert out.getvalue() == (
        'INFO:     127.0.0.1:5555 - "GET /sparql?query=ASK%7B%7D HTTP/1.1" 200 OK\n'
        'INFO:     10.0.0.1:1 - "POST /check HTTP/1.1" 422 Unprocessable Entity\n'
        'INFO:     10.0.0.1:1 - "GET /x HTTP/1.1" 599 \n')
