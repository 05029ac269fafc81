"""Report roll-ups (migration 0013) over real PostgreSQL and process's own write statement:
the versions the write bumps, the roller's builds, and unfiltered reads from the roll-ups
answering exactly what the raw reads (functions/query/reports.py) answer, before and after
the roller runs, and after a late event moved an hour it had built."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.db import open_pool
from functions.core.events import ClickEvent
from functions.process.roller import Built, Roller, build_pending
from functions.process.store import write_events
from functions.query import report_rollups, reports
from functions.query.filters import Query
from functions.query.report_rows import ROLLED_UP
from functions.query.validate import Window
from tests.fixtures.query_server import running_query
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

SITE = f"r{uuid.uuid4().hex[:8]}.test"  # answers cached by other runs never match
DAY0 = datetime(2025, 6, 10, tzinfo=UTC)
# two whole days, an hour run and minutes on each side: every kind of run
WINDOW = Window(SITE, DAY0 - timedelta(hours=1, minutes=30), DAY0 + timedelta(days=2, minutes=45))
LONG_AGO = DAY0 + timedelta(days=365)  # a `now` for which every hour of the data is closed
PAGES = ["/", "/pricing", "/docs", "/blog/a", "/blog/b"]
Conn = psycopg.AsyncConnection[Any]


def _world() -> list[ClickEvent]:
    """~600 events of 40 users: visits of 1-8 events minutes apart (many crossing an hour),
    half in sessions, with every dimension varied, from before the window to after it."""
    rng = random.Random(24)
    events: list[ClickEvent] = []
    for n in range(160):
        user = f"user{rng.randrange(40)}"
        session = f"s{n}" if rng.random() < 0.5 else None
        at = WINDOW.start - timedelta(hours=2) + timedelta(minutes=rng.randrange(53 * 60))
        fields: dict[str, Any] = {
            "browser": rng.choice(["Firefox", "Chrome", "Safari", None]),
            "os": rng.choice(["Linux", "macOS", "Windows", None]),
            "device": rng.choice(["desktop", "mobile", None]),
            "country": rng.choice(["DE", "US", "FR", None]),
            "referrer_host": rng.choice(["google.com", "t.co", None]),
            "utm_source": rng.choice(["news", None]),
            "utm_medium": rng.choice(["email", "cpc", None]),
            "utm_campaign": rng.choice(["spring", "fall", None]),
        }
        for step in range(rng.randint(1, 8)):
            events.append(
                ClickEvent(
                    event_id=f"e{n}-{step}",
                    user_id=user,
                    event_type=rng.choice(["pageview", "pageview", "signup"]),
                    page_url=rng.choice(PAGES),
                    time_stamp=at,
                    session_id=session,
                    site=SITE,
                    **fields,
                )
            )
            at += timedelta(minutes=rng.randint(1, 20), seconds=rng.randrange(60))
    return events


async def _write(url: str, events: list[ClickEvent], group: int = 50) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for first in range(0, len(events), group):
            await write_events(conn, events[first : first + group])


async def _build(url: str, now: datetime = LONG_AGO) -> Built:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await build_pending(conn, now)


async def _rows(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall()


@pytest.fixture(scope="module")
def world() -> Iterator[str]:
    """A database of its own (the roller builds every site's roll-ups) holding the world."""
    with fresh_database() as url:
        asyncio.run(_write(url, _world()))
        yield url


async def _same_answers(url: str) -> None:
    """Every rolled-up dimension's breakdown and the visit KPIs, as the raw reads give them."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for dimension in ROLLED_UP:
            if not dimension.name:
                continue  # the visit KPIs' pseudo-dimension: compared below
            rolled = await report_rollups.breakdown(conn, WINDOW, dimension, 1000)
            raw = await reports.breakdown(conn, Query(WINDOW), dimension, 1000)
            assert rolled == raw, dimension.name
            assert rolled, dimension.name  # the world holds every dimension
        rolled_visits = await report_rollups.visits(conn, WINDOW)
        raw_visits = await reports.visits(conn, Query(WINDOW))
        assert rolled_visits.visits == raw_visits.visits > 100
        assert rolled_visits.visitors == raw_visits.visitors
        assert rolled_visits.bounce_rate == raw_visits.bounce_rate
        assert rolled_visits.views_per_visit == raw_visits.views_per_visit
        # summed per hour, then divided, rather than averaged at once: the last bits differ
        assert rolled_visits.mean_duration_s == pytest.approx(raw_visits.mean_duration_s)
        # the roll-up reads group by sorting for themselves only: the pooled connection goes
        # back as it came
        cursor = await conn.execute("SHOW enable_hashagg")
        assert await cursor.fetchone() == ("on",)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def test_reads_agree_with_raw_before_and_after_builds_and_a_late_event(world: str) -> None:
    asyncio.run(_same_answers(world))  # nothing built: every bucket raw

    built = asyncio.run(_build(world))
    hours = asyncio.run(_rows(world, "SELECT count(*) FROM rollup_versions"))[0][0]
    assert built.hours == hours
    assert built.days >= 2  # the window's two whole days at least
    asyncio.run(_same_answers(world))  # days and hours from roll-ups, the edges raw

    # a late event in the middle of the first whole day: its hour (and so its day) is no
    # longer current, and reads fall back to raw for it until the roller rebuilds it
    late = DAY0 + timedelta(hours=11, minutes=7)
    event = ClickEvent(
        event_id="late", user_id="late-user", event_type="pageview", page_url="/late",
        time_stamp=late, site=SITE, country="JP",
    )  # fmt: skip
    asyncio.run(_write(world, [event]))
    asyncio.run(_same_answers(world))
    pages = asyncio.run(_breakdown(world, "page"))
    assert ("/late", 1, 1, 1) in pages

    # and the 4, 16 and 64 days holding it
    assert asyncio.run(_build(world)) == Built(hours=1, days=1, longer=3)
    asyncio.run(_same_answers(world))
    assert asyncio.run(_build(world)) == Built(hours=0, days=0, longer=0)  # nothing moved since


async def _breakdown(url: str, name: str) -> list[tuple[str, int, int, int]]:
    dimension = next(each for each in ROLLED_UP if each.name == name)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        rows = await report_rollups.breakdown(conn, WINDOW, dimension, 1000)
    return [(r.value, r.events, r.visitors, r.visits) for r in rows]


def test_the_write_bumps_its_hours_and_those_of_a_visit_it_merges(world: str) -> None:
    site = "merge.test"
    first = DAY0 + timedelta(hours=5, minutes=50)

    def versions() -> dict[datetime, int]:
        rows = asyncio.run(
            _rows(world, "SELECT bucket, version FROM rollup_versions WHERE site = %s", site)
        )
        return {bucket: version for bucket, version in rows}

    def event(event_id: str, at: datetime) -> ClickEvent:
        return ClickEvent(
            event_id=event_id, user_id="u", event_type="pageview", page_url="/", time_stamp=at,
            site=site,
        )  # fmt: skip

    # two visits, 50 minutes apart: 5:50 and 6:40
    asyncio.run(_write(world, [event("a", first), event("b", first + timedelta(minutes=50))]))
    assert versions() == {_hour(first): 1, _hour(first) + timedelta(hours=1): 1}
    # a redelivery inserts nothing and bumps nothing
    asyncio.run(_write(world, [event("a", first)]))
    assert versions() == {_hour(first): 1, _hour(first) + timedelta(hours=1): 1}
    # 6:15 merges them into one visit from 5:50: the 5:00 hour holds no new event, but the
    # visit its row lives in (and the id the 6:40 event counts) changed
    asyncio.run(_write(world, [event("c", first + timedelta(minutes=25))]))
    assert versions() == {_hour(first): 2, _hour(first) + timedelta(hours=1): 2}


def test_open_hours_wait_for_the_grace_and_days_for_their_hours(world: str) -> None:
    site = "open.test"
    hour = DAY0 + timedelta(days=40, hours=3)
    event = ClickEvent(
        event_id="x", user_id="u", event_type="pageview", page_url="/", time_stamp=hour, site=site
    )
    asyncio.run(_build(world, hour - timedelta(days=1)))  # what other tests left pending
    asyncio.run(_write(world, [event]))
    # the hour ended a minute ago: within the grace, so not built yet
    assert asyncio.run(_build(world, hour + timedelta(hours=1, minutes=1))) == Built(0, 0, 0)
    # closed, but its day is not over
    assert asyncio.run(_build(world, hour + timedelta(hours=2))) == Built(1, 0, 0)
    # its day is over, its 4 days (from 2025-07-19) are not
    assert asyncio.run(_build(world, hour + timedelta(days=1))) == Built(0, 1, 0)
    assert asyncio.run(_build(world, hour + timedelta(days=3))) == Built(0, 0, 1)


def test_concurrent_builders_build_each_bucket_once(world: str) -> None:
    asyncio.run(_rows(world, "DELETE FROM rollup_builds RETURNING 1"))  # all pending again
    hours = asyncio.run(_rows(world, "SELECT count(*) FROM rollup_versions"))[0][0]
    days = asyncio.run(
        _rows(world, "SELECT count(DISTINCT (site, date_trunc('day', bucket, 'UTC')))"
                     " FROM rollup_versions")
    )[0][0]  # fmt: skip
    longer = asyncio.run(
        _rows(world, "SELECT count(DISTINCT (site, g, date_bin(g, bucket, 'epoch')))"
                     " FROM rollup_versions CROSS JOIN unnest(%s::interval[]) AS g",
              ["4 days", "16 days", "64 days"])
    )[0][0]  # fmt: skip

    async def both() -> tuple[Built, Built]:
        return await asyncio.gather(_build(world), _build(world))

    first, second = asyncio.run(both())
    assert first.hours + second.hours == hours
    assert first.days + second.days == days
    assert first.longer + second.longer == longer
    asyncio.run(_same_answers(world))


def test_the_roller_task_builds_in_the_background_and_stops_cleanly(world: str) -> None:
    async def run() -> None:
        await _rows(world, "DELETE FROM rollup_builds RETURNING 1")
        pool = await open_pool(world, 2)
        roller = Roller(pool, interval_s=0.05, clock=lambda: LONG_AGO)
        roller.start()
        try:
            for _ in range(400):
                pending = await _rows(
                    world,
                    "SELECT count(*) FROM rollup_versions AS v LEFT JOIN rollup_builds AS b"
                    " ON (b.site, b.grain, b.bucket) = (v.site, 'hour', v.bucket)"
                    " WHERE b.version IS DISTINCT FROM v.version",
                )
                if pending[0][0] == 0:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the roller left hours pending")
        finally:
            await asyncio.wait_for(roller.stop(), 10)
            await pool.close()

    asyncio.run(run())
    asyncio.run(_same_answers(world))


def test_the_query_server_reads_unfiltered_reports_from_the_roll_ups(
    world: str, redis_url: str, tmp_path: Path
) -> None:
    asyncio.run(_build(world))
    day_row = (
        "UPDATE report_rollups SET events = events + %s WHERE site = %s AND grain = 'day'"
        " AND bucket = %s AND dimension = 'page' AND value = '/docs' RETURNING 1"
    )
    # a roll-up changed behind the roller's back shows in the answer: it was read
    assert asyncio.run(_rows(world, day_row, 1_000, SITE, DAY0)) == [(1,)]
    window = pb.TimeRange()
    getattr(window, "from").FromDatetime(WINDOW.start)
    window.to.FromDatetime(WINDOW.end)
    expected = {row[0]: row[1] for row in asyncio.run(_breakdown(world, "page"))}
    try:
        env = {"DATABASE_URL": world, "REDIS_URL": redis_url}
        with (
            running_query(env, tmp_path / "query.log") as server,
            grpc.insecure_channel(server.address) as channel,
        ):
            stub = server.stub(channel)
            answer = stub.GetBreakdown(
                pb.GetBreakdownRequest(range=window, site=SITE, dimension="page", limit=1000)
            )
            assert {r.value: r.events for r in answer.rows} == expected
            assert expected["/docs"] > 1_000
            filtered = stub.GetBreakdown(
                pb.GetBreakdownRequest(
                    range=window, site=SITE, dimension="page", limit=1000,
                    filters=["page:is:/docs"],
                )
            )  # fmt: skip
            # with a filter, raw events answer
            assert [(r.value, r.events) for r in filtered.rows] == [
                ("/docs", expected["/docs"] - 1_000)
            ]
    finally:
        asyncio.run(_rows(world, day_row, -1_000, SITE, DAY0))


def test_the_admin_command_builds_what_is_pending(world: str) -> None:
    asyncio.run(_build(world))
    moved = "UPDATE rollup_versions SET version = version + 1 WHERE site = %s AND bucket = %s"
    asyncio.run(_rows(world, moved + " RETURNING 1", SITE, DAY0 + timedelta(hours=2)))
    done = subprocess.run(
        [sys.executable, "-m", "functions.admin", "rollups", "build", "--json"],
        env={**os.environ, "DATABASE_URL": world},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"hours": 1, "days": 1, "longer": 3}
