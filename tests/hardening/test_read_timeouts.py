"""Read deadlines and the header-count limit of `kg serve` (issue 16, class 1; kg/api/protocol.py).

Before: uvicorn timed out only idle keep-alive connections, so 50 connections that sent a request head one
byte at a time stayed open for as long as they liked (60 s in the attack). Now the head must be complete
within ``REMIT_HEADER_READ_TIMEOUT`` seconds and a body within ``REMIT_BODY_READ_TIMEOUT``; a real server
with short deadlines closes every such connection on time (with a 408) while /health stays fast.
"""

from __future__ import annotations

import re
import select
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import Server, start_server, stop_server

pytestmark = pytest.mark.timeout(120)

HEAD_TIMEOUT = 2.0
BODY_TIMEOUT = 3.0
MARGIN = 2.5  # scheduling on a shared 2-CPU machine
MAX_HEADERS = 40


@pytest.fixture(scope="module")
def strict(hostile_store: Path, tmp_path_factory: pytest.TempPathFactory):
    s = start_server(hostile_store, tmp_path_factory.mktemp("log"),
                     REMIT_HEADER_READ_TIMEOUT=str(HEAD_TIMEOUT), REMIT_BODY_READ_TIMEOUT=str(BODY_TIMEOUT),
                     REMIT_MAX_HEADER_COUNT=str(MAX_HEADERS))
    yield s
    stop_server(s)


