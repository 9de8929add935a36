"""Debian's headless Chromium (never a downloaded one) through Playwright, launched in one place for every
browser test: the ``browser`` fixture (one Chromium per test module), registered in tests/publication/conftest.py
and tests/revision/conftest.py. Screenshots go to :data:`ARTIFACTS` (git-ignored).

Why a module, not the whole session: while Playwright's sync API is running, the thread counts as running an
asyncio loop, so a later test's ``asyncio.run`` or ``anyio.run`` would fail ("cannot be called from a running
event loop"). A module's Chromium is closed before the next module starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

__all__ = ["CHROMIUM", "ARGS", "ARTIFACTS", "browser"]

#: The Chromium binary: Debian's package (`make browser`), or $REMIT_CHROMIUM.
CHROMIUM = os.environ.get("REMIT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module's tests; each test opens its own page or context."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"no chromium at {CHROMIUM}: run `make browser` (apt-get install chromium)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
