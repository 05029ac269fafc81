"""Erasing one person of one site (docs/lifecycle.md): every row naming them goes in one
transaction, every cached answer about them goes stale after it, and the erasure is recorded
without the user id in clear.

What names a person: their raw events (`click_events`), their visits (`visits`, keyed and
owned by the user id), their per-page counts (`page_clicks`) and the dead letters carrying
their events. What does not, and stays: the anonymous roll-ups (per-minute, hour and day
counts by page and type) and the distinct-user sketches (`user_hll`, `minute_user_hll`), which
hold hashes in registers that cannot be taken back out, and the idempotency keys of their
events (`event_keys`: site, event id and time, no user id), which keep a redelivery of an
erased event from storing it again. The report roll-ups (migration 0013)
are derived from raw events and visits, so the hours they lose are marked for the roller to
rebuild without them, as process marks the hours its writes change; not the hours sealed by
retention (functions/core/retention.py), whose raw events may be gone.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from functions.core.cache import (
    Cache,
    count_key,
    stale_tags,
    user_counts_key,
    visit_start_tags,
)
from functions.core.cache_reset import forget
from functions.core.retention import UNSEALED

# the tables that name a person, as the erasure record counts them
TABLES = ("click_events", "visits", "page_clicks", "dead_letters")

# One statement: data-modifying CTEs all run whatever the result reads. Rows of the result:
# (table, page_url, time) for what the cache must forget: an event's page and time, a visit's
# start, a count's page, a dead letter (neither).
_ERASE = f"""
WITH events AS (
    DELETE FROM click_events WHERE site = %(site)s AND user_id = %(user)s
    RETURNING page_url, time_stamp
), visits_gone AS (
    -- a visit without a session is keyed by its user; one with a session is owned by its
    -- first event's user
    DELETE FROM visits
    WHERE site = %(site)s AND (user_id = %(user)s OR visit_key = 'u:' || %(user)s::text)
    RETURNING started_at, ended_at
), counts AS (
    DELETE FROM page_clicks WHERE site = %(site)s AND user_id = %(user)s RETURNING page_url
), letters AS (
    DELETE FROM dead_letters
    WHERE event->'data'->>'user_id' = %(user)s
      AND coalesce(event->'data'->>'site', 'default') = %(site)s
    RETURNING id
), hours AS (  -- as process's write (functions/process/store.py): every hour whose report
    -- roll-ups were built from rows removed here
    SELECT date_trunc('hour', time_stamp, 'UTC') AS bucket FROM events
    UNION
    SELECT h.bucket FROM visits_gone AS v
    CROSS JOIN generate_series(date_trunc('hour', v.started_at, 'UTC'), v.ended_at,
                               interval '1 hour') AS h(bucket)
), versions_up AS (  -- not a sealed hour's (functions/core/retention.py): rebuilt, its
    -- roll-ups would lose the raw events retention dropped
    INSERT INTO rollup_versions AS t (site, bucket, version)
    SELECT %(site)s, h.bucket, 1 FROM (SELECT %(site)s::text AS site, bucket FROM hours) AS h
    WHERE {UNSEALED.format(row="h")} ORDER BY 2
    ON CONFLICT (site, bucket) DO UPDATE SET version = t.version + 1
)
SELECT 'click_events', page_url, time_stamp FROM events
UNION ALL SELECT 'visits', NULL, started_at FROM visits_gone
UNION ALL SELECT 'page_clicks', page_url, NULL FROM counts
UNION ALL SELECT 'dead_letters', NULL, NULL FROM letters
"""
_RECORD = """
INSERT INTO erasures (site, subject, actor, removed) VALUES (%s, %s, %s, %s)
RETURNING id, erased_at
"""


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure did: its record's id and time, and rows removed by table."""

    id: int
    erased_at: datetime
    removed: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Forgotten:
    """A removed event, in the shape `stale_tags` takes (its count: none left)."""

    site: str
    user_id: str
    page_url: str
    time_stamp: datetime
    click_count: int = 0


def subject(key: bytes | None, site: str, user_id: str) -> bytes | None:
    """The erasure record's keyed hash of (site, user id); None without a key."""
    if key is None:
        return None
    return hmac.new(key, f"{site}\x1f{user_id}".encode(), hashlib.sha256).digest()


async def erase(
    conn: AsyncConnection[Any],
    cache: Cache,
    site: str,
    user_id: str,
    actor: str,
    key: bytes | None,
) -> Erased:
    """Remove every row naming `user_id` in `site` and record it, in one transaction on
    `conn`; then delete what Redis and the gateways hold about them."""
    async with conn.transaction():
        cursor = await conn.execute(_ERASE, {"site": site, "user": user_id})
        rows = cast(list[tuple[str, str | None, datetime | None]], await cursor.fetchall())
        removed = {table: sum(1 for row in rows if row[0] == table) for table in TABLES}
        cursor = await conn.execute(
            _RECORD, [site, subject(key, site, user_id), actor, Jsonb(removed)]
        )
        record = cast(tuple[int, datetime], await cursor.fetchone())
    events = [
        _Forgotten(site, user_id, page, moment)
        for table, page, moment in rows
        if table == "click_events" and page is not None and moment is not None
    ]
    starts = [(site, moment) for table, _, moment in rows if table == "visits" and moment]
    pages = {page for table, page, _ in rows if page is not None and table != "visits"}
    await forget(
        cache,
        [
            *stale_tags(events),
            *visit_start_tags(starts),
            *(count_key(site, user_id, page) for page in pages),
            user_counts_key(site, user_id),
        ],
    )
    return Erased(record[0], record[1], removed)
