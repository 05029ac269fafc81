"""The roller: builds the report roll-ups (migration 0013) off the write path.

Process's write statement only bumps a version per hour it makes stale; here, in the
background of `process` (which runs while events flow, where `query` scales to zero), closed
hours whose version moved are rebuilt from raw events and visits, and each coarser bucket
(a day, then 4, 16 and 64 days: functions/query/report_rows.py) from its finer roll-ups once
all of those are current. A roll-up records the version it was built at, and reads use it
only while that is still the current one, so a late event is never lost: its hour reads raw
until the next pass rebuilds it.

A build is one transaction: a try-lock on its bucket (a replica building it meanwhile
makes this one skip it), a check that it is still pending (the other may just have built
it), the delete of the bucket's rows, then one statement inserting them anew with the
version they were built at. Delete and insert are two statements, not one: a statement that
deletes and inserts one primary key runs its parts in no promised order.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from functions.core.periodic import Periodic
from functions.core.retention import UNSEALED
from functions.query import rollup_spans
from functions.query.report_rows import BUILD_GRACE, EPOCH, GRAINS, ROLLED_UP, raw_rows

log = logging.getLogger("clickstream.process.roller")

PASS_INTERVAL_S = 5.0
# buckets built per pass, so that a pass (and stopping) never waits long
BUILDS_PER_PASS = 20
# the first half of pg_try_advisory_xact_lock(int, int)'s key ('roll'): a key space of its own
_LOCK_CLASS = 0x726F6C6C
_STEP = dict(GRAINS)
_FINER = {coarse: finer for (finer, _), (coarse, _) in itertools.pairwise(GRAINS)}

Conn = AsyncConnection[Any]

# The closed hours whose version is not the one their roll-up was built at, newest first
# (the dashboards' recent days matter most).
_PENDING_HOURS = """
SELECT v.site, 'hour', v.bucket FROM rollup_versions AS v
LEFT JOIN rollup_builds AS b ON b.site = v.site AND b.grain = 'hour' AND b.bucket = v.bucket
WHERE v.bucket + interval '1 hour' <= %(closed)s AND b.version IS DISTINCT FROM v.version
ORDER BY v.bucket DESC LIMIT %(limit)s
"""
# The closed buckets of a day or more whose finer buckets (those holding anything) are all
# current, and whose roll-up was built at another sum of their hours' versions, finer grains
# first. Every grain in one statement: a scan of rollup_versions (a row per site and hour)
# took 2-3 s at 100 sites over a year (measured: 2.7 s for this statement, 2.3 s for the
# day pass it replaced), so a pass makes one, not one per grain.
_PENDING_LONGER = f"""
WITH days AS (  -- each day holding anything: its version, and whether its hours are current
    SELECT v.site, date_bin(interval '1 day', v.bucket, {EPOCH}) AS bucket,
           sum(v.version) AS version, bool_and(coalesce(b.version = v.version, false)) AS current
    FROM rollup_versions AS v
    LEFT JOIN rollup_builds AS b ON b.site = v.site AND b.grain = 'hour' AND b.bucket = v.bucket
    GROUP BY 1, 2
), finer AS (  -- per grain of a day or more, its finer buckets holding anything
    SELECT d.site, g.grain, g.step, g.finer, date_bin(g.step, d.bucket, {EPOCH}) AS bucket,
           date_bin(g.finer_step, d.bucket, {EPOCH}) AS finer_bucket,
           sum(d.version) AS version, bool_and(d.current) AS hours_current
    FROM days AS d CROSS JOIN unnest(%(grains)s::text[], %(steps)s::interval[],
                                     %(finers)s::text[], %(finer_steps)s::interval[])
                              AS g(grain, step, finer, finer_step)
    GROUP BY 1, 2, 3, 4, 5, 6
), longer AS (  -- the buckets whose finer ones are all current, and their versions
    SELECT f.site, f.grain, f.step, f.bucket, sum(f.version) AS version
    FROM finer AS f
    LEFT JOIN rollup_builds AS b
      ON b.site = f.site AND b.grain = f.finer AND b.bucket = f.finer_bucket
    GROUP BY 1, 2, 3, 4
    HAVING bool_and(CASE f.finer WHEN 'hour' THEN f.hours_current
                                 ELSE coalesce(b.version = f.version, false) END)
)
SELECT l.site, l.grain, l.bucket FROM longer AS l
LEFT JOIN rollup_builds AS b ON b.site = l.site AND b.grain = l.grain AND b.bucket = l.bucket
WHERE l.bucket + l.step <= %(closed)s AND b.version IS DISTINCT FROM l.version
ORDER BY l.step, l.bucket DESC LIMIT %(limit)s
"""
_LONGER = {
    "grains": [grain for grain, _ in GRAINS[1:]],
    "steps": [step for _, step in GRAINS[1:]],
    "finers": [grain for grain, _ in GRAINS[:-1]],
    "finer_steps": [step for _, step in GRAINS[:-1]],
}
# the version a bucket's roll-up is current at: the sum of its hours' versions (an hour's own)
_CURRENT = """
SELECT coalesce(sum(version), 0)::bigint AS version FROM rollup_versions
WHERE site = %(site)s AND bucket >= %(bucket)s AND bucket < %(end)s
"""
# whether the bucket is still pending, and whether it is sealed (functions/core/retention.py)
_STILL_PENDING = f"""
SELECT latest.version IS DISTINCT FROM (
    SELECT version FROM rollup_builds
    WHERE site = %(site)s AND grain = %(grain)s AND bucket = %(bucket)s),
    NOT {UNSEALED.format(row="b")}
