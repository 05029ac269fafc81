"""Span roll-ups (migrations 0021 and 0022, functions/query/rollup_spans.py) over real
PostgreSQL: a range's whole days, and the built hours after them, read from their span answer
what the raw reads answer; a late event makes the span stale (reads take the aligned buckets,
and a build waits for the roller), an event in the hour still filling does not; a span of
hours replaces the shorter ones of its day; the roller drops spans a day old, and a site
keeps a bounded number; and `query` builds the span a read asks for."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.events import ClickEvent
from functions.core.spans import Run
from functions.process.roller import build_pending
from functions.process.store import write_events
from functions.query import report_rollups, reports, rollup_spans
from functions.query.filters import Query
from functions.query.report_rows import ROLLED_UP
from functions.query.validate import Window
from tests.fixtures.query_server import running_query
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

SITE = f"s{uuid.uuid4().hex[:8]}.test"
DAY0 = datetime(2025, 6, 10, tzinfo=UTC)
# six whole days (no aligned bucket: 2025-06-10 is no 4-day boundary), hours and minutes
# on each side
WINDOW = Window(SITE, DAY0 - timedelta(hours=1, minutes=30), DAY0 + timedelta(days=6, minutes=45))
DAYS = Run("day", DAY0, DAY0 + timedelta(days=6))
LONG_AGO = DAY0 + timedelta(days=365)  # a `now` for which every hour of the data is closed
Conn = psycopg.AsyncConnection[Any]


def _world() -> list[ClickEvent]:
    """~700 events of 40 users over eight days: visits of 1-8 events minutes apart, every
    dimension varied."""
    rng = random.Random(21)
    events: list[ClickEvent] = []
    for n in range(160):
        user = f"user{rng.randrange(40)}"
        at = WINDOW.start - timedelta(hours=3) + timedelta(minutes=rng.randrange(8 * 24 * 60))
        fields: dict[str, Any] = {
            "browser": rng.choice(["Firefox", "Chrome", None]),
            "country": rng.choice(["DE", "US", None]),
            "referrer_host": rng.choice(["google.com", None]),
            "utm_campaign": rng.choice(["spring", None]),
        }
        for step in range(rng.randint(1, 8)):
            events.append(
                ClickEvent(
                    event_id=f"e{n}-{step}",
                    user_id=user,
                    event_type=rng.choice(["pageview", "signup"]),
                    page_url=rng.choice(["/", "/pricing", "/docs"]),
                    time_stamp=at,
                    session_id=f"s{n}" if n % 2 else None,
                    site=SITE,
                    **fields,
                )
            )
            at += timedelta(minutes=rng.randint(1, 20))
    return events


async def _write(url: str, events: list[ClickEvent]) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for first in range(0, len(events), 50):
            await write_events(conn, events[first : first + 50])


async def _rows(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall()


async def _roll(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await build_pending(conn, LONG_AGO)


async def _span(url: str, span: Run = DAYS, now: datetime = LONG_AGO) -> bool:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await rollup_spans.build(conn, SITE, span, now)


def _spans(url: str) -> list[tuple[str, datetime]]:
    return [
        (grain, bucket)
        for grain, bucket in asyncio.run(
            _rows(
                url,
                "SELECT grain, bucket FROM rollup_builds WHERE site = %s AND grain LIKE %s"
                " ORDER BY bucket",
                SITE,
                "% span",
            )
        )
    ]


def _forget_spans(url: str) -> None:
    for table in ("rollup_builds", "report_rollups"):
        asyncio.run(_rows(url, f"DELETE FROM {table} WHERE grain LIKE '%% span' RETURNING 1"))


@pytest.fixture(scope="module")
def world() -> Iterator[str]:
    with fresh_database() as url:
        asyncio.run(_write(url, _world()))
        asyncio.run(_roll(url))
        yield url


async def _same_answers(url: str, window: Window = WINDOW, now: datetime = LONG_AGO) -> None:
    """Every rolled-up dimension's breakdown and the visit KPIs of `window` read at `now`, as
    the raw reads give them."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for dimension in ROLLED_UP:
            if not dimension.name:
                continue
            rolled = await report_rollups.breakdown(conn, window, dimension, 1000, now)
            raw = await reports.breakdown(conn, Query(window), dimension, 1000)
            assert rolled == raw, dimension.name
            assert rolled, dimension.name
        rolled_visits = await report_rollups.visits(conn, window, now)
        raw_visits = await reports.visits(conn, Query(window))
        assert rolled_visits.visits == raw_visits.visits > 50
        assert rolled_visits.visitors == raw_visits.visitors
        assert rolled_visits.bounce_rate == raw_visits.bounce_rate
        assert rolled_visits.mean_duration_s == pytest.approx(raw_visits.mean_duration_s)


