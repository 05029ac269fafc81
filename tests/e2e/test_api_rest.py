"""The REST API over the whole pipeline: events go in through ingest, Kafka, the dispatcher and
process; every route answers what a from-scratch SQL computation over the raw events says."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from functions.dev.stack import Stack
from tests.fixtures.pipeline import wait_stored

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
# a past window of its own, so other tests' events (at "now") never fall inside it
START = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
PAGES = [f"/{RUN}/p{n}" for n in range(8)]
USERS = [f"{RUN}-u{n}" for n in range(30)]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sql(database_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def loaded(stack: Stack, database_url: str) -> Iterator[httpx.Client]:
    rng = random.Random(3)
    events = [
        {
            "event_id": f"{RUN}-{n}",
            "user_id": rng.choice(USERS),
            "event_type": rng.choice(("click", "click", "pageview", "scroll")),
            "page_url": PAGES[min(int(rng.expovariate(0.5)), 7)],
            "time_stamp": iso(START + timedelta(seconds=rng.randrange(5 * 3600))),
        }
        for n in range(600)
    ]
    with httpx.Client(base_url=stack.url("ingest"), timeout=10) as ingest:
        for first in range(0, len(events), 100):
            assert ingest.post("/ingest", json=events[first : first + 100]).status_code == 202
    assert wait_stored(database_url, RUN, len(events), timeout_s=60) == len(events)
    with httpx.Client(base_url=stack.url("gateway"), timeout=10) as gateway:
        yield gateway


WINDOW = {
    "from": iso(START + timedelta(minutes=17)),
    "to": iso(START + timedelta(hours=4, minutes=3)),
}


def counts(
    database_url: str, group: str, where: str = "true", *params: object
) -> list[tuple[Any, ...]]:
    return sql(
        database_url,
        f"SELECT {group}, count(*) FROM click_events WHERE time_stamp >= %s AND time_stamp < %s"
        f" AND {where} GROUP BY 1 ORDER BY 2 DESC, 1",
        START + timedelta(minutes=17),
        START + timedelta(hours=4, minutes=3),
        *params,
    )


def test_overview(loaded: httpx.Client, database_url: str) -> None:
    answer = loaded.get("/api/v1/overview", params=WINDOW)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    pages = counts(database_url, "page_url")
    users = counts(database_url, "user_id")
    total = sum(int(n) for _, n in pages)
    # a range over 2 h counts distinct users with hll sketches, exact at 30 users: a sketch
    # lists its users' hashes until that takes more room than its registers would
    assert body.pop("distinct_users") == len(users)
    assert body == {
        "from": WINDOW["from"],
        "to": WINDOW["to"],
        "total_events": total,
        "events_per_minute": pytest.approx(total / (4 * 60 - 14)),
        "top_page": {"page_url": pages[0][0], "count": pages[0][1]},
    }


def test_top_pages(loaded: httpx.Client, database_url: str) -> None:
    body = loaded.get("/api/v1/pages/top", params={**WINDOW, "limit": "3"}).json()
    assert body["pages"] == [
        {"page_url": u, "count": n} for u, n in counts(database_url, "page_url")[:3]
    ]


def test_event_types(loaded: httpx.Client, database_url: str) -> None:
    body = loaded.get("/api/v1/event-types", params=WINDOW).json()
    assert body["types"] == [
        {"event_type": t, "count": n} for t, n in counts(database_url, "event_type")[:10]
    ]
    assert (body["from"], body["to"]) == (WINDOW["from"], WINDOW["to"])


@pytest.mark.parametrize("bucket", ["minute", "hour"])
@pytest.mark.parametrize("page", [None, PAGES[0]])
def test_time_series(
    loaded: httpx.Client, database_url: str, bucket: str, page: str | None
) -> None:
    params = {**WINDOW, "bucket": bucket, **({"page_url": page} if page else {})}
    body = loaded.get("/api/v1/timeseries", params=params).json()
    start = datetime.fromisoformat(body["from"])
    end = datetime.fromisoformat(body["to"])
    step = timedelta(minutes=1) if bucket == "minute" else timedelta(hours=1)
    assert body["bucket"] == bucket
    assert len(body["points"]) == (end - start) // step
    expected = dict(
        sql(
            database_url,
            "SELECT date_trunc(%s, time_stamp, 'UTC'), count(*) FROM click_events"
            " WHERE time_stamp >= %s AND time_stamp < %s AND (%s::text IS NULL OR page_url = %s)"
            " GROUP BY 1",
            bucket,
            start,
            end,
            page,
            page,
        )
    )
    got = {datetime.fromisoformat(p["t"]): p["count"] for p in body["points"]}
    assert got == {t: expected.get(t, 0) for t in got}
    assert sum(got.values()) == sum(int(n) for n in expected.values()) > 0


def test_user_activity(loaded: httpx.Client, database_url: str) -> None:
    user = USERS[0]
    body = loaded.get(f"/api/v1/users/{user}/activity", params=WINDOW).json()
    pages = counts(database_url, "page_url", "user_id = %s", user)
    assert body == {
        "user_id": user,
        "total": sum(int(n) for _, n in pages),
        "pages": [{"page_url": u, "count": n} for u, n in pages[:10]],
    }


def test_event_count(loaded: httpx.Client, database_url: str) -> None:
    [(expected,)] = sql(
        database_url,
        "SELECT count(*) FROM click_events WHERE user_id = %s AND page_url = %s",
        USERS[1],
        PAGES[0],
    )
    body = loaded.get(
        "/analytics/events", params={"user_id": USERS[1], "page_url": PAGES[0]}
    ).json()
    assert body == {"user_id": USERS[1], "page_url": PAGES[0], "count": expected}


def test_dead_letters_paginated(stack: Stack, loaded: httpx.Client) -> None:
    ids = [f"{RUN}-dead-{n}" for n in range(3)]
    for event_id in ids:
        stored = httpx.post(
            stack.url("process") + "/dead-letters",
            json={"user_id": ""},
            headers={
                "ce-specversion": "1.0",
                "ce-id": event_id,
                "ce-source": "/e2e",
                "ce-type": "io.clickstream.event.v1",
                "ce-knativeerrorcode": "400",
                "ce-knativeerrordest": "http://process/",
            },
            timeout=10,
        )
        assert stored.status_code == 202, stored.text
    seen: list[dict[str, object]] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        page = loaded.get("/api/v1/dead-letters", params=params).json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        if page["next"] is None:
            break
        params = {"limit": "2", "cursor": page["next"]}
    mine = [item for item in seen if str(item["event_id"]).startswith(f"{RUN}-dead-")]
    assert [item["event_id"] for item in mine] == ids[::-1]  # newest first
    assert all(item["knativeerrorcode"] == "400" for item in mine)
    assert mine[0]["event"]["data"] == {"user_id": ""}  # type: ignore[index]
