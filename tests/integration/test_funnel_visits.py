"""The funnel over real PostgreSQL and process's own write statement, checked against the
funnel's definition applied in Python to the stored visits: visitors who return many times,
visits by session and by user, a window that starts inside visits, an event whose visit
holds no step, and the same step twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from functions.core.events import ClickEvent
from functions.core.goals import goals
from functions.process.store import write_events
from functions.query import funnel
from functions.query.filters import Query, parse_filters
from functions.query.validate import Window
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

SITE = "funnel.test"
DAY0 = datetime(2025, 3, 3, tzinfo=UTC)
# windows starting inside visits (checked below), the first ending inside the last day's
WINDOWS = [
    Window(SITE, DAY0 + timedelta(hours=7, minutes=13), DAY0 + timedelta(days=3, hours=5)),
    *(
        Window(SITE, DAY0 + n * timedelta(minutes=397), DAY0 + timedelta(days=5))
        for n in range(1, 9)
    ),
]
PAGES = ["/", "/a", "/b", "/c"]
STEPS = (
    ("page:/a", "page:/b", "event_type:signup", "page:/c"),
    ("page:/b", "page:/a"),
    ("page:/a", "page:/a", "page:/a"),
)


def _world() -> list[ClickEvent]:
    """~2,000 events: 12 people with up to dozens of visits each (a few who come back very
    often), 40 % of visits in sessions, events 1-50 minutes apart."""
    rng = random.Random(7)
    events: list[ClickEvent] = []
    for n in range(400):
        user = f"u{min(int(rng.expovariate(0.4)), 11)}"
        session = f"s{n}" if rng.random() < 0.4 else None
        at = DAY0 + timedelta(minutes=rng.randrange(4 * 24 * 60))
        for step in range(rng.randint(1, 9)):
            events.append(
                ClickEvent(
                    event_id=f"e{n}-{step}",
                    user_id=user,
                    event_type="signup" if rng.random() < 0.2 else "pageview",
                    page_url=rng.choice(PAGES),
                    time_stamp=at,
                    session_id=session,
                    site=SITE,
                )
            )
            at += timedelta(minutes=rng.randint(1, 50))
    return events


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[str, list[ClickEvent]]]:
    events = _world()

    async def write(url: str) -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            shuffled = random.Random(8).sample(events, len(events))  # late events merge visits
            for first in range(0, len(shuffled), 40):
                await write_events(conn, shuffled[first : first + 40])

    with fresh_database() as url:
        asyncio.run(write(url))
        yield url, events


def _matches(step: str, event: ClickEvent) -> bool:
    kind, _, value = step.partition(":")
    return (event.page_url if kind == "page" else event.event_type) == value


def _expected(
    window: Window, visits: list[tuple[Any, ...]], events: list[ClickEvent], steps: tuple[str, ...]
) -> list[int]:
    """Per step, the people with a visit holding steps 1..n in order, among the window's
    events: each event in the stored visit of its key that spans its time."""
    held: dict[tuple[str, datetime], list[ClickEvent]] = {}
    for event in events:
        at = event.time_stamp
        assert at is not None  # every event of the world is given its time
        if not window.start <= at < window.end:
            continue
        key = f"s:{event.session_id}" if event.session_id else f"u:{event.user_id}"
        for visit_key, started, ended, _ in visits:
            if visit_key == key and started <= at <= ended:
                held.setdefault((visit_key, started), []).append(event)
    users = {(key, started): user for key, started, _, user in visits}
    reached: list[set[str]] = [set() for _ in steps]
    for visit, its_events in held.items():
        its_events.sort(key=lambda e: (e.time_stamp or window.start, e.event_id))
        position = -1
        for n, step in enumerate(steps):
            position = next(
                (i for i, e in enumerate(its_events) if i > position and _matches(step, e)), -1
            )
            if position < 0:
                break
            reached[n].add(users[visit])
    return [len(people) for people in reached]


@pytest.mark.parametrize("steps", STEPS)
def test_the_funnel_follows_its_definition_over_the_stored_visits(
    world: tuple[str, list[ClickEvent]], steps: tuple[str, ...]
) -> None:
    url, events = world

    async def read() -> tuple[list[list[int]], list[tuple[Any, ...]]]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            answers = [
                await funnel.funnel(
                    conn, Query(window, parse_filters([])), goals(list(steps), "step", 2, 8)
                )
                for window in WINDOWS
            ]
            cursor = await conn.execute(
                "SELECT visit_key, started_at, ended_at, user_id FROM visits WHERE site = %s",
                (SITE,),
            )
            return [[s.visitors for s in answer] for answer in answers], await cursor.fetchall()

    got, visits = asyncio.run(read())
    for window in WINDOWS:
        assert any(started < window.start < ended for _, started, ended, _ in visits)
    assert max(sum(key == f"u:{u}" for key, *_ in visits) for u in ("u0", "u1")) > 20
    assert got == [_expected(window, visits, events, steps) for window in WINDOWS]
    assert got[0][0] > 5
