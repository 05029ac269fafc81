"""Writing clicks to PostgreSQL: idempotent on the event's (site, event_id), aggregates and
visits only for new rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import msgspec
from psycopg import AsyncConnection

from functions.core.events import ENRICHMENT_FIELDS, ClickEvent
from functions.core.retention import UNSEALED
from functions.process.visits import LOCK_VISITS, VISITS_CTES, lock_parameters


def _raw_insert(events: str, visit_start: str, conflict: str = "") -> str:
    """The insert into `click_events` of `events` (rows `e`), each in the visit starting at
    `visit_start`, answering the rows it added."""
    return f"""
    INSERT INTO click_events (site, event_id, user_id, event_type, page_url, time_stamp,
                              source, referrer, session_id, properties,
                              browser, os, device, country, referrer_host,
                              utm_source, utm_medium, utm_campaign, visit_started_at)
    SELECT e.site, e.event_id, e.user_id, e.event_type, e.page_url, e.time_stamp,
           e.source, e.referrer, e.session_id, e.properties::jsonb,
           e.browser, e.os, e.device, e.country, e.referrer_host,
           e.utm_source, e.utm_medium, e.utm_campaign, {visit_start}
    FROM {events}
    ORDER BY e.site, e.event_id
    ON CONFLICT {conflict} DO NOTHING
    RETURNING site, event_id, user_id, event_type, page_url, time_stamp, session_id,
              referrer_host, utm_source, utm_medium, utm_campaign, browser, os, device, country
"""


# the new events with the start of their visit (`event_visits`, functions/process/visits.py)
_IN_VISITS = (
    "arriving AS e LEFT JOIN event_visits AS v"
    " ON NOT v.stored AND (v.site, v.event_id) = (e.site, e.event_id)",
    "v.visit_started_at",
)


def _keyed(source: str) -> str:
    """The CTEs taking the keys of the events of `source` (rows `e`), ending in `arriving`:
    the events whose key is new, once each (a copy repeated in one group joins its one key
    twice). Those are exactly the events the raw insert stores, so their visits are computed
    before it and stored with them: a new key has no raw event, since keys are deleted only
    before a site's `raw_dropped_before`, and no event before it is keyed again."""
    return f"""given AS (
    SELECT * FROM {source}
), keys AS (
    INSERT INTO event_keys (site, event_id, time_stamp)
    SELECT e.site, e.event_id, e.time_stamp FROM given AS e
    WHERE NOT EXISTS (SELECT FROM sites AS s
                      WHERE s.name = e.site AND e.time_stamp < s.raw_dropped_before)
    ORDER BY e.site, e.event_id
    ON CONFLICT (site, event_id) DO NOTHING
    RETURNING site, event_id, time_stamp
), arriving AS (
    SELECT DISTINCT ON (e.site, e.event_id) e.*
    FROM given AS e JOIN keys USING (site, event_id, time_stamp)
    ORDER BY e.site, e.event_id
)"""


