"""The pipeline benchmark's drain rate, from `process`'s count of stored events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from functions.bench.scenarios import pipeline


def counts(*seen: float) -> Callable[[], Awaitable[float]]:
    """A stored-so-far count that reports `seen` at successive polls, then the last forever."""
    polls = iter(seen)

    async def stored_so_far() -> float:
        return next(polls, seen[-1])

    return stored_so_far


def rate(*seen: float, events: int = 1_000) -> tuple[float, bool] | None:
    return asyncio.run(pipeline.drain_rate(counts(*seen), lambda: True, events))


def test_a_drain_within_one_poll_is_timed_from_the_last_poll_that_saw_nothing() -> None:
    drained = rate(0, 0, 1_000)
    assert drained is not None
    measured, complete = drained
    # all 1,000 stored within one poll interval: at most 1,000 per interval, never 0
    assert 1_000 / (2 * pipeline.POLL_S) < measured <= 1_000 / pipeline.POLL_S
    assert complete


def test_a_drain_seen_under_way_is_timed_from_its_first_sighting() -> None:
    drained = rate(0, 100, 600, 1_000)
    assert drained is not None
    measured, _ = drained
    # 900 events over the two poll intervals after the first sighting
    assert 900 / (3 * pipeline.POLL_S) < measured <= 900 / (2 * pipeline.POLL_S)


def test_nothing_stored_before_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "_drain_timeout", lambda _: 3 * pipeline.POLL_S)
    assert rate(0) is None
