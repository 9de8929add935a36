"""Throughput of small SPARQL lookups on loopback: Remit (cached, revalidated, uncached) beside the
Oxigraph server and rdflib-endpoint, on the real build (``build/store``, ``build/remit.trig``).

    python -m bench.throughput --seconds 15 --clients 8 [--build build] [--json FILE]

Each server runs alone (one after the other), answering ``SELECT ?p ?o WHERE { <IRI> ?p ?o }``:

* **uncached**: a different IRI (so a different query text) on every request — every server evaluates it
  (Remit once its query workers have copied the store into memory, as ``make bench`` measures it);
* **cached**: the same query every time — Remit answers from its response cache;
* **304** (Remit): the same query with ``If-None-Match`` set to the ETag it was given.

The load generator is :func:`bench.httpload.run` (raw HTTP/1.1 keep-alive over asyncio, one connection per
client): httpx's client costs a few milliseconds of CPU per request, which on 2 cores caps every server
at about 200 req/s and measures the client instead of the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence
from urllib.parse import urlencode

from bench.httpload import get_request, run as run_load
from bench.run import BIN, ROOT, _free_port, _start, _start_from_memory, _stop

__all__ = ["main", "measure"]

LOOKUP = "SELECT ?p ?o WHERE {{ <{}> ?p ?o }}"
ACCEPT = "Accept: application/sparql-results+json\r\n"


def _subjects(store: Path) -> list[str]:
    import pyoxigraph as ox

    st = ox.Store.read_only(str(store))
    subs = sorted({q["s"].value for q in st.query(
        "SELECT DISTINCT ?s WHERE { GRAPH ?g { ?s a ?t } FILTER(isIRI(?s)) }")})
    del st
    return subs


def _requests(url: str, texts: list[str], extra: str = ACCEPT) -> list[bytes]:
    return [get_request(url + "?" + urlencode({"query": t}), extra) for t in texts]


def _etag(url: str, text: str) -> str:
    import httpx

    r = httpx.get(url, params={"query": text}, headers={"Accept": "application/sparql-results+json"}, timeout=30)
    r.raise_for_status()
    return r.headers["etag"]


def measure(build: Path, work: Path, clients: int, seconds: float) -> dict[str, Any]:
    subs = _subjects(build / "store")
    same = LOOKUP.format("https://w3id.org/remit/id/body/cqc" if "https://w3id.org/remit/id/body/cqc" in subs
                         else subs[0])
    varied = [LOOKUP.format(s) for s in subs]
    out: dict[str, Any] = {"subjects": len(subs), "clients": clients, "seconds": seconds,
                           "loadavg_before": os.getloadavg()}

    def phase(url: str, reqs: list[bytes]) -> dict[str, Any]:
        return asyncio.run(run_load(url, reqs, clients, seconds))

    # ---- Remit: as configured by default, then without the access log (one write per request)
    for label, extra in (("remit", {}), ("remit (access log off)", {"REMIT_ACCESS_LOG": "false"})):
        port = _free_port()
        env = {**os.environ, "REMIT_STORE_PATH": str(build / "store"), "REMIT_BUILD_DIR": str(build),
               "REMIT_PORT": str(port), "REMIT_HOST": "127.0.0.1", "REMIT_QUERIES_DIR": str(ROOT / "queries"),
               "REMIT_CLIENT_BUDGET_SECONDS": "1000000", **extra}
        url = f"http://127.0.0.1:{port}/sparql"
        # measured as it serves once started: each query worker's copy of the store in memory made (as make bench)
        proc, _, out.setdefault("copy_wait_s", {})[label] = _start_from_memory(env, url + "?query=ASK%7B%7D", 120,
                                                                               work / "remit.log")
        try:
            res: dict[str, Any] = {"uncached": phase(url, _requests(url, varied))}
            res["cached"] = phase(url, _requests(url, [same]))
            tag = _etag(url, same)
            res["304"] = phase(url, _requests(url, [same], ACCEPT + f"If-None-Match: {tag}\r\n"))
            out[label] = res
        finally:
            _stop(proc)

    # ---- Oxigraph server (the same quads; union default graph, as Remit's default graph is a union)
    oxdir = work / "oxigraph"
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(oxdir), "--file", str(build / "remit.trig")],
                   check=True, capture_output=True, timeout=600)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/query"
    proc, _ = _start([str(BIN / "oxigraph"), "serve-read-only", "--location", str(oxdir), "--union-default-graph",
                      "--bind", f"127.0.0.1:{port}"], None, url + "?query=ASK%7B%7D", 120, work / "oxigraph.log")
    try:
        out["oxigraph"] = {"uncached": phase(url, _requests(url, varied)), "cached": phase(url, _requests(url, [same]))}
    finally:
        _stop(proc)

    # ---- rdflib-endpoint
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    proc, _ = _start([str(BIN / "rdflib-endpoint"), "serve", str(build / "remit.trig"), "--host", "127.0.0.1",
                      "--port", str(port)], None, url + "?query=ASK%7B%7D", 300, work / "rdflib-endpoint.log")
    try:
        out["rdflib-endpoint"] = {"uncached": phase(url, _requests(url, varied)),
                                  "cached": phase(url, _requests(url, [same]))}
    finally:
        _stop(proc)
    out["loadavg_after"] = os.getloadavg()
    return out


def _cell(r: Optional[dict[str, Any]]) -> str:
    if not r:
        return "–"
    p50 = f", p50 {r['p50_ms']:.1f} ms" if r.get("p50_ms") is not None else ""
    err = f", {r['errors']} errors" if r.get("errors") else ""
    return f"{r['rps']:,.0f} req/s{p50}{err}"


def render(res: dict[str, Any]) -> str:
    remit, quiet, ox, rd = res["remit"], res["remit (access log off)"], res["oxigraph"], res["rdflib-endpoint"]
    lines = ["| lookup | Remit (default) | Remit, access log off | Oxigraph server | rdflib-endpoint |",
             "| --- | --- | --- | --- | --- |",
             f"| uncached (new IRI each request) | {_cell(remit['uncached'])} | {_cell(quiet['uncached'])} | "
             f"{_cell(ox['uncached'])} | {_cell(rd['uncached'])} |",
             f"| repeated (same query) | {_cell(remit['cached'])} (cache hit) | {_cell(quiet['cached'])} (cache hit) | "
             f"{_cell(ox['cached'])} | {_cell(rd['cached'])} |",
             f"| repeated with If-None-Match | {_cell(remit['304'])} (304) | {_cell(quiet['304'])} (304) | – | – |"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="remit-throughput-"))
    try:
        t0 = time.time()
        res = measure(args.build.resolve(), work, args.clients, args.seconds)
        res["started"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0))
        res["cpus"] = os.cpu_count()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["table"] = render(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(f"{res['started']}, {res['cpus']} CPUs, load average before "
                     f"{' '.join(f'{x:.2f}' for x in res['loadavg_before'])}, after "
                     f"{' '.join(f'{x:.2f}' for x in res['loadavg_after'])}; {args.clients} clients × "
                     f"{args.seconds:g} s each\n\n" + res["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