def _connect(server: Server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.setblocking(False)
    return s


def _trickle(socks: list[socket.socket], limit: float, every: float = 0.25,
             byte: bytes = b"a") -> tuple[list[float], list[bytes]]:
    """Send one byte to every open socket each ``every`` seconds until each is closed by the server (or
    ``limit`` passes): how long each stayed open, and what it was sent."""
    t0 = time.monotonic()
    closed_at: list[float] = [float("inf")] * len(socks)
    got: list[bytes] = [b""] * len(socks)
    open_ = set(range(len(socks)))
    next_send = t0
    while open_ and time.monotonic() - t0 < limit:
        now = time.monotonic()
        if now >= next_send:
            for i in list(open_):
                try:
                    socks[i].send(byte)
                except OSError:
                    pass  # reset: the read below sees the close
            next_send = now + every
        readable, _, _ = select.select([socks[i] for i in open_], [], [], 0.05)
        for s in readable:
            i = socks.index(s)
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            got[i] += data
            if not data:
                closed_at[i] = time.monotonic() - t0
                open_.discard(i)
    for s in socks:
        s.close()
    return closed_at, got


def _health_probe(server: Server, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(timeout=10) as c:
        while not stop.is_set():
            t = time.monotonic()
            r = c.get(server.url + "/health")
            assert r.status_code == 200
            out.append(time.monotonic() - t)
            stop.wait(0.05)


def test_fifty_slow_heads_are_closed_on_time_and_health_stays_fast(strict: Server):
    socks = [_connect(strict) for _ in range(50)]
    for s in socks:
        s.send(b"GET /health HTTP/1.1\r\nHost: remit\r\nX-Slow: ")  # then one byte at a time, never the end
    stop, lat = threading.Event(), []
    probe = threading.Thread(target=_health_probe, args=(strict, stop, lat))
    probe.start()
    try:
        closed_at, got = _trickle(socks, limit=HEAD_TIMEOUT + 20)
    finally:
        stop.set()
        probe.join(15)
    assert max(closed_at) <= HEAD_TIMEOUT + MARGIN, sorted(closed_at)
    assert min(closed_at) >= HEAD_TIMEOUT - 0.3, sorted(closed_at)  # the trickle did not close them early either
    assert all(g.startswith(b"HTTP/1.1 408 ") for g in got), {g[:40] for g in got}
    assert len(lat) >= 10 and max(lat) < 1.0 and statistics.median(lat) < 0.2, (len(lat), max(lat))
    assert "request line and headers not complete within 2 s" in strict.log.read_text(encoding="utf-8")
    assert httpx.get(strict.url + "/health", timeout=5).status_code == 200


def test_slow_bodies_are_closed_on_time_with_no_traceback(strict: Server):
    socks = [_connect(strict) for _ in range(10)]
    for s in socks:
        s.send(b"POST /sparql HTTP/1.1\r\nHost: remit\r\nContent-Type: application/sparql-query\r\n"
               b"Content-Length: 5000\r\n\r\nASK")
    closed_at, got = _trickle(socks, limit=BODY_TIMEOUT + 20, every=0.5)
    assert max(closed_at) <= BODY_TIMEOUT + MARGIN and min(closed_at) >= BODY_TIMEOUT - 0.3, sorted(closed_at)
    assert all(g.startswith(b"HTTP/1.1 408 ") and g.endswith(b"request body not complete within 3 s")
               for g in got), {g[:60] for g in got}
    log = strict.log.read_text(encoding="utf-8")
    assert "request body not complete within 3 s" in log and "Traceback" not in log
    assert httpx.post(strict.sparql, content="ASK {}", headers={"Content-Type": "application/sparql-query"},
                      timeout=10).status_code == 200


def test_a_silent_connection_is_closed_without_an_answer_and_one_byte_gets_408(strict: Server):
    one_byte = _connect(strict)
    # one byte that can begin a request line, then nothing
    closed_at, got = _trickle([one_byte], limit=HEAD_TIMEOUT + 20, every=3600, byte=b"G")
    assert HEAD_TIMEOUT - 0.3 <= closed_at[0] <= HEAD_TIMEOUT + MARGIN and got[0].startswith(b"HTTP/1.1 408 ")
    # one byte that cannot (a method is upper case): refused at once, not held until the deadline
    closed_at, got = _trickle([_connect(strict)], limit=HEAD_TIMEOUT + 20, every=3600, byte=b"a")
    assert closed_at[0] < HEAD_TIMEOUT - 0.3 and got[0].startswith(b"HTTP/1.1 400 "), (closed_at, got)
    quiet = socket.create_connection(("127.0.0.1", strict.port), timeout=HEAD_TIMEOUT + 10)
    t0 = time.monotonic()
    assert quiet.recv(100) == b""  # never sent a byte: closed, nothing written
    assert HEAD_TIMEOUT - 0.3 <= time.monotonic() - t0 <= HEAD_TIMEOUT + MARGIN
    quiet.close()


def test_a_slow_request_within_the_deadline_and_keep_alive_still_work(strict: Server):
    s = socket.create_connection(("127.0.0.1", strict.port), timeout=10)
    for part in (b"GET /health HT", b"TP/1.1\r\nHost: re", b"mit\r\n\r\n"):
        s.sendall(part)
        time.sleep(0.4)  # 1.2 s in all, under the 2 s deadline
    first = s.recv(4096)
    assert first.startswith(b"HTTP/1.1 200 "), first[:80]
    time.sleep(HEAD_TIMEOUT + 0.5)  # idle between requests is the keep-alive timeout's (5 s), not the head's
    s.sendall(b"GET /health HTTP/1.1\r\nHost: remit\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
    s.close()


@pytest.mark.parametrize("count,status", [(MAX_HEADERS, 200), (MAX_HEADERS + 1, 431), (1000, 431)])
def test_header_count_is_limited(strict: Server, count: int, status: int):
    # 1000 short fields (about 10 KB) fit in the 16 KiB head limit: the count, not the size, refuses them
    head = b"GET /health HTTP/1.1\r\nHost: remit\r\n" + b"".join(
        b"x-%d: 1\r\n" % i for i in range(count - 2)) + b"Connection: close\r\n\r\n"  # Host, count-2, Connection
    assert len(head) < 16 << 10
    with socket.create_connection(("127.0.0.1", strict.port), timeout=10) as s:
        s.sendall(head)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 %d " % status), (count, answer[:200])
    if status == 431:
        assert answer.endswith(b"%d header fields; at most %d are read" % (count, MAX_HEADERS))


def _exchange(server: Server, data: bytes, pieces: int = 1) -> bytes:
    """Send ``data`` (in ``pieces`` writes, 0.1 s apart) on a new connection and read until it is closed."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        step = -(-len(data) // pieces)
        for i in range(0, len(data), step):
            try:
                s.sendall(data[i:i + step])
            except OSError:
                break  # closed by the server: the answer below says why
            time.sleep(0.1 if pieces > 1 else 0)
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


@pytest.mark.parametrize("pieces", [1, 8])
def test_head_size_is_limited_whether_sent_at_once_or_in_pieces(strict: Server, pieces: int):
    head = b"GET /health HTTP/1.1\r\nHost: remit\r\nX-Big: " + b"a" * (17 << 10) + b"\r\nConnection: close\r\n\r\n"
    answer = _exchange(strict, head, pieces)
    assert answer.startswith(b"HTTP/1.1 431 ") and b"request line and headers over 16384 bytes" in answer, answer[:200]
    # a head just under the limit is answered, and so is a body far larger than the limit sent with its head
    fine = b"GET /health HTTP/1.1\r\nHost: remit\r\nX-Fine: " + b"a" * (15 << 10) + b"\r\nConnection: close\r\n\r\n"
    assert _exchange(strict, fine, pieces).startswith(b"HTTP/1.1 200 ")
    query = b"ASK { ?s ?p ?o } #" + b"x" * (40 << 10)  # under the query length limit (64 KiB)
    post = (b"POST /sparql HTTP/1.1\r\nHost: remit\r\nContent-Type: application/sparql-query\r\n"
            b"Accept: application/sparql-results+json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(query))
    assert _exchange(strict, post + query, pieces).startswith(b"HTTP/1.1 200 ")


def test_pipelined_requests_are_each_answered_in_order(strict: Server):
    one = b"GET /health HTTP/1.1\r\nHost: remit\r\n\r\n"
    answer = _exchange(strict, one * 3 + b"GET /no-such-page HTTP/1.1\r\nHost: remit\r\nConnection: close\r\n\r\n")
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert statuses == [b"200", b"200", b"200", b"404"], answer[:400]


def test_serve_runs_the_bounded_httptools_protocol():
    """`kg serve` parses HTTP with httptools (C), not h11 (pure Python, under half the rate of cache hits on
    this machine: docs/operations.md), with Remit's bounds."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from kg.api.protocol import bounded_httptools

    proto = bounded_httptools(1, 2, 3, 4096)
    assert issubclass(proto, HttpToolsProtocol)
    assert (proto.header_timeout, proto.body_timeout, proto.max_header_count, proto.max_head_bytes) == (1, 2, 3, 4096)
    source = (Path(__file__).resolve().parents[2] / "kg" / "api" / "app.py").read_text(encoding="utf-8")
    assert "http=bounded_httptools(" in source


def test_limits_are_settings_with_documented_defaults():
    from kg.settings import Settings

    s = Settings()
    assert (s.header_read_timeout, s.body_read_timeout, s.max_header_count, s.max_header_bytes) == (
        10.0, 30.0, 100, 16 << 10)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    for env in ("REMIT_HEADER_READ_TIMEOUT", "REMIT_BODY_READ_TIMEOUT", "REMIT_MAX_HEADER_COUNT",
                "REMIT_MAX_HEADER_BYTES"):
        assert env in docs
