"""Per-site retention of raw events (migration 0018; docs/lifecycle.md: "Retention").

Raw events are partitioned by site, then by time. Sites that keep everything share the
DEFAULT partition `click_events_kept` (monthly); a site given a retention gets a partition of
its own (weekly), and maintenance drops its weeks that ended before the retention: a DROP,
a metadata operation, never a DELETE scan. pg_partman keeps the books (making partitions
ahead, listing and dropping them).

Dropping raw events must change no report over the roll-ups. The report roll-ups of an hour
(functions/process/roller.py) are rebuilt from its raw events whenever a write moves its
version, so maintenance only drops what lies before every hour still waiting for its build,
and records the cutoff in `sites.raw_dropped_before`: the hours before it are sealed, and
neither a write (through a visit it changes) nor an erasure moves their version again
(`UNSEALED`).

The idempotency key (site, event_id) lives in the unpartitioned `event_keys`
(functions/process/store.py), one narrow row per stored event. Its rows older than the cutoff
go after the drop, by a DELETE over its (site, time_stamp) index in batches of their own
transactions: a key table has no time partitions to drop, and short batches keep locks,
WAL bursts and dead rows for vacuum small. A write never stores an event older than the
cutoff (its key may be gone, so a retry could not be told apart), so the keys left behind
by an interrupted run are deleted by the next, with nothing stored in between.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from functions.core.errors import InvalidArgument
from functions.core.periodic import Periodic

log = logging.getLogger("clickstream.retention")

Conn = psycopg.AsyncConnection[Any]

# what `sites retention` takes: a number of days, or `keep`
KEEP = "keep"
_DAYS = re.compile(r"([1-9][0-9]{0,4})d")
MAINTENANCE_INTERVAL_S = 3600.0
# the first half of pg_try_advisory_xact_lock(int, int)'s key ('rete'): one maintainer at a time
_LOCK_CLASS = 0x72657465
# keys deleted per transaction: its row locks and WAL stay small whatever a site's traffic
KEY_BATCH = 10_000

# A condition on a row `{row}` of (site, bucket): the hour is not sealed, so moving its
# version (a rebuild of its roll-ups from raw events) loses nothing.
UNSEALED = """NOT EXISTS (SELECT FROM sites AS sealed
                  WHERE sealed.name = {row}.site AND {row}.bucket < sealed.raw_dropped_before)"""

# the list partition of one site, if it has one of its own
_PARTITION_OF = """
SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'click_events'::regclass
  AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%%L)', %s::text)
"""
# the time-DEFAULT partition of a site's partition: the events outside every made partition
_DEFAULT_OF = """
SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = %s::regclass AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
"""
# every site with a retention and a partition of its own, with the hour of its oldest report
# roll-up still to build (null: none)
_EXPIRING = """
SELECT s.name, s.raw_retention, c.relname,
       (SELECT min(v.bucket) FROM rollup_versions AS v
        LEFT JOIN rollup_builds AS b
          ON b.site = v.site AND b.grain = 'hour' AND b.bucket = v.bucket
        WHERE v.site = s.name AND b.version IS DISTINCT FROM v.version)
FROM sites AS s
JOIN pg_class AS c ON pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%L)', s.name)
JOIN pg_inherits AS i ON i.inhrelid = c.oid AND i.inhparent = 'click_events'::regclass
WHERE s.raw_retention IS NOT NULL
ORDER BY s.name
"""


def parse_retention(text: str) -> timedelta | None:
    """`90d` (a number of days, at least one) or `keep` (None: kept for ever)."""
    if text == KEEP:
        return None
    match = _DAYS.fullmatch(text)
    if match is None:
        raise InvalidArgument("retention", f"a number of days like 90d, or {KEEP}: {text!r}")
    return timedelta(days=int(match.group(1)))


def _timestamp(moment: datetime) -> str:
    """A time as pg_partman takes a start partition: text, read in the session's UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


async def _one(conn: Conn, query: str, params: tuple[object, ...]) -> Any:
    cursor = await conn.execute(query, params)
    row = await cursor.fetchone()
    return None if row is None else row[0]


async def _schema(conn: Conn) -> str:
    return str(await _one(conn, "SELECT current_schema()", ()))


@dataclass(frozen=True, slots=True)
class Retention:
    """A site's retention as set: its partition, and the events moved into it now."""

    site: str
    retention_days: int | None
    partition: str | None
    moved: int


async def _move_into_own_partition(conn: Conn, site: str, site_id: int) -> tuple[str, int]:
    """Give `site` a weekly partition of its own, holding its events: created apart, filled
    from the DEFAULT tree and attached (PostgreSQL refuses to attach a value the DEFAULT
    holds rows of). Writers wait meanwhile, so no event of the site lands in the DEFAULT
    between the copy and the attach."""
    await conn.execute("LOCK TABLE click_events IN SHARE ROW EXCLUSIVE MODE")
    name = f"click_events_site_{site_id}"
    table = sql.Identifier(name)
    oldest = await _one(
        conn, "SELECT min(time_stamp) FROM click_events_kept WHERE site = %s", (site,)
    )
    await conn.execute(
        sql.SQL(
            "CREATE TABLE {} (LIKE click_events INCLUDING DEFAULTS) PARTITION BY RANGE (time_stamp)"
        ).format(table)
    )
    parent = f"{await _schema(conn)}.{name}"
    # weekly from the oldest event's week, so that the moved events land in partitions
    await conn.execute(
        "SELECT partman.create_parent(%s, 'time_stamp', 'native', 'weekly',"
        " p_premake := 2, p_start_partition := %s)",
        (parent, _timestamp(oldest or datetime.now(UTC))),
    )
    await conn.execute(
        "UPDATE partman.part_config SET infinite_time_partitions = true,"
        " retention_keep_table = false WHERE parent_table = %s",
        (parent,),
    )
    cursor = await conn.execute(
        sql.SQL("INSERT INTO {} SELECT * FROM click_events_kept WHERE site = %s").format(table),
        (site,),
    )
    moved = cursor.rowcount
    # one of retention's two DELETEs (the other: late events, in `maintain`): the site's rows
    # leave the shared tree, once
    await conn.execute("DELETE FROM click_events_kept WHERE site = %s", (site,))
    await conn.execute(
        sql.SQL("ALTER TABLE click_events ATTACH PARTITION {} FOR VALUES IN ({})").format(
            table, sql.Literal(site)
        )
    )
    return name, moved


