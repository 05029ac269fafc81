"""CacheUpdates on its own, against the real Redis: the updates of commits that queue while
one round trip is under way leave merged in the next (stale tags deleted, each count at its
highest, one publication), `stop` sends what is still queued, and a Redis that cannot be
reached is counted as a failure rather than raised into the deliveries."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import pytest
from opentelemetry.metrics import Counter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from redis.asyncio import Redis

from functions.core.cache import COUNTS_CHANNEL, PREFIX, Cache
from functions.dev.ports import free_port
from functions.process.cache_updates import CacheUpdates

pytestmark = pytest.mark.integration


def failures_counted(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    if data is None:
        return 0
    return sum(
        int(point.value)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
        if isinstance(point, NumberDataPoint)
    )


def counter(reader: InMemoryMetricReader) -> Counter:
    return MeterProvider(metric_readers=[reader]).get_meter("test").create_counter("failures")


def test_queued_commits_leave_merged_in_one_round_trip(redis_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    tags = [f"{PREFIX}tag:test-{run}:{n}" for n in range(3)]
    counts = [f"{PREFIX}count:test-{run}:{n}" for n in range(2)]

    async def scenario() -> None:
        redis = Redis.from_url(redis_url)
        for tag in tags:
            await redis.set(tag, "stale", ex=60)
        pubsub = redis.pubsub()
        await pubsub.subscribe(COUNTS_CHANNEL)
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        reader = InMemoryMetricReader()
        cache = Cache(redis_url)
        updates = CacheUpdates(cache, 60, counter(reader))
        # three commits queue before the sender first runs: one round trip carries them
        updates.add(tags[:1], {counts[0]: 3})
        updates.add(tags[1:], {counts[0]: 2, counts[1]: 7})
        updates.add([], {counts[0]: 5})
        updates.start()
        published: list[dict[str, int]] = []
        while len(published) < 1:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            assert message is not None, "no publication"
            mine = msgspec.json.decode(message["data"])
            if counts[0] in mine:
                published.append(mine)
        assert published == [{counts[0]: 5, counts[1]: 7}]
        assert [await redis.exists(tag) for tag in tags] == [0, 0, 0]
        assert [int(await redis.get(key) or 0) for key in counts] == [5, 7]
        # after it: the next commit goes on its own round trip
        updates.add([], {counts[1]: 9})
        await updates.stop()
        assert int(await redis.get(counts[1]) or 0) == 9
        assert failures_counted(reader) == 0
        await cache.close()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()

    asyncio.run(scenario())


def test_stop_sends_what_is_queued(redis_url: str) -> None:
    key = f"{PREFIX}count:test-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        cache = Cache(redis_url)
        updates = CacheUpdates(cache, 60, counter(InMemoryMetricReader()))
        updates.add([], {key: 4})  # never started: only stop sends it
        await updates.stop()
        await cache.close()
        redis = Redis.from_url(redis_url)
        assert int(await redis.get(key) or 0) == 4
        await redis.aclose()

    asyncio.run(scenario())


def test_redis_unreachable_is_counted_not_raised() -> None:
    async def scenario() -> None:
        reader = InMemoryMetricReader()
        cache = Cache(f"redis://127.0.0.1:{free_port()}/0")
        updates = CacheUpdates(cache, 60, counter(reader))
        updates.start()
        updates.add(["t"], {"c": 1})
        for _ in range(100):
            if failures_counted(reader):
                break
            await asyncio.sleep(0.05)
        await updates.stop()
        await cache.close()
        assert failures_counted(reader) == 1

    asyncio.run(scenario())
