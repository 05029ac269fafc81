"""The benchmark's same-run baseline of what partitioning raw events costs: `click_events`
swapped, while the functions run, for one plain table with the same columns, indexes and
rows, keyed by (site, event_id) as before partitioning (the key a `process` running
functions/bench/unkeyed.py writes by), and swapped back afterwards with whatever was stored
into it meanwhile, and their keys. Never run against a deployment: partitions made or
dropped meanwhile would be lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import cast

import psycopg

from functions.bench.scenarios.common import say

_ASIDE = "click_events_partitioned"


def _swap_in(conn: psycopg.Connection[tuple[object, ...]]) -> datetime:
    """Put the plain table in place, in one transaction: readers and writers wait meanwhile.
    Returns its start, which every event stored after it was received at or after."""
    with conn.transaction():
        row = conn.execute("SELECT now()").fetchone()
        assert row is not None  # SELECT now() answers one row
        conn.execute(f"ALTER TABLE click_events RENAME TO {_ASIDE}")
        conn.execute(f"CREATE TABLE click_events (LIKE {_ASIDE} INCLUDING ALL)")
        conn.execute(
            "ALTER TABLE click_events DROP CONSTRAINT click_events_pkey,"
            " ADD PRIMARY KEY (site, event_id)"
        )
        conn.execute(f"INSERT INTO click_events SELECT * FROM {_ASIDE}")
    # what autovacuum would do after such a load: the reads measure fresh statistics
    conn.execute("VACUUM (ANALYZE) click_events")
    return cast(datetime, row[0])


def _swap_back(conn: psycopg.Connection[tuple[object, ...]], since: datetime) -> int:
    """The partitioned table back in place, with the events stored in the plain one and
    their keys."""
    with conn.transaction():
        conn.execute("LOCK TABLE click_events IN EXCLUSIVE MODE")
        cursor = conn.execute(
            f"INSERT INTO {_ASIDE} SELECT * FROM click_events WHERE received_at >= %s", (since,)
        )
        conn.execute(
            "INSERT INTO event_keys (site, event_id, time_stamp)"
            " SELECT site, event_id, time_stamp FROM click_events WHERE received_at >= %s"
            " ON CONFLICT DO NOTHING",
            (since,),
        )
        conn.execute("DROP TABLE click_events")
        conn.execute(f"ALTER TABLE {_ASIDE} RENAME TO click_events")
    return cursor.rowcount


@contextmanager
def unpartitioned(database_url: str) -> Iterator[None]:
    """`click_events` unpartitioned for the block's duration."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        started = time.perf_counter()
        since = _swap_in(conn)
        say(f"click_events unpartitioned (copied in {time.perf_counter() - started:.1f} s)")
        try:
            yield
        finally:
            kept = _swap_back(conn, since)
            say(f"click_events partitioned again ({kept:,} events stored meanwhile moved back)")
