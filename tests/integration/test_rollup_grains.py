"""Report roll-ups of several days (functions/query/report_rows.py, GRAINS) over real
PostgreSQL: a range of weeks reads its 16-day, 4-day and day buckets, and answers exactly what
the raw reads answer, before the roller runs, after it, and while a late event has made the
longer buckets holding it stale (reads then take the finer ones still current)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from functions.core.events import ClickEvent
from functions.process.roller import Built, build_pending
from functions.process.store import write_events
from functions.query import report_rollups, reports
from functions.query.filters import Query
from functions.query.report_rows import ROLLED_UP
from functions.query.validate import Window
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

SITE = f"g{uuid.uuid4().hex[:8]}.test"
SIXTEEN = datetime(2025, 2, 25, tzinfo=UTC)  # a 16-day bucket's start (epoch-aligned)
# 5 days, 3 hours and minutes before it, 6 days, 5 hours and minutes after it: every grain
WINDOW = Window(
    SITE,
    SIXTEEN - timedelta(days=5, hours=3, minutes=17),
    SIXTEEN + timedelta(days=22, hours=5, minutes=33),
)
LONG_AGO = SIXTEEN + timedelta(days=400)  # a `now` for which every bucket is closed
PAGES = ["/", "/pricing", "/docs", "/blog/a", "/blog/b", "/about"]


def _world() -> list[ClickEvent]:
    """~700 events of 60 users over the window and a day on each side of it."""
    rng = random.Random(16)
    span = WINDOW.end - WINDOW.start + timedelta(days=2)
    events: list[ClickEvent] = []
    for n in range(230):  # visits: sketches count exactly up to 256
        at = WINDOW.start - timedelta(days=1) + rng.random() * span
        user = f"user{rng.randrange(60)}"
        fields: dict[str, Any] = {
            "browser": rng.choice(["Firefox", "Chrome", None]),
            "country": rng.choice(["DE", "US", None]),
            "referrer_host": rng.choice(["google.com", None]),
            "utm_campaign": rng.choice(["spring", None]),
        }
        for step in range(rng.randint(1, 5)):
            events.append(
                ClickEvent(
                    event_id=f"e{n}-{step}", user_id=user, event_type="pageview",
                    page_url=rng.choice(PAGES), time_stamp=at, site=SITE, **fields,
                )
            )  # fmt: skip
            at += timedelta(minutes=rng.randint(1, 25))
    return events


async def _write(url: str, events: list[ClickEvent]) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for first in range(0, len(events), 50):
            await write_events(conn, events[first : first + 50])


async def _build(url: str) -> Built:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await build_pending(conn, LONG_AGO)


async def _execute(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall() if cursor.description else []


async def _answers(url: str) -> dict[str, object]:
    """Every rolled-up dimension's breakdown and the visit KPIs from the roll-ups, after
    checking each against the raw reads."""
    found: dict[str, object] = {}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for dimension in ROLLED_UP:
            if dimension.name:
                rolled = await report_rollups.breakdown(conn, WINDOW, dimension, 1000)
                raw = await reports.breakdown(conn, Query(WINDOW), dimension, 1000)
                assert rolled == raw, dimension.name
                found[dimension.name] = {row.value: row.events for row in rolled}
        rolled_visits = await report_rollups.visits(conn, WINDOW)
        raw_visits = await reports.visits(conn, Query(WINDOW))
        assert (rolled_visits.visits, rolled_visits.visitors, rolled_visits.bounce_rate) == (
            raw_visits.visits, raw_visits.visitors, raw_visits.bounce_rate,
        )  # fmt: skip
        assert rolled_visits.visits > 150
        assert rolled_visits.mean_duration_s == pytest.approx(raw_visits.mean_duration_s)
    return found


_TAMPER = (
    "UPDATE report_rollups SET events = events + %s WHERE site = %s AND grain = %s"
    " AND bucket = %s AND dimension = 'page' AND value = '/docs' RETURNING 1"
)


def _docs_with_tampered(url: str, grain: str, bucket: datetime) -> int:
    """The window's `/docs` events while one stored row of `grain` holds 1,000 more: more
    by 1,000 iff the read takes that bucket."""
    assert asyncio.run(_execute(url, _TAMPER, 1_000, SITE, grain, bucket)) == [(1,)]
    try:

        async def docs() -> int:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                rows = await report_rollups.breakdown(conn, WINDOW, ROLLED_UP[0], 1000)
            return next(row.events for row in rows if row.value == "/docs")

        return asyncio.run(docs())
    finally:
        asyncio.run(_execute(url, _TAMPER, -1_000, SITE, grain, bucket))


def test_long_ranges_read_the_longest_current_buckets_and_answer_as_raw() -> None:
    assert ROLLED_UP[0].name == "page"
    with fresh_database() as url:
        asyncio.run(_write(url, _world()))
        asyncio.run(_answers(url))  # nothing built: every bucket raw

        built = asyncio.run(_build(url))
        assert built.longer >= 7  # the 16 days, and 4-day buckets on both sides at least
        docs = asyncio.run(_answers(url))["page"]
        assert isinstance(docs, dict)
        # the 16 days are read from their own row, not from the days inside them
        assert _docs_with_tampered(url, "16 days", SIXTEEN) == docs["/docs"] + 1_000
        assert _docs_with_tampered(url, "day", SIXTEEN + timedelta(days=3)) == docs["/docs"]
        # and the 4 days before them
        before = SIXTEEN - timedelta(days=4)
        assert _docs_with_tampered(url, "4 days", before) == docs["/docs"] + 1_000

        # a late event on the 6th day of the 16: its hour, day, 4 days (from the 5th day)
        # and 16 days are stale; the other 4-day buckets inside are read instead
        late = SIXTEEN + timedelta(days=5, hours=7, minutes=11)
        event = ClickEvent(
            event_id="late", user_id="late-user", event_type="pageview", page_url="/docs",
            time_stamp=late, site=SITE, country="JP",
        )  # fmt: skip
        asyncio.run(_write(url, [event]))
        stale = asyncio.run(_answers(url))["page"]
        assert isinstance(stale, dict)
        assert stale["/docs"] == docs["/docs"] + 1
        assert _docs_with_tampered(url, "16 days", SIXTEEN) == stale["/docs"]
        assert _docs_with_tampered(url, "4 days", SIXTEEN) == stale["/docs"] + 1_000
        assert _docs_with_tampered(url, "4 days", SIXTEEN + timedelta(days=4)) == stale["/docs"]
        assert (
            _docs_with_tampered(url, "day", SIXTEEN + timedelta(days=4)) == stale["/docs"] + 1_000
        )

        # the hour, its day, and the 4, 16 and 64 days holding it
        assert asyncio.run(_build(url)) == Built(hours=1, days=1, longer=3)
        assert asyncio.run(_answers(url))["page"] == stale
        assert _docs_with_tampered(url, "16 days", SIXTEEN) == stale["/docs"] + 1_000
