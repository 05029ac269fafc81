"""process's work: validate a delivered click, store it once, invalidate what went stale."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from cloudevents.abstract import AnyCloudEvent
from opentelemetry.metrics import Meter
from psycopg_pool import AsyncConnectionPool

from functions.core.cache import Cache, new_counts, stale_tags
from functions.core.db import TRANSIENT, unavailable
from functions.core.errors import InvalidEvent
from functions.core.events import ClickEvent, from_cloudevent
from functions.process.group_commit import GroupCommitter
from functions.process.store import write_events

log = logging.getLogger("clickstream.process")


class ProcessService:
    def __init__(
        self, pool: AsyncConnectionPool, cache: Cache, cache_ttl_s: int, meter: Meter
    ) -> None:
        self._pool = pool
        self._cache = cache
        self._cache_ttl_s = cache_ttl_s
        self.committer = GroupCommitter(self._write_group)
        self._events = meter.create_counter(
            "clickstream.process.events", unit="{event}", description="Events by outcome"
        )
        for outcome in ("inserted", "duplicate", "rejected"):  # every series exists from start
            self._events.add(0, {"outcome": outcome})
        self._group_size = meter.create_histogram(
            "clickstream.process.batch.size",
            unit="{event}",
            description="Events written per database transaction (group commit)",
        )
        self._freshness = meter.create_histogram(
            "clickstream.process.freshness",
            unit="s",
            description="From the event's time to its commit in PostgreSQL",
        )
        self._invalidation_failures = meter.create_counter(
            "clickstream.process.cache.invalidation.failures",
            unit="{batch}",
            description="Groups whose cache invalidation could not reach Redis",
        )
        self._invalidation_failures.add(0)  # the series exists before the first failure

    async def handle(self, event: AnyCloudEvent) -> bool:
        """Store one delivered event; True when new. Raises InvalidEvent (never retryable)."""
        try:
            click = from_cloudevent(event, received_at=datetime.now(UTC))
        except InvalidEvent:
            self._events.add(1, {"outcome": "rejected"})
            raise
        new = await self.committer.submit(click)
        self._events.add(1, {"outcome": "inserted" if new else "duplicate"})
        return new

    async def _write_group(self, events: list[ClickEvent]) -> set[str]:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                inserted = await write_events(conn, events)
        except TRANSIENT as error:
            raise unavailable(error) from error
        self._group_size.record(len(events))
        committed_at = time.time()
        for row in inserted:
            self._freshness.record(max(0.0, committed_at - row.time_stamp.timestamp()))
        if not await self._cache.committed(
            stale_tags(inserted), new_counts(inserted), self._cache_ttl_s
        ):
            self._invalidation_failures.add(1)
        return {row.event_id for row in inserted}
