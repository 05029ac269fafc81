"""Distinct-user sketches (hll) of single minutes, for the loose minutes at the edges of a long
range (migration 0011: minute_user_hll): stored the first time a read needs a minute, valid
while that minute's event total is unchanged, so a range's distinct users never read raw
events twice. A sketch travels as bytes (`hll_send`; bytea casts back to hll).

Building a minute's sketch reads its raw events, and a range whose start moves into a new
hour needs up to 59 of them at once (~40 ms). A "last 30 days" view slides forward by the
minute, so once a read needed one hour's minutes, the neighbouring closed hours' are built in
the background (read-ahead, one build per hour at a time): a sliding range finds them ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import psycopg

from functions.core.spans import STEP, Run, floor
from functions.query.parts import Connect, Connection, PartCache, bucket_totals

log = logging.getLogger("clickstream.query")
# hours remembered as read ahead; past this the memory starts over (a repeat is only work)
MAX_PREPARED = 10_000

_STORED = """
SELECT w.bucket, t.count, hll_send(s.users), s.total = t.count AS valid
FROM unnest(%(buckets)s::timestamptz[]) AS w(bucket)
JOIN total_rollups AS t ON t.site = %(site)s AND t.grain = 'minute' AND t.bucket = w.bucket
LEFT JOIN minute_user_hll AS s ON s.site = %(site)s AND s.bucket = w.bucket
"""

# One snapshot of the events and their totals, so each minute's sketch and total agree;
# closed minutes are stored, a newer total winning over an older one.
_BUILD = """
WITH wanted AS (
    SELECT bucket, count AS total FROM total_rollups
    WHERE site = %(site)s AND grain = 'minute' AND bucket = ANY(%(buckets)s::timestamptz[])
), built AS (
    SELECT w.bucket, w.total, hll_add_agg(hll_hash_text(e.user_id), 14, 5) AS users
    FROM wanted AS w
    JOIN click_events AS e
      ON e.site = %(site)s
     AND e.time_stamp >= w.bucket AND e.time_stamp < w.bucket + interval '1 minute'
    GROUP BY 1, 2
), stored AS (
    INSERT INTO minute_user_hll AS s (site, bucket, total, users)
    SELECT %(site)s, bucket, total, users FROM built
    WHERE bucket + interval '1 minute' <= %(now)s
    ON CONFLICT (site, bucket) DO UPDATE SET total = EXCLUDED.total, users = EXCLUDED.users
    WHERE s.total < EXCLUDED.total
)
SELECT bucket, total, hll_send(users) FROM built
"""


class MinuteSketches:
    """The sketches of single minutes, from `query`'s memory, PostgreSQL or raw events."""

    def __init__(self, connect: Connect, cache: PartCache[bytes]) -> None:
        self._connect = connect
        self._cache = cache
        # (site, hour) read ahead, and being read ahead
        self._prepared: set[tuple[str, datetime]] = set()
        self._preparing: dict[tuple[str, datetime], asyncio.Task[None]] = {}

    async def sketches(
        self, conn: Connection, site: str, totals: Mapping[datetime, int]
    ) -> list[bytes]:
        """The sketch of every minute of `site` in `totals` (minute -> its event total)."""
        found, missing = self._cached(site, totals)
        hours = {(site, floor(minute, "hour")) for minute in totals}
        waits = [self._preparing[hour] for hour in hours if hour in self._preparing]
        if missing and waits:  # a read-ahead is building them: one build, not two
            await asyncio.wait(waits)
            more, missing = self._cached(site, {minute: totals[minute] for minute in missing})
            found += more
        if missing:
            found += await self._build(conn, site, missing, datetime.now(UTC))
        self._read_ahead(hours)
        return found

    async def close(self) -> None:
        """Stop the read-aheads under way: they are only a head start."""
        running = list(self._preparing.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _cached(
        self, site: str, totals: Mapping[datetime, int]
    ) -> tuple[list[bytes], list[datetime]]:
        held, missing = self._cache.split(site, {("minute", m): n for m, n in totals.items()})
        return held, [minute for _, minute in missing]

    async def _build(
        self, conn: Connection, site: str, minutes: Sequence[datetime], now: datetime
    ) -> list[bytes]:
        """Stored sketches while valid, else built from raw events (and stored once
        the minute is closed); each kept in memory for the total it was read at."""
        # binary results: the sketches arrive as bytes, not hex to decode
        cursor = await conn.execute(_STORED, {"site": site, "buckets": list(minutes)}, binary=True)
        rows: list[tuple[datetime, int, bytes]] = []
        stale: list[datetime] = []
        for bucket, total, users, valid in await cursor.fetchall():
            if valid:
                rows.append((bucket, total, users))
            else:
                stale.append(bucket)
        if stale:
            cursor = await conn.execute(
                _BUILD, {"site": site, "buckets": stale, "now": now}, binary=True
            )
            rows += await cursor.fetchall()
        sketches: list[bytes] = []
        for bucket, total, users in rows:
            sketch = bytes(users)
            self._cache.put((site, ("minute", bucket)), int(total), sketch)
            sketches.append(sketch)
        return sketches

    def _read_ahead(self, hours: set[tuple[str, datetime]]) -> None:
        now = datetime.now(UTC)
        for site, hour in hours:
            for neighbour in ((site, hour - STEP["hour"]), (site, hour + STEP["hour"])):
                if (
                    neighbour[1] + STEP["hour"] <= now
                    and neighbour not in self._prepared
                    and neighbour not in self._preparing
                ):
                    task = asyncio.create_task(self._prepare(neighbour, now))
                    self._preparing[neighbour] = task

    async def _prepare(self, site_hour: tuple[str, datetime], now: datetime) -> None:
        site, hour = site_hour
        try:
            async with self._connect() as conn:
                minutes = Run("minute", hour, hour + STEP["hour"])
                totals = await bucket_totals(conn, site, [minutes])
                _, missing = self._cached(site, {minute: n for (_, minute), n in totals.items()})
                if missing:
                    await self._build(conn, site, missing, now)
        except (psycopg.Error, OSError) as error:  # only a head start: a read builds its own
            log.info("read-ahead of %s failed: %s", hour.isoformat(), error)
        else:
            if len(self._prepared) >= MAX_PREPARED:
                self._prepared.clear()
            self._prepared.add(site_hour)
        finally:
            del self._preparing[site_hour]
