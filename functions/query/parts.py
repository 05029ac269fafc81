"""Per-bucket parts of long-range reads, kept in `query`'s memory while their bucket is unchanged.

A 30-day read combines ~80 per-bucket parts (a top-pages summary, a minute's users' sketch);
fetching and decoding them on every read cost more CPU than the rest of the read. A part is
stored with its bucket's event total and handed out only for that same total: every event
added to a bucket moves its total (roll-ups and parts are written in one transaction), so a
part is never used after its bucket changed, and one statement of totals is all a read needs
to trust them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Generic, TypeVar

from psycopg import AsyncConnection

from functions.core.spans import Run

Part = TypeVar("Part")
Bucket = tuple[str, datetime]  # (grain, bucket start)
Connection = AsyncConnection[Any]
# a pooled connection, held for one `async with`
Connect = Callable[[], AbstractAsyncContextManager[Connection]]


class PartCache(Generic[Part]):
    """A bounded LRU of parts, each valid for one version: a bucket's part for the bucket's
    event total, a run's parts combined for the totals of all the run's buckets. Keys name
    their site: `(site, bucket)`, `(site, run)`."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[Hashable, tuple[Hashable, Part]] = OrderedDict()

    def get(self, key: Hashable, version: Hashable) -> Part | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def split(self, site: str, totals: Mapping[Bucket, int]) -> tuple[list[Part], list[Bucket]]:
        """(the parts held for these buckets' totals in `site`, the buckets with none)."""
        held: list[Part] = []
        missing: list[Bucket] = []
        for bucket, total in totals.items():
            part = self.get((site, bucket), total)
            if part is None:
                missing.append(bucket)
            else:
                held.append(part)
        return held, missing

    def clear(self) -> None:
        """Forget every part: their buckets' totals belong to a database that is gone."""
        self._entries.clear()

    def put(self, key: Hashable, version: Hashable, part: Part) -> None:
        self._entries[key] = (version, part)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


async def bucket_totals(conn: Connection, site: str, selected: Sequence[Run]) -> dict[Bucket, int]:
    """The event total of every bucket of `selected` that holds events of `site`."""
    if not selected:
        return {}
    clause = " OR ".join(["(grain = %s AND bucket >= %s AND bucket < %s)"] * len(selected))
    params: list[object] = [site]
    for run in selected:
        params += [run.grain, run.start, run.end]
    cursor = await conn.execute(
        f"SELECT grain, bucket, count FROM total_rollups WHERE site = %s AND ({clause})", params
    )
    return {(grain, bucket): int(total) for grain, bucket, total in await cursor.fetchall()}


async def by_run(
    cache: PartCache[Part],
    site: str,
    selected: Sequence[Run],
    totals: Mapping[Bucket, int],
    combine: Callable[[Run, dict[Bucket, int]], Awaitable[Part]],
) -> list[Part]:
    """Each run's parts combined, from `cache` while the totals of the run's buckets are the
    ones it was combined at, else by `combine(run, its buckets' totals)`."""
    combined: list[Part] = []
    for run in selected:
        run_totals = dict(
            sorted(  # in bucket order, so that equal totals make equal versions
                (bucket, total)
                for bucket, total in totals.items()
                if bucket[0] == run.grain and run.start <= bucket[1] < run.end
            )
        )
        version = tuple(run_totals.items())
        part = cache.get((site, run), version)
        if part is None:
            part = await combine(run, run_totals)
            cache.put((site, run), version, part)
        combined.append(part)
    return combined
