"""Request limits shared by every route: URL length (414), Accept length (431), body size (413), per-client
query time (429)."""

from __future__ import annotations

import collections
import math
import time
from typing import Any, Awaitable, Callable, Deque, Optional

from starlette.requests import Request
from starlette.responses import Response

from kg.api.errors import error_response

__all__ = ["UrlLengthLimit", "AcceptLengthLimit", "BodyTooLarge", "read_body", "ClientBudget", "client_id"]


class UrlLengthLimit:
    """ASGI middleware: 414 when the request target (path and query string) exceeds ``max_length``."""

    def __init__(self, app: Any, max_length: int):
        self.app = app
        self.max_length = max_length

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or scope.get("path", "").encode()) + len(scope.get("query_string", b""))
            if size + 1 > self.max_length:
                req = Request(scope)
                resp = error_response(req, 414, "request target too long",
                                      f"the URL is {size} bytes; the limit is {self.max_length}. "
                                      "Send long queries with POST.")
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AcceptLengthLimit:
    """ASGI middleware: 431 when an ``Accept`` header is longer than ``max_length`` bytes, before any route
    parses it (content negotiation reads every media range of it)."""

    def __init__(self, app: Any, max_length: int):
        self.app = app
        self.max_length = max_length

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"accept" and len(value) > self.max_length:
                    scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept"]}
                    resp = error_response(Request(scope), 431, "Accept header too long",
                                          f"the Accept header is {len(value)} bytes; the limit is {self.max_length}.")
                    await resp(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"the request body is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (:class:`BodyTooLarge`) as soon as it is known to exceed ``limit``:
    from ``Content-Length`` before reading anything, or while streaming a chunked body."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge(limit)
        except ValueError:
            raise BodyTooLarge(limit) from None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def client_id(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class ClientBudget:
    """Worker seconds each client may use in any sliding window of ``window`` seconds, counted in this
    process. :class:`kg.api.shared_budget.SharedClientBudget` counts the same way in a Redis server that
    several instances share; both have the same two (async) operations, ``retry_after`` and ``record``."""

    def __init__(self, budget_seconds: float, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.budget = budget_seconds
        self.window = window
        self.clock = clock
        self._used: dict[str, Deque[tuple[float, float]]] = collections.defaultdict(collections.deque)
        self._total: dict[str, float] = collections.defaultdict(float)  # sum of each client's window

    def _trim(self, client: str, now: float) -> Deque[tuple[float, float]]:
        q = self._used[client]
        gone = False
        while q and q[0][0] <= now - self.window:
            self._total[client] -= q.popleft()[1]
            gone = True
        if gone and not q:
            self._total[client] = 0.0  # no rounding drift survives an empty window
        return q

    def used(self, client: str) -> float:
        self._trim(client, self.clock())
        return max(0.0, self._total[client])

    async def retry_after(self, client: str) -> Optional[int]:
        """None if the client may run a query now, else seconds until enough of its budget frees up.
        Constant time while the client is under budget (a running total per client, not a sum per request)."""
        now = self.clock()
        q = self._trim(client, now)
        total = self._total[client]
        if total < self.budget:
            return None
        total = sum(s for _, s in q)  # exact, on the rare refusal path
        if total < self.budget:
            return None
        for at, seconds in q:
            total -= seconds
            if total < self.budget:
                return max(1, math.ceil(at + self.window - now))
        return max(1, math.ceil(self.window))

    async def record(self, client: str, seconds: float) -> None:
        self.record_now(client, seconds)

    def record_now(self, client: str, seconds: float) -> None:
        """:meth:`record` without a coroutine (the endpoint charges each job this way)."""
        now = self.clock()
        self._trim(client, now).append((now, seconds))
        self._total[client] += seconds
        if len(self._used) > 10_000:  # forget idle clients
            for c in [c for c, q in self._used.items() if not q]:
                del self._used[c]
                self._total.pop(c, None)


def plain(status: int, text: str) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")