# One statement, one round trip. Raw events are partitioned by time (migration 0018), so
# their own key must hold the time; the idempotency key (site, event_id) is held by the
# unpartitioned `event_keys`: the keys inserted first, only their events are stored, and the
# raw insert's RETURNING holds only those, so every aggregate below moves exactly once per
# event_id, whatever is redelivered and whatever time ingest stamped on the retry. An event
# older than its site's dropped raw events (functions/core/retention.py) has no key left to
# compare with: it is not stored.
# ORDER BY keeps lock order stable across concurrent writers (no deadlocks between replicas).
# `{arriving}` yields the events to store (`_keyed`), `{visits}` places them in visits, `{new}`
# stores them and yields the new ones; `{result}` is what the statement answers.
_STATEMENT = """
WITH {arriving}{visits}, new AS ({new}), sites_up AS (
    -- a site named for the first time registers itself (DESIGN.md: "Sites"); a site already
    -- there costs one index probe, and writes nothing
    INSERT INTO sites (name) SELECT DISTINCT site FROM new ORDER BY 1 ON CONFLICT DO NOTHING
), page_clicks_up AS (
    INSERT INTO page_clicks AS t (site, user_id, page_url, click_count)
    SELECT site, user_id, page_url, count(*) FROM new GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (site, user_id, page_url)
    DO UPDATE SET click_count = t.click_count + EXCLUDED.click_count
    RETURNING site, user_id, page_url, click_count
), page_minute_up AS (
    INSERT INTO page_minute_counts AS t (site, bucket, page_url, count)
    SELECT site, date_trunc('minute', time_stamp, 'UTC'), page_url, count(*)
    FROM new GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (site, bucket, page_url) DO UPDATE SET count = t.count + EXCLUDED.count
), type_minute_up AS (
    INSERT INTO type_minute_counts AS t (site, bucket, event_type, count)
    SELECT site, date_trunc('minute', time_stamp, 'UTC'), event_type, count(*)
    FROM new GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (site, bucket, event_type) DO UPDATE SET count = t.count + EXCLUDED.count
), page_rollup_up AS (  -- migration 0002: hour and day roll-ups for long-range reads
    INSERT INTO page_rollups AS t (site, grain, bucket, page_url, count)
    SELECT site, g.grain, date_trunc(g.grain, time_stamp, 'UTC'), page_url, count(*)
    FROM new CROSS JOIN (VALUES ('hour'), ('day')) AS g(grain)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (site, grain, bucket, page_url) DO UPDATE SET count = t.count + EXCLUDED.count
), total_rollup_up AS (
    INSERT INTO total_rollups AS t (site, grain, bucket, count)
    SELECT site, g.grain, date_trunc(g.grain, time_stamp, 'UTC'), count(*)
    FROM new CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS g(grain)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (site, grain, bucket) DO UPDATE SET count = t.count + EXCLUDED.count
), user_hll_up AS (  -- migration 0011: one hll per (site, grain, bucket), unioned in
    -- (a register max, or a set while small: an event added twice changes nothing)
    INSERT INTO user_hll AS t (site, grain, bucket, users)
    SELECT site, g.grain, date_trunc(g.grain, time_stamp, 'UTC'),
           hll_add_agg(hll_hash_text(user_id), 14, 5)
    FROM new CROSS JOIN (VALUES ('hour'), ('day')) AS g(grain)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (site, grain, bucket) DO UPDATE SET users = hll_union(t.users, EXCLUDED.users)
){versions}
{result}
"""
# Migration 0013: one version bump per (site, hour) whose report roll-ups this write makes
# stale, for the roller (functions/process/roller.py) to rebuild off the write path: the hours
# of the new events; the start's hour of a visit changed in place (a visit's row lives there);
# and every hour a visit inserted or deleted spans (its events' visit id, its key and start,
# is another now). A visit only grows, so an inserted one's span holds those it replaces.
_EVENT_HOURS = "SELECT DISTINCT site, date_trunc('hour', time_stamp, 'UTC') AS bucket FROM new"
_VISIT_HOURS = """
    UNION
    SELECT v.site, h.bucket
    FROM (SELECT u.site, u.started_at,
                 CASE WHEN o.started_at IS NULL THEN u.ended_at ELSE u.started_at END
                      AS ended_at
          FROM visits_up AS u LEFT JOIN old_visits AS o USING (site, visit_key, started_at)
          UNION ALL SELECT site, started_at, ended_at FROM visits_gone) AS v
    CROSS JOIN generate_series(date_trunc('hour', v.started_at, 'UTC'), v.ended_at,
                               interval '1 hour') AS h(bucket)"""
