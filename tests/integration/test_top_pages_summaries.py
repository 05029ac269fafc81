"""Top pages over long ranges, narrowed by per-bucket summaries (more pages per bucket than a
summary lists): always equal to a from-scratch SQL count, also after late events land in
buckets already summarized."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import msgspec
import psycopg
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.events import ClickEvent
from functions.process.store import write_events
from functions.query.top_pages import SUMMARY_SIZE
from tests.fixtures.polling import eventually
from tests.fixtures.query_server import QueryServer, running_query

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
# whole hours in a past window of its own: no other test's events fall inside it
START = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=random.randrange(200 * 24))
END = START + timedelta(days=2, hours=7, minutes=23)
PAGES = 4 * SUMMARY_SIZE
GROUP = 500


def clicks(count: int, seed: int, start: datetime, span: timedelta) -> list[ClickEvent]:
    rng = random.Random(seed)
    return [
        ClickEvent(
            event_id=f"{RUN}-{seed}-{n}",
            user_id=f"u{rng.randrange(500)}",
            event_type="click",
            page_url=f"/{RUN}/{int(rng.paretovariate(0.8)) % PAGES}",
            time_stamp=start + span * rng.random(),
        )
        for n in range(count)
    ]


def store(database_url: str, events: list[ClickEvent]) -> None:
    async def write() -> None:
        async with (
            await psycopg.AsyncConnection.connect(database_url) as conn,
            conn.transaction(),
        ):
            # in groups the size delivery writes: the statement is planned for groups of
            # about a hundred events (functions/process/store.py), and one of 20,000 runs
            # its joins as nested loops (102 s, against under 10 s in groups of 500)
            for first in range(0, len(events), GROUP):
                await write_events(conn, events[first : first + GROUP])

    asyncio.run(write())


def expected(database_url: str, limit: int) -> list[tuple[str, int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT page_url, count(*) FROM click_events"
            " WHERE time_stamp >= %s AND time_stamp < %s AND page_url LIKE %s"
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s",
            (START, END, f"/{RUN}/%", limit),
        ).fetchall()
    return [(str(page), int(n)) for page, n in rows]


def top(query: QueryServer, limit: int) -> list[tuple[str, int]]:
    request = pb.GetTopPagesRequest(limit=limit)
    getattr(request.range, "from").FromDatetime(START)
    request.range.to.FromDatetime(END)
    with grpc.insecure_channel(query.address) as channel:
        answer = query.stub(channel).GetTopPages(request)
    return [(p.page_url, p.count) for p in answer.pages]


@pytest.fixture(scope="module")
def query(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QueryServer]:
    store(database_url, clicks(20_000, 1, START - timedelta(hours=1), END - START))
    # no Redis: every read reaches PostgreSQL and its summaries, never a cached answer
    env = {"DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    with running_query(env, tmp_path_factory.mktemp("query") / "query.log") as server:
        yield server


def summaries(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        [(stored,)] = conn.execute(
            "SELECT count(*) FROM page_top_summaries WHERE bucket >= %s AND bucket < %s"
            " AND bound > 0",
            (START, END),
        ).fetchall()
    return int(stored)


@pytest.mark.parametrize("limit", [1, 10, 25])
def test_top_pages_equal_sql(query: QueryServer, database_url: str, limit: int) -> None:
    assert top(query, limit) == expected(database_url, limit)


def test_summaries_are_stored_and_late_events_are_counted(
    query: QueryServer, database_url: str
) -> None:
    top(query, 10)
    assert summaries(database_url) > 0  # buckets with more pages than a summary lists
    # late events in an hour already summarized, enough to lift a page from the tail into
    # the top ten: only the summaries' check against the bucket's total can notice
    tail_page = expected(database_url, PAGES)[-1][0]
    lift = expected(database_url, 10)[-1][1] + 5
    late = clicks(lift, 2, START + timedelta(hours=20), timedelta(minutes=30))
    store(database_url, [msgspec.structs.replace(e, page_url=tail_page) for e in late])
    answer = top(query, 10)
    assert tail_page in dict(answer)
    assert answer == expected(database_url, 10)


# loose minutes at both ends, inside the hours that hold events
USERS_WINDOW = (START + timedelta(minutes=17), END - timedelta(hours=2))


def distinct_users(query: QueryServer) -> int:
    request = pb.GetOverviewRequest()
    getattr(request.range, "from").FromDatetime(USERS_WINDOW[0])
    request.range.to.FromDatetime(USERS_WINDOW[1])
    with grpc.insecure_channel(query.address) as channel:
        return int(query.stub(channel).GetOverview(request).distinct_users)


def newcomers(name: str, moment: datetime, count: int) -> list[ClickEvent]:
    return [
        ClickEvent(
            event_id=f"{RUN}-{name}-{n}",
            user_id=f"{RUN}-{name}-{n}",
            event_type="click",
            page_url=f"/{RUN}/0",
            time_stamp=moment + timedelta(seconds=n),
        )
        for n in range(count)
    ]


def test_late_users_in_stored_and_remembered_buckets_are_counted(
    query: QueryServer, database_url: str
) -> None:
    # the loose minutes at both ends are stored now, and `query` holds every part in memory
    before = distinct_users(query)
    # late users in one loose minute and in one hour of a run merged in memory: only the
    # check of each part against its bucket's total can notice either
    store(
        database_url,
        newcomers("minute", USERS_WINDOW[0] + timedelta(minutes=5), 40)
        + newcomers("hour", START + timedelta(hours=10, minutes=30), 40),
    )
    after = distinct_users(query)
    with psycopg.connect(database_url) as conn:
        [(exact,)] = conn.execute(
            "SELECT count(DISTINCT user_id) FROM click_events"
            " WHERE time_stamp >= %s AND time_stamp < %s",
            USERS_WINDOW,
        ).fetchall()
    # hll: exact while a sketch lists its users' hashes (a few hundred users)
    assert after - before >= 70
    assert abs(after - exact) <= max(2, 0.03 * exact)


def stored_minutes(database_url: str, hour: datetime) -> int:
    with psycopg.connect(database_url) as conn:
        [(stored,)] = conn.execute(
            "SELECT count(*) FROM minute_user_hll WHERE bucket >= %s AND bucket < %s",
            (hour, hour + timedelta(hours=1)),
        ).fetchall()
    return int(stored)


def test_a_sliding_range_finds_the_next_hours_minutes_built(
    query: QueryServer, database_url: str
) -> None:
    start = START + timedelta(hours=5, minutes=10)
    next_hour = START + timedelta(hours=6)
    assert stored_minutes(database_url, next_hour) == 0
    request = pb.GetOverviewRequest()
    getattr(request.range, "from").FromDatetime(start)
    request.range.to.FromDatetime(END)
    with grpc.insecure_channel(query.address) as channel:
        query.stub(channel).GetOverview(request)
    with psycopg.connect(database_url) as conn:
        [(with_events,)] = conn.execute(
            "SELECT count(*) FROM total_rollups WHERE grain = 'minute'"
            " AND bucket >= %s AND bucket < %s",
            (next_hour, next_hour + timedelta(hours=1)),
        ).fetchall()
    assert with_events > 50
    # read ahead in the background, after the answer
    eventually(
        lambda: stored_minutes(database_url, next_hour) == with_events,
        f"the {with_events} minutes of the next hour were never built",
    )
