"""A bounded response cache for ``/sparql`` and ``/queries/{name}``, keyed by graph version, with ETags.

The graph is read-only between reloads, so an answer is a pure function of (graph, request): the cache
key is the normalised request (query text, dataset parameters, negotiated format; for named queries the
bound parameters and the page) and every key is scoped by the **graph version**
(:func:`kg.publication.publish.graph_version`) — a digest of the build manifest's ``sourceHash``, the store
path and the worker pool's generation, which changes on every reload (:meth:`ResponseCache.set_version`
also empties the cache then). With an external store (``kg serve --store URL``) the version is the one
``kg push`` recorded in the store (:meth:`kg.query.remote.RemoteStore.version`), read every
``REMIT_STORE_VERSION_CHECK_SECONDS`` by :meth:`kg.api.sparql.SparqlEndpoint.watch_store_version`; an empty
version turns the cache off until a version is seen again.

* Never kept: answers of queries that call a non-deterministic function — ``NOW()``, ``RAND()``,
  ``UUID()``, ``STRUUID()``, ``BNODE()`` (:func:`nondeterministic`, a conservative test of the query text);
  they are answered with ``Cache-Control: no-store``.
* Only 200 answers are kept, truncated ones included (their ``Remit-Result-Truncated`` and ``Link``
  headers are kept with them; the same graph always cuts at the same row). Errors, 429/503 and anything
  produced while a reload switched the graph are never kept.
* Bounded by entries and by total bytes, keys (query texts) included (least recently used goes first). An
  answer larger than an eighth of the byte bound is not kept, so one huge result cannot flush the rest.
* Each cacheable 200 gets a strong ``ETag`` (from the graph version and the key), ``Cache-Control:
  public, max-age=N`` and ``Vary: Accept``; ``If-None-Match`` with a matching tag answers 304 with no body.
* A hit is answered in the web process: it never waits for, or uses, a query worker, and costs the client
  no query-time budget (it uses no worker time).
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Hashable, Iterable, Mapping, Optional

__all__ = ["CachedAnswer", "ResponseCache", "LruDict", "approx_size", "etag_matches", "nondeterministic",
           "nondeterministic_unless_bound"]

# a call of a function whose value changes from one evaluation to the next; comments and whitespace may sit
# between the name and "(" (SPARQL allows both), and the name may be written in any case
_NONDETERMINISTIC = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID|BNODE)(?:\s|#[^\n]*(?:\n|$))*\(", re.IGNORECASE)
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _unescape(text: str) -> str:
    """SPARQL's \\uXXXX and \\UXXXXXXXX escapes, which are applied before the query is parsed."""
    def one(m: re.Match[str]) -> str:
        try:
            return chr(int(m.group(1) or m.group(2), 16))
        except (ValueError, OverflowError):
            return m.group(0)
    return _CODEPOINT.sub(one, text)


def nondeterministic(query: str) -> bool:
    """True when the query may call ``NOW``, ``RAND``, ``UUID``, ``STRUUID`` or ``BNODE``: its answer must not
    be cached. Conservative: a name in a string or an IRI also counts (that answer is just not cached)."""
    if _NONDETERMINISTIC.search(query):
        return True
    return "\\u" in query.lower() and bool(_NONDETERMINISTIC.search(_unescape(query)))


def nondeterministic_unless_bound(query: str, bound: Iterable[str]) -> bool:
    """:func:`nondeterministic`, except that ``COALESCE(?v, NOW())`` with ``?v`` among ``bound`` (a parameter
    bound in a ``VALUES`` block, such as ``asOf`` at its data-date default) never reaches ``NOW()``."""
    names = "|".join(re.escape(n) for n in bound)
    if names:
        query = re.sub(r"COALESCE\s*\(\s*[?$](?:" + names + r")\s*,\s*NOW\s*\(\s*\)\s*\)", "COALESCE(?_bound)",
                       query, flags=re.IGNORECASE)
    return nondeterministic(query)


@dataclass(frozen=True)
class CachedAnswer:
    body: bytes
    media_type: str
    etag: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.body) + 256 + sum(len(k) + len(v) for k, v in self.headers.items())


def approx_size(obj: object) -> int:
    """About the bytes ``obj`` holds in memory: strings and bytes exactly (``sys.getsizeof``), tuples, lists
    and dicts with their items; anything else as a small object. Used to bound caches by bytes, keys included."""
    if isinstance(obj, (str, bytes)):
        return sys.getsizeof(obj)
    if isinstance(obj, (tuple, list, set, frozenset)):
        return sys.getsizeof(obj) + sum(approx_size(x) for x in obj)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(approx_size(k) + approx_size(v) for k, v in obj.items())
    return 32