# Hours whose raw events retention may have dropped are sealed (functions/core/retention.py):
# rebuilt from what is left, their roll-ups would lose the dropped events, so a late event
# there moves the minute counts and roll-ups above, never their version.
_VERSIONS = """
, rollup_hours AS ({hours}
), rollup_versions_up AS (
    INSERT INTO rollup_versions AS t (site, bucket, version)
    SELECT h.site, h.bucket, 1 FROM rollup_hours AS h WHERE {unsealed} ORDER BY 1, 2
    ON CONFLICT (site, bucket) DO UPDATE SET version = t.version + 1
)"""
_UNSEALED = UNSEALED.format(row="h")
# the events of one request group as one JSON array, encoded in C by msgspec and read by
# json_to_recordset: a third of the client CPU of nine typed parameter arrays (psycopg dumps
# those element by element in Python), and less of PostgreSQL's too
_PARAMETERS = """
json_to_recordset(%(events)s::json)
  AS e(site text, event_id text, user_id text, event_type text, page_url text,
       time_stamp timestamptz, source text, referrer text, session_id text, properties jsonb,
       browser text, os text, device text, country text, referrer_host text,
       utm_source text, utm_medium text, utm_campaign text)
"""
# the new events, then (as rows without an event) the old and new start of each visit changed
_INSERTED = """SELECT new.site, new.event_id, new.user_id, new.page_url, new.time_stamp,
       up.click_count
FROM new JOIN page_clicks_up AS up USING (site, user_id, page_url)"""
_INSERTED_AND_VISIT_STARTS = (
    _INSERTED
    + """
UNION ALL
SELECT site, NULL, NULL, NULL, started_at, NULL FROM visit_starts"""
)
WRITE_EVENTS = _STATEMENT.format(
    arriving=_keyed(_PARAMETERS),
    visits=VISITS_CTES,
    new=_raw_insert(*_IN_VISITS),
    versions=_VERSIONS.format(hours=_EVENT_HOURS + _VISIT_HOURS, unsealed=_UNSEALED),
    result=_INSERTED_AND_VISIT_STARTS,
)
# `WRITE_EVENTS` without visits, run by the benchmark only (functions/bench/without_visits.py):
# the same run's baseline of what keeping visits costs the pipeline
WRITE_EVENTS_WITHOUT_VISITS = _STATEMENT.format(
    arriving=_keyed(_PARAMETERS),
    visits="",
    new=_raw_insert("arriving AS e", "NULL"),
    versions=_VERSIONS.format(hours=_EVENT_HOURS, unsealed=_UNSEALED),
    result=_INSERTED,
)
# `WRITE_EVENTS` keyed by raw events alone, into a `click_events` of one plain table keyed by
# (site, event_id), run by the benchmark only (functions/bench/unpartitioned.py): the same
# run's baseline of what partitioning raw events and keeping their keys apart cost
WRITE_EVENTS_UNPARTITIONED = _STATEMENT.format(
    # the events not stored yet, once each
    arriving=f"""arriving AS (
    SELECT DISTINCT ON (e.site, e.event_id) e.* FROM {_PARAMETERS}
    WHERE NOT EXISTS (SELECT FROM click_events AS c
                      WHERE (c.site, c.event_id) = (e.site, e.event_id))
    ORDER BY e.site, e.event_id
)""",
    visits=VISITS_CTES,
    new=_raw_insert(*_IN_VISITS, "(site, event_id)"),
    versions=_VERSIONS.format(hours=_EVENT_HOURS + _VISIT_HOURS, unsealed=_UNSEALED),
    result=_INSERTED_AND_VISIT_STARTS,
)
# The same statement over a table of events staged by COPY, for bulk loads (`write_bulk`)
_STAGED = "staged_click_events"
_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS {_STAGED} (
    site text, event_id text, user_id text, event_type text, page_url text, time_stamp timestamptz,
    source text, referrer text, session_id text, properties text,
    browser text, os text, device text, country text, referrer_host text,
    utm_source text, utm_medium text, utm_campaign text
) ON COMMIT DELETE ROWS
"""
WRITE_STAGED = _STATEMENT.format(
    arriving=_keyed(f"{_STAGED} AS e"),
    visits=VISITS_CTES,
    new=_raw_insert(*_IN_VISITS),
    versions=_VERSIONS.format(hours=_EVENT_HOURS + _VISIT_HOURS, unsealed=_UNSEALED),
    result="SELECT count(*) FROM new",
)


@dataclass(frozen=True, slots=True)
class Inserted:
    """A newly stored event: what the cache and freshness need."""

    site: str
    event_id: str
    user_id: str
    page_url: str
    time_stamp: datetime
    click_count: int  # of (user_id, page_url), this commit included


@dataclass(frozen=True, slots=True)
class Stored:
    """What a write changed: its new events, and the (site, start) of each visit it
    inserted, changed or deleted (a changed one's start before and after)."""

    events: list[Inserted]
    visit_starts: list[tuple[str, datetime]]


_encode_json = msgspec.json.Encoder().encode


def _properties(event: ClickEvent) -> str | None:
    return None if event.properties is None else _encode_json(event.properties).decode()


# the order of `_row` and of the staged table's columns (the bulk path's COPY)
_FIELDS = (
    "site",
    "event_id",
    "user_id",
    "event_type",
    "page_url",
    "time_stamp",
    "source",
    "referrer",
    "session_id",
    "properties",
    *ENRICHMENT_FIELDS,
)


def _row(e: ClickEvent) -> tuple[object, ...]:
    return (
        e.site,
        e.event_id,
        e.user_id,
        e.event_type,
        e.page_url,
        e.time_stamp,
        e.source,
        e.referrer,
        e.session_id,
        _properties(e),
        e.browser,
        e.os,
        e.device,
        e.country,
        e.referrer_host,
        e.utm_source,
        e.utm_medium,
        e.utm_campaign,
    )


# The delivery path's statement is prepared once per connection: parsing and planning its
# CTEs cost ~6.5 ms of a 25-event group's ~17 ms round trip (measured on a 100,000-event
# table; ~2.3 ms of ~8 ms without the visits CTEs). PostgreSQL then keeps one generic plan
# for the connection's life, which no ANALYZE may ever refresh (autovacuum can be off), so the
# plan must not depend on the data: the events come as one JSON value whose rows the planner
# guesses alike (100) whatever it holds, and every probe of stored rows is written so that
# only its key's index serves it (`functions.process.visits`). A plan made on empty tables
# keeps probing by index once they have grown (tests/integration/test_write_plans.py).
# A bulk load is planned each time: how it best finds a key's events (an index per key, or
# one scan and a hash join) depends on how many it stages, and the staged table's size is
# what the planner sees.
async def write_events(conn: AsyncConnection[object], events: list[ClickEvent]) -> Stored:
    """Store `events` with one statement after taking their visits' locks, in one round
    trip: pipelined, the two run as one transaction (in autocommit mode an implicit one,
    which the pipeline's sync commits, or rolls back if either failed), else as part of the
    connection's current transaction. A transaction writing again after this takes locks
    while holding rows: it may deadlock with another writer (a retryable error)."""
    parameters = {"events": _encode_json(events).decode()}
    async with conn.cursor() as locks, conn.cursor() as cursor:
        async with conn.pipeline():
            await locks.execute(LOCK_VISITS, lock_parameters(events))
            await cursor.execute(WRITE_EVENTS, parameters, prepare=True)
        rows = cast(list[tuple[Any, ...]], await cursor.fetchall())
    # a row without an event id is a visit's start (`WRITE_EVENTS`)
    return Stored(
        [Inserted(*row) for row in rows if row[1] is not None],
        [(row[0], row[4]) for row in rows if row[1] is None],
    )


async def write_bulk(conn: AsyncConnection[object], events: list[ClickEvent]) -> int:
    """Store `events` in the connection's current transaction through a table staged by
    COPY, with the very statement `write_events` runs: the tables end up as delivering the
    same events one by one leaves them, an order of magnitude faster for large loads (the
    benchmark's history). Returns how many were new."""
    await conn.execute(_STAGE)
    async with conn.cursor() as cursor:
        async with cursor.copy(f"COPY {_STAGED} ({', '.join(_FIELDS)}) FROM STDIN") as copy:
            for e in events:
                await copy.write_row(_row(e))
        await cursor.execute(LOCK_VISITS, lock_parameters(events))
        await cursor.execute(WRITE_STAGED, prepare=False)
        (new,) = cast(tuple[int], await cursor.fetchone())  # count(*): always one row
    return new
