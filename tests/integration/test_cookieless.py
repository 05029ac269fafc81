"""Cookieless salts in a real PostgreSQL, with the clock moved (never the rule): one salt per
UTC day shared by every replica, and none older than two days kept."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from functions.core.db import connect
from functions.core.errors import DependencyUnavailable
from functions.core.events import NO_HINTS
from functions.ingest.cookieless import Salts, Visitors
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

DAY_ONE = datetime(2031, 3, 1, 23, 59, tzinfo=UTC)
HEADERS = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}


@pytest.fixture(scope="module")
def salts_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def stored_days(url: str) -> list[date]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT day FROM cookieless_salts ORDER BY day")]


def ids(visitors: Visitors, site: str, peer: str = "198.51.100.7") -> str:
    async def one() -> str:
        return (await visitors.for_request(HEADERS, peer, []))(site, NO_HINTS)

    return asyncio.run(one())


def test_one_visitor_a_day_per_site_and_new_ids_the_next_day(salts_url: str) -> None:
    clock = Clock(DAY_ONE)
    replica = Visitors(Salts(lambda: connect(salts_url), clock), [])
    other_replica = Visitors(Salts(lambda: connect(salts_url), clock), [])
    first = ids(replica, "a.example")
    assert ids(other_replica, "a.example") == first
    assert ids(replica, "b.example") != first
    assert ids(replica, "a.example", "198.51.100.8") != first
    clock.now += timedelta(minutes=2)  # past midnight UTC
    assert ids(replica, "a.example") != first
    assert ids(other_replica, "a.example") == ids(replica, "a.example")


def test_no_salt_older_than_two_days_is_kept(salts_url: str) -> None:
    clock = Clock(DAY_ONE + timedelta(days=10))
    salts = Salts(lambda: connect(salts_url), clock)
    for _ in range(4):
        asyncio.run(salts.current())
        today = clock.now.date()
        assert stored_days(salts_url) in ([today], [today - timedelta(days=1), today])
        clock.now += timedelta(days=1)
    assert min(stored_days(salts_url)) >= DAY_ONE.date() + timedelta(days=12)


def test_without_postgresql_cookieless_ids_fail_as_unavailable() -> None:
    async def refused() -> psycopg.AsyncConnection[object]:
        raise psycopg.OperationalError("connection refused")

    visitors = Visitors(Salts(refused), [])
    with pytest.raises(DependencyUnavailable):
        ids(visitors, "a.example")
