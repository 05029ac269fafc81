"""Cache-aside reads: Redis first, PostgreSQL on a miss, one database read per key at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
from opentelemetry.metrics import Meter
from psycopg_pool import AsyncConnectionPool

from functions.core.cache import Cache, count_key
from functions.core.db import unavailable


class SingleFlight:
    """Concurrent loads of one key share a single call (no cache stampede)."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

    async def run(self, key: str, load: Callable[[], Awaitable[bytes]]) -> bytes:
        if key in self._inflight:
            return await asyncio.shield(self._inflight[key])
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await load()
        except BaseException as error:
            future.set_exception(error)
            # retrieved here so a load nobody else awaited does not warn
            future.exception()
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._inflight[key]


class Reads:
    def __init__(self, pool: AsyncConnectionPool, cache: Cache, ttl_s: int, meter: Meter) -> None:
        self._pool = pool
        self._cache = cache
        self._ttl_s = ttl_s
        self._flight = SingleFlight()
        self._lookups = meter.create_counter(
            "clickstream.cache.lookups", unit="{lookup}", description="Cache hits and misses"
        )
        self._db_reads = meter.create_counter(
            "clickstream.query.db.reads", unit="{read}", description="Reads that hit PostgreSQL"
        )

    async def cached(self, key: str, kind: str, load: Callable[[], Awaitable[bytes]]) -> bytes:
        """The encoded answer under `key`: from Redis, or loaded once and cached with a TTL."""
        hit = await self._cache.get(key)
        if hit is not None:
            self._lookups.add(1, {"result": "hit", "kind": kind})
            return hit
        self._lookups.add(1, {"result": "miss", "kind": kind})

        async def load_and_store() -> bytes:
            value = await self._query(load)
            await self._cache.put(key, value, self._ttl_s)
            return value

        return await self._flight.run(key, load_and_store)

    async def _query(self, load: Callable[[], Awaitable[bytes]]) -> bytes:
        self._db_reads.add(1)
        try:
            return await load()
        except psycopg.OperationalError as error:
            raise unavailable(error) from error

    async def event_count(self, user_id: str, page_url: str) -> int:
        async def load() -> bytes:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT click_count FROM page_clicks WHERE user_id = %s AND page_url = %s",
                    (user_id, page_url),
                )
                row = await cursor.fetchone()
            return str(row[0] if row else 0).encode()

        return int(await self.cached(count_key(user_id, page_url), "count", load))
