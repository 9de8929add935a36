"""``bench.real`` (the real-data rows of ``make bench``) runs on a checkout with no ``build/``.

Regression: its ``kg publish`` read the default store (``build/store``) instead of the build it had just
made, so on a fresh clone ``make bench`` stopped at its first step ("no built store at build/store")."""

from __future__ import annotations

import os

from bench.real import bench_real, render_real


def test_bench_real_reads_its_own_build(monkeypatch, tmp_path):
    # the default store is somewhere that does not exist, as in a fresh clone
    monkeypatch.setenv("REMIT_STORE_PATH", str(tmp_path / "no-build" / "store"))
    r = bench_real(repeats=1, baselines=False)  # the reference engines and --jobs 1 add ~80 s, not the path
    assert set(r) == {"startup", "build", "check-first", "check", "publish"}
    assert all(v["median"] > 0 and v["n"] == 1 for v in r.values())
    table = render_real(r)
    assert "`kg build --force`" in table and "`kg publish --as-of 2025-01-01 DIR`" in table
    assert table.count("not run") == 3  # the baselines' cells
    assert not (tmp_path / "no-build").exists() and "REMIT_STORE_PATH" in os.environ
