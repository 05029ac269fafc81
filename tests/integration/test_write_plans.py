"""process's write statement is prepared once per connection (functions/process/store.py),
and PostgreSQL then keeps one generic plan, which no ANALYZE refreshes here (autovacuum is
off on this machine, and these tables' own is switched off below): a plan made while the
tables were empty must go on probing stored rows by index once they have grown."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import cast

import psycopg
import pytest

from functions.core.events import ClickEvent
from functions.process.store import write_bulk, write_events
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

SITE = "plans.example"
USERS = 2_000
GROWN_EVENTS = 40_000
GROUP = 25
WRITES = 12  # PostgreSQL plans the first five executions each time, then goes generic
# stored events a written one may read back: those of the visits it joins or merges
READ_PER_EVENT = 20
# the tables every write probes; a name stands for its partitions too (click_events_kept_p*)
SCANNED = ("visits", "event_keys", "click_events")


def clicks(count: int, start: datetime, step: timedelta, tag: str) -> list[ClickEvent]:
    return [
        ClickEvent(
            event_id=f"{tag}-{uuid.uuid4().hex}",
            user_id=f"user-{n % USERS}",
            event_type="pageview",
            page_url=f"https://plans.example/page/{n % 40}",
            time_stamp=start + n * step,
            site=SITE,
        )
        for n in range(count)
    ]


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace"
            ).fetchall()
            for (table,) in tables:
                conn.execute(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)')
        yield url


def scans(database_url: str) -> dict[str, tuple[int, int, int]]:
    """(sequential scans, index scans, index entries read) so far of each table in SCANNED,
    its partitions summed."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT t.name, sum(s.seq_scan)::int, sum(coalesce(s.idx_scan, 0))::int,"
            " (SELECT coalesce(sum(i.idx_tup_read), 0)::int FROM pg_stat_user_indexes AS i"
            "  WHERE i.relname = t.name OR i.relname LIKE t.name || '\\_%%')"
            " FROM unnest(%s::text[]) AS t(name)"
            " JOIN pg_stat_user_tables AS s"
            "   ON s.relname = t.name OR s.relname LIKE t.name || '\\_%%'"
            " GROUP BY t.name",
            (list(SCANNED),),
        ).fetchall()
    return {name: (seq, idx, fetched) for name, seq, idx, fetched in rows}


def reported(
    database_url: str, before: dict[str, tuple[int, int, int]]
) -> dict[str, tuple[int, int, int]]:
    """`scans` once the writer's own have been reported: a backend reports its statistics
    about a second after going idle, and late counts must not land in the next phase."""
    deadline = time.monotonic() + 15
    now = scans(database_url)
    while now["visits"][1] == before["visits"][1] and time.monotonic() < deadline:
        time.sleep(0.2)
        now = scans(database_url)
    time.sleep(1.5)
    return scans(database_url)


async def write_groups(conn: psycopg.AsyncConnection[object], start: datetime, tag: str) -> None:
    for n in range(WRITES):
        group = clicks(GROUP, start + n * timedelta(minutes=1), timedelta(seconds=1), f"{tag}{n}")
        await write_events(conn, group)


async def generic_plans(conn: psycopg.AsyncConnection[object]) -> int:
    cursor = await conn.execute(
        "SELECT coalesce(sum(generic_plans), 0)::int FROM pg_prepared_statements"
        " WHERE statement LIKE '%%json_to_recordset%%'"
    )
    (plans,) = cast(tuple[int], await cursor.fetchone())  # sum(): always one row
    return plans


async def check(database_url: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as writer:
        # the generic plan made at the first write, on empty tables: the worst it can be made
        # on (PostgreSQL would otherwise make it at the sixth, on barely fuller ones)
        await writer.execute("SET plan_cache_mode = force_generic_plan")
        await write_groups(writer, now - timedelta(hours=2), "empty")
        assert await generic_plans(writer) > 0, "the write statement is not prepared"
        # the tables grow under it, with no ANALYZE: visits by the hundred per user
        async with await psycopg.AsyncConnection.connect(database_url) as loader:
            for half in range(2):
                async with loader.transaction():
                    start = now - timedelta(days=2 - half)
                    await write_bulk(
                        loader, clicks(GROWN_EVENTS // 2, start, timedelta(seconds=2), "grown")
                    )
        before = scans(database_url)
        # in order (after every stored visit), then late (inside stored visits)
        await write_groups(writer, now - timedelta(minutes=30), "in-order")
        await write_groups(writer, now - timedelta(days=2, hours=-3), "late")
        assert await generic_plans(writer) > WRITES, "the grown tables were planned afresh"
    after = await asyncio.to_thread(reported, database_url, before)
    for table in SCANNED:
        assert after[table][1] > before[table][1], f"{table}: no index scan {before} -> {after}"
        assert after[table][0] == before[table][0], f"{table} scanned: {before} -> {after}"
    # and by the index that finds only the rows asked for: one that merely starts with the
    # site would read the site's 40,000 events for each probe
    read = after["click_events"][2] - before["click_events"][2]
    assert read <= READ_PER_EVENT * 2 * WRITES * GROUP, f"{read} index entries of raw events read"


def test_a_write_plan_made_on_empty_tables_probes_by_index_once_they_grew(
    database_url: str,
) -> None:
    asyncio.run(check(database_url))