def _docs_events(url: str, window: Window = WINDOW, now: datetime = LONG_AGO) -> int:
    async def read() -> int:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            page = next(each for each in ROLLED_UP if each.name == "page")
            rows = await report_rollups.breakdown(conn, window, page, 1000, now)
        return next(row.events for row in rows if row.value == "/docs")

    return asyncio.run(read())


# a span's row changed behind the builder's back: the answer shows it while the span is read
_TAMPER = """UPDATE report_rollups SET events = events + %s WHERE site = %s AND grain = %s
AND bucket = %s AND dimension = 'page' AND value = '/docs' RETURNING 1"""


def test_what_a_span_holds() -> None:
    day, hour = timedelta(days=1), timedelta(hours=1)
    span_of = report_rollups.span_of
    assert span_of(WINDOW, LONG_AGO) == DAYS
    # two whole days: a span would save nothing
    assert span_of(Window(SITE, DAY0, DAY0 + 2 * day), LONG_AGO) is None
    # four days that are one aligned bucket already (2025-06-09 is a 4-day boundary)
    aligned = DAY0 - day
    assert span_of(Window(SITE, aligned, aligned + 4 * day), LONG_AGO) is None
    assert span_of(Window(SITE, DAY0, DAY0 + 4 * day), LONG_AGO) == Run("day", DAY0, DAY0 + 4 * day)
    assert report_rollups.span_grain(DAYS) == "6-day span"
    # the whole hours after the days, as far as the roller has built them by now (an hour is
    # built 5 minutes after it ended): not the hour still filling
    to_tomorrow = Window(SITE, DAY0, DAY0 + 8 * day)
    ten_thirty = DAY0 + 6 * day + 10.5 * hour
    to_ten = Run("hour", DAY0, DAY0 + 6 * day + 10 * hour)
    assert span_of(to_tomorrow, ten_thirty) == to_ten
    assert report_rollups.span_grain(to_ten) == "154-hour span"
    at_ten = DAY0 + 6 * day + 10 * hour
    assert span_of(to_tomorrow, at_ten) == Run("hour", DAY0, at_ten - hour)
    assert span_of(to_tomorrow, DAY0 + 6 * day + timedelta(minutes=5)) == DAYS
    assert span_of(to_tomorrow, DAY0 + 2 * day) is None
    # a range ending within a day: its days and whole hours, not its minutes
    to_ten_past = Window(SITE, WINDOW.start, at_ten + timedelta(minutes=10))
    assert span_of(to_ten_past, LONG_AGO) == Run("hour", DAY0, at_ten)


def test_a_span_answers_as_raw_events_do_and_goes_stale_with_a_late_event(world: str) -> None:
    asyncio.run(_same_answers(world))  # no span yet: the aligned buckets
    assert asyncio.run(_span(world)) is True
    assert _spans(world) == [("6-day span", DAY0)]
    assert asyncio.run(_span(world)) is False  # current: nothing to build
    asyncio.run(_same_answers(world))

    docs = _docs_events(world)
    assert asyncio.run(_rows(world, _TAMPER, 1_000, SITE, "6-day span", DAY0)) == [(1,)]
    assert _docs_events(world) == docs + 1_000  # the span is what the read took
    asyncio.run(_rows(world, _TAMPER, -1_000, SITE, "6-day span", DAY0))

    # a late event in the middle of the days: the span is stale, the read takes the aligned
    # buckets (and raw events for the late hour), and no span is built from a raw hour
    late = ClickEvent(
        event_id="late", user_id="late-user", event_type="pageview", page_url="/docs",
        time_stamp=DAY0 + timedelta(days=3, hours=5), site=SITE, country="JP",
    )  # fmt: skip
    asyncio.run(_write(world, [late]))
    asyncio.run(_same_answers(world))
    assert _docs_events(world) == docs + 1
    assert asyncio.run(_span(world)) is False
    asyncio.run(_roll(world))
    assert asyncio.run(_span(world)) is True
    asyncio.run(_same_answers(world))
    # the build grouped by sorting for itself only
    assert asyncio.run(_rows(world, "SHOW enable_hashagg")) == [("on",)]


