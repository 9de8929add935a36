"""Regression: an answer larger than a pipe buffer arrives from the worker in parts.

uvloop's ``add_reader`` leaves the worker pipe non-blocking, so reading a large answer half-arrived
failed with EAGAIN and was reported as a crashed worker (500, worker replaced). Each answer here is a
few hundred kilobytes, well over the 64 KB a pipe holds, and must come back whole every time."""

from __future__ import annotations

import httpx

# 20 rows (the test server's row limit) of about 30 KB each, built by CONCAT from a short string
BIG = ("SELECT ?n ?text WHERE { VALUES ?n { " + " ".join(str(i) for i in range(20)) + " } "
       'BIND(CONCAT(STR(?n), "' + "x" * 100 + '") AS ?a) '
       "BIND(CONCAT(" + ", ".join(["?a"] * 10) + ") AS ?b) "
       "BIND(CONCAT(" + ", ".join(["?b"] * 10) + ") AS ?c) "
       "BIND(CONCAT(" + ", ".join(["?c"] * 3) + ") AS ?text) }")


def test_answers_larger_than_a_pipe_buffer_come_back_whole(server) -> None:
    for _ in range(4):  # a fresh evaluation each time (no cache), on whichever worker is free
        r = httpx.post(server.url + "/sparql", data={"query": BIG}, timeout=60,
                       headers={"Accept": "application/sparql-results+json", "Cache-Control": "no-cache"})
        assert r.status_code == 200, r.text[:300]
        rows = r.json()["results"]["bindings"]
        assert len(rows) == 20 and len(r.content) > 256 * 1024
