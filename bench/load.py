"""Load test with a hostile client on loopback (``make load`` → ``python -m bench.load``; issue 16).

Starts ``kg serve`` on the built store (or uses ``--url``), then for ``--seconds`` runs at once:

* ``--clients`` **normal clients**, each sending a random mix of ordinary requests one after another: every
  named query with its default parameters, small ``/sparql`` queries, HTML pages and ``/health``;
* one **hostile client** cycling through the cases of issue 16 (:data:`HOSTILE_CASES`): long 404 paths,
  a multipart body of thousands of parts, huge ``Accept`` headers, a big-answer query, ``javascript:``
  parameters, ``NOW()`` queries, bad ``/id/`` paths, runaway queries whose socket is closed, slow request
  heads, distinct 63 KB queries and the small cases of class 10;
* a **health probe** asking ``GET /health`` every 100 ms on its own connection;
* when the server's process id is known, a sampler of the web process's resident memory (RSS) every 0.2 s.

Any answer to a normal client other than 2xx/3xx, and any transport error, is an **error** (429 and 503
included). The hostile client's answers are only counted. After the run the server is left alone for
``--settle`` seconds and its RSS read again. Prints the normal clients' errors, latencies and statuses, the
/health p50/p99, the RSS at start (after one warm-up pass of every request), peak and after, and what each
hostile case got; exits 1 when a normal client saw an error. ``run_load()`` is the same as a function (the
short version is ``tests/hardening/test_load.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import httpx
import psutil

__all__ = ["run_load", "LoadReport", "RUNAWAY", "HOSTILE_CASES", "main"]

#: Joined only on the predicate: passes the cost guard, runs for hours, stopped by the deadline.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?a{i} ?p ?b{i}" for i in range(10)) + " }"
_NUMBERS = " ".join(str(i) for i in range(40))
#: Every quad times 40, with a longer literal: far more than REMIT_MAX_ANSWER_BYTES on the real build.
BIG_ANSWER = ("CONSTRUCT { ?s ?p ?v } WHERE { GRAPH ?g { ?s ?p ?o } VALUES ?a { " + _NUMBERS + " } "
              "BIND(CONCAT(STR(?o), ' ', STR(?a)) AS ?v) }")

LOOKUPS = [
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } LIMIT 20",
    "SELECT ?type (COUNT(?s) AS ?n) WHERE { ?s a ?type } GROUP BY ?type ORDER BY DESC(?n) LIMIT 10",
    "ASK { ?s ?p ?o }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "DESCRIBE <https://w3id.org/remit/id/body/cqc>",
]
PAGES = ["/", "/id/body/cqc.html", "/queries"]
BAD_ID_SEGMENTS = ["a%20b", "a>b", 'a"b', "a{b", "a\\b", "%ff", "%00", "a b"]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    by_label: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"requests": sum(self.statuses.values()), **_percentiles(self.latencies),
                "statuses": dict(sorted(self.statuses.items())), "errors": self.error_count,
                "error_samples": self.errors[:20],
                "p50_ms_by_request": {k: round(1000 * statistics.median(v), 1)
                                      for k, v in sorted(self.by_label.items())}}


def _percentiles(lat: list[float]) -> dict[str, Optional[float]]:
    s = sorted(lat)

    def pct(p: float) -> Optional[float]:
        return round(1000 * s[min(len(s) - 1, int(p * len(s)))], 1) if s else None

    return {"p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(1000 * s[-1], 1) if s else None}


@dataclass
class LoadReport:
    normal: dict[str, Any]
    health: dict[str, Any]
    hostile: dict[str, dict[str, int]]
    hostile_seconds: dict[str, float]
    rss_mb: dict[str, Optional[float]]
    config: dict[str, Any]

    @property
    def errors(self) -> int:
        """Errors seen by the normal clients and the health probe (the figure that must be 0)."""
        return self.normal["errors"] + self.health["errors"]


# ------------------------------------------------------------------------------------------------ normal mix

def _mix(base: str, client: httpx.Client) -> list[tuple[str, str, dict[str, Any]]]:
    """The ordinary requests: (label, path, params), probed once so only routes that exist are used."""
    mix: list[tuple[str, str, dict[str, Any]]] = [("health", "/health", {})]
    r = client.get(base + "/queries", headers={"Accept": "application/json"})
    if r.status_code == 200:
        for q in r.json().get("queries", []):
            if all(not p.get("required") or p.get("default") is not None for p in q.get("params", [])):
                mix.append((f"named:{q['name']}", f"/queries/{q['name']}", {"format": "json", "limit": "50"}))
    for i, text in enumerate(LOOKUPS):
        mix.append((f"sparql:{i}", "/sparql", {"query": text}))
    for page in PAGES:
        if client.get(base + page, headers={"Accept": "text/html"}).status_code == 200:
            mix.append((f"page:{page}", page, {}))
    return mix


def _headers_for(path: str) -> dict[str, str]:
    return {"Accept": "text/html"} if not path.startswith(("/sparql", "/queries/", "/health")) else {}


# ------------------------------------------------------------------------------------------------ hostile cases

def _raw(base: str, request: bytes, read: bool = True, timeout: float = 30.0, hold: float = 0.0) -> str:
    """Send raw bytes (paths and headers httpx would refuse or re-encode); the status code or what happened."""
    u = urlsplit(base)
    try:
        with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
            try:
                s.sendall(request)
            except OSError as exc:  # the server closed early (a refused head): read its answer below
                if not read:
                    return type(exc).__name__
            if not read:
                time.sleep(hold)  # then the socket is closed without reading the answer
                return "sent"
            first = s.recv(64)
            return first.split(b" ", 2)[1].decode("ascii", "replace") if first.startswith(b"HTTP/") else "closed"
    except OSError as exc:
        return type(exc).__name__


def _status(fn: Callable[[], httpx.Response]) -> str:
    try:
        return str(fn().status_code)
    except httpx.HTTPError as exc:
        return type(exc).__name__


def _hostile_cases(base: str, c: httpx.Client, rnd: random.Random,
                   background: list[threading.Thread]) -> list[tuple[str, Callable[[], str]]]:
    part = b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n"
    many_parts = part * ((1 << 20) // len(part) - 1) + b"--b--\r\n"
    host = urlsplit(base).netloc.encode()

    def long_404() -> str:
        path = "/" + "-".join(f"word{rnd.randrange(10**6)}x" for _ in range(450))  # about 4.9 KB
        return _status(lambda: c.get(base + path, headers={"Accept": "text/html"}))

    def multipart() -> str:
        return _status(lambda: c.post(base + "/diff", content=many_parts,
                                      headers={"Content-Type": "multipart/form-data; boundary=b"}))

    def huge_accept() -> str:
        big = _raw(base, b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: " + host + b"\r\nAccept: "
                   + b"text/x;q=0.1, " * ((4 << 20) // 14) + b"*/*\r\nConnection: close\r\n\r\n")
        mid = _status(lambda: c.get(base + "/sparql", params={"query": "ASK {}"},
                                    headers={"Accept": ", ".join(f"t{i}/s{i};q=0.5" for i in range(900))}))
        return f"4MiB:{big} 12KB:{mid}"

    def big_answer() -> str:
        def one() -> httpx.Response:
            with c.stream("GET", base + "/sparql", params={"query": BIG_ANSWER},
                          headers={"Accept": "application/n-triples"}) as r:
                for _ in r.iter_bytes():
                    pass
                return r
        return _status(one)

    def javascript_param() -> str:
        return _status(lambda: c.get(base + "/queries/gaps", params={
            "function": "javascript:alert(document.domain)", "format": "html"}))

    def now_query() -> str:
        return _status(lambda: c.get(base + "/sparql", params={
            "query": "SELECT ?s WHERE { ?s ?p ?o FILTER(NOW() > \"2000-01-01T00:00:00Z\"^^"
                     "<http://www.w3.org/2001/XMLSchema#dateTime>) } LIMIT 3"}))

    def bad_id() -> str:
        seg = rnd.choice(BAD_ID_SEGMENTS).encode("latin-1")
        return _raw(base, b"GET /id/body/" + seg + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")

    def runaway_closed() -> str:
        # the socket is closed 0.5 s after the query is sent: the job must be cancelled, not run to the deadline
        q = httpx.QueryParams({"query": RUNAWAY + f" # {rnd.random()}"})
        return _raw(base, b"GET /sparql?" + str(q).encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
                    read=False, hold=0.5)

    def slow_heads() -> str:
        # ten connections trickle a header byte a second in the background until the server closes them
        def hold() -> None:
            u = urlsplit(base)
            socks = []
            for _ in range(10):
                try:
                    s = socket.create_connection((u.hostname, u.port), timeout=2)
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    socks.append(s)
                except OSError:
                    pass
            end = time.monotonic() + 60
            while socks and time.monotonic() < end:
                for s in list(socks):
                    try:
                        s.sendall(b"a")
                    except OSError:
                        socks.remove(s)
                        s.close()
                time.sleep(1)
            for s in socks:
                s.close()
        t = threading.Thread(target=hold, daemon=True)
        t.start()
        background.append(t)
        return "started"

    def distinct_63kb() -> str:
        pad = "".join(rnd.choice("abcdefghij") for _ in range(63_000))
        return _status(lambda: c.post(base + "/sparql", data={"query": f"ASK {{ }} # {pad}"}))

    def small_ones() -> str:
        got = [
            _status(lambda: c.get(base + "/sparql", params={"query": "ASK {}"},
                                  headers={"Accept": "application/sparql-results+xml;q=NaN, */*;q=0.1"})),
            _status(lambda: c.get(base + "/queries/npm-membership", params={"asOf": "2024-W01-1"})),
            _status(lambda: c.get(base + "/queries/gaps?limit=1&limit=100000")),
            _status(lambda: c.head(base + "/sparql")),
            _status(lambda: c.get(base + "/health", headers={"X-Forwarded-For": "10.1.2.3"})),
        ]
        return "/".join(got)

    cases = [long_404, multipart, huge_accept, big_answer, javascript_param, now_query, bad_id, runaway_closed,
             slow_heads, distinct_63kb, small_ones]
    return list(zip(HOSTILE_CASES, cases))


#: The hostile client's cases, in the order it cycles through them.
HOSTILE_CASES = ["long-404-path", "multipart-many-parts", "huge-accept", "big-answer", "javascript-param",
                 "now-query", "bad-id-path", "runaway-socket-closed", "slow-heads", "distinct-63kb-query",
                 "class-10-small"]


# ------------------------------------------------------------------------------------------------ the run

def _rss_mb(pid: int) -> Optional[float]:
    try:
        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except psutil.Error:
        return None


def run_load(base: str, seconds: float = 60.0, clients: int = 8, pid: Optional[int] = None,
             hostile: bool = True, settle: float = 10.0, seed: int = 1) -> LoadReport:
    """``clients`` normal clients, the hostile client and the health probe for ``seconds`` against ``base``;
    ``pid`` is the web process (for RSS). See the module docstring."""
    with httpx.Client(timeout=60) as probe:
        mix = _mix(base, probe)
        for _label, path, params in mix:  # warm-up: every ordinary request once, so "start" is a served state
            probe.get(base + path, params=params, headers=_headers_for(path))
    rss_start = _rss_mb(pid) if pid else None
    normal, health = Stats(), Stats()
    hostile_got: dict[str, dict[str, int]] = {}
    hostile_seconds: dict[str, float] = {}
    lock = threading.Lock()
    stop = threading.Event()
    end = time.monotonic() + seconds
    peak = [rss_start or 0.0]

    def record(stats: Stats, label: str, status: int, took: float, text: str) -> None:
        with lock:
            stats.statuses[str(status)] = stats.statuses.get(str(status), 0) + 1
            if 200 <= status < 400:
                stats.latencies.append(took)
                stats.by_label.setdefault(label, []).append(took)
            else:
                stats.error_count += 1
                if len(stats.errors) < 50:
                    stats.errors.append(f"{label} -> {status}: {text}")

    def client_loop(i: int) -> None:
        rnd = random.Random(seed * 1000 + i)
        with httpx.Client(base_url=base, timeout=httpx.Timeout(60.0, connect=5.0),
                          headers={"User-Agent": f"remit-load/{i}"}) as c:
            while time.monotonic() < end:
                label, path, params = rnd.choice(mix)
                t0 = time.monotonic()
                try:
                    r = c.get(path, params=params, headers=_headers_for(path))
                    status, text = r.status_code, r.text[:200]
                except httpx.HTTPError as exc:
                    status, text = -1, f"{type(exc).__name__}: {exc}"
                record(normal, label, status, time.monotonic() - t0, text)

    def health_loop() -> None:
        with httpx.Client(base_url=base, timeout=httpx.Timeout(30.0, connect=5.0)) as c:
            while time.monotonic() < end:
                t0 = time.monotonic()
                try:
                    r = c.get("/health")
                    status, text = r.status_code, r.text[:200]
                except httpx.HTTPError as exc:
                    status, text = -1, f"{type(exc).__name__}: {exc}"
                record(health, "health-probe", status, time.monotonic() - t0, text)
                time.sleep(0.1)

    background: list[threading.Thread] = []

    def hostile_loop() -> None:
        rnd = random.Random(seed)
        with httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0), headers={"User-Agent": "remit-hostile"}) as c:
            cases = _hostile_cases(base, c, rnd, background)
            while time.monotonic() < end:
                for name, case in cases:
                    if time.monotonic() >= end:
                        break
                    t0 = time.monotonic()
                    got = case()
                    with lock:
                        d = hostile_got.setdefault(name, {})
                        d[got] = d.get(got, 0) + 1
                        hostile_seconds[name] = round(hostile_seconds.get(name, 0.0) + time.monotonic() - t0, 2)

    def rss_loop() -> None:
        while not stop.is_set():
            r = _rss_mb(pid) if pid else None
            if r is not None:
                peak[0] = max(peak[0], r)
            stop.wait(0.2)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=health_loop))
    if hostile:
        threads.append(threading.Thread(target=hostile_loop))
    sampler = threading.Thread(target=rss_loop, daemon=True)
    sampler.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rss_end_of_run = _rss_mb(pid) if pid else None
    for t in background:
        t.join(max(0.0, end + 60 - time.monotonic()))
    if pid and settle:
        time.sleep(settle)
    stop.set()
    sampler.join()
    rss_after = _rss_mb(pid) if pid else None
    return LoadReport(
        normal.summary(), health.summary(), hostile_got, hostile_seconds,
        {"start": rss_start, "peak": peak[0] if pid else None, "end_of_run": rss_end_of_run, "after": rss_after,
         "after_vs_start_pct": round(100 * (rss_after - rss_start) / rss_start, 1)
         if rss_start and rss_after else None},
        {"url": base, "seconds": seconds, "clients": clients, "hostile": hostile, "settle": settle,
         "requests_in_mix": len(mix)})


# ------------------------------------------------------------------------------------------------ the server

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path, env_overrides: dict[str, str], log: Optional[Path] = None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, **env_overrides}
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--store", str(store)], env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            if httpx.get(base + "/health", timeout=1).json().get("status") == "ok":
                return proc, base
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def print_report(report: LoadReport) -> None:
    n, h, m = report.normal, report.health, report.rss_mb
    print(f"normal clients: {n['requests']} requests, errors {n['errors']}, p50 {n['p50_ms']} ms, "
          f"p99 {n['p99_ms']} ms, statuses {n['statuses']}")
    print(f"/health probe:  {h['requests']} requests, errors {h['errors']}, p50 {h['p50_ms']} ms, "
          f"p99 {h['p99_ms']} ms, max {h['max_ms']} ms")
    if m["start"] is not None:
        print(f"web process RSS: start {m['start']} MB, peak {m['peak']} MB, end of run {m['end_of_run']} MB, "
              f"after {report.config['settle']:g} s {m['after']} MB ({m['after_vs_start_pct']:+} %)")
    for name, got in report.hostile.items():
        print(f"  hostile {name}: {got} in {report.hostile_seconds.get(name, 0):g} s")
    for line in n["error_samples"] + h["error_samples"]:
        print(f"  error: {line}")
    print(f"errors for normal clients: {report.errors}")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--no-hostile", action="store_true", help="normal clients and the probe only")
    ap.add_argument("--url", help="use this running server instead of starting one")
    ap.add_argument("--pid", type=int, help="with --url: the web process, for its RSS")
    ap.add_argument("--store", type=Path, default=Path("build/store"))
    ap.add_argument("--deadline", type=float, default=10.0, help="REMIT_QUERY_TIMEOUT of the started server")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds before the RSS is read after the run")
    ap.add_argument("--log", type=Path, help="the started server's output goes here")
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args(argv)
    proc = None
    base, pid = args.url, args.pid
    if base is None:
        if not args.store.is_dir():
            print(f"error: no built store at {args.store}: run `kg build` first", file=sys.stderr)
            return 2
        # all the load comes from one address: lift the per-client budget so it measures the pool, not the budget
        proc, base = start_server(args.store, {"REMIT_QUERY_TIMEOUT": str(args.deadline),
                                               "REMIT_CLIENT_BUDGET_SECONDS": "100000"}, args.log)
        pid = proc.pid
    try:
        report = run_load(base.rstrip("/"), args.seconds, args.clients, pid, not args.no_hostile, args.settle)
    finally:
        if proc is not None:
            stop_server(proc)
    print_report(report)
    if args.json:
        out = {"config": {**report.config, "deadline": args.deadline if proc else None, "cpus": os.cpu_count()},
               "normal": report.normal, "health": report.health, "hostile": report.hostile,
               "hostile_seconds": report.hostile_seconds, "rss_mb": report.rss_mb}
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
