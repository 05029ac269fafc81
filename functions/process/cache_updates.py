"""After-commit cache updates, off the path of the deliveries' answers.

A delivery is answered once its group committed (that is what makes it durable); the tags
the group made stale and its new counts go to Redis right after, merged with whatever other
groups committed meanwhile, in one round trip. Order does not matter: deleting a tag twice
is harmless and a count keeps the highest value it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping

from opentelemetry.metrics import Counter

from functions.core.cache import Cache


class CacheUpdates:
    def __init__(self, cache: Cache, ttl_s: int, failures: Counter) -> None:
        self._cache = cache
        self._ttl_s = ttl_s
        self._failures = failures
        self._tags: set[str] = set()
        self._counts: dict[str, int] = {}
        self._pending = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._sender = asyncio.create_task(self._run(), name="cache-updates")

    def add(self, tags: Iterable[str], counts: Mapping[str, int]) -> None:
        """Queue one commit's updates; they are sent with the next round trip."""
        self._tags.update(tags)
        for key, count in counts.items():
            self._counts[key] = max(self._counts.get(key, 0), count)
        self._pending.set()

    async def stop(self) -> None:
        """Stop after sending what is still queued."""
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        await self._send()

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            await self._send()

    async def _send(self) -> None:
        self._pending.clear()
        tags, counts = self._tags, self._counts
        if not tags and not counts:
            return
        self._tags, self._counts = set(), {}
        if not await self._cache.committed(tags, counts, self._ttl_s):
            self._failures.add(1)
