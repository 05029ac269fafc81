"""GetEventCount(s) through Redis, a batch of (user, page) keys at a time.

A miss reads the user's counts on every page they visited and keeps them as one map, so that
every later read of that user (any page, visited or not) is answered by Redis: a user's first
read costs what a (user, page)'s first read cost before, and the pages they never visited,
which are most keys a reader can ask for, cost nothing. Users with more than
`MAX_MAPPED_PAGES` pages are marked wide and cached a page at a time.

A batch costs one Redis read for all its keys, one PostgreSQL read for all the users it
misses (and one for the pages it must read one by one), and one Redis write for each: a
gateway sends the count reads that reach it together as one batch.

`process` raises the count key of every (user, page) it commits to; a read takes the higher
of that key and the map (counts only grow), which keeps it current for commits after the
map was read (`functions.core.cache.Cache.store_user_counts`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from opentelemetry.metrics import Counter
from psycopg_pool import AsyncConnectionPool

from functions.core.cache import Cache, CountKey, count_key, user_counts_key
from functions.query.single_flight import SingleFlight

# ~20 KB of Redis per mapped user; a user beyond it (a crawler) is read a page at a time
MAX_MAPPED_PAGES = 256
Loaded = TypeVar("Loaded")
UserCounts = dict[str, int] | None  # counts by page URL; None for a wide user
User = tuple[str, str]  # (site, user_id)

# each user's pages, at most one more than a map holds (so a wide user shows as wide)
_USERS_PAGES = """
SELECT u.site, u.user_id, p.page_url, p.click_count
FROM unnest(%s::text[], %s::text[]) AS u(site, user_id)
CROSS JOIN LATERAL (
    SELECT page_url, click_count FROM page_clicks AS c
    WHERE c.site = u.site AND c.user_id = u.user_id LIMIT %s
) AS p
"""
_PAGES = """
SELECT k.site, k.user_id, k.page_url, c.click_count
FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(site, user_id, page_url)
JOIN page_clicks AS c USING (site, user_id, page_url)
"""


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

    async def event_counts(self, keys: Sequence[CountKey]) -> list[int]:
        """The all-time count of each (user, page), in order."""
        held = await self._cache.read_counts(keys)
        counts: list[int | None] = [None] * len(keys)
        if held is not None:
            counts = [h.count() for h in held]
        missing = [i for i, count in enumerate(counts) if count is None]
        if hits := len(keys) - len(missing):
            self._lookups.add(hits, {"result": "hit", "kind": "count"})
        if missing:
            self._lookups.add(len(missing), {"result": "miss", "kind": "count"})
        # Redis unreachable: one primary-key read costs less than a whole map
        if missing and held is not None:
            # flights are keyed by the user's map key, which names both site and user
            users = {
                user_counts_key(keys[i][0], keys[i][1]): (keys[i][0], keys[i][1])
                for i in missing
                if not held[i].wide
            }
            maps = await self._users.run_many(
                list(users), lambda names: self._load_users(names, users)
            )
            for i in missing:
                site, user_id, page_url = keys[i]
                pages = maps.get(user_counts_key(site, user_id))
                if pages is not None:
                    counts[i] = pages.get(page_url, 0)
        # wide users, and every miss while Redis is unreachable
        by_key = {count_key(*keys[i]): keys[i] for i in missing if counts[i] is None}
        read: dict[str, int] = {}
        if by_key:
            read = await self._pages.run_many(by_key, lambda keys: self._load_pages(keys, by_key))
        return [
            read[count_key(*key)] if count is None else count
            for key, count in zip(keys, counts, strict=True)
        ]

    async def _load_users(self, names: list[str], users: dict[str, User]) -> dict[str, UserCounts]:
        """The maps of the users under `names` (their map keys), by name."""
        started = time.monotonic()
        sites, user_ids = zip(*(users[name] for name in names), strict=True)

        async def load() -> list[tuple[str, str, str, int]]:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(
                    _USERS_PAGES, (list(sites), list(user_ids), MAX_MAPPED_PAGES + 1)
                )
                return await cursor.fetchall()

        maps: dict[str, UserCounts] = {name: {} for name in names}
        for site, user_id, page_url, count in await self._query("count", load):
            name = user_counts_key(site, user_id)
            pages = maps[name]
            if pages is not None:
                pages[page_url] = count
                if len(pages) > MAX_MAPPED_PAGES:
                    maps[name] = None
        left_ms = int((self._ttl_s - (time.monotonic() - started)) * 1000)
        await self._cache.store_user_counts(maps, left_ms)
        return maps

    async def _load_pages(self, keys: list[str], pairs: dict[str, CountKey]) -> dict[str, int]:
        sites, users, pages = zip(*(pairs[key] for key in keys), strict=True)

        async def load() -> list[tuple[str, str, str, int]]:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(_PAGES, (list(sites), list(users), list(pages)))
                return await cursor.fetchall()

        loaded = dict.fromkeys(keys, 0)
        for site, user_id, page_url, count in await self._query("count", load):
            loaded[count_key(site, user_id, page_url)] = count
        return await self._cache.raise_counts(loaded, self._ttl_s)
