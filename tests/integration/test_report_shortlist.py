"""The shortlist of the roll-up breakdowns (functions/query/report_rollups.py) over real
PostgreSQL: more values than the shortlist holds, the shortlist chosen by events summed over
roll-ups and raw parts alike, and each shortlisted value's counts exact whatever parts its
events and visitors come from."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from functions.core.events import ClickEvent
from functions.process.roller import build_pending
from functions.process.store import write_events
from functions.query import report_rollups, reports
from functions.query.dimensions import DIMENSIONS
from functions.query.filters import Query
from functions.query.validate import Window
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

SITE = f"s{uuid.uuid4().hex[:8]}.test"
DAY = datetime(2025, 3, 3, tzinfo=UTC)
# a whole day (its day roll-up) and 30 minutes after it (raw)
WINDOW = Window(SITE, DAY, DAY + timedelta(days=1, minutes=30))
EDGE = DAY + timedelta(days=1)  # the raw minutes' start
LONG_AGO = DAY + timedelta(days=365)  # a `now` for which every hour of the data is closed
PAGE = DIMENSIONS["page"]
Row = tuple[str, int, int, int]


def _event(n: int, page: str, user: str, at: datetime) -> ClickEvent:
    return ClickEvent(
        event_id=f"{page}-{n}", user_id=user, event_type="pageview", page_url=page,
        time_stamp=at, site=SITE,
    )  # fmt: skip


def _world() -> list[ClickEvent]:
    """Pages `/p00`-`/p54` of one user each, 100 events down to 73 by pairs of equal counts
    (ties at the shortlist's edge); `/p55`, 3 users, 70 events in the day and 7 in the raw
    minutes: 50th by events with the raw ones (ahead of `/p48` by the tie's value order), 57th
    without; `/wide`, 45 events of 45 users, 58th and last by events; `/split`, the most
    eventful, of users 0-59 in the day and 40-99 in the raw minutes (100 visitors)."""
    events: list[ClickEvent] = []
    for page in range(55):
        for n in range(100 - page // 2):
            at = DAY + timedelta(minutes=(page * 11 + n * 7) % (23 * 60))
            events.append(_event(n, f"/p{page:02}", f"solo{page}", at))
    for n in range(77):
        at = DAY + timedelta(hours=2, minutes=n) if n < 70 else EDGE + timedelta(minutes=n - 70)
        events.append(_event(n, "/p55", f"trio{n % 3}", at))
    events += [
        _event(n, "/wide", f"wide{n}", DAY + timedelta(hours=5, minutes=n)) for n in range(45)
    ]
    for n in range(200):
        if n < 100:
            user, at = n % 60, DAY + timedelta(hours=9, minutes=n)
        else:
            user, at = 40 + n % 60, EDGE + timedelta(minutes=n % 30)
        events.append(_event(n, "/split", f"u{user}", at))
    return events


async def _load(url: str, events: list[ClickEvent]) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for first in range(0, len(events), 100):
            await write_events(conn, events[first : first + 100])
        await build_pending(conn, LONG_AGO)


@pytest.fixture(scope="module")
def world() -> Iterator[str]:
    with fresh_database() as url:
        asyncio.run(_load(url, _world()))
        yield url


async def _answers(url: str, limit: int) -> tuple[list[Row], list[Row]]:
    """(the roll-up breakdown by page, every page's exact row from raw events)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        rolled = await report_rollups.breakdown(conn, WINDOW, PAGE, limit)
        exact = await reports.breakdown(conn, Query(WINDOW), PAGE, 1000)
    return (
        [(r.value, r.events, r.visitors, r.visits) for r in rolled],
        [(r.value, r.events, r.visitors, r.visits) for r in exact],
    )


def _shortlisted(exact: list[Row], limit: int) -> list[Row]:
    """The shortlist rule: the most eventful values (ties by value), ranked by visitors."""
    size = max(limit * report_rollups.SHORTLIST_FACTOR, report_rollups.SHORTLIST_MIN)
    shortlist = sorted(exact, key=lambda row: (-row[1], row[0]))[:size]
    return sorted(shortlist, key=lambda row: (-row[2], -row[1], row[0]))[:limit]


@pytest.mark.parametrize("limit", [1, 2, 10, 11, 12, 1000])
def test_the_shortlist_holds_the_most_eventful_values_counted_exactly(
    world: str, limit: int
) -> None:
    rolled, exact = asyncio.run(_answers(world, limit))
    assert len(exact) == 58
    assert rolled == _shortlisted(exact, limit)
    pages = {row[0]: row for row in rolled}
    assert pages["/split"][1:3] == (200, 100)  # events and visitors of day and raw minutes
    if limit == 2:  # `/p55` is shortlisted by its raw events, and second by visitors
        assert [row[0] for row in rolled] == ["/split", "/p55"]
    # `/wide` is second by visitors, but shortlisted only from a limit of 12 (60 values)
    assert ("/wide" in pages) == (limit >= 12)


def test_a_late_event_reads_its_hour_raw_beside_the_hour_roll_ups(world: str) -> None:
    # the day is no longer current: its hours read their roll-ups, the late event's raw
    late = DAY + timedelta(hours=9, minutes=30)
    asyncio.run(_write(world, _event(200, "/split", "late-user", late)))
    rolled, exact = asyncio.run(_answers(world, 12))
    assert rolled == _shortlisted(exact, 12)
    assert rolled[0][:3] == ("/split", 201, 101)


async def _write(url: str, event: ClickEvent) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await write_events(conn, [event])


def _ranked_world() -> list[ClickEvent]:
    """Two days, each with RANKED values of 3 events (one user each) of its own, and `/deep`:
    2 events of 2 users each day, so ranked just below them both days, while first over the
    two days by events (4) and by visitors (4)."""
    ranked = report_rollups.RANKED
    events: list[ClickEvent] = []
    for day in range(2):
        start = DAY + timedelta(days=day)
        for value in range(ranked):
            page = f"/d{day}-{value:03}"
            events += [_event(n, page, page, start + timedelta(minutes=n)) for n in range(3)]
        events += [
            _event(day * 2 + n, "/deep", f"deep{day * 2 + n}", start + timedelta(hours=1))
            for n in range(2)
        ]
    return events


async def _deep_answers(url: str) -> tuple[list[str], list[str]]:
    two_days = Window(SITE, DAY, DAY + timedelta(days=2))
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        short = await report_rollups.breakdown(conn, two_days, PAGE, 10)
        every = await report_rollups.breakdown(conn, two_days, PAGE, 1000)
    return [row.value for row in short], [row.value for row in every]


def test_the_shortlist_sums_each_buckets_ranked_values_only() -> None:
    with fresh_database() as url:
        asyncio.run(_load(url, _ranked_world()))
        short, every = asyncio.run(_deep_answers(url))
    # never among a day's RANKED most eventful: not shortlisted from the roll-ups...
    assert "/deep" not in short
    assert short == sorted(f"/d0-{n:03}" for n in range(10))  # 1 visitor, 3 events each
    # ...unless the shortlist is longer than the ranks kept, which sums every value
    assert every[0] == "/deep"
    assert len(every) == 2 * report_rollups.RANKED + 1
