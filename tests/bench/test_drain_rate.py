"""The pipeline benchmark's drain: waited for through `process`'s count of stored events,
timed by the transactions that stored them (real PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from functions.bench.scenarios import pipeline
from functions.core.events import ClickEvent
from functions.process.store import write_events
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


def test_process_stamps_each_group_with_its_transaction_start(events_database: str) -> None:
    """What `commit_rate` relies on: `write_events` leaves `received_at` to the database, so
    the events of one group share their transaction's start and the next group's is later."""
    groups = [
        [
            ClickEvent(
                event_id=f"bench-c-{g}-{n}",
                user_id=f"u{n}",
                event_type="click",
                page_url=f"/p{n % 3}",
                time_stamp=START,
            )
            for n in range(25)
        ]
        for g in range(2)
    ]

    async def write() -> None:
        for group in groups:
            async with await psycopg.AsyncConnection.connect(events_database) as conn:
                await conn.set_autocommit(True)  # one transaction per group: as `process`
                await write_events(conn, group)

    asyncio.run(write())
    with psycopg.connect(events_database) as conn:
        stamps = conn.execute(
            "SELECT split_part(event_id, '-', 3), count(DISTINCT received_at), min(received_at)"
            " FROM click_events WHERE event_id LIKE 'bench-c-%' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [(group, distinct) for group, distinct, _ in stamps] == [("0", 1), ("1", 1)]
    assert stamps[0][2] < stamps[1][2]
    assert pipeline.commit_rate(events_database, "bench-c") == pytest.approx(
        25 / (stamps[1][2] - stamps[0][2]).total_seconds()
    )
