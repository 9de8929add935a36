"""``make bench`` (search part): recall@5 of the evaluation set and the latency of ``GET /search``.

Usage::

    python -m bench.search                       # the real build (build/, built if stale)
    python -m bench.search --rounds 10 --date 2026-12-02
    python -m bench.search --build /tmp/synth-1m/build   # latency and index time on another build (no recall)

Measures, on one build:

* **recall@5** and first-place accuracy over ``tests/search/search-eval.yaml`` (the queries the tests run),
  in process (:func:`kg.search.query.search`) — only for the real build, whose resources the set names;
* **index** — seconds to write ``search.sqlite`` from the built store (:func:`kg.search.index.write_index`),
  its rows and size;
* **latency** — every query of the set, ``--rounds`` times, in process and over HTTP against ``kg serve``
  (JSON and the HTML page), sequentially on loopback: p50 and p95 in milliseconds.

Prints a Markdown table and writes ``bench/results/search-<date>.json``. The server is stopped by its PID.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))

from search.evaluation import evaluate, load_cases, threshold  # noqa: E402  (the tests' evaluation set)

__all__ = ["main", "bench_search", "TARGETS"]

#: What the search should meet (issue 14 and the hardening issue 16: bounded and fast).
TARGETS = {"recall_at_5": threshold(), "http_p95_ms": 100.0}


def _pct(values: Sequence[float], p: float) -> float:
    vals = sorted(values)
    return vals[min(len(vals) - 1, max(0, int(round(p * len(vals) + 0.5)) - 1))]


def _lat(values: Sequence[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(_pct(ms, 0.95), 2),
            "max_ms": round(max(ms), 2), "n": len(ms)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(build: Path, log: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    env = {**os.environ, "REMIT_STORE_PATH": str(build / "store"), "REMIT_BUILD_DIR": str(build),
           "REMIT_QUERIES_DIR": str(ROOT / "queries"), "REMIT_WORKERS": "1",
           "REMIT_CLIENT_BUDGET_SECONDS": "1000000"}
    env.pop("REMIT_PUBLIC_BASE_URL", None)
    proc = subprocess.Popen([str(BIN / "kg"), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"kg serve exited; see {log}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    _stop(proc)
    raise RuntimeError(f"kg serve did not start; see {log}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def bench_search(build: Path, rounds: int, real: bool) -> dict[str, Any]:
    import httpx

    from kg.rdf.store import open_store
    from kg.search.index import INDEX_FILE, write_index
    from kg.search.query import search

    index = build / INDEX_FILE
    out: dict[str, Any] = {"build": str(build)}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(build / "store")
        t = time.perf_counter()
        rows = write_index(store, Path(tmp) / INDEX_FILE)
        out["index"] = {"seconds": round(time.perf_counter() - t, 3), "rows": rows,
                        "bytes": (Path(tmp) / INDEX_FILE).stat().st_size}
        del store
    queries = [c.q for c in load_cases()]
    if real:
        outcomes = evaluate(lambda q: [h.iri for h in search(index, q, 5).hits])
        out["recall_at_5"] = round(sum(o.recall for o in outcomes) / len(outcomes), 4)
        firsts = [o for o in outcomes if o.case.first]
        out["first_ok"] = f"{sum(o.first_ok for o in firsts)}/{len(firsts)}"
        out["queries"] = len(outcomes)
        out["misses"] = [o.case.q for o in outcomes if o.recall < 1]
    times = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            search(index, q, 10)
            times.append(time.perf_counter() - t)
    out["in_process"] = _lat(times)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _serve(build, Path(tmp) / "serve.log")
        try:
            with httpx.Client(base_url=url, timeout=30) as c:
                for q in queries[:5]:  # warm up: first requests open the index and load templates
                    c.get("/search", params={"q": q, "format": "json"})
                    c.get("/search", params={"q": q}, headers={"accept": "text/html"})
                for fmt in ("json", "html"):
                    times, statuses = [], set()
                    for _ in range(rounds):
                        for q in queries:
                            params = {"q": q, "format": "json"} if fmt == "json" else {"q": q}
                            t = time.perf_counter()
                            r = c.get("/search", params=params, headers={"accept": "text/html"})
                            times.append(time.perf_counter() - t)
                            statuses.add(r.status_code)
                    out[f"http_{fmt}"] = {**_lat(times), "statuses": sorted(statuses)}
        finally:
            _stop(proc)
    return out


def render(r: dict[str, Any]) -> str:
    def met(ok: bool) -> str:
        return "met" if ok else "missed"

    lines = ["| what | result | target | |", "| --- | --- | --- | --- |"]
    if "recall_at_5" in r:
        lines.append(f"| recall@5 over {r['queries']} queries (tests/search/search-eval.yaml) | {r['recall_at_5']:.3f} "
                     f"(first place {r['first_ok']}) | ≥ {TARGETS['recall_at_5']} | "
                     f"{met(r['recall_at_5'] >= TARGETS['recall_at_5'])} |")
    ix = r["index"]
    lines.append(f"| index: write search.sqlite from the store | {ix['seconds']:.2f} s, {ix['rows']} rows, "
                 f"{ix['bytes'] / 1024:.0f} KiB | | |")
    ip = r["in_process"]
    lines.append(f"| search() in process, p50 / p95 | {ip['p50_ms']:.1f} / {ip['p95_ms']:.1f} ms | | |")
    for fmt in ("json", "html"):
        h = r[f"http_{fmt}"]
        lines.append(f"| GET /search ({fmt.upper()}), p50 / p95 ({h['n']} requests) | {h['p50_ms']:.1f} / "
                     f"{h['p95_ms']:.1f} ms | p95 ≤ {TARGETS['http_p95_ms']:.0f} ms | "
                     f"{met(h['p95_ms'] <= TARGETS['http_p95_ms'] and h['statuses'] == [200])} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path, default=None, help="A build folder (default: the real build, built if stale).")
    ap.add_argument("--rounds", type=int, default=5, help="Times each query of the set is sent (default 5).")
    ap.add_argument("--date", default=dt.date.today().isoformat(), help="Date for the results file name.")
    args = ap.parse_args(argv)
    real = args.build is None
    if real:
        from kg.pipeline.build import Layout, build

        build(Layout(root=ROOT))
        folder = ROOT / "build"
    else:
        folder = args.build
    with tempfile.TemporaryDirectory() as tmp:  # a copy: a rebuild of build/ during the bench changes nothing
        copy = Path(tmp) / "build"
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("publication-cache"))
        result = bench_search(copy, args.rounds, real)
    result["build"] = str(folder)
    result["date"] = args.date
    print(render(result))
    out = ROOT / "bench" / "results" / f"search-{args.date}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
