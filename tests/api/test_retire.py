"""A query worker decides whether to retire before it sends an answer (the flag goes with the answer): it gives
freed memory back first only when its memory, as read, is over the limit. Regression: it did so before every
answer over 256 KiB, which took 25-40 ms of each 1,000-row page of the named queries at 100k (2026-12-05)."""

from __future__ import annotations

import pytest

from kg.api import workers

MiB = 1 << 20


@pytest.fixture()
def released(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(workers, "release_memory", lambda: calls.append(1))
    return calls


def test_under_the_limit_no_memory_is_given_back_before_sending(monkeypatch: pytest.MonkeyPatch, released: list[int]) -> None:
    monkeypatch.setattr(workers, "_rss", lambda: 500 * MiB)
    assert workers._retire_now(4 * MiB, base_rss=400 * MiB, max_growth=200 * MiB) is False
    assert released == []


def test_over_the_limit_memory_is_given_back_and_read_again(monkeypatch: pytest.MonkeyPatch, released: list[int]) -> None:
    readings = iter([700 * MiB, 500 * MiB])  # over before giving memory back, under after
    monkeypatch.setattr(workers, "_rss", lambda: next(readings))
    assert workers._retire_now(4 * MiB, base_rss=400 * MiB, max_growth=200 * MiB) is False
    assert released == [1]
    monkeypatch.setattr(workers, "_rss", lambda: 900 * MiB)  # still over after giving it back: retire
    assert workers._retire_now(4 * MiB, base_rss=400 * MiB, max_growth=200 * MiB) is True


def test_a_small_answer_over_the_limit_retires_without_giving_memory_back(monkeypatch: pytest.MonkeyPatch, released: list[int]) -> None:
    monkeypatch.setattr(workers, "_rss", lambda: 900 * MiB)
    assert workers._retire_now(1000, base_rss=400 * MiB, max_growth=200 * MiB) is True
    assert released == []


def test_no_limit_never_retires(monkeypatch: pytest.MonkeyPatch, released: list[int]) -> None:
    monkeypatch.setattr(workers, "_rss", lambda: 900 * MiB)
    assert workers._retire_now(4 * MiB, base_rss=400 * MiB, max_growth=0) is False
    assert workers._retire_now(4 * MiB, base_rss=0, max_growth=200 * MiB) is False


def test_memory_is_given_back_after_sending_only_past_half_the_growth_allowed_at_most_32_mib() -> None:
    assert workers._trim_above(256 << 20) == 32 << 20  # the default growth allowed (REMIT_WORKER_MAX_RSS_GROWTH_MB)
    assert workers._trim_above(8 << 20) == 4 << 20
    assert workers._trim_above(0) == 32 << 20
