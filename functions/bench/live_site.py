"""A live site for the reports' benchmark: its events up to now, and an event arriving
before each read.

A bulk load ends when it starts; a site in production has events up to this minute, and
today's hours still filling are read raw until the roller builds them. `top_up` writes the
events the site would have had since, at the rate of its load, and builds what the roller
would have built by now. `arrived` sends Redis what `process` sends after committing an
event of the site (the event itself is left out: writing it would add a write to each read
measured), so that a read of a fixed range such as Plausible's "30d" is never served from
the cache, as on a site whose visitors keep arriving.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from functions.bench.report_workload import ReportMix, visits
from functions.core.cache import Cache, visit_start_tags
from functions.process.roller import build_pending
from functions.process.store import write_bulk

TAGS_TTL_S = 300  # of the counts `committed` raises: none are sent here


async def top_up(
    database_url: str, run: str, site: str, loaded: int, span: timedelta, loaded_to: datetime
) -> int:
    """Write the events `site` would have had from `loaded_to` until now, at the rate of
    `loaded` events over `span`, and build the roll-ups of the hours closed since. Returns
    how many were written."""
    now = datetime.now(UTC)
    since = now - loaded_to
    count = int(loaded * (since / span))
    # a visit's later events may fall after now: those have not happened yet
    generated = visits(run + "live", site, count, loaded_to, since, ReportMix(), 25)
    events = [each for each in generated if each.time_stamp and each.time_stamp <= now]
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        async with conn.transaction():
            written = await write_bulk(conn, events)
        await build_pending(conn, datetime.now(UTC))
    return written


async def arrived(cache: Cache, site: str) -> bool:
    """What `process` sends Redis after committing an event of `site` at this moment: the
    site's tags of its minute, hour and day deleted, every answer covering them stale. False
    when Redis could not be reached."""
    return await cache.committed(visit_start_tags([(site, datetime.now(UTC))]), {}, TAGS_TTL_S)