FROM ({_CURRENT}) AS latest, (SELECT %(site)s::text AS site, %(bucket)s::timestamptz AS bucket) AS b
"""
_LOCK = "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))"
_DELETE = """DELETE FROM report_rollups
WHERE site = %(site)s AND grain = %(grain)s AND bucket = %(bucket)s"""
_COLUMNS = "dimension, value, events, visitors, visits, bounces, duration_s"
# a row's rank among its bucket's values of its dimension, which breakdowns shortlist by
# (functions/query/report_rollups.py)
_RANK = "row_number() OVER (PARTITION BY dimension ORDER BY {events} DESC, value)"


def _record(condition: str) -> str:
    """What a build records, if `condition`: the version, read in the same snapshot as the
    rows it was built from."""
    return f"""
INSERT INTO rollup_builds AS t (site, grain, bucket, version)
SELECT %(site)s, %(grain)s, %(bucket)s, version FROM ({_CURRENT}) AS latest WHERE {condition}
ON CONFLICT (site, grain, bucket) DO UPDATE SET version = EXCLUDED.version, built_at = now()
"""


_BUILD_HOUR = f"""
WITH ranges AS (SELECT %(bucket)s::timestamptz AS lo, %(end)s::timestamptz AS hi),
stored AS (
    INSERT INTO report_rollups (site, grain, bucket, {_COLUMNS}, rank)
    SELECT %(site)s, %(grain)s, %(bucket)s, {_COLUMNS}, {_RANK.format(events="events")}
    FROM ({raw_rows(ROLLED_UP)}) AS fresh
)
{_record("true")}
"""
# A coarser bucket from its finer roll-ups, in one snapshot with their builds: unless every
# finer bucket is current there (a late event may have moved one since this one was found
# pending), it stores and records nothing, and is found pending again once that is rebuilt.
_BUILD_COARSE = f"""
WITH finer AS (
    SELECT coalesce(bool_and(coalesce(b.version = f.version, false)), true) AS up_to_date
    FROM (SELECT date_bin(%(finer_step)s, bucket, {EPOCH}) AS bucket, sum(version) AS version
          FROM rollup_versions
          WHERE site = %(site)s AND bucket >= %(bucket)s AND bucket < %(end)s GROUP BY 1) AS f
    LEFT JOIN rollup_builds AS b
      ON b.site = %(site)s AND b.grain = %(finer)s AND b.bucket = f.bucket
), stored AS (
    INSERT INTO report_rollups (site, grain, bucket, {_COLUMNS}, rank)
    SELECT %(site)s, %(grain)s, %(bucket)s, dimension, value, sum(events)::bigint,
           hll_union_agg(visitors), hll_union_agg(visits), sum(bounces)::bigint,
           sum(duration_s), {_RANK.format(events="sum(events)")}
    FROM report_rollups
    WHERE site = %(site)s AND grain = %(finer)s AND bucket >= %(bucket)s AND bucket < %(end)s
      AND (SELECT up_to_date FROM finer)
    GROUP BY dimension, value
)
{_record("(SELECT up_to_date FROM finer)")}
"""


@dataclass(frozen=True, slots=True)
class Built:
    hours: int
    days: int
    longer: int  # buckets of several days


def _params(site: str, grain: str, bucket: datetime) -> dict[str, object]:
    finer = _FINER.get(grain)
    return {
        "site": site,
        "grain": grain,
        "bucket": bucket,
        "end": bucket + _STEP[grain],
        "finer": finer,
        "finer_step": finer and _STEP[finer],
    }


async def build(conn: Conn, site: str, grain: str, bucket: datetime) -> bool:
    """Rebuild one bucket's roll-up; False when another builder holds it or has just built it.
    `conn` must be in autocommit mode (each build is a transaction of its own)."""
    params = _params(site, grain, bucket)
    async with conn.transaction():
        # named in UTC: every replica, whatever its session's TimeZone, names it alike
        key = f"{site}\x1f{grain}\x1f{bucket.astimezone(UTC).isoformat()}"
        cursor = await conn.execute(_LOCK, (_LOCK_CLASS, key))
        locked = await cursor.fetchone()
        if locked is None or not locked[0]:
            return False
        # a statement after the lock: its snapshot holds any build committed before it
        cursor = await conn.execute(_STILL_PENDING, params)
        pending = await cursor.fetchone()
        if pending is None or not pending[0]:
            return False
        if grain == "hour" and pending[1]:
            # a write that began before maintenance sealed the hour moved its version: its
            # raw events may be gone, so its roll-up stays as built, and current
            await conn.execute(_record("true"), params)
            return True
        await conn.execute(_DELETE, params)
        await conn.execute(_BUILD_HOUR if grain == "hour" else _BUILD_COARSE, params)
    return True


async def _pending(
    conn: Conn, longer: bool, closed: datetime, limit: int
) -> list[tuple[str, str, datetime]]:
    sql, params = (_PENDING_LONGER, _LONGER) if longer else (_PENDING_HOURS, {})
    cursor = await conn.execute(sql, params | {"closed": closed, "limit": limit})
    return [(site, grain, bucket) for site, grain, bucket in await cursor.fetchall()]


async def build_pending(conn: Conn, now: datetime, limit: int | None = None) -> Built:
    """Build up to `limit` (else every) pending hour roll-ups closed by `now`, then the
    longer buckets those make whole, finer grains first; first drop the spans `query` built
    (functions/query/rollup_spans.py) that expired by `now`."""
    closed = now - BUILD_GRACE
    await rollup_spans.expire(conn, now)
    budget = limit
    counts = dict.fromkeys(_STEP, 0)
    for longer in (False, True):
        while budget is None or budget > 0:
            batch = BUILDS_PER_PASS if budget is None else budget
            found = await _pending(conn, longer, closed, batch)
            built = [await build(conn, site, grain, bucket) for site, grain, bucket in found]
            for (_, grain, _), done in zip(found, built, strict=True):
                counts[grain] += done
            if budget is not None:
                budget -= len(found)
            if not any(built) or (len(found) < batch and not longer):
                # none left, or the rest is another builder's; longer buckets just built
                # may make a longer one pending, so those are asked for until none is
                break
    hours, days = counts.pop("hour"), counts.pop("day")
    return Built(hours, days, sum(counts.values()))


class Roller(Periodic):
    """`build_pending` every few seconds in the background, a bounded amount per pass."""

    name = "roll-up pass"
    log = log
    interval_s = PASS_INTERVAL_S

    async def run(self, conn: Conn, now: datetime) -> None:
        await build_pending(conn, now, BUILDS_PER_PASS)