def test_a_range_to_tomorrow_reads_its_days_and_built_hours_from_a_span_while_today_fills(
    world: str,
) -> None:
    """Plausible's "30d": today and the days before, to tomorrow. The span holds the days and
    today's built hours; events arriving in the hour still filling are read raw and leave it
    current. An hour later, the span one hour longer replaces it."""
    now = DAY0 + timedelta(days=6, hours=10, minutes=30)
    to_tomorrow = Window(SITE, WINDOW.start, DAY0 + timedelta(days=7))
    span = report_rollups.span_of(to_tomorrow, now)
    assert span is not None
    assert asyncio.run(_span(world, span, now)) is True
    assert ("154-hour span", DAY0) in _spans(world)
    asyncio.run(_same_answers(world, to_tomorrow, now))
    docs = _docs_events(world, to_tomorrow, now)
    asyncio.run(_rows(world, _TAMPER, 1_000, SITE, "154-hour span", DAY0))
    try:
        assert _docs_events(world, to_tomorrow, now) == docs + 1_000  # the span was read
        live = ClickEvent(
            event_id="live", user_id="live-user", event_type="pageview", page_url="/docs",
            time_stamp=now - timedelta(minutes=1), site=SITE, country="JP",
        )  # fmt: skip
        asyncio.run(_write(world, [live]))
        # the new event counts, and the span is still read
        assert _docs_events(world, to_tomorrow, now) == docs + 1_000 + 1
    finally:
        asyncio.run(_rows(world, _TAMPER, -1_000, SITE, "154-hour span", DAY0))
    asyncio.run(_same_answers(world, to_tomorrow, now))

    asyncio.run(_roll(world))
    later = now + timedelta(hours=1)
    longer = report_rollups.span_of(to_tomorrow, later)
    assert longer is not None
    assert asyncio.run(_span(world, longer, later)) is True
    spans = _spans(world)
    assert ("155-hour span", DAY0) in spans
    assert ("154-hour span", DAY0) not in spans
    assert ("6-day span", DAY0) in spans  # a span of days is no span of hours
    asyncio.run(_same_answers(world, to_tomorrow, later))


def test_the_roller_drops_spans_a_day_old_and_a_site_keeps_a_bounded_number(
    world: str,
) -> None:
    _forget_spans(world)

    def days(first: int, length: int = 3) -> Run:
        start = DAY0 + timedelta(days=first)
        return Run("day", start, start + timedelta(days=length))

    async def roll(now: datetime) -> None:
        async with await psycopg.AsyncConnection.connect(world, autocommit=True) as conn:
            await build_pending(conn, now)

    assert asyncio.run(_span(world, days(0), LONG_AGO)) is True
    assert asyncio.run(_span(world, days(1), LONG_AGO + timedelta(hours=1))) is True
    asyncio.run(roll(LONG_AGO + timedelta(days=1)))  # neither is over a day old yet
    assert _spans(world) == [("3-day span", days(0).start), ("3-day span", days(1).start)]
    asyncio.run(roll(LONG_AGO + timedelta(days=1, minutes=1)))
    assert _spans(world) == [("3-day span", days(1).start)]
    for length in range(4, 4 + rollup_spans.MAX_SPANS - 1):
        assert asyncio.run(_span(world, days(0, length))) is True
    assert len(_spans(world)) == rollup_spans.MAX_SPANS
    assert asyncio.run(_span(world, days(2))) is False
    assert len(_spans(world)) == rollup_spans.MAX_SPANS
    # no rows of a span dropped or never built are left
    rows = asyncio.run(
        _rows(
            world,
            "SELECT count(DISTINCT (grain, bucket)) FROM report_rollups WHERE grain LIKE %s",
            "%-day span",
        )
    )
    assert rows == [(rollup_spans.MAX_SPANS,)]


def test_the_query_server_builds_the_span_a_read_asks_for(
    world: str, redis_url: str, tmp_path: Path
) -> None:
    _forget_spans(world)
    window = pb.TimeRange()
    getattr(window, "from").FromDatetime(WINDOW.start)
    window.to.FromDatetime(WINDOW.end)
    env = {"DATABASE_URL": world, "REDIS_URL": redis_url}
    with (
        running_query(env, tmp_path / "query.log") as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = server.stub(channel)
        stub.GetBreakdown(pb.GetBreakdownRequest(range=window, site=SITE, dimension="page"))
        deadline = time.monotonic() + 30
        while not _spans(world) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _spans(world) == [("6-day span", DAY0)]
