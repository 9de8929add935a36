"""The search evaluation set (``tests/search/search-eval.yaml``) and recall@5 over it, shared by the tests and
``bench/search.py``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import yaml

EVAL_FILE = Path(__file__).with_name("search-eval.yaml")
ID = "https://w3id.org/remit/id/"

__all__ = ["EVAL_FILE", "Case", "Outcome", "load_cases", "evaluate", "threshold"]


@dataclass
class Case:
    q: str
    expect: list[str]
    first: Optional[str]
    why: str


@dataclass
class Outcome:
    case: Case
    top: list[str]            # the IRIs returned, best first (at most 5)

    @property
    def recall(self) -> float:
        return sum(1 for e in self.case.expect if e in self.top[:5]) / len(self.case.expect)

    @property
    def first_ok(self) -> bool:
        return self.case.first is None or (bool(self.top) and self.top[0] == self.case.first)


def _doc() -> dict:
    return yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))


def threshold() -> float:
    return float(_doc()["threshold"])


def load_cases() -> list[Case]:
    return [Case(c["q"], [ID + e for e in c["expect"]], ID + c["first"] if c.get("first") else None, c.get("why", ""))
            for c in _doc()["queries"]]


def evaluate(top5: Callable[[str], list[str]]) -> list[Outcome]:
    """Run every case through ``top5`` (text → IRIs, best first)."""
    return [Outcome(c, top5(c.q)[:5]) for c in load_cases()]
