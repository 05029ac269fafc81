"""`process` invalidates the cached answers a changed visit made stale: those covering its
old start as well as its new one (a report counts a visit in the range holding its start)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
import redis

from functions.core.cache import site_scope, tag_key
from functions.core.events import EVENT_TYPE
from tests.fixtures.pipeline import PipelineFactory

pytestmark = pytest.mark.integration


def deliver(client: httpx.Client, site: str, event_id: str, at: datetime) -> None:
    """One binary-mode CloudEvent, as the dispatcher delivers it."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "/test",
        "ce-type": EVENT_TYPE,
        "ce-time": at.isoformat(),
        "content-type": "application/json",
    }
    data = {"user_id": "u", "event_type": "pageview", "page_url": "/", "site": site}
    answer = client.post("/", headers=headers, json=data)
    assert answer.status_code == 200, answer.text


def gone(client: redis.Redis, key: str, timeout_s: float = 10) -> bool:
    """Whether `key` is deleted within `timeout_s` (cache updates follow the commit)."""
    deadline = time.monotonic() + timeout_s
    while client.exists(key):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_merge_invalidates_the_answers_holding_the_merged_visits_start(
    pipelines: PipelineFactory, database_url: str, redis_url: str
) -> None:
    site = f"{uuid.uuid4().hex[:8]}.example"
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    later = hour + timedelta(hours=1)  # its own visit: an hour after the first one
    scope = site_scope(site)
    # an answer covering [later, later + 2 min) is stored behind these tags
    later_minute, next_minute, later_hour = (
        tag_key(scope, "minute", later),
        tag_key(scope, "minute", later + timedelta(minutes=1)),
        tag_key(scope, "hour", later),
    )
    pipeline, _ = pipelines()
    pipeline.start("process")
    cache = redis.Redis.from_url(redis_url)
    try:
        with httpx.Client(base_url=pipeline.process_url, timeout=10) as client:
            deliver(client, site, "first", hour)
            cache.set(later_minute, "v1", ex=300)
            deliver(client, site, "later", later)
            assert gone(cache, later_minute)  # its own event's tags: the test can see one go
            cache.mset({later_minute: "v2", next_minute: "v2", later_hour: "v2"})
            # 30 minutes from both: one visit from `hour`; the one that started `later` is gone
            deliver(client, site, "bridge", hour + timedelta(minutes=30))
            assert gone(cache, later_minute)
            assert gone(cache, later_hour)
            assert cache.get(next_minute) == b"v2"  # nothing else in that hour went stale
        with psycopg.connect(database_url) as conn:
            assert conn.execute(
                "SELECT started_at, events FROM visits WHERE site = %s", (site,)
            ).fetchall() == [(hour, 3)]
    finally:
        cache.delete(later_minute, next_minute, later_hour)
        cache.close()
