"""uvicorn's h11 protocol with read timeouts and a header-count limit (what `kg serve` runs).

uvicorn (0.54) bounds the size of a request head (``h11_max_incomplete_event_size``) and the idle time of a
keep-alive connection, but not the time a client may take to send a request: a client that sends one header
byte every few seconds held its connection open for as long as it liked (issue 16: 50 such connections stayed
open 60 s). :func:`bounded_h11` makes a subclass of :class:`uvicorn.protocols.http.h11_impl.H11Protocol` with
three more bounds, each per request:

* **head timeout**: the request line and headers must be complete within ``header_timeout`` seconds of the
  connection being made (or, on a keep-alive connection, of the first byte of the next request);
* **body timeout**: a request body must be complete within ``body_timeout`` seconds of its head;
* **header count**: a request with more than ``max_header_count`` header fields is answered 431.

A timeout answers ``408 Request Timeout`` (when the client sent something and no response has begun) and
closes the connection; the application sees the client as gone (``http.disconnect``). The deadlines are
totals, not idle times, so a trickle of bytes cannot extend them. One timer per connection, armed and
cancelled on the event loop; no thread, no polling. The header count is checked by wrapping the connection's
``h11.Connection.next_event``, so the refused request never reaches the application.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["bounded_h11", "BoundedH11Protocol"]

_log = logging.getLogger("uvicorn.error")


def _plain_response(status: int, reason: str, text: str) -> bytes:
    body = text.encode("ascii")
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode("ascii") + body


class BoundedH11Protocol(H11Protocol):
    """H11Protocol plus the head/body read deadlines and the header-count limit (see the module docstring).
    The limits are class attributes; :func:`bounded_h11` makes a subclass with the configured values."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_count: int = 100

    _read_timer: Optional[asyncio.TimerHandle] = None
    _read_phase: Optional[str] = None  # "head", "body" or None (no request being read)
    _bytes_seen: bool = False

    # --- the protocol interface
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._read_phase = None
        self._read_timer = None
        self._bytes_seen = False
        if self.max_header_count:
            self.conn.next_event = self._next_event  # type: ignore[method-assign]
        self._follow_reading()

    def data_received(self, data: bytes) -> None:
        self._bytes_seen = True
        super().data_received(data)
        self._follow_reading()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE:
            self._cancel_read_timer()  # idle between requests: the keep-alive timeout's business
        else:
            self._follow_reading()  # a pipelined request read by super(), or a body the answer did not wait for

    # --- read deadlines
    def _follow_reading(self) -> None:
        """Arm, keep or cancel the read deadline for the state h11 is in now."""
        if self.transport is None or self.transport.is_closing():
            self._cancel_read_timer()
            return
        their, ours = self.conn.their_state, self.conn.our_state
        if their is h11.IDLE and ours is h11.IDLE:
            phase = "head"
        elif their is h11.SEND_BODY:
            phase = "body"
        else:
            phase = None
        if phase == self._read_phase:
            return  # the deadline runs from the start of the phase: a trickle of bytes does not extend it
        self._cancel_read_timer()
        self._read_phase = phase
        if phase is not None:
            timeout = self.header_timeout if phase == "head" else self.body_timeout
            if timeout > 0:
                self._read_timer = self.loop.call_later(timeout, self._read_timed_out, phase, timeout)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        self._read_phase = None

    def _read_timed_out(self, phase: str, timeout: float) -> None:
        self._read_timer = None
        self._read_phase = None
        if self.transport.is_closing():
            return
        what = "request line and headers" if phase == "head" else "request body"
        prefix = "%s:%d - " % self.client if self.client else ""
        _log.warning("%s%s not complete within %g s: connection closed", prefix, what, timeout)
        answer = _plain_response(408, "Request Timeout", f"{what} not complete within {timeout:g} s")
        if phase == "head":
            if self._bytes_seen:  # a connection that never sent a byte is closed without an answer
                self.transport.write(answer)
        elif self.cycle is not None:
            started = self.cycle.response_started
            self.cycle.disconnected = True  # the application reads http.disconnect and sends nothing more
            self.cycle.message_event.set()
            if not started:
                self.transport.write(answer)
        self.transport.close()

    def _next_event(self) -> Any:
        """h11's next event, except that a request with too many header fields is answered 431 here, before
        uvicorn starts the application for it (the connection is closed, so no further event is read)."""
        event = h11.Connection.next_event(self.conn)
        if isinstance(event, h11.Request) and len(event.headers) > self.max_header_count:
            self._refuse_headers(len(event.headers))
            return h11.NEED_DATA
        return event

    def _refuse_headers(self, count: int) -> None:
        prefix = "%s:%d - " % self.client if self.client else ""
        _log.warning("%s%d header fields (at most %d): 431", prefix, count, self.max_header_count)
        self._cancel_read_timer()
        self.transport.write(_plain_response(
            431, "Request Header Fields Too Large",
            f"{count} header fields; at most {self.max_header_count} are read"))
        self.transport.close()


def bounded_h11(header_timeout: float, body_timeout: float, max_header_count: int) -> type[BoundedH11Protocol]:
    """A :class:`BoundedH11Protocol` subclass with these limits, for ``uvicorn.Config(http=...)``.
    A timeout of 0 turns that deadline off; a ``max_header_count`` of 0 turns the count off."""
    attrs: dict[str, Any] = {"header_timeout": float(header_timeout), "body_timeout": float(body_timeout),
                             "max_header_count": int(max_header_count), "__module__": __name__}
    return type("RemitH11Protocol", (BoundedH11Protocol,), attrs)
