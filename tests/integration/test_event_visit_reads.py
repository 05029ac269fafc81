"""Raw reports read each event's visit off the event (migration 0020), as `process` stores and
moves it: through functions/query/reports.py and funnel.py over real PostgreSQL, after writes
in `process`'s own statement."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from functions.core.events import ClickEvent
from functions.core.goals import goal
from functions.process.store import write_events
from functions.query import funnel, reports
from functions.query.dimensions import dimension
from functions.query.filters import Query, parse_filters
from functions.query.validate import Window
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

T0 = datetime(2025, 6, 1, 10, tzinfo=UTC)
SITE = "shop.example"


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database() as fresh:
        yield fresh


def click(event_id: str, minutes: int, user: str, page: str, session: str | None) -> ClickEvent:
    return ClickEvent(
        event_id=event_id,
        site=SITE,
        user_id=user,
        event_type="pageview",
        page_url=page,
        time_stamp=T0 + timedelta(minutes=minutes),
        session_id=session,
    )


def write(url: str, events: list[ClickEvent]) -> None:
    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await write_events(conn, events)

    asyncio.run(run())


def query(minutes: int, *filters: str) -> Query:
    return Query(Window(SITE, T0, T0 + timedelta(minutes=minutes)), parse_filters(filters))


def read(url: str, minutes: int, *filters: str) -> tuple[int, list[tuple[str, int, int]]]:
    """The visits under `filters` over [T0, T0 + minutes), and the breakdown of every event
    (all pageviews) as (value, events, visits)."""

    async def run() -> tuple[int, list[tuple[str, int, int]]]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            kpis = await reports.visits(conn, query(minutes, *filters))
            rows = await reports.breakdown(
                conn, query(minutes, *filters), dimension("event_type"), 10
            )
        return kpis.visits, [(r.value, r.events, r.visits) for r in rows]

    return asyncio.run(run())


def funnel_visitors(url: str, *steps: str) -> list[int]:
    async def run() -> list[int]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            answer = await funnel.funnel(
                conn, query(180), tuple(goal(step, "step") for step in steps)
            )
        return [step.visitors for step in answer]

    return asyncio.run(run())


def test_a_visit_passes_an_event_filter_by_an_event_of_the_range(url: str) -> None:
    # carol's session starts in the first hour on /a and reaches /b only in the second;
    # dave's visit is on /b in the first hour
    write(
        url, [click("c1", 10, "carol", "/a", "s-carol"), click("c2", 70, "carol", "/b", "s-carol")]
    )
    write(url, [click("d1", 20, "dave", "/b", None)])
    assert read(url, 60, "page:is:/b") == (1, [("pageview", 1, 1)])
    assert read(url, 120, "page:is:/b") == (2, [("pageview", 2, 2)])
    # a visit-level filter keeps every event of the visits entering on /a, in the range
    assert read(url, 120, "entry_page:is:/a") == (1, [("pageview", 2, 1)])


def test_a_late_event_that_moves_a_visits_start_moves_it_on_its_stored_events(url: str) -> None:
    write(url, [click("c1", 40, "carol", "/a", None), click("c2", 50, "carol", "/b", None)])
    write(url, [click("c3", 70, "carol", "/c", None)])
    assert read(url, 180) == (1, [("pageview", 3, 1)])
    # 25 minutes before the visit: its start moves; read as stored before the late event,
    # the three stored events would be a visit that no longer exists
    write(url, [click("c0", 15, "carol", "/start", None)])
    assert read(url, 180) == (1, [("pageview", 4, 1)])
    assert read(url, 180, "entry_page:is:/start") == (1, [("pageview", 4, 1)])
    assert funnel_visitors(url, "page:/start", "page:/a", "page:/c") == [1, 1, 1]
    # an event between two visits merges them: one visit, one path
    write(url, [click("d1", 100, "dave", "/a", None), click("d2", 160, "dave", "/c", None)])
    assert funnel_visitors(url, "page:/a", "page:/c") == [2, 1]
    write(url, [click("d3", 130, "dave", "/b", None)])
    assert funnel_visitors(url, "page:/a", "page:/c") == [2, 2]
    assert read(url, 180) == (2, [("pageview", 7, 2)])
