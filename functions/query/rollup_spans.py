"""Span roll-ups: a range's whole days and the built hours after them read as one bucket
(migrations 0021 and 0022).

A 30-day read's whole days take about ten aligned buckets (a day, 4, 16 and 64 days:
report_rows.GRAINS), and the hours of today up to 23 more; a breakdown unions each
shortlisted value's sketches of every one: at 10 M events the days' are full sketches of
16,384 registers and the hours' lists of ids, which is most of the read. A span is the union
of those buckets stored as one bucket of its own, named by its length ('29-day span', or
'713-hour span' when it ends within a day) and first day, so a read of the same days and
hours unions one sketch per value for them. Reads take a span under the rule every bucket
has (report_rollups.py): only while its build version is the sum of its hours' versions now,
else the aligned buckets as before; a span changes no answer, only its cost.

The ranges people read again and again share their span: "the last 30 days" keeps the same
days all day long while its edges move by the minute, and its built hours grow by one an
hour. So a span is built when a read finds none current (in `query`'s background: the read
itself goes on with the aligned buckets), and is checked again at most every RECHECK_S while
reads keep asking (a late event or an erasure may have moved it). A span of hours replaces
the shorter ones from the same day, which it holds; the roller drops the spans built over
SPAN_TTL ago (a read asking again builds its span anew), and a site keeps at most MAX_SPANS:
one "last N days" view is a span a day and one an hour, a custom range one more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import psycopg

from functions.core.spans import Run
from functions.query.parts import Connect, Connection
from functions.query.report_rollups import (
    BUCKETS,
    SORTED_GROUPS,
    parameters,
    span_grain,
    span_of,
)
from functions.query.report_rows import ALL_VISITS
from functions.query.validate import Window

log = logging.getLogger("clickstream.query")

RECHECK_S = 60.0
SPAN_TTL = timedelta(days=1)
MAX_SPANS = 16  # per site
# spans remembered as checked; past this the memory starts over (a repeat is one statement)
MAX_REMEMBERED = 10_000
# the first half of pg_try_advisory_xact_lock(int, int)'s key ('span'): a key space of its own
_LOCK_CLASS = 0x7370616E
# the spans' grains, in SQL with parameters (% doubled); written out, not a parameter, so that
# the planner can use the index of spans (migration 0022)
_IS_SPAN = "grain LIKE '%% span'"

_VERSION_NOW = """
SELECT coalesce(sum(version), 0)::bigint FROM rollup_versions
WHERE site = %(site)s AND bucket >= %(lo)s AND bucket < %(hi)s
"""
_PENDING = f"""
SELECT ({_VERSION_NOW}) IS DISTINCT FROM (
    SELECT version FROM rollup_builds
    WHERE site = %(site)s AND grain = %(grain)s AND bucket = %(lo)s)
