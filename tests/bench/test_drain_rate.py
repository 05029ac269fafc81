"""The pipeline benchmark's drain: waited for through `process`'s count of stored events,
timed by the transactions that stored them (real PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from functions.bench.scenarios import pipeline
from tests.fixtures.services import fresh_database

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def counts(*seen: float) -> Callable[[], Awaitable[float]]:
    """A stored-so-far count that reports `seen` at successive polls, then the last forever."""
    polls = iter(seen)

    async def stored_so_far() -> float:
        return next(polls, seen[-1])

    return stored_so_far


def wait(*seen: float, all_stored: bool = True, events: int = 1_000) -> bool | None:
    return asyncio.run(pipeline.drained(counts(*seen), lambda: all_stored, events))


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "POLL_S", 0.01)
    monkeypatch.setattr(pipeline, "_drain_timeout", lambda _: 0.2)


@pytest.mark.usefixtures("quick_polls")
def test_a_drain_ends_once_every_event_is_counted_and_stored() -> None:
    assert wait(0, 400, 1_000) is True


@pytest.mark.usefixtures("quick_polls")
def test_a_count_not_confirmed_by_the_table_waits_for_the_timeout() -> None:
    assert wait(1_000, all_stored=False) is False


@pytest.mark.usefixtures("quick_polls")
def test_a_drain_stuck_part_way_is_partial_and_one_that_never_moved_is_none() -> None:
    assert wait(0, 300) is False
    assert wait(0) is None


@pytest.fixture(scope="module")
def events_database() -> Iterator[str]:
    """A database of its own: these rows have no aggregates, which other tests compare."""
    with fresh_database() as url:
        yield url


def store(url: str, prefix: str, groups: list[tuple[int, float]]) -> None:
    """Insert `count` events of run `prefix` per group, as stored `offset_s` after START."""
    with psycopg.connect(url, autocommit=True) as conn:
        serial = 0
        for count, offset_s in groups:
            at = START + timedelta(seconds=offset_s)
            for _ in range(count):
                conn.execute(
                    "INSERT INTO click_events (event_id, user_id, event_type, page_url, "
                    "time_stamp, received_at) VALUES (%s, 'u', 'click', '/', %s, %s)",
                    (f"{prefix}-{serial}", at, at),
                )
                serial += 1


def test_the_rate_runs_from_the_first_storing_transaction_to_the_last(
    events_database: str,
) -> None:
    store(events_database, "bench-a", [(100, 0.0), (200, 1.0), (300, 4.0)])
    store(events_database, "bench-other", [(50, 10.0)])  # another run: not counted
    # the first group marks the start; 500 events follow it over 4 s
    assert pipeline.commit_rate(events_database, "bench-a") == pytest.approx(125.0)


def test_a_run_stored_in_one_transaction_has_no_rate(events_database: str) -> None:
    store(events_database, "bench-b", [(40, 2.0)])
    assert pipeline.commit_rate(events_database, "bench-b") is None
