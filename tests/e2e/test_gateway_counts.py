"""The gateway's own copy of counts over the whole pipeline: hot reads never leave the
gateway, yet every committed event shows up, also across a lost subscription."""

from __future__ import annotations

import functools
import uuid

import httpx
import pytest
import redis

from functions.dev.stack import Stack
from tests.fixtures.metrics import metric
from tests.fixtures.polling import eventually

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]


def scraped(stack: Stack, function: str, name: str, **labels: str) -> float:
    return metric(f"http://127.0.0.1:{stack.ports.metrics[function]}/metrics", name, **labels)


def lookups(stack: Stack, result: str) -> float:
    return scraped(stack, "gateway", "clickstream_gateway_cache_lookups_total", result=result)


def count_reads(stack: Stack) -> float:
    return scraped(stack, "query", "clickstream_query_db_reads_total", kind="count")


def send(stack: Stack, user: str, page: str, n: int) -> None:
    event = {"event_id": f"{RUN}-{user}-{n}", "user_id": user, "event_type": "click"}
    answer = httpx.post(stack.url("ingest") + "/ingest", json={**event, "page_url": page})
    assert answer.status_code == 202, answer.text


def read(stack: Stack, user: str, page: str) -> int:
    params = {"user_id": user, "page_url": page}
    answer = httpx.get(stack.url("gateway") + "/analytics/events", params=params, timeout=5)
    assert answer.status_code == 200, answer.text
    count = answer.json()["count"]
    assert isinstance(count, int)
    return count


def shows(stack: Stack, user: str, page: str, count: int) -> bool:
    return read(stack, user, page) == count


def test_hot_counts_are_answered_by_the_gateway_and_follow_every_commit(stack: Stack) -> None:
    user, page = f"{RUN}-hot", "/hot"

    def answered_by_the_gateway() -> bool:
        hits = lookups(stack, "hit")
        return read(stack, user, page) == 0 and lookups(stack, "hit") == hits + 1

    eventually(answered_by_the_gateway, "the gateway's copy never went live")
    db_reads = count_reads(stack)
    for n in range(1, 6):
        send(stack, user, page, n)
        eventually(functools.partial(shows, stack, user, page, n), f"count {n} never visible")
    hits = lookups(stack, "hit")
    assert all(read(stack, user, page) == 5 for _ in range(20))
    assert lookups(stack, "hit") == hits + 20
    assert count_reads(stack) == db_reads  # every new count arrived by publication


def test_a_lost_subscription_never_leaves_a_stale_count(stack: Stack, redis_url: str) -> None:
    user, page = f"{RUN}-cut", "/cut"
    send(stack, user, page, 1)
    eventually(lambda: read(stack, user, page) == 1, "first event never visible")
    with redis.Redis.from_url(redis_url) as client:
        # the gateway's subscription dies; publications in the gap are lost to it
        client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        send(stack, user, page, 2)
        eventually(lambda: read(stack, user, page) == 2, "count after the cut never visible")
    hits = lookups(stack, "hit")
    eventually(
        lambda: read(stack, user, page) == 2 and lookups(stack, "hit") > hits,
        "the gateway never followed publications again",
    )
    send(stack, user, page, 3)
    eventually(lambda: read(stack, user, page) == 3, "count after resubscribing never visible")
