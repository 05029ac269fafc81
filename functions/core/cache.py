"""Redis as a cache only: namespaced keys, TTL on every entry, failures never fatal."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

PREFIX = "clickstream:"
log = logging.getLogger("clickstream.cache")


def _digest(*parts: str) -> str:
    # user ids and URLs are unbounded and untrusted: hash them into a fixed-size key
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def count_key(user_id: str, page_url: str) -> str:
    """The all-time count of one user on one page (GetEventCount)."""
    return f"{PREFIX}count:{_digest(user_id, page_url)}"


class Written(Protocol):
    """What a committed event tells invalidation: who, where, when."""

    @property
    def user_id(self) -> str: ...
    @property
    def page_url(self) -> str: ...
    @property
    def time_stamp(self) -> datetime: ...


def stale_keys(written: Iterable[Written]) -> set[str]:
    """Exactly the cache entries that newly committed events made stale."""
    return {count_key(row.user_id, row.page_url) for row in written}


class Cache:
    """A Redis cache that degrades to misses when Redis is down."""

    def __init__(self, redis_url: str) -> None:
        self._redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(key)
        except (RedisError, OSError) as error:
            log.warning("cache read failed: %s", error)
            return None
        return value.encode() if isinstance(value, str) else value

    async def put(self, key: str, value: bytes, ttl_s: int) -> None:
        try:
            await self._redis.set(key, value, ex=ttl_s)
        except (RedisError, OSError) as error:
            log.warning("cache write failed: %s", error)

    async def invalidate(self, keys: Iterable[str]) -> bool:
        """Delete `keys`; False when Redis could not be reached (entries expire by TTL)."""
        batch = list(keys)
        if not batch:
            return True
        try:
            await self._redis.unlink(*batch)
        except (RedisError, OSError) as error:
            log.warning("cache invalidation failed: %s", error)
            return False
        return True

    async def ready(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()
