"""Counts in Redis against a real server: they only ever rise, so a reader holding an older
value can never overwrite a newer one, and every commit's counts are published."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import pytest
from redis.asyncio import Redis

from functions.core.cache import COUNTS_CHANNEL, Cache, count_key, user_counts_key

pytestmark = pytest.mark.integration


def test_an_older_count_never_overwrites_a_newer_one(redis_url: str) -> None:
    user = uuid.uuid4().hex
    key = count_key("default", user, "/page")

    async def scenario() -> list[int | None]:
        cache = Cache(redis_url)
        try:
            first = await cache.raise_counts({key: 5}, 60)
            assert await cache.committed([], {key: 7}, 60)
            late_reader = await cache.raise_counts({key: 5}, 60)  # read before the commit
            stale_commit = await cache.committed([], {key: 6}, 60)  # published out of order
            held = await cache.read_counts([("default", user, "/page")])
            assert held is not None
            return [first[key], late_reader[key], held[0].count(), int(stale_commit)]
        finally:
            await cache.close()

    assert asyncio.run(scenario()) == [5, 7, 7, 1]


def test_a_commit_publishes_its_counts_and_deletes_its_tags(redis_url: str) -> None:
    key, run = count_key("default", uuid.uuid4().hex, "/page"), uuid.uuid4().hex
    # more than the script deletes at once
    tags = [f"clickstream:tag:test:{run}:{n}" for n in range(2_500)]

    async def scenario() -> tuple[dict[str, int], int]:
        redis = Redis.from_url(redis_url)
        cache = Cache(redis_url)
        try:
            await redis.mset(dict.fromkeys(tags, b"version"))
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(COUNTS_CHANNEL)
                await pubsub.get_message(timeout=1)  # the subscription confirmed
                assert await cache.committed(tags, {key: 3}, 60)
                while True:
                    message = await pubsub.get_message(timeout=5)
                    assert message is not None, "no publication within 5 s"
                    published = msgspec.json.decode(message["data"], type=dict[str, int])
                    if key in published:
                        return published, await redis.exists(*tags)
        finally:
            await cache.close()
            await redis.aclose()

    assert asyncio.run(scenario()) == ({key: 3}, 0)


def test_a_users_map_answers_every_page_and_a_later_commit_wins(redis_url: str) -> None:
    user, other, third = (uuid.uuid4().hex for _ in range(3))

    async def scenario() -> list[int | None]:
        cache = Cache(redis_url)
        try:
            await cache.store_user_counts(
                {
                    user_counts_key("default", user): {"/a": 2, "/b": 5},
                    user_counts_key("default", other): {},
                },
                60_000,
            )
            assert await cache.committed([], {count_key("default", user, "/a"): 3}, 60)
            # a map read from an older snapshot, stored late: the first one stays
            await cache.store_user_counts(
                {
                    user_counts_key("default", user): {"/a": 1},
                    user_counts_key("default", other): {"/x": 9},
                },
                60_000,
            )
            keys = [
                ("default", user, "/a"),
                ("default", user, "/b"),
                ("default", user, "/never"),
                ("default", other, "/x"),
                ("default", third, "/a"),
            ]
            held = await cache.read_counts(keys)
            assert held is not None
            return [h.count() for h in held]
        finally:
            await cache.close()

    # `other` was stored empty first (never seen: 0 everywhere); `third` has no map at all
    assert asyncio.run(scenario()) == [3, 5, 0, 0, None]


def test_a_wide_user_is_answered_only_by_its_own_count_keys(redis_url: str) -> None:
    user = uuid.uuid4().hex

    async def scenario() -> list[tuple[bool, int | None]]:
        cache = Cache(redis_url)
        try:
            await cache.store_user_counts({user_counts_key("default", user): None}, 60_000)
            assert await cache.committed([], {count_key("default", user, "/a"): 4}, 60)
            held = await cache.read_counts([("default", user, "/a"), ("default", user, "/b")])
            assert held is not None
            return [(h.wide, h.count()) for h in held]
        finally:
            await cache.close()

    assert asyncio.run(scenario()) == [(True, 4), (True, None)]
