"""The benchmark's bulk history path (`write_bulk`, COPY into a staged table) leaves every
table exactly as delivering the same events in request-sized groups does, duplicates and
late events included."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import msgspec
import psycopg
import pytest

from functions.core.events import ClickEvent
from functions.process.store import write_bulk, write_events
from tests.fixtures.pipeline import FROM_SCRATCH, aggregate_differences
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

TABLES = {
    "click_events": "event_id, user_id, event_type, page_url, time_stamp, source, referrer,"
    " session_id, properties, browser, os, device, country, referrer_host, utm_source,"
    " utm_medium, utm_campaign",
    "page_clicks": "user_id, page_url, click_count",
    "page_minute_counts": "bucket, page_url, count",
    "type_minute_counts": "bucket, event_type, count",
    "page_rollups": "grain, bucket, page_url, count",
    "total_rollups": "grain, bucket, count",
    "user_hll": "grain, bucket, users::text",  # hll has no ordering: sorted as text
    "visits": "visit_key, started_at, ended_at, user_id, events, entry_page, exit_page,"
    " referrer_host, utm_source, utm_medium, utm_campaign, browser, os, device, country",
}


# what ingest sets, whole or in part (every column of click_events is compared)
ENRICHED: list[dict[str, str]] = [
    {},
    {"browser": "Chrome", "os": "Windows", "device": "desktop", "country": "DE"},
    {
        "browser": "Mobile Safari",
        "os": "iOS",
        "device": "mobile",
        "referrer_host": "news.example",
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "a\tb",
    },
]


def events(count: int) -> list[ClickEvent]:
    rng = random.Random(4)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    made = [
        msgspec.structs.replace(
            ClickEvent(
                event_id=f"bulk-{n}",
                user_id=f"u{int(rng.paretovariate(1.2)) % 300}",
                event_type=rng.choice(["click", "view", "scroll"]),
                page_url=f"/p{int(rng.paretovariate(1.0)) % 80}",
                time_stamp=start + timedelta(seconds=rng.randrange(3 * 86_400)),
                referrer=rng.choice([None, "https://example.com/"]),
                session_id=rng.choice([None, f"s{n % 17}"]),
                properties=rng.choice([None, {"n": n, "tag": "a\tb"}]),
            ),
            **rng.choice(ENRICHED),
        )
        for n in range(count)
    ]
    # redeliveries: within a batch and across batches
    return made + rng.sample(made, count // 10)


async def _one_by_group(url: str, stream: list[ClickEvent]) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for first in range(0, len(stream), 40):
            async with conn.transaction():
                await write_events(conn, stream[first : first + 40])


async def _in_bulk(url: str, stream: list[ClickEvent]) -> int:
    new = 0
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for first in range(0, len(stream), 1_500):
            async with conn.transaction():
                new += await write_bulk(conn, stream[first : first + 1_500])
    return new


def contents(url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT {columns} FROM {table} ORDER BY {columns}").fetchall()
            for table, columns in TABLES.items()
        }


def test_bulk_loading_leaves_the_tables_delivery_leaves() -> None:
    stream = events(3_000)
    with fresh_database() as delivered, fresh_database() as bulk:
        asyncio.run(_one_by_group(delivered, stream))
        assert asyncio.run(_in_bulk(bulk, stream)) == 3_000
        expected, got = contents(delivered), contents(bulk)
        # and both are right: every aggregate and visit as computed from scratch
        assert aggregate_differences(bulk) == dict.fromkeys(FROM_SCRATCH, 0)
    assert len(expected["click_events"]) == 3_000
    assert len(expected["visits"]) > 300  # users' visits split, sessions span days
    for table in TABLES:
        assert got[table] == expected[table], table
