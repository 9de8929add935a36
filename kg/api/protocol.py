"""uvicorn's httptools protocol with read deadlines and bounds on the request head (what `kg serve` runs).

uvicorn (0.54) bounds the idle time of a keep-alive connection, but with httptools neither the size of a
request head (it buffers any size) nor the time a client may take to send a request: a client that sends one
header byte every few seconds held its connection open for as long as it liked (issue 16: 50 such connections
stayed open 60 s). uvicorn's h11 protocol bounds the head's size but parses in pure Python, at less than half
httptools' rate on this machine (docs/operations.md, "h11 against httptools"). :func:`bounded_httptools`
makes a subclass of :class:`uvicorn.protocols.http.httptools_impl.HttpToolsProtocol` with four bounds, each
per request:

* **head size**: neither the bytes received while a request line and headers are incomplete nor the parsed
  target and header fields may pass ``max_head_bytes``;
* **header count**: a request with more than ``max_header_count`` header fields (counted to the end of the
  head, so the answer says how many);
* **head timeout**: the request line and headers must be complete within ``header_timeout`` seconds of the
  connection being made (or, on a keep-alive connection, of the first byte of the next request);
* **body timeout**: a request body must be complete within ``body_timeout`` seconds of its head.

Its access log lines (uvicorn's own text) are kept and written in batches by :mod:`kg.api.access_log`.

Past a size or count bound the answer is ``431 Request Header Fields Too Large`` before the application sees
the request, and the connection is closed. A timeout answers ``408 Request Timeout`` (when the client sent
something and no response has begun) and closes the connection; the application sees the client as gone
(``http.disconnect``). The deadlines are totals, not idle times, so a trickle of bytes cannot extend them.
One timer per connection, armed and cancelled on the event loop, and only while a request is partly read (a
request that arrives whole arms none); no thread, no polling.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kg.api.access_log import access_log

__all__ = ["bounded_httptools", "BoundedHttpToolsProtocol"]

_log = logging.getLogger("uvicorn.error")

#: What the connection is waiting for: a request head, the rest of a body, the answer to a request read in
#: full, or (keep-alive) the first byte of the next request.
_HEAD, _BODY, _ANSWER, _IDLE = "head", "body", "answer", "idle"


def _plain_response(status: int, reason: str, text: str) -> bytes:
    body = text.encode("ascii")
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode("ascii") + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus the head bounds and read deadlines of the module docstring. The limits are
    class attributes; :func:`bounded_httptools` makes a subclass with the configured values."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_count: int = 100
    max_head_bytes: int = 16 << 10

    _phase: str = _HEAD
    _head_bytes: int = 0
    _header_count: int = 0
    _head_size: int = 0  # the request target and header fields parsed so far
    _refused: bool = False
    _bytes_seen: bool = False
    _read_timer: Optional[asyncio.TimerHandle] = None
    _timer_phase: Optional[str] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.access_log:  # uvicorn's access log is on: the same lines, written in batches (kg.api.access_log)
            self.access_logger = access_log()  # type: ignore[assignment]

    # --- the protocol interface
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._phase, self._head_bytes, self._header_count = _HEAD, 0, 0
        self._refused = self._bytes_seen = False
        self._read_timer = self._timer_phase = None
        self._follow_reading()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._bytes_seen = True
        if self._phase == _IDLE:  # the first byte of the next request on a keep-alive connection
            self._phase, self._head_bytes = _HEAD, 0
        if self._phase == _HEAD:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._refused:
            return
        if self._phase == _HEAD and self.max_head_bytes and self._head_bytes > self.max_head_bytes:
            self._refuse_size()  # a head still incomplete: what it has sent so far
            return
        self._follow_reading()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    # --- httptools' parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase != _HEAD:  # a pipelined request that began in a chunk counted as something else
            self._phase, self._head_bytes = _HEAD, 0
        self._header_count = self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._head_size += len(name) + len(value) + 4  # "name: value\r\n"
        if not self._refused and not (self.max_header_count and self._header_count > self.max_header_count):
            super().on_header(name, value)  # past the count, fields are counted, not kept (the head is bounded)

    def on_headers_complete(self) -> None:
        if self._refused:
            return  # the rest of the refused chunk is parsed, but no application starts for it
        if self.max_header_count and self._header_count > self.max_header_count:
            self._refuse(f"{self._header_count} header fields; at most {self.max_header_count} are read")
            return
        if self.max_head_bytes and self._head_size > self.max_head_bytes:  # a head that came in one piece
            self._refuse_size()
            return
        self._phase = _BODY
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._phase = _ANSWER
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._phase == _ANSWER and self.cycle is not None and self.cycle.response_complete:
            self._phase = _IDLE  # the keep-alive timeout's business until the next byte
        self._follow_reading()  # else a pipelined request read by super(), or a body the answer did not wait for

    # --- read deadlines
    def _follow_reading(self) -> None:
        """Arm, keep or cancel the read deadline for the phase the connection is in now."""
        if self.transport is None or self.transport.is_closing():
            self._cancel_read_timer()
            return
        phase = self._phase if self._phase in (_HEAD, _BODY) else None
        if phase == self._timer_phase:
            return  # the deadline runs from the start of the phase: a trickle of bytes does not extend it
        self._cancel_read_timer()
        timeout = self.header_timeout if phase == _HEAD else self.body_timeout
        if phase is not None and timeout > 0:
            self._timer_phase = phase
            self._read_timer = self.loop.call_later(timeout, self._read_timed_out, phase, timeout)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = self._timer_phase = None

    def _read_timed_out(self, phase: str, timeout: float) -> None:
        self._read_timer = self._timer_phase = None
        if self.transport.is_closing():
            return
        what = "request line and headers" if phase == _HEAD else "request body"
        prefix = "%s:%d - " % self.client if self.client else ""
        _log.warning("%s%s not complete within %g s: connection closed", prefix, what, timeout)
        answer = _plain_response(408, "Request Timeout", f"{what} not complete within {timeout:g} s")
        if phase == _HEAD:
            if self._bytes_seen:  # a connection that never sent a byte is closed without an answer
                self.transport.write(answer)
        elif self.cycle is not None:
            started = self.cycle.response_started
            self.cycle.disconnected = True  # the application reads http.disconnect and sends nothing more
            self.cycle.message_event.set()
            if not started:
                self.transport.write(answer)
        self.transport.close()

    # --- refusing a request head
    def _refuse_size(self) -> None:
        self._refuse(f"request line and headers over {self.max_head_bytes} bytes; at most {self.max_head_bytes} "
                     "are read")

    def _refuse(self, why: str) -> None:
        """Answer 431 and close: the request never reaches the application."""
        prefix = "%s:%d - " % self.client if self.client else ""
        _log.warning("%s%s: 431", prefix, why)
        self._refused = True
        self._cancel_read_timer()
        self.transport.write(_plain_response(431, "Request Header Fields Too Large", why))
        self.transport.close()


def bounded_httptools(header_timeout: float, body_timeout: float, max_header_count: int,
                      max_head_bytes: int) -> type[BoundedHttpToolsProtocol]:
    """A :class:`BoundedHttpToolsProtocol` subclass with these limits, for ``uvicorn.Config(http=...)``.
    A timeout of 0 turns that deadline off; a ``max_header_count`` of 0 turns the count off."""
    attrs: dict[str, Any] = {"header_timeout": float(header_timeout), "body_timeout": float(body_timeout),
                             "max_header_count": int(max_header_count), "max_head_bytes": int(max_head_bytes),
                             "__module__": __name__}
    return type("RemitHttpToolsProtocol", (BoundedHttpToolsProtocol,), attrs)
