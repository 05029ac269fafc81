"""query against real PostgreSQL and Redis, fed by process's own write statement: every RPC
equals a from-scratch SQL computation over the raw events, and the cache behaves."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc

from functions.core.cache import Cache, new_counts, stale_tags
from functions.core.events import ClickEvent
from functions.process.store import write_events
from functions.query.counts import MAX_MAPPED_PAGES
from tests.fixtures.query_server import QueryServer, running_query

pytestmark = pytest.mark.integration

# a window of its own per session: earlier sessions' cache entries never match its keys
BASE = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=random.randrange(300 * 1440))
RUN = uuid.uuid4().hex[:8]
# minutes, hours and days runs; and one under two hours (exact distinct users)
LONG = (BASE + timedelta(hours=13, minutes=27), BASE + timedelta(days=2, hours=5, minutes=41))
SHORT = (BASE + timedelta(hours=10, minutes=5), BASE + timedelta(hours=11, minutes=20))


def clicks(count: int, seed: int, start: datetime, span: timedelta) -> list[ClickEvent]:
    rng = random.Random(seed)
    return [
        ClickEvent(
            event_id=f"{RUN}-{seed}-{n}",
            user_id=f"{RUN}-user-{int(rng.paretovariate(1.2)) % 150}",
            event_type=rng.choice(["click", "pageview"]),
            page_url=f"/{RUN}/page/{int(rng.paretovariate(1.0)) % 25}",
            time_stamp=start + span * rng.random(),
        )
        for n in range(count)
    ]


def store(database_url: str, redis_url: str, events: list[ClickEvent]) -> None:
    """What process does per group: one write, then refresh what the commit made stale."""

    async def write() -> None:
        async with (
            await psycopg.AsyncConnection.connect(database_url) as conn,
            conn.transaction(),
        ):
            inserted = (await write_events(conn, events)).events
        cache = Cache(redis_url)
        assert await cache.committed(stale_tags(inserted), new_counts(inserted), 300)
        await cache.close()

    asyncio.run(write())


def rng(window: tuple[datetime, datetime]) -> pb.TimeRange:
    answer = pb.TimeRange()
    getattr(answer, "from").FromDatetime(window[0])
    answer.to.FromDatetime(window[1])
    return answer


def sql(database_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()


def raw_range(window: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """The window widened to whole minutes, as the API resolves it."""
    start = window[0].replace(second=0, microsecond=0)
    end = window[1].replace(second=0, microsecond=0)
    return start, end if end == window[1] else end + timedelta(minutes=1)


@pytest.fixture(scope="module")
def seeded(database_url: str, redis_url: str) -> None:
    store(database_url, redis_url, clicks(3000, 1, BASE, timedelta(days=3)))


@pytest.fixture(scope="module")
def query(
    seeded: None, database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QueryServer]:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with running_query(env, tmp_path_factory.mktemp("query") / "query.log") as server:
        yield server


@pytest.fixture
def stub(query: QueryServer) -> Iterator[pb_grpc.AnalyticsServiceStub]:
    with grpc.insecure_channel(query.address) as channel:
        yield query.stub(channel)


@pytest.mark.parametrize("window", [LONG, SHORT], ids=["long", "short"])
def test_overview_equals_sql(
    stub: pb_grpc.AnalyticsServiceStub, database_url: str, window: tuple[datetime, datetime]
) -> None:
    answer = stub.GetOverview(pb.GetOverviewRequest(range=rng(window)))
    start, end = raw_range(window)
    [(total, users)] = sql(
        database_url,
        "SELECT count(*), count(DISTINCT user_id) FROM click_events"
        " WHERE time_stamp >= %s AND time_stamp < %s",
        start,
        end,
    )
    [top] = sql(
        database_url,
        "SELECT page_url, count(*) FROM click_events WHERE time_stamp >= %s AND time_stamp < %s"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
        start,
        end,
    )
    assert getattr(answer, "from").ToDatetime(tzinfo=UTC) == start
    assert answer.to.ToDatetime(tzinfo=UTC) == end
    assert answer.total_events == total
    assert answer.events_per_minute == pytest.approx(total / ((end - start).total_seconds() / 60))
    assert (answer.top_page.page_url, answer.top_page.count) == top
    # counted exactly in SHORT, estimated by hll in LONG: exact too while its sketches list
    # their users' hashes, as at this size
    assert answer.distinct_users == users


def test_top_pages_equal_sql(stub: pb_grpc.AnalyticsServiceStub, database_url: str) -> None:
    answer = stub.GetTopPages(pb.GetTopPagesRequest(range=rng(LONG), limit=7))
    expected = sql(
        database_url,
        "SELECT page_url, count(*) FROM click_events WHERE time_stamp >= %s AND time_stamp < %s"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 7",
        *raw_range(LONG),
    )
    assert [(p.page_url, p.count) for p in answer.pages] == expected


@pytest.mark.parametrize(
    ("bucket", "unit", "window"),
    [(pb.BUCKET_MINUTE, "minute", SHORT), (pb.BUCKET_HOUR, "hour", LONG)],
    ids=["minute", "hour"],
)
@pytest.mark.parametrize("one_page", [False, True], ids=["all", "page"])
def test_time_series_equals_sql(
    stub: pb_grpc.AnalyticsServiceStub,
    database_url: str,
    bucket: pb.Bucket,
    unit: str,
    window: tuple[datetime, datetime],
    one_page: bool,
) -> None:
    page = f"/{RUN}/page/1"
    request = pb.GetTimeSeriesRequest(range=rng(window), bucket=bucket)
    if one_page:
        request.page_url = page
    answer = stub.GetTimeSeries(request)
    start = getattr(answer, "from").ToDatetime(tzinfo=UTC)
    end = answer.to.ToDatetime(tzinfo=UTC)
    assert start <= window[0] < window[1] <= end
    counts = dict(
        sql(
            database_url,
            "SELECT date_trunc(%s, time_stamp, 'UTC'), count(*) FROM click_events"
            " WHERE time_stamp >= %s AND time_stamp < %s AND (%s OR page_url = %s) GROUP BY 1",
            unit,
            start,
            end,
            not one_page,
            page,
        )
    )
    step = timedelta(minutes=1) if unit == "minute" else timedelta(hours=1)
    expected = [
        (start + step * n, counts.get(start + step * n, 0)) for n in range((end - start) // step)
    ]
    assert [(p.t.ToDatetime(tzinfo=UTC), p.count) for p in answer.points] == expected
    assert sum(counts.values()) > 0


def test_user_activity_equals_sql(stub: pb_grpc.AnalyticsServiceStub, database_url: str) -> None:
    user = f"{RUN}-user-1"
    answer = stub.GetUserActivity(pb.GetUserActivityRequest(user_id=user, range=rng(LONG), limit=3))
    rows = sql(
        database_url,
        "SELECT page_url, count(*) FROM click_events WHERE user_id = %s"
        " AND time_stamp >= %s AND time_stamp < %s GROUP BY 1 ORDER BY 2 DESC, 1",
        user,
        *raw_range(LONG),
    )
    assert answer.user_id == user
    assert answer.total == sum(int(n) for _, n in rows) > 0
    assert [(p.page_url, p.count) for p in answer.pages] == rows[:3]


def test_cache_hit_never_reads_postgresql(
    stub: pb_grpc.AnalyticsServiceStub, query: QueryServer
) -> None:
    request = pb.GetTopPagesRequest(range=rng(LONG), limit=3)
    first = stub.GetTopPages(request)
    reads = query.metric("clickstream_query_db_reads_total")
    hits = query.metric("clickstream_cache_lookups_total", result="hit", kind="top_pages")
    for _ in range(5):
        assert stub.GetTopPages(request) == first
    assert query.metric("clickstream_query_db_reads_total") == reads
    assert query.metric("clickstream_cache_lookups_total", result="hit", kind="top_pages") == (
        hits + 5
    )


def test_invalidation_is_visible_and_precise(
    stub: pb_grpc.AnalyticsServiceStub, query: QueryServer, database_url: str, redis_url: str
) -> None:
    inside = pb.GetOverviewRequest(range=rng(SHORT))
    outside = pb.GetOverviewRequest(range=rng((SHORT[1], SHORT[1] + timedelta(hours=3))))
    before, other = stub.GetOverview(inside), stub.GetOverview(outside)
    stub.GetOverview(inside), stub.GetOverview(outside)  # both cached now
    reads = query.metric("clickstream_query_db_reads_total")
    # one event in the last minute of SHORT: stale for `inside` only
    store(database_url, redis_url, clicks(1, 2, SHORT[1] - timedelta(seconds=30), timedelta(0)))
    assert stub.GetOverview(outside) == other
    assert query.metric("clickstream_query_db_reads_total") == reads
    after = stub.GetOverview(inside)
    assert after.total_events == before.total_events + 1
    assert query.metric("clickstream_query_db_reads_total") == reads + 1


def test_concurrent_misses_read_the_database_once(query: QueryServer) -> None:
    # a key nobody asked for yet: a limit of its own
    request = pb.GetTopPagesRequest(range=rng(LONG), limit=random.randrange(100, 1000))

    async def burst() -> list[pb.GetTopPagesResponse]:
        async with grpc.aio.insecure_channel(query.address) as channel:
            stub = pb_grpc.AnalyticsServiceStub(channel)  # type: ignore[no-untyped-call]
            await channel.channel_ready()
            return list(await asyncio.gather(*(stub.GetTopPages(request) for _ in range(50))))

    reads = query.metric("clickstream_query_db_reads_total", kind="top_pages")
    answers = asyncio.run(burst())
    assert len({a.SerializeToString() for a in answers}) == 1
    assert query.metric("clickstream_query_db_reads_total", kind="top_pages") == reads + 1


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        ("GetEventCount", pb.GetEventCountRequest(page_url="/"), "user_id"),
        ("GetEventCount", pb.GetEventCountRequest(user_id="u", page_url="x" * 2049), "page_url"),
        ("GetEventCounts", pb.GetEventCountsRequest(), "keys"),
        (
            "GetEventCounts",
            pb.GetEventCountsRequest(
                keys=[
                    pb.GetEventCountRequest(user_id="u", page_url="/"),
                    pb.GetEventCountRequest(user_id="u"),
                ]
            ),
            "keys[1].page_url",
        ),
        ("GetTopPages", pb.GetTopPagesRequest(limit=1001), "limit"),
        ("GetTopPages", pb.GetTopPagesRequest(range=rng((SHORT[1], SHORT[0]))), "to"),
        (
            "GetOverview",
            pb.GetOverviewRequest(range=rng((BASE, BASE + timedelta(days=400)))),
            "from",
        ),
        ("GetTimeSeries", pb.GetTimeSeriesRequest.FromString(b"\x10\x07"), "bucket"),
        (
            "GetTimeSeries",
            pb.GetTimeSeriesRequest(range=rng((BASE, BASE + timedelta(days=60)))),
            "bucket",
        ),
        ("GetUserActivity", pb.GetUserActivityRequest(user_id="a\x00b"), "user_id"),
        ("ListDeadLetters", pb.ListDeadLettersRequest(cursor="abc"), "cursor"),
        ("ListDeadLetters", pb.ListDeadLettersRequest(site="Not A Site"), "site"),
        ("ReplayDeadLetters", pb.ReplayDeadLettersRequest(ids=[1], site="a/b"), "site"),
    ],
)
def test_bad_arguments_name_the_field(
    stub: pb_grpc.AnalyticsServiceStub, method: str, request_: object, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        getattr(stub, method)(request_)
    error = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}:")
    assert dict(error.trailing_metadata())["field"] == field


def test_event_count_is_the_all_time_count(
    stub: pb_grpc.AnalyticsServiceStub, database_url: str
) -> None:
    user, page = f"{RUN}-user-1", f"/{RUN}/page/1"
    [(expected,)] = sql(
        database_url,
        "SELECT count(*) FROM click_events WHERE user_id = %s AND page_url = %s",
        user,
        page,
    )
    answer = stub.GetEventCount(pb.GetEventCountRequest(user_id=user, page_url=page))
    assert answer.count == expected
    never = stub.GetEventCount(pb.GetEventCountRequest(user_id="nobody", page_url=page))
    assert never.count == 0


def test_redis_down_answers_from_postgresql(
    seeded: None, database_url: str, tmp_path: Path, stub: pb_grpc.AnalyticsServiceStub
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    request = pb.GetTopPagesRequest(range=rng(LONG), limit=5)
    with (
        running_query(env, tmp_path / "query.log") as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        degraded = server.stub(channel)
        assert degraded.GetTopPages(request) == stub.GetTopPages(request)
        assert degraded.GetTopPages(request) == stub.GetTopPages(request)
        assert server.metric("clickstream_query_db_reads_total") == 2
        # a count too: read from PostgreSQL each time, equal to the cached path's
        count = pb.GetEventCountRequest(user_id=f"{RUN}-user-1", page_url=f"/{RUN}/page/1")
        assert degraded.GetEventCount(count) == stub.GetEventCount(count)
        assert degraded.GetEventCount(count) == stub.GetEventCount(count)
        assert server.metric("clickstream_query_db_reads_total", kind="count") == 2


def test_a_commit_updates_a_cached_count_in_place(
    stub: pb_grpc.AnalyticsServiceStub, query: QueryServer, database_url: str, redis_url: str
) -> None:
    user, page = f"{RUN}-user-2", f"/{RUN}/page/2"
    request = pb.GetEventCountRequest(user_id=user, page_url=page)
    before = stub.GetEventCount(request).count  # cached now
    reads = query.metric("clickstream_query_db_reads_total", kind="count")
    event = ClickEvent(
        event_id=f"{RUN}-in-place", user_id=user, event_type="click", page_url=page, time_stamp=BASE
    )
    store(database_url, redis_url, [event])
    assert stub.GetEventCount(request).count == before + 1
    assert query.metric("clickstream_query_db_reads_total", kind="count") == reads


def visits(user: str, pages: list[str], tag: str) -> list[ClickEvent]:
    return [
        ClickEvent(
            event_id=f"{RUN}-{tag}-{n}",
            user_id=user,
            event_type="click",
            page_url=page,
            time_stamp=BASE,
        )
        for n, page in enumerate(pages)
    ]


def test_a_users_first_read_answers_all_their_pages(
    stub: pb_grpc.AnalyticsServiceStub, query: QueryServer, database_url: str, redis_url: str
) -> None:
    user = f"{RUN}-mapped"
    store(database_url, redis_url, visits(user, ["/a", "/a", "/a", "/b"], "mapped"))

    def count(page: str) -> int:
        return int(stub.GetEventCount(pb.GetEventCountRequest(user_id=user, page_url=page)).count)

    reads = query.metric("clickstream_query_db_reads_total", kind="count")
    # the commit above raised the keys of /a and /b: /never is the first miss
    assert [count("/never"), count("/a"), count("/b"), count("/elsewhere")] == [0, 3, 1, 0]
    assert query.metric("clickstream_query_db_reads_total", kind="count") == reads + 1
    store(database_url, redis_url, visits(user, ["/c", "/a"], "mapped-later"))
    assert [count("/c"), count("/a"), count("/never")] == [1, 4, 0]
    assert query.metric("clickstream_query_db_reads_total", kind="count") == reads + 1


def test_a_user_with_too_many_pages_is_read_a_page_at_a_time(
    stub: pb_grpc.AnalyticsServiceStub, query: QueryServer, database_url: str, redis_url: str
) -> None:
    user = f"{RUN}-wide"
    pages = [f"/wide/{n}" for n in range(MAX_MAPPED_PAGES + 1)]
    store(database_url, redis_url, visits(user, [*pages, "/wide/0"], "wide"))

    def count(page: str) -> int:
        return int(stub.GetEventCount(pb.GetEventCountRequest(user_id=user, page_url=page)).count)

    reads = query.metric("clickstream_query_db_reads_total", kind="count")
    # the map read finds too many pages, then the page itself is read
    assert count("/never") == 0
    assert query.metric("clickstream_query_db_reads_total", kind="count") == reads + 2
    assert [count("/never"), count("/other")] == [0, 0]
    assert query.metric("clickstream_query_db_reads_total", kind="count") == reads + 3
    assert [count("/wide/0"), count(f"/wide/{MAX_MAPPED_PAGES}")] == [2, 1]
    assert query.metric("clickstream_query_db_reads_total", kind="count") == reads + 3


def test_a_batch_answers_every_key_in_order_with_one_read_per_kind(
    stub: pb_grpc.AnalyticsServiceStub, query: QueryServer, database_url: str, redis_url: str
) -> None:
    user, never, wide = f"{RUN}-batch", f"{RUN}-batch-never", f"{RUN}-batch-wide"
    store(database_url, redis_url, visits(user, ["/a", "/a", "/b"], "batch"))
    pages = [f"/wide/{n}" for n in range(MAX_MAPPED_PAGES + 1)]
    store(database_url, redis_url, visits(wide, [*pages, "/wide/1"], "batch-wide"))
    keys = [
        (user, "/a"),
        (never, "/a"),
        (user, "/c"),
        (wide, "/wide/1"),
        (wide, "/never"),
        (never, "/b"),
        (user, "/a"),
    ]
    expected = [
        sql(
            database_url,
            "SELECT count(*) FROM click_events WHERE user_id = %s AND page_url = %s",
            *key,
        )[0][0]
        for key in keys
    ]
    request = pb.GetEventCountsRequest(
        keys=[pb.GetEventCountRequest(user_id=u, page_url=p) for u, p in keys]
    )

    def batch() -> list[tuple[str, str, int]]:
        return [(a.user_id, a.page_url, a.count) for a in stub.GetEventCounts(request).counts]

    reads = query.metric("clickstream_query_db_reads_total", kind="count")
    assert batch() == [(*key, count) for key, count in zip(keys, expected, strict=True)]
    assert expected == [2, 0, 0, 2, 0, 0, 2]
    # the commits raised the keys they counted; then one read maps `user` and `never` and
    # finds `wide` too wide, one reads wide's remaining page
    assert query.metric("clickstream_query_db_reads_total", kind="count") == reads + 2
    assert batch() == [(*key, count) for key, count in zip(keys, expected, strict=True)]
    assert query.metric("clickstream_query_db_reads_total", kind="count") == reads + 2


def test_a_batch_with_redis_down_reads_its_pages_at_once(
    database_url: str, tmp_path: Path, stub: pb_grpc.AnalyticsServiceStub
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    keys = [(f"{RUN}-user-{n}", f"/{RUN}/page/{n % 3}") for n in range(6)] + [("nobody", "/")]
    request = pb.GetEventCountsRequest(
        keys=[pb.GetEventCountRequest(user_id=u, page_url=p) for u, p in keys]
    )
    with (
        running_query(env, tmp_path / "query.log") as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        assert server.stub(channel).GetEventCounts(request) == stub.GetEventCounts(request)
        assert server.metric("clickstream_query_db_reads_total", kind="count") == 1
