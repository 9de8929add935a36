"""Bounded load test on loopback (``make load`` → ``python -m bench.load``).

Starts ``kg serve`` on the built store (or uses ``--url``), then runs two phases of equal length with
``--clients`` concurrent clients sending a mix of ordinary requests — named queries (each with its
default parameters), ad-hoc SPARQL lookups, and HTML pages when the pages routes exist:

1. **steady**: ordinary requests only;
2. **runaway**: the same, plus one runaway query every ``--runaway-every`` seconds (a query that runs for
   hours and passes the cost guard, so only the deadline stops it).

Expected refusals are 503 (deadline, busy) and 429 (client budget); any other non-2xx/3xx answer or a
transport error is an *unexpected error*. Prints p50/p99 latency of the ordinary requests per phase and
exits 1 when there was an unexpected error. ``run_load()`` is the same as a function (used by the tests).
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
from typing import Any, Optional

import httpx

__all__ = ["run_load", "LoadReport", "RUNAWAY", "main"]

#: Joined only on the predicate: passes the cost guard, runs for hours, stopped by the deadline.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?a{i} ?p ?b{i}" for i in range(10)) + " }"

LOOKUPS = [
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } LIMIT 20",
    "SELECT ?type (COUNT(?s) AS ?n) WHERE { ?s a ?type } GROUP BY ?type ORDER BY DESC(?n) LIMIT 10",
    "ASK { ?s ?p ?o }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "DESCRIBE <https://w3id.org/remit/id/body/cqc>",
]
PAGES = ["/", "/id/body/cqc.html"]
EXPECTED = {429, 503}


@dataclass
class PhaseStats:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    runaways: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> Optional[float]:
            if not lat:
                return None
            return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 1)

        return {"requests": len(lat), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                "mean_ms": round(1000 * statistics.fmean(lat), 1) if lat else None,
                "statuses": dict(sorted(self.statuses.items())), "unexpected": self.unexpected[:20],
                "unexpected_count": len(self.unexpected), "runaway_statuses": self.runaways,
                "p50_ms_by_request": {k: round(1000 * statistics.median(v), 1)
                                      for k, v in sorted(self.by_label.items())}}


@dataclass
class LoadReport:
    phases: dict[str, dict[str, Any]]
    config: dict[str, Any]

    @property
    def unexpected(self) -> int:
        return sum(p["unexpected_count"] for p in self.phases.values())


def _mix(base: str, client: httpx.Client) -> list[tuple[str, str, dict[str, Any]]]:
    """The ordinary requests: (label, path, params), probed once so only routes that exist are used."""
    mix: list[tuple[str, str, dict[str, Any]]] = []
    r = client.get(base + "/queries")
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


def run_load(base: str, seconds: float = 60.0, clients: int = 8, runaway_every: float = 10.0,
             seed: int = 1) -> LoadReport:
    """Two phases of ``seconds / 2`` each against ``base``; see the module docstring."""
    with httpx.Client(timeout=30) as probe:
        mix = _mix(base, probe)
    if not mix:
        raise RuntimeError(f"no requests to send to {base}")
    half = seconds / 2
    phases: dict[str, PhaseStats] = {}

    def phase(name: str, with_runaways: bool) -> None:
        stats = phases.setdefault(name, PhaseStats())
        lock = threading.Lock()
        end = time.monotonic() + half
        stop = threading.Event()

        def client_loop(i: int) -> None:
            rnd = random.Random(seed * 1000 + i)
            with httpx.Client(base_url=base, timeout=httpx.Timeout(60.0, connect=5.0),
                              headers={"User-Agent": f"remit-load/{i}"}) as c:
                while time.monotonic() < end:
                    label, path, params = rnd.choice(mix)
                    t0 = time.monotonic()
                    try:
                        r = c.get(path, params=params)
                        status, text = r.status_code, r.text[:200]
                    except httpx.HTTPError as exc:
                        status, text = -1, f"{type(exc).__name__}: {exc}"
                    took = time.monotonic() - t0
                    with lock:
                        stats.statuses[str(status)] = stats.statuses.get(str(status), 0) + 1
                        if 200 <= status < 400:
                            stats.latencies.append(took)
                            stats.by_label.setdefault(label, []).append(took)
                        elif status not in EXPECTED:
                            stats.unexpected.append(f"{label} {path} -> {status}: {text}")

        def runaway_loop() -> None:
            threads = []
            while not stop.is_set():
                def one() -> None:
                    try:
                        r = httpx.get(base + "/sparql", params={"query": RUNAWAY}, timeout=120)
                        key = str(r.status_code)
                        if r.status_code not in EXPECTED:
                            with lock:
                                stats.unexpected.append(f"runaway -> {r.status_code}: {r.text[:200]}")
                    except httpx.HTTPError as exc:
                        key = type(exc).__name__
                        with lock:
                            stats.unexpected.append(f"runaway -> {key}")
                    with lock:
                        stats.runaways[key] = stats.runaways.get(key, 0) + 1
                t = threading.Thread(target=one, daemon=True)
                t.start()
                threads.append(t)
                stop.wait(runaway_every)
            for t in threads:
                t.join(120)

        workers = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
        rt = threading.Thread(target=runaway_loop) if with_runaways else None
        if rt:
            rt.start()
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        stop.set()
        if rt:
            rt.join()

    phase("steady", False)
    phase("runaway", True)
    return LoadReport({k: v.summary() for k, v in phases.items()},
                      {"url": base, "seconds": seconds, "clients": clients, "runaway_every": runaway_every,
                       "requests_in_mix": len(mix)})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path, env_overrides: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, **env_overrides}
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--store", str(store)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
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


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="total length (two phases of half each)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--runaway-every", type=float, default=10.0)
    ap.add_argument("--url", help="use this running server instead of starting one")
    ap.add_argument("--store", type=Path, default=Path("build/store"))
    ap.add_argument("--deadline", type=float, default=5.0, help="REMIT_QUERY_TIMEOUT of the started server")
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args(argv)
    proc = None
    base = args.url
    if base is None:
        if not args.store.is_dir():
            print(f"error: no built store at {args.store}: run `kg build` first", file=sys.stderr)
            return 2
        # the load comes from one address: lift the per-client budget so it measures the pool, not the budget
        proc, base = start_server(args.store, {"REMIT_QUERY_TIMEOUT": str(args.deadline),
                                               "REMIT_CLIENT_BUDGET_SECONDS": "100000"})
    try:
        report = run_load(base.rstrip("/"), args.seconds, args.clients, args.runaway_every)
    finally:
        if proc is not None:
            stop_server(proc)
    out = {"config": {**report.config, "deadline": args.deadline if proc else None,
                      "cpus": os.cpu_count()}, "phases": report.phases}
    print(f"{'phase':<8} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses  runaways")
    for name, p in report.phases.items():
        print(f"{name:<8} {p['requests']:>8} {p['p50_ms']!s:>8} {p['p99_ms']!s:>8}  {p['statuses']}  "
              f"{p['runaway_statuses']}")
    print(f"unexpected errors: {report.unexpected}")
    for name, p in report.phases.items():
        for line in p["unexpected"]:
            print(f"  {name}: {line}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 1 if report.unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