async def set_retention(conn: Conn, site: str, retention: timedelta | None) -> Retention:
    """Keep `site`'s raw events for `retention` (None: for ever), in one transaction; the
    first retention of a site moves its events into a partition of their own."""
    async with conn.transaction():
        await conn.execute("SET LOCAL TIME ZONE 'UTC'")
        site_id = await _one(conn, "SELECT id FROM sites WHERE name = %s FOR UPDATE", (site,))
        if site_id is None:
            raise InvalidArgument("site", f"no site {site!r}")
        partition = await _one(conn, _PARTITION_OF, (site,))
        moved = 0
        if partition is None and retention is not None:
            partition, moved = await _move_into_own_partition(conn, site, site_id)
        await conn.execute("UPDATE sites SET raw_retention = %s WHERE name = %s", (retention, site))
    days = None if retention is None else retention.days
    return Retention(site, days, partition, moved)


@dataclass(frozen=True, slots=True)
class Maintained:
    """What one maintenance did: partitions dropped, stragglers and idempotency keys deleted,
    per site; False if another maintainer was at it."""

    ran: bool
    dropped: dict[str, int]
    deleted: dict[str, int]
    keys_deleted: dict[str, int]


async def maintain(conn: Conn, now: datetime) -> Maintained:
    """Make time partitions ahead (pg_partman's maintenance), then, for each site with a
    retention, drop its partitions that ended before `now` minus the retention, never past
    its oldest hour whose report roll-up is not built; delete the rows older than that from
    its time-DEFAULT partition (late events, outside every made partition); seal what lies
    before. One transaction; then the keys of the events before the cutoff, in batches."""
    dropped: dict[str, int] = {}
    deleted: dict[str, int] = {}
    async with conn.transaction():
        await conn.execute("SET LOCAL TIME ZONE 'UTC'")
        if not await _one(conn, "SELECT pg_try_advisory_xact_lock(%s, 0)", (_LOCK_CLASS,)):
            return Maintained(False, dropped, deleted, {})
        await conn.execute("SELECT partman.run_maintenance(p_analyze := false)")
        schema = await _schema(conn)
        cursor = await conn.execute(_EXPIRING)
        for site, retention, partition, unbuilt in await cursor.fetchall():
            cutoff = now - retention
            if unbuilt is not None and unbuilt < cutoff:
                cutoff = unbuilt  # its raw events are still to be rolled up
            dropped[site] = int(
                await _one(
                    conn,
                    "SELECT partman.drop_partition_time(%s, p_retention := %s,"
                    " p_keep_table := false, p_reference_timestamp := %s)",
                    (f"{schema}.{partition}", now - cutoff, now),
                )
            )
            default = await _one(conn, _DEFAULT_OF, (partition,))
            deleted[site] = 0
            if default is not None:
                gone = await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE time_stamp < %s").format(sql.Identifier(default)),
                    (cutoff,),
                )
                deleted[site] = gone.rowcount
            await conn.execute(
                "UPDATE sites SET raw_dropped_before = %s WHERE name = %s"
                " AND (raw_dropped_before IS NULL OR raw_dropped_before < %s)",
                (cutoff, site, cutoff),
            )
    return Maintained(True, dropped, deleted, await _delete_keys(conn))


# one batch of a site's keys older than its cutoff, found by the (site, time_stamp) index
_DELETE_KEYS = """
DELETE FROM event_keys WHERE (site, event_id) IN (
    SELECT k.site, k.event_id FROM event_keys AS k JOIN sites AS s ON s.name = k.site
    WHERE k.site = %(site)s AND k.time_stamp < s.raw_dropped_before
    LIMIT %(batch)s)
"""


async def _delete_keys(conn: Conn) -> dict[str, int]:
    """Delete the idempotency keys of every site's events before its `raw_dropped_before`,
    `KEY_BATCH` at a time, each batch committed on its own."""
    cursor = await conn.execute(
        "SELECT name FROM sites WHERE raw_dropped_before IS NOT NULL ORDER BY name"
    )
    counts: dict[str, int] = {}
    for (site,) in await cursor.fetchall():
        counts[site] = 0
        while True:
            async with conn.transaction():
                gone = await conn.execute(_DELETE_KEYS, {"site": site, "batch": KEY_BATCH})
            counts[site] += gone.rowcount
            if gone.rowcount < KEY_BATCH:
                break
    return counts


class Maintainer(Periodic):
    """`maintain` at start and then every hour, in the background of `process`."""

    name = "retention maintenance"
    log = log
    interval_s = MAINTENANCE_INTERVAL_S

    async def run(self, conn: psycopg.AsyncConnection[Any], now: datetime) -> None:
        done = await maintain(conn, now)
        if done.ran and any(done.dropped.values()):
            log.info("retention dropped partitions: %s", done.dropped)