"""
# every span built before `%(expired)s`, rows and builds (the roller runs it every pass:
# functions/process/roller.py)
_EXPIRE = f"""
WITH gone AS (
    DELETE FROM rollup_builds WHERE {_IS_SPAN} AND built_at < %(expired)s
    RETURNING site, grain, bucket
)
DELETE FROM report_rollups AS r USING gone AS g
WHERE r.site = g.site AND r.grain = g.grain AND r.bucket = g.bucket
"""
_KEPT = f"""
SELECT count(*) FROM rollup_builds
WHERE site = %(site)s AND {_IS_SPAN} AND NOT (grain = %(grain)s AND bucket = %(lo)s)
"""
_DELETE = """DELETE FROM report_rollups
WHERE site = %(site)s AND grain = %(grain)s AND bucket = %(lo)s"""
# the other spans of hours from the same first day: the one built holds what they held and more
# (a "last 30 days" view's, an hour older), or less, then a read asking for it builds it anew
_SUPERSEDED = """
WITH gone AS (
    DELETE FROM rollup_builds
    WHERE site = %(site)s AND bucket = %(lo)s AND grain LIKE '%%-hour span' AND grain <> %(grain)s
    RETURNING grain
)
DELETE FROM report_rollups
WHERE site = %(site)s AND bucket = %(lo)s AND grain IN (SELECT grain FROM gone)
"""
# The span from the buckets a read of its days takes (report_rollups.BUCKETS, in the same
# snapshot as their builds), unless some of its hours would be read raw (a roll-up the roller
# has not built yet): then nothing is stored, and a later check builds it.
_BUILD = f"""{BUCKETS}
, stored AS (
    INSERT INTO report_rollups (site, grain, bucket, dimension, value, events, visitors, visits,
                                bounces, duration_s, rank)
    SELECT %(site)s, %(grain)s, %(lo)s, r.dimension, r.value, sum(r.events)::bigint,
           hll_union_agg(r.visitors), hll_union_agg(r.visits), sum(r.bounces)::bigint,
           sum(r.duration_s),
           row_number() OVER (PARTITION BY r.dimension ORDER BY sum(r.events) DESC, r.value)
    FROM rolled AS b
    JOIN report_rollups AS r ON r.site = %(site)s AND r.grain = b.grain AND r.bucket = b.bucket
    WHERE NOT EXISTS (SELECT FROM ranges)
    GROUP BY r.dimension, r.value
)
INSERT INTO rollup_builds AS t (site, grain, bucket, version, built_at)
SELECT %(site)s, %(grain)s, %(lo)s, coalesce(sum(version), 0), %(now)s FROM days
HAVING NOT EXISTS (SELECT FROM ranges)
ON CONFLICT (site, grain, bucket)
DO UPDATE SET version = EXCLUDED.version, built_at = EXCLUDED.built_at
RETURNING 1
"""


async def expire(conn: Connection, now: datetime) -> None:
    """Drop every span built over SPAN_TTL before `now`."""
    await conn.execute(_EXPIRE, {"expired": now - SPAN_TTL})


async def build(conn: Connection, site: str, span: Run, now: datetime) -> bool:
    """Build `span` of `site` (whole days and whole hours after them: report_rollups.span_of)
    if it is not current, recorded as built at `now`; True when this call stored it. `conn`
    must be in autocommit mode: a build is a transaction of its own."""
    params = parameters(Window(site, span.start, span.end), ALL_VISITS, None) | {
        "grain": span_grain(span),
        "lo": span.start,
        "hi": span.end,
        "now": now,
    }
    async with conn.transaction():
        key = f"{site}\x1f{params['grain']}\x1f{span.start.astimezone(UTC).isoformat()}"
        cursor = await conn.execute(
            "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, key)
        )
        if not await _true(cursor):  # another replica is building it
            return False
        if not await _true(await conn.execute(_PENDING, params)):
            return False
        await conn.execute(_SUPERSEDED, params)
        kept = await (await conn.execute(_KEPT, params)).fetchone()
        if kept is not None and kept[0] >= MAX_SPANS:
            log.info("%s keeps %d spans: %s not built", site, kept[0], params["grain"])
            return False
        await conn.execute(_DELETE, params)
        await conn.execute(SORTED_GROUPS)
        return await _true(await conn.execute(_BUILD, params))


async def _true(cursor: psycopg.AsyncCursor[tuple[object, ...]]) -> bool:
    row = await cursor.fetchone()
    return row is not None and bool(row[0])


class Spans:
    """The spans reads ask for, built in the background of `query`."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._checked: dict[tuple[str, Run], float] = {}  # when, on the monotonic clock
        self._building: dict[tuple[str, Run], asyncio.Task[None]] = {}

    def ask(self, window: Window) -> None:
        """A read of `window` went to the roll-ups: have its span (report_rollups.span_of)
        current soon."""
        span = span_of(window, datetime.now(UTC))
        if span is None:
            return
        key = (window.site, span)
        now = time.monotonic()
        if key in self._building or now - self._checked.get(key, -RECHECK_S) < RECHECK_S:
            return
        if len(self._checked) >= MAX_REMEMBERED:
            self._checked.clear()
        self._checked[key] = now
        self._building[key] = asyncio.create_task(self._build(key))

    def forget(self) -> None:
        """The database was restored or wiped: check every span again when next asked."""
        self._checked.clear()

    async def close(self) -> None:
        """Stop the builds under way: a span is only a shortcut."""
        running = list(self._building.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _build(self, key: tuple[str, Run]) -> None:
        site, span = key
        try:
            async with self._connect() as conn:
                await build(conn, site, span, datetime.now(UTC))
        except (psycopg.Error, OSError) as error:  # the reads go on with the aligned buckets
            log.info("span %s of %s not built: %s", span_grain(span), site, error)
        finally:
            del self._building[key]
