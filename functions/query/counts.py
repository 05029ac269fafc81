"""GetEventCount through Redis, a user at a time.

A miss reads the user's counts on every page they visited in one PostgreSQL read and keeps
them as one map, so that every later read of that user (any page, visited or not) is
answered by Redis: a user's first read costs what a (user, page)'s first read cost before,
and the pages they never visited, which are most keys a reader can ask for, cost nothing.
Users with more than `MAX_MAPPED_PAGES` pages are marked wide and cached a page at a time.

`process` raises the count key of every (user, page) it commits to; a read takes the higher
of that key and the map (counts only grow), which keeps it current for commits after the
map was read (`functions.core.cache.Cache.store_user_counts`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from opentelemetry.metrics import Counter
from psycopg_pool import AsyncConnectionPool

from functions.core.cache import Cache, count_key, user_counts_key
from functions.query.single_flight import SingleFlight

# ~20 KB of Redis per mapped user; a user beyond it (a crawler) is read a page at a time
MAX_MAPPED_PAGES = 256
Loaded = TypeVar("Loaded")
UserCounts = dict[str, int] | None  # counts by page URL; None for a wide user


class Query(Protocol):
    """Runs one PostgreSQL read of `kind`, counted and with its errors mapped to gRPC's."""

    def __call__(self, kind: str, load: Callable[[], Awaitable[Loaded]]) -> Awaitable[Loaded]: ...


class Counts:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        cache: Cache,
        ttl_s: int,
        query: Query,
        lookups: Counter,
    ) -> None:
        self._pool = pool
        self._cache = cache
        self._ttl_s = ttl_s
        self._query = query
        self._lookups = lookups
        self._users: SingleFlight[UserCounts] = SingleFlight()
        self._pages: SingleFlight[int] = SingleFlight()

    async def event_count(self, user_id: str, page_url: str) -> int:
        held = await self._cache.read_count(user_id, page_url)
        count = None if held is None else held.count()
        if count is not None:
            self._lookups.add(1, {"result": "hit", "kind": "count"})
            return count
        self._lookups.add(1, {"result": "miss", "kind": "count"})
        if held is not None and not held.wide:
            counts = await self._users.run(
                user_counts_key(user_id), lambda: self._load_user(user_id)
            )
            if counts is not None:
                return counts.get(page_url, 0)
        # Redis unreachable (one primary-key read costs less than a whole map), or wide
        key = count_key(user_id, page_url)
        return await self._pages.run(key, lambda: self._load_page(key, user_id, page_url))

    async def _load_user(self, user_id: str) -> UserCounts:
        started = time.monotonic()

        async def load() -> UserCounts:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT page_url, click_count FROM page_clicks WHERE user_id = %s LIMIT %s",
                    (user_id, MAX_MAPPED_PAGES + 1),
                )
                rows = await cursor.fetchall()
            return None if len(rows) > MAX_MAPPED_PAGES else {page: n for page, n in rows}

        counts = await self._query("count", load)
        left_ms = int((self._ttl_s - (time.monotonic() - started)) * 1000)
        await self._cache.store_user_counts(user_id, counts, left_ms)
        return counts

    async def _load_page(self, key: str, user_id: str, page_url: str) -> int:
        async def load() -> int:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT click_count FROM page_clicks WHERE user_id = %s AND page_url = %s",
                    (user_id, page_url),
                )
                row = await cursor.fetchone()
            return int(row[0]) if row else 0

        loaded = await self._query("count", load)
        return await self._cache.raise_count(key, loaded, self._ttl_s)
