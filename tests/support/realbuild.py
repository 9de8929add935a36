"""The real graph, built once per test session into the project's own build/ (skipped when fresh).

Tests that need the real data call :func:`ensure_real_build`; nothing is skipped when no build exists:
the build is made.
"""

from __future__ import annotations

import fcntl
import functools
import json
from pathlib import Path

from kg.pipeline.build import Layout, build

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "ensure_real_build", "real_findings"]


@functools.lru_cache(maxsize=1)
def ensure_real_build() -> Path:
    """Build the real tree into ``build/`` unless it is up to date; return the build folder."""
    layout = Layout(root=ROOT)
    out = ROOT / "build"
    # one builder at a time when the suite runs in several processes (pytest -n): the others wait, then find it fresh
    with open(ROOT / ".build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            build(layout)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    assert (out / "store").is_dir() and (out / "report.json").is_file()
    return out


def real_findings() -> list[dict]:
    return json.loads((ensure_real_build() / "report.json").read_text(encoding="utf-8"))["findings"]