class LruDict(OrderedDict):  # type: ignore[type-arg]
    """A small LRU mapping bounded by entries and, when ``max_bytes`` is set, by the bytes of its keys and
    values (:func:`approx_size`), for memo tables. Entries are added with :meth:`put` only."""

    def __init__(self, max_entries: int, max_bytes: int = 0):
        super().__init__()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._sizes: dict[Hashable, int] = {}

    def get(self, key: Hashable, default: object = None) -> object:  # type: ignore[override]
        try:
            value = self[key]
        except KeyError:
            return default
        self.move_to_end(key)
        return value

    def put(self, key: Hashable, value: object) -> None:
        if self.max_entries <= 0:
            return
        size = approx_size(key) + approx_size(value) + 100  # + the entry's own links
        if self.max_bytes and size > self.max_bytes:
            return
        self.bytes -= self._sizes.pop(key, 0)
        self[key] = value
        self.move_to_end(key)
        self._sizes[key] = size
        self.bytes += size
        while len(self) > self.max_entries or (self.max_bytes and self.bytes > self.max_bytes):
            gone, _ = self.popitem(last=False)
            self.bytes -= self._sizes.pop(gone, 0)

    def clear(self) -> None:
        super().clear()
        self._sizes.clear()
        self.bytes = 0


def etag_matches(header: Optional[str], etag: str) -> bool:
    """RFC 9110 ``If-None-Match``: ``*`` or a list of tags, compared weakly (a ``W/`` prefix is ignored)."""
    if not header:
        return False
    header = header.strip()
    if header == "*":
        return True
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == etag:
            return True
    return False


class ResponseCache:
    """LRU of :class:`CachedAnswer` bounded by ``max_entries`` and ``max_bytes``, scoped by graph version."""

    def __init__(self, max_entries: int, max_bytes: int, version: str = ""):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.version = version
        self._items: OrderedDict[Hashable, CachedAnswer] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}  # per key: the answer's size plus the key's own (query texts)
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def configured(self) -> bool:
        """Bounds above zero (``REMIT_CACHE_MAX_ENTRIES``, ``REMIT_CACHE_MAX_BYTES``)."""
        return self.max_entries > 0 and self.max_bytes > 0

    @property
    def enabled(self) -> bool:
        """Configured and the graph's version known: an empty version (an external store with no version
        recorded, or one that did not answer the version check) keeps and answers nothing."""
        return self.configured and bool(self.version)

    def __len__(self) -> int:
        return len(self._items)

    def set_version(self, version: str) -> None:
        """A new graph is served: forget every answer and tag new ones with ``version``."""
        if version != self.version:
            self.version = version
            self.clear()

    def clear(self) -> None:
        self._items.clear()
        self._sizes.clear()
        self.bytes = 0

    def etag(self, key: Hashable, version: Optional[str] = None) -> str:
        digest = hashlib.sha256(f"{version or self.version}\n{key!r}".encode("utf-8")).hexdigest()[:32]
        return f'"{digest}"'

    def get(self, key: Hashable) -> Optional[CachedAnswer]:
        if not self.enabled:
            return None
        hit = self._items.get(key)
        if hit is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return hit

    def put(self, key: Hashable, version: str, body: bytes, media_type: str,
            headers: Optional[Mapping[str, str]] = None) -> Optional[CachedAnswer]:
        """Keep an answer computed on graph ``version``; returns it (with its ETag), or None when the graph
        changed meanwhile (the answer belongs to the old graph and is neither kept nor tagged)."""
        if version != self.version:
            return None
        answer = CachedAnswer(body, media_type, self.etag(key, version), dict(headers or {}))
        size = answer.size + approx_size(key)
        if not self.enabled or size > self.max_bytes // 8:
            return answer
        if self._items.pop(key, None) is not None:
            self.bytes -= self._sizes.pop(key)
        self._items[key] = answer
        self._sizes[key] = size
        self.bytes += size
        while self._items and (len(self._items) > self.max_entries or self.bytes > self.max_bytes):
            gone, _ = self._items.popitem(last=False)
            self.bytes -= self._sizes.pop(gone)
        return answer

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._items), "bytes": self.bytes, "hits": self.hits, "misses": self.misses,
                "max_entries": self.max_entries, "max_bytes": self.max_bytes}
