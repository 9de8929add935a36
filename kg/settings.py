"""Runtime settings for every part of Remit, read from the environment (prefix ``REMIT_``).

One class, :class:`Settings`; every field is documented in ``docs/endpoint.md``. Example::

    REMIT_PORT=9000 REMIT_QUERY_TIMEOUT=10 kg serve

Paths are relative to the working directory unless absolute.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "is_remote", "QUAD_BYTES_IN_MEMORY"]


def is_remote(store: object) -> bool:
    """True for the http(s) URL of an external SPARQL endpoint (``kg serve --store URL``, ``kg push``),
    False for a local store folder. The one rule for "is this an external store"."""
    return isinstance(store, str) and store.startswith(("http://", "https://"))


def _default_workers() -> int:
    """Two query workers per CPU, at most four: a small query spends most of its round trip outside its
    worker (in the web process and between processes), so one worker per CPU left the CPUs a fifth idle
    under load (docs/operations.md, "Uncached lookups at 6× rdflib-endpoint")."""
    return max(2, min(4, 2 * (os.cpu_count() or 1)))


#: Bytes a quad takes in a store's copy in memory, with room to spare (measured: ~460 at 100k synthetic
#: triples, ~380 at 1M: docs/scale.md "Answering from memory").
QUAD_BYTES_IN_MEMORY = 500


def _default_in_memory_max_quads() -> int:
    """The largest store whose copies in memory (one in the pages' process and one in each default query
    worker) take at most a quarter of this machine's memory: ~2.5M quads on 24 GiB and 2 CPUs (four workers),
    ~0.86M on 8 GiB, ~0.43M on 4 GiB."""
    import psutil

    return int(psutil.virtual_memory().total // 4 // (QUAD_BYTES_IN_MEMORY * (1 + _default_workers())))


class Settings(BaseSettings):
    """Everything a deployment may change. Environment variable = ``REMIT_`` + upper-case field name."""

    model_config = SettingsConfigDict(env_prefix="REMIT_", extra="ignore", validate_default=True)

    # --- where to listen and how the service names itself
    host: str = Field("127.0.0.1", description="Interface `kg serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port `kg serve` listens on.")
    public_base_url: Optional[str] = Field(
        None,
        description="Public address of the service, without a trailing slash (used in sd:endpoint and links). "
        "Unset: http://{host}:{port}.",
    )
    iri_base: str = Field(
        "https://w3id.org/remit/",
        description="The base of the IRIs Remit mints; `/id/...`, `/def/...` and `/shapes/...` on this server "
        "resolve the IRIs under it (linked-data pages, 303 content negotiation).",
    )

    # --- data
    store_path: Path = Field(Path("build/store"), description="The pyoxigraph store written by `kg build`.")
    store_in_memory_max_quads: int = Field(
        default_factory=_default_in_memory_max_quads, ge=0, description="A built store of at most this many quads "
        "is copied into memory by each process that serves or publishes it (the pages, each query worker, `kg "
        "publish`), and answered from there: 4–11 times faster than from disk at 100k triples, 7–30 times at 1M "
        "(docs/scale.md), at ~380–460 bytes a quad per process; a larger store, or 0, is read from disk. Default: "
        "as many as fit, copies in every serving process together, in a quarter of the machine's memory.")
    store_copy_delay_seconds: float = Field(
        3.0, ge=0, description="Seconds a serving process waits after opening the store before it begins the copy "
        "into memory (`store_in_memory_max_quads`): it answers from disk meanwhile, and its start-up is not "
        "slowed by the copy (docs/scale.md). `kg publish` copies at once.")
    remote_store_url: Optional[str] = Field(
        None, description="The http(s) SPARQL query endpoint of an external store the build was pushed to (`kg push`); "
        "when set, the endpoint's workers answer from it instead of `store_path` (`kg serve --store URL`).",
    )
    build_dir: Path = Field(Path("build"), description="Folder of build artefacts.")
    data_dir: Path = Field(Path("data"), description="Folder of the data sources (Turtle).")
    queries_dir: Path = Field(Path("queries"), description="Folder of named queries (*.rq).")

    # --- limits of the public SPARQL surface
    query_timeout: float = Field(30.0, gt=0, description="Deadline of one query in seconds; past it the worker is killed.")
    row_limit: int = Field(10_000, ge=1, description="Most rows (SELECT) or triples (CONSTRUCT/DESCRIBE) returned.")
    max_answer_bytes: int = Field(32 << 20, ge=4096, description="Most bytes of one /sparql answer; a longer "
                                  "result is cut at a whole row or triple and says so (Remit-Result-Truncated).")
    worker_max_rss_growth_mb: int = Field(256, ge=0, description="MiB a query worker's resident memory may grow "
                                          "past what it held at start; past it, it exits after the job and a "
                                          "fresh worker replaces it (0: never).")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="Largest request body accepted (bytes); larger: 413.")
    max_query_length: int = Field(64 << 10, ge=64, description="Longest query accepted (characters); longer: 413.")
    max_accept_length: int = Field(4096, ge=256, description="Longest Accept header read (bytes); longer: 431, "
                                   "before content negotiation parses it.")
    max_url_length: int = Field(8 << 10, ge=256, description="Longest request target (path + query string); longer: 414.")
    workers: int = Field(default_factory=_default_workers, ge=1, le=64, description="Query worker processes.")
    queue_limit: int = Field(16, ge=0, description="Requests that may wait for a free worker; past it: 503.")
    client_budget_seconds: float = Field(
        120.0, gt=0, description="Worker seconds one client (IP address) may use in any 60 s window; past it: 429."
    )
    client_budget_redis_url: Optional[str] = Field(
        None, description="A Redis (or Valkey) server every instance shares (`redis://host:port/db`, `rediss://…`, "
        "`unix:///path?db=N`): the per-client budget is counted there, so it holds across instances; unset: counted "
        "in each process. Unreachable: queries are allowed and a warning is logged.")
    named_query_max_limit: int = Field(1000, ge=1, description="Largest `limit` a named query page may ask for.")
    named_query_default_limit: int = Field(100, ge=1, description="Page size of a named query when no `limit` is given.")
    isolate_workers_network: bool = Field(
        True, description="Run query workers in a network namespace with no network (Linux; best effort)."
    )
    admin_token: Optional[str] = Field(None, description="Bearer token for administrative routes; unset: none enabled.")
    check_timeout: float = Field(120.0, gt=0, description="Deadline of one draft check or diff (kg check, POST /check), seconds.")
    check_memory_mb: int = Field(3072, ge=256, description="Address-space limit of the worker that checks a draft, MiB.")

    # --- query complexity and cost (checked before evaluation; see docs/operations.md)
    max_query_depth: int = Field(16, ge=2, description="Deepest nesting of the query's algebra; deeper: 400.")
    max_query_operators: int = Field(1000, ge=16, description="Most algebra operators in one query; more: 400.")
    cost_guard: bool = Field(True, description="Refuse obviously unbounded shapes (cartesian products over the "
                             "whole graph, unanchored transitive paths) before running them: 400.")

    # --- response cache (kg/api/cache.py; docs/operations.md "Response cache")
    cache_max_entries: int = Field(2048, ge=0, description="Most answers kept by the response cache of /sparql "
                                   "and /queries/{name}; 0 turns the cache off.")
    cache_max_bytes: int = Field(64 << 20, ge=0, description="Most bytes kept by the response cache, "
                                 "answers and their keys (query texts) together.")
    cache_max_age: int = Field(60, ge=0, description="Cache-Control max-age (seconds) of cacheable answers.")
    page_cache_max_entries: int = Field(512, ge=0, description="Most pages and linked-data documents kept by the "
                                        "page cache (kg/api/page_cache.py), per graph version; 0 turns it off.")
    page_cache_max_bytes: int = Field(32 << 20, ge=0, description="Most bytes kept by the page cache, pages and "
                                      "their keys together; a page over an eighth of this is never kept.")
    store_version_check_seconds: float = Field(
        3.0, gt=0, le=3600, description="With an external store (`kg serve --store URL`): how often the version "
        "`kg push` recorded in the store is read (one small SELECT, whatever the traffic); a new version empties "
        "the response cache, so answers follow a push within this many seconds. Cacheable answers' max-age is "
        "capped at it too.")
    guard_memo_entries: int = Field(4096, ge=0, description="Query texts whose guard analysis each query worker "
                                    "remembers (LRU).")
    guard_memo_bytes: int = Field(16 << 20, ge=0, description="Most bytes (query texts included) of each query "
                                  "worker's guard memo; 0: bounded by entries only.")
    trusted_proxies: str = Field("", description="Comma-separated addresses (or CIDR ranges) of reverse proxies "
                                 "whose X-Forwarded-For/-Proto headers are believed; empty (default): none, the "
                                 "client is the peer address. `*` trusts every peer (only behind a proxy).")
    max_header_bytes: int = Field(16 << 10, ge=1024, description="Most bytes of a request line plus headers "
                                  "received while the head is incomplete (kg.api.protocol); more: 431 and the connection is closed.")
    keep_alive_timeout: int = Field(5, ge=1, description="Seconds an idle keep-alive connection stays open.")
    max_header_count: int = Field(100, ge=0, description="Most header fields in a request; more: 431 before the "
                                  "application sees it; 0: no limit (the head is still bounded by max_header_bytes).")
    header_read_timeout: float = Field(10.0, ge=0, description="Seconds a client has to send a whole request line and "
                                       "headers, from connecting (or from the first byte of the next request on a "
                                       "keep-alive connection); then 408 and the connection is closed. A total, not an "
                                       "idle time: a trickle of bytes does not extend it. 0: no limit.")
    body_read_timeout: float = Field(30.0, ge=0, description="Seconds a client has to send a whole request body after "
                                     "its headers; then 408 (if no answer has begun) and the connection is closed. "
                                     "0: no limit.")
    gil_switch_interval: float = Field(0.0005, ge=0, le=0.1, description="Seconds between the interpreter's thread "
                                       "switches in the web process (sys.setswitchinterval; Python's default is "
                                       "0.005). Pages render in threads; a shorter interval keeps the event loop, "
                                       "and so /health, from waiting behind them. 0: Python's default.")
    max_connections: int = Field(0, ge=0, description="Most concurrent connections and tasks before uvicorn "
                                 "answers 503 (uvicorn limit_concurrency); 0: no limit.")
    access_log: bool = Field(True, description="Log one line per request (uvicorn's access log). Off saves a "
                             "write per request; a reverse proxy usually keeps this log.")

    # --- reload (SIGHUP or POST /admin/reload) and shutdown
    source_root: Path = Field(Path("."), description="Project root a reload builds from (ontology/, shapes/, queries/qc/).")
    reload_fail_on: str = Field(
        "violation", pattern="^(violation|warning|info|none)$",
        description="A reload is refused when the new build has a finding of a check (shape or QC query) at or above "
        "this severity that the served build does not have; `none` accepts any report.",
    )
    reload_timeout: float = Field(600.0, gt=0, description="Longest a reload build may take, seconds.")
    shutdown_grace: float = Field(2.0, ge=0, description="Seconds in-flight requests get after SIGTERM before "
                                  "the query workers are killed.")

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: Optional[str]) -> Optional[str]:
        return v.rstrip("/") if v else v

    @field_validator("remote_store_url")
    @classmethod
    def _http_url(cls, v: Optional[str]) -> Optional[str]:
        if v and not is_remote(v):
            raise ValueError(f"{v!r} is not an http(s) URL of a SPARQL query endpoint")
        return v or None

    @field_validator("client_budget_redis_url")
    @classmethod
    def _redis_url(cls, v: Optional[str]) -> Optional[str]:
        if v and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"{v!r} is not a redis://, rediss:// or unix:// URL of a Redis server")
        return v or None

    @property
    def base_url(self) -> str:
        """The public base URL: the configured one, or ``http://{host}:{port}``."""
        if self.public_base_url:
            return self.public_base_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def is_remote(self) -> bool:
        """The graph is served from an external SPARQL store (:attr:`remote_store_url`), not ``store_path``."""
        return is_remote(self.remote_store_url)

    @property
    def sparql_endpoint_url(self) -> str:
        return self.base_url + "/sparql"


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with keyword overrides (e.g. from command-line options)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
