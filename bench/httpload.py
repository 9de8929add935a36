"""A small closed-loop HTTP/1.1 load generator: ``clients`` keep-alive connections over asyncio, each
sending prepared requests back to back for ``seconds``.

It parses only the status line, ``Content-Length`` and chunked bodies, so it costs tens of microseconds
per request where httpx's client costs milliseconds (which, on 2 cores, caps any server at ~200 req/s
and measures the client). 200 and 304 count as answers; any other status is an error.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Sequence
from urllib.parse import urlsplit

__all__ = ["get_request", "post_form_request", "run"]


def get_request(url: str, extra_headers: str = "") -> bytes:
    """A GET request for ``url``; ``extra_headers`` are ``Name: value\\r\\n`` lines."""
    u = urlsplit(url)
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    return f"GET {target} HTTP/1.1\r\nHost: {u.netloc}\r\n{extra_headers}\r\n".encode("latin-1")


def post_form_request(url: str, form: str, extra_headers: str = "") -> bytes:
    """A POST of an ``application/x-www-form-urlencoded`` body ``form`` (already encoded) to ``url``."""
    u = urlsplit(url)
    body = form.encode("utf-8")
    return (f"POST {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\n{extra_headers}"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode("latin-1") + body


async def _read_answer(r: asyncio.StreamReader) -> int:
    line = await r.readline()
    if not line:
        raise ConnectionError("connection closed")
    status = int(line.split()[1])
    length, chunked = 0, False
    while True:
        h = await r.readline()
        if h in (b"\r\n", b""):
            break
        name, _, value = h.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await r.readline()).split(b";")[0].strip(), 16)
            await r.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await r.readexactly(length)
    return status


async def run(url: str, requests: Sequence[bytes], clients: int, seconds: float) -> dict[str, Any]:
    """Send ``requests`` round-robin from ``clients`` connections for ``seconds``; return the figures."""
    u = urlsplit(url)
    lat: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def client(i: int) -> None:
        nonlocal errors
        r, w = await asyncio.open_connection(u.hostname, u.port or 80)
        k = i
        try:
            while time.perf_counter() < deadline:
                req = requests[k % len(requests)]
                k += clients
                t = time.perf_counter()
                w.write(req)
                try:
                    status = await asyncio.wait_for(_read_answer(r), timeout=max(30.0, seconds))
                except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                    errors += 1
                    w.close()
                    r, w = await asyncio.open_connection(u.hostname, u.port or 80)
                    continue
                statuses[status] = statuses.get(status, 0) + 1
                if status in (200, 304):
                    lat.append(time.perf_counter() - t)
                else:
                    errors += 1
        finally:
            w.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - t0
    lat.sort()

    def pct(p: float) -> float | None:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else None

    return {"requests": len(lat), "errors": errors, "statuses": statuses, "seconds": elapsed,
            "rps": len(lat) / elapsed if elapsed else 0.0, "p50_ms": pct(0.5), "p95_ms": pct(0.95)}
