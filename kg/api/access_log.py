"""The access log: one line per request, the text uvicorn's default access formatter writes, in batches.

uvicorn logs each request through Python's ``logging`` (a ``LogRecord``, two copies of it in its formatter, a
write): about 33 µs a line on the test machine, half of what a cached answer cost in all (docs/operations.md,
"The access log in batches"). :class:`AccessLog` takes the same call (``info(msg, client, method, path,
version, status)``, as uvicorn's protocol makes it) and only keeps the finished line; a thread writes the
lines kept to standard output (where uvicorn's access handler writes) every :data:`FLUSH_SECONDS`, and at exit.
A line is never lost and never reordered; it may reach the output up to :data:`FLUSH_SECONDS` after its
request. ``REMIT_ACCESS_LOG=false`` still turns the log off.
"""

from __future__ import annotations

import atexit
import collections
import http
import sys
import threading
from typing import Any, Optional, TextIO

__all__ = ["AccessLog", "FLUSH_SECONDS", "access_log"]

#: Seconds between two writes of the lines kept.
FLUSH_SECONDS = 0.25

_PHRASES = {int(s): s.phrase for s in http.HTTPStatus}


class AccessLog:
    """A stand-in for the ``uvicorn.access`` logger on the request path: :meth:`info` formats the line as uvicorn's
    ``AccessFormatter`` does without colours (``INFO:     127.0.0.1:5555 - "GET /health HTTP/1.1" 200 OK``)
    and keeps it; :meth:`flush` writes what is kept. Safe from any thread (a deque)."""

    def __init__(self, stream: Optional[TextIO] = None, interval: float = FLUSH_SECONDS):
        self._stream = stream
        self._lines: collections.deque[str] = collections.deque()
        self._interval = interval
        self._lock = threading.Lock()  # one writer at a time (the thread, exit, a test)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kg-access-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def info(self, msg: str, *args: Any) -> None:
        if len(args) == 5:
            client, method, path, version, status = args
            self._lines.append(f'INFO:     {client} - "{method} {path} HTTP/{version}" {status} '
                               f'{_PHRASES.get(status, "")}')
        else:  # not uvicorn's call: the message as given
            self._lines.append("INFO:     " + (msg % args if args else msg))

    def flush(self) -> None:
        """Write the lines kept. An output that is closed or gone drops them: serving goes on (and a shutdown
        ends) whatever happened to standard output."""
        with self._lock:
            lines = self._lines
            out: list[str] = []
            while lines:
                out.append(lines.popleft())
            if out:
                stream = self._stream or sys.stdout
                try:
                    stream.write("\n".join(out) + "\n")
                    stream.flush()
                except (OSError, ValueError):
                    pass

    def close(self) -> None:
        self._stop.set()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()


_shared: Optional[AccessLog] = None
_shared_lock = threading.Lock()


def access_log() -> AccessLog:
    """The process's one :class:`AccessLog` (made on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = AccessLog()
        return _shared
