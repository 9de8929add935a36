"""Every hand-written Turtle source is formatted canonically (`kg fmt`), so diffs show real changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.pipeline.load import format_turtle

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("data/**/*.ttl"), *ROOT.glob("ontology/**/*.ttl")])


def test_there_are_sources_to_check() -> None:
    assert len(SOURCES) >= 10


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_is_canonical(path: Path) -> None:
    current, canonical = format_turtle(path)
    assert current == canonical, f"{path.relative_to(ROOT)} is not formatted: run `kg fmt {path.relative_to(ROOT)}`"


def test_formatting_is_idempotent(tmp_path: Path) -> None:
    """Regression: nested blank nodes (citations) used to come out in a different order on each run."""
    src = ROOT / "data" / "bodies" / "responsibilities.ttl"
    once = tmp_path / "once.ttl"
    once.write_text(format_turtle(src)[1], encoding="utf-8")
    current, again = format_turtle(once)
    assert current == again


def test_unformatted_file_is_detected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:b ex:p ex:o .  ex:a   ex:p ex:o .\n", encoding="utf-8")
    current, canonical = format_turtle(bad)
    assert current != canonical
