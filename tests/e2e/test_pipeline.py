"""The whole pipeline: ingest, Kafka, dispatcher, process, PostgreSQL, query, gateway."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter

import httpx
import psycopg
import pytest

from functions.dev.stack import Stack
from tests.fixtures.pipeline import wait_stored

pytestmark = pytest.mark.e2e

USERS = [f"user-{n}" for n in range(20)]
PAGES = [f"/page/{n}" for n in range(10)]


def make_events(run: str, count: int, rng: random.Random) -> list[dict[str, str]]:
    return [
        {
            "event_id": f"{run}-{n}",
            "user_id": f"{run}-{rng.choice(USERS)}",
            "event_type": "click",
            "page_url": rng.choice(PAGES),
        }
        for n in range(count)
    ]


def test_thousand_events_counted_exactly(stack: Stack, database_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    rng = random.Random(7)
    unique = make_events(run, 890, rng)
    duplicates = rng.sample(unique, 100)
    invalid = [
        {"event_id": f"{run}-bad-{n}", "user_id": "", "event_type": "", "page_url": "nowhere"}
        for n in range(10)
    ]
    with httpx.Client(base_url=stack.url("ingest"), timeout=10) as ingest:
        for start in range(0, len(unique) - 40, 50):
            answer = ingest.post("/ingest", json=unique[start : start + 50])
            assert answer.status_code == 202, answer.text
            assert answer.json() == {"accepted": 50, "rejected": []}
        for event in unique[850:]:  # the last 40 as binary-mode CloudEvents
            headers = {
                "ce-specversion": "1.0",
                "ce-id": event["event_id"],
                "ce-source": "/e2e",
                "ce-type": "io.clickstream.event.v1",
                "content-type": "application/json",
            }
            body = {k: v for k, v in event.items() if k != "event_id"}
            answer = ingest.post("/", json=body, headers=headers)
            assert answer.status_code == 202, answer.text
        answer = ingest.post("/ingest", json=duplicates)
        assert answer.status_code == 202
        answer = ingest.post("/ingest", json=invalid)
        assert answer.status_code == 400
        errors = answer.json()["errors"]
        assert {(e["index"], e["field"]) for e in errors} == {
            (n, field) for n in range(10) for field in ("user_id", "event_type", "page_url")
        }

    assert wait_stored(database_url, run, 890) == 890
    expected = Counter((e["user_id"], e["page_url"]) for e in unique)
    with httpx.Client(base_url=stack.url("gateway"), timeout=10) as gateway:
        deadline = time.monotonic() + 30
        while True:  # rows are committed before caches are invalidated: allow that moment
            got = {
                (user, page): gateway.get(
                    "/analytics/events", params={"user_id": f"{run}-{user}", "page_url": page}
                ).json()["count"]
                for user in USERS
                for page in PAGES
            }
            if got == {(f"{u}", p): expected[(f"{run}-{u}", p)] for u in USERS for p in PAGES}:
                break
            assert time.monotonic() < deadline, f"counts never matched: {got}"
            time.sleep(0.5)
        # the original contract also takes a JSON body
        user, page = next(iter(expected))
        answer = gateway.request(
            "GET", "/analytics/events", json={"user_id": user, "page_url": page}
        )
        assert answer.json() == {"user_id": user, "page_url": page, "count": expected[(user, page)]}
        missing = gateway.get("/analytics/events", params={"user_id": "nobody", "page_url": "/"})
        assert missing.json()["count"] == 0
        bad = gateway.get("/analytics/events", params={"page_url": "/"})
        assert bad.status_code == 400
        assert bad.json()["error"]["field"] == "user_id"
    with psycopg.connect(database_url) as conn:
        totals = conn.execute(
            "SELECT sum(click_count) FROM page_clicks WHERE user_id LIKE %s", (f"{run}-%",)
        ).fetchone()
    assert totals is not None
    assert totals[0] == 890
