"""Probes that show that nothing happened: a canary TCP listener that records every connection, the
fingerprint of a store (on disk or as served), and a process that is gone."""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import psutil
import pyoxigraph as ox

__all__ = ["Canary", "store_fingerprint", "served_fingerprint", "process_gone"]


class Canary:
    """A TCP listener on 127.0.0.1 that records every connection (and its first bytes) in ``hits``."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.hits: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                self.hits.append(conn.recv(4096) or b"(connect)")
            except OSError:
                self.hits.append(b"(connect)")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def store_fingerprint(store_dir: Path) -> tuple[int, str]:
    """(quad count, SHA-256 of the sorted N-Quads export) of an on-disk store, opened read-only."""
    store = ox.Store.read_only(str(store_dir))
    lines = sorted(ox.serialize(store, format=ox.RdfFormat.N_QUADS).decode("utf-8").splitlines())
    del store
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


#: Rows a fingerprint asks for at a time: under any row limit the tests give a server (an answer cut at the
#: limit once made two different graphs look the same: their first rows were the same).
_FINGERPRINT_PAGE = 10


def served_fingerprint(server: Any) -> tuple[int, str]:
    """The same, over HTTP: every quad of every graph the server (``server.url``) serves, sorted and hashed
    (read in ordered pages, each within the server's row limit)."""
    def get(query: str) -> list[str]:
        r = httpx.get(server.url + "/sparql", params={"query": query, "format": "tsv"}, timeout=30)
        assert r.status_code == 200, r.text
        return r.text.splitlines()[1:]

    total = int(get("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")[0].split("^^")[0].strip('"'))
    rows: list[str] = []
    for offset in range(0, total, _FINGERPRINT_PAGE):
        rows += get("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g ?s ?p ?o "
                    f"LIMIT {_FINGERPRINT_PAGE} OFFSET {offset}")
    assert len(rows) == total, (len(rows), total)
    rows.sort()
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def process_gone(pid: int) -> bool:
    """The process ``pid`` has exited (it may linger as a zombie until its parent reaps it)."""
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
