"""The benchmark's unpartitioned baseline over real PostgreSQL: inside the block
`click_events` is one plain table with the same rows, keyed by (site, event_id), which the
baseline's statement (functions/bench/unkeyed.py) writes to without `event_keys`; after it,
the partitioned table is back with those writes in its partitions and their keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import pytest

from functions.bench.unpartitioned import unpartitioned
from functions.core.events import ClickEvent
from functions.process import store
from functions.process.store import write_events
from tests.fixtures.services import fresh_database

NOW = datetime.now(UTC)
_KEY = """SELECT pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'click_events'::regclass AND contype = 'p'"""


def _events(prefix: str, n: int) -> list[ClickEvent]:
    return [
        ClickEvent(
            event_id=f"{prefix}{k}",
            user_id=f"u{k % 3}",
            event_type="click",
            page_url="/",
            time_stamp=NOW - timedelta(minutes=k),
            site="bench.test",
        )
        for k in range(n)
    ]


def _write(url: str, events: list[ClickEvent]) -> None:
    async def write() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await write_events(conn, events)

    asyncio.run(write())


def _shape(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'click_events'::regclass")
    count = conn.execute("SELECT count(*) FROM click_events")
    key = conn.execute(_KEY)
    return (kind.fetchone(), count.fetchone(), key.fetchone())


def test_the_baseline_swaps_the_table_and_back_with_what_was_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = ("PRIMARY KEY (site, event_id, time_stamp)",)
    plain_key = ("PRIMARY KEY (site, event_id)",)
    with fresh_database() as url:
        _write(url, _events("a", 20))
        with psycopg.connect(url, autocommit=True) as conn:
            assert _shape(conn) == (("p",), (20,), key)
            with unpartitioned(url):
                assert _shape(conn) == (("r",), (20,), plain_key)
                monkeypatch.setattr(store, "WRITE_EVENTS", store.WRITE_EVENTS_UNPARTITIONED)
                _write(url, _events("b", 5) + _events("a", 20))  # the a's: stored already
                monkeypatch.undo()
                assert _shape(conn) == (("r",), (25,), plain_key)
                keys = conn.execute("SELECT count(*) FROM event_keys").fetchone()
                assert keys == (20,)  # the baseline's writes keep no keys apart
            assert _shape(conn) == (("p",), (25,), key)
            kept = conn.execute("SELECT count(*) FROM click_events_kept WHERE site = 'bench.test'")
            assert kept.fetchone() == (25,)
            # their keys too: a retry of the b's with another time is still stored once
            assert conn.execute("SELECT count(*) FROM event_keys").fetchone() == (25,)
            later = [
                msgspec.structs.replace(e, time_stamp=NOW + timedelta(seconds=1))
                for e in _events("b", 5)
            ]
            _write(url, later)
            assert _shape(conn) == (("p",), (25,), key)
