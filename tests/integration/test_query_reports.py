"""The reports (breakdown, visits, goals, funnel, realtime, and the filtered overview, top pages
and time series) from the real `query` server over real PostgreSQL and Redis, against a small
world whose answers are known by hand (tests/fixtures/reports_world.py)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc

from functions.core.cache import Cache, new_counts, stale_tags, visit_start_tags
from functions.core.events import ClickEvent
from functions.process.store import write_events
from tests.fixtures.query_server import QueryServer, running_query
from tests.fixtures.reports_world import World, seed

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
# an hour-aligned window of its own per session
T0 = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=random.randrange(200 * 24))
WORLD = World(f"a-{RUN}.test", f"b-{RUN}.test", f"r-{RUN}.test", T0, T0 + timedelta(hours=2))


def window() -> pb.TimeRange:
    answer = pb.TimeRange()
    getattr(answer, "from").FromDatetime(WORLD.start)
    answer.to.FromDatetime(WORLD.end)
    return answer


@pytest.fixture(scope="module")
def query(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QueryServer]:
    seed(database_url, WORLD)
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with running_query(env, tmp_path_factory.mktemp("query") / "query.log") as server:
        yield server


@pytest.fixture(scope="module")
def stub(query: QueryServer) -> Iterator[pb_grpc.AnalyticsServiceStub]:
    with grpc.insecure_channel(query.address) as channel:
        yield query.stub(channel)


def breakdown(
    stub: pb_grpc.AnalyticsServiceStub, dimension: str, *filters: str, site: str = WORLD.site
) -> list[tuple[str, int, int, int]]:
    answer = stub.GetBreakdown(
        pb.GetBreakdownRequest(range=window(), site=site, dimension=dimension, filters=filters)
    )
    assert answer.dimension == dimension
    assert getattr(answer, "from").ToDatetime(tzinfo=UTC) == WORLD.start
    return [(r.value, r.events, r.visitors, r.visits) for r in answer.rows]


@pytest.mark.parametrize(
    ("dimension", "filters", "rows"),
    [
        ("page", (), [("/pricing", 6, 4, 4), ("/home", 5, 4, 4), ("/docs", 2, 2, 2)]),
        ("entry_page", (), [("/home", 8, 3, 3), ("/docs", 2, 2, 2), ("/pricing", 3, 1, 1)]),
        ("exit_page", (), [("/pricing", 8, 3, 3), ("/docs", 2, 2, 2), ("/home", 3, 1, 1)]),
        ("event_type", (), [("pageview", 9, 5, 5), ("signup", 4, 4, 4)]),
        ("prop:plan", (), [("(none)", 10, 4, 5), ("pro", 2, 2, 2), ("free", 1, 1, 1)]),
        ("country", (), [("DE", 6, 2, 2), ("US", 4, 2, 2), ("(unknown)", 3, 1, 2)]),
        (
            "referrer",
            (),
            [("(direct)", 10, 5, 6), ("google.com", 2, 2, 2), ("t.co", 1, 1, 1)],
        ),
        ("utm_source", ("utm_source:is_not:(none)",), [("news", 2, 2, 2)]),
        ("page", ("page:is:/pricing",), [("/pricing", 6, 4, 4)]),
        ("page", ("page:is_not:/pricing",), [("/home", 5, 4, 4), ("/docs", 2, 2, 2)]),
        ("page", ("page:contains:ricin",), [("/pricing", 6, 4, 4)]),
        # LIKE's wildcards match themselves only: no page holds them
        ("page", ("page:contains:%",), []),
        ("page", ("page:contains:_",), []),
        ("page", ("page:is:/pricing", "event_type:is:signup"), [("/pricing", 2, 2, 2)]),
        ("browser", ("device:is:mobile",), [("Chrome", 1, 1, 1)]),
        # a visit-level filter keeps the events of the visits entering on /docs
        ("page", ("entry_page:is:/docs",), [("/docs", 2, 2, 2)]),
        ("prop:plan", ("prop:plan:is:pro",), [("pro", 2, 2, 2)]),
        # an event filter on a visit dimension: visits holding a signup
        ("entry_page", ("event_type:is:signup",), [("/home", 6, 2, 2), ("/pricing", 3, 1, 1),
                                                   ("/docs", 1, 1, 1)]),
        ("entry_page", ("entry_page:contains:doc",), [("/docs", 2, 2, 2)]),
    ],
)  # fmt: skip
def test_breakdown(
    stub: pb_grpc.AnalyticsServiceStub,
    dimension: str,
    filters: tuple[str, ...],
    rows: list[tuple[str, int, int, int]],
) -> None:
    assert breakdown(stub, dimension, *filters) == rows


def test_breakdown_limit_and_sites_never_mix(stub: pb_grpc.AnalyticsServiceStub) -> None:
    answer = stub.GetBreakdown(
        pb.GetBreakdownRequest(range=window(), site=WORLD.site, dimension="page", limit=1)
    )
    assert [r.value for r in answer.rows] == ["/pricing"]
    assert breakdown(stub, "page", site=WORLD.other_site) == [("/home", 2, 1, 1)]
    assert breakdown(stub, "entry_page", site=WORLD.other_site) == [("/home", 2, 1, 1)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # 6 visits start in the range: bounces carol's second and dave's; durations
        # 300 + 240 + 120 + 0 + 0 + 180 s; 13 events
        ((), (6, 5, 2 / 6, 140.0, 13 / 6)),
        (("event_type:is:signup",), (4, 4, 0.25, 180.0, 2.5)),
        (("entry_page:is:/docs",), (2, 2, 1.0, 0.0, 1.0)),
        (("country:is:DE", "page:is:/pricing"), (2, 2, 0.0, 240.0, 3.0)),
        (("page:is:/nowhere",), (0, 0, 0.0, 0.0, 0.0)),
    ],
)
def test_visits(
    stub: pb_grpc.AnalyticsServiceStub,
    filters: tuple[str, ...],
    expected: tuple[int, int, float, float, float],
) -> None:
    answer = stub.GetVisits(pb.GetVisitsRequest(range=window(), site=WORLD.site, filters=filters))
    got = (
        answer.visits,
        answer.visitors,
        answer.bounce_rate,
        answer.mean_duration_s,
        answer.views_per_visit,
    )
    assert got == pytest.approx(expected)
    other = stub.GetVisits(pb.GetVisitsRequest(range=window(), site=WORLD.other_site))
    assert (other.visits, other.visitors, other.bounce_rate) == (1, 1, 0.0)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            (),
            [("event_type:signup", 4, 4, 0.8), ("page:/docs", 2, 2, 0.4),
             ("event_type:nope", 0, 0, 0.0)],
        ),
        (
            ("country:is:DE",),
            [("event_type:signup", 2, 2, 1.0), ("page:/docs", 0, 0, 0.0),
             ("event_type:nope", 0, 0, 0.0)],
        ),
        (
            ("prop:plan:is_not:pro",),
            [("event_type:signup", 2, 2, 0.4), ("page:/docs", 2, 2, 0.4),
             ("event_type:nope", 0, 0, 0.0)],
        ),
    ],
)  # fmt: skip
def test_goals(
    stub: pb_grpc.AnalyticsServiceStub,
    filters: tuple[str, ...],
    expected: list[tuple[str, int, int, float]],
) -> None:
    answer = stub.GetGoals(
        pb.GetGoalsRequest(
            range=window(),
            site=WORLD.site,
            goals=["event_type:signup", "page:/docs", "event_type:nope"],
            filters=filters,
        )
    )
    got = [(g.goal, g.visitors, g.events, g.conversion_rate) for g in answer.goals]
    assert got == [(g, v, e, pytest.approx(r)) for g, v, e, r in expected]


STEPS = ["page:/home", "page:/pricing", "event_type:signup"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # bob does /pricing before /home, carol signs up in another visit: neither finishes
        ((), [(4, 1.0, 0), (3, 0.75, 1), (2, 0.5, 1)]),
        (("browser:is:Firefox",), [(2, 1.0, 0), (2, 1.0, 0), (1, 0.5, 1)]),
        (("entry_page:is:/pricing",), [(1, 1.0, 0), (0, 0.0, 1), (0, 0.0, 0)]),
        (("page:is:/nowhere",), [(0, 0.0, 0), (0, 0.0, 0), (0, 0.0, 0)]),
    ],
)
def test_funnel(
    stub: pb_grpc.AnalyticsServiceStub,
    filters: tuple[str, ...],
    expected: list[tuple[int, float, int]],
) -> None:
    answer = stub.GetFunnel(
        pb.GetFunnelRequest(range=window(), site=WORLD.site, steps=STEPS, filters=filters)
    )
    assert [s.goal for s in answer.steps] == STEPS
    assert [(s.visitors, s.conversion_rate, s.dropoff) for s in answer.steps] == expected


def test_funnel_in_the_other_order(stub: pb_grpc.AnalyticsServiceStub) -> None:
    # only bob's visit holds /pricing then /home
    answer = stub.GetFunnel(
        pb.GetFunnelRequest(range=window(), site=WORLD.site, steps=["page:/pricing", "page:/home"])
    )
    assert [(s.visitors, s.dropoff) for s in answer.steps] == [(4, 0), (1, 3)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [((), (2, 3, [("/a", 2), ("/b", 1)])), (("page:is:/b",), (1, 1, [("/b", 1)]))],
)
def test_realtime(
    stub: pb_grpc.AnalyticsServiceStub,
    filters: tuple[str, ...],
    expected: tuple[int, int, list[tuple[str, int]]],
) -> None:
    answer = stub.GetRealtime(pb.GetRealtimeRequest(site=WORLD.realtime_site, filters=filters))
    got = (answer.visitors, answer.events, [(p.page_url, p.visitors) for p in answer.pages])
    assert got == expected
    assert stub.GetRealtime(pb.GetRealtimeRequest(site=WORLD.site)).events == 0


def test_overview_with_and_without_filters(stub: pb_grpc.AnalyticsServiceStub) -> None:
    def overview(*filters: str) -> tuple[int, int, float, tuple[str, int]]:
        answer = stub.GetOverview(
            pb.GetOverviewRequest(range=window(), site=WORLD.site, filters=filters)
        )
        top = (answer.top_page.page_url, answer.top_page.count)
        return answer.total_events, answer.distinct_users, answer.events_per_minute, top

    # unfiltered, from the roll-ups
    assert overview() == (13, 5, 13 / 120, ("/pricing", 6))
    assert overview("page:is:/pricing") == (6, 4, 6 / 120, ("/pricing", 6))
    assert overview("page:is_not:/pricing") == (7, 5, 7 / 120, ("/home", 5))
    assert overview("entry_page:is:/home") == (8, 3, 8 / 120, ("/pricing", 5))
    assert overview("page:is:/pricing", "event_type:is:signup")[:2] == (2, 2)
    empty = stub.GetOverview(
        pb.GetOverviewRequest(range=window(), site=WORLD.site, filters=["page:is:/nowhere"])
    )
    assert (empty.total_events, empty.HasField("top_page")) == (0, False)


def test_top_pages_with_filters(stub: pb_grpc.AnalyticsServiceStub) -> None:
    answer = stub.GetTopPages(
        pb.GetTopPagesRequest(range=window(), site=WORLD.site, filters=["country:is:US"])
    )
    assert [(p.page_url, p.count) for p in answer.pages] == [
        ("/home", 2),
        ("/docs", 1),
        ("/pricing", 1),
    ]


@pytest.mark.parametrize("page", [None, "/docs"])
def test_time_series_with_filters(stub: pb_grpc.AnalyticsServiceStub, page: str | None) -> None:
    request = pb.GetTimeSeriesRequest(
        range=window(), site=WORLD.site, bucket=pb.BUCKET_HOUR, filters=["event_type:is:signup"]
    )
    if page is not None:
        request.page_url = page
    answer = stub.GetTimeSeries(request)
    points = [(p.t.ToDatetime(tzinfo=UTC), p.count) for p in answer.points]
    counts = [3, 1] if page is None else [0, 1]
    assert points == [(T0, counts[0]), (T0 + timedelta(hours=1), counts[1])]


@pytest.mark.parametrize(
    ("call", "request_", "field"),
    [
        ("GetBreakdown", pb.GetBreakdownRequest(dimension="nope"), "dimension"),
        ("GetBreakdown", pb.GetBreakdownRequest(), "dimension"),
        ("GetBreakdown", pb.GetBreakdownRequest(dimension="prop:"), "dimension"),
        ("GetBreakdown", pb.GetBreakdownRequest(dimension="page", limit=1001), "limit"),
        ("GetBreakdown", pb.GetBreakdownRequest(dimension="page", filters=["page:like:/"]),
         "filter"),
        ("GetVisits", pb.GetVisitsRequest(filters=["nope:is:x"]), "filter"),
        ("GetVisits", pb.GetVisitsRequest(filters=["page:is"]), "filter"),
        ("GetVisits", pb.GetVisitsRequest(filters=["page:is:"]), "filter"),
        ("GetVisits", pb.GetVisitsRequest(filters=["prop::is:x"]), "filter"),
        ("GetOverview", pb.GetOverviewRequest(filters=["page"]), "filter"),
        ("GetTopPages", pb.GetTopPagesRequest(filters=["page:has:x"]), "filter"),
        ("GetTimeSeries", pb.GetTimeSeriesRequest(filters=["x:is:y"]), "filter"),
        ("GetRealtime", pb.GetRealtimeRequest(filters=["x:is:y"]), "filter"),
        ("GetGoals", pb.GetGoalsRequest(goals=["visit:/x"]), "goals"),
        ("GetGoals", pb.GetGoalsRequest(), "goals"),
        ("GetFunnel", pb.GetFunnelRequest(steps=["page:/a"]), "steps"),
        ("GetFunnel", pb.GetFunnelRequest(steps=["page:/a"] * 9), "steps"),
        ("GetFunnel", pb.GetFunnelRequest(steps=["page:/a", "page:"]), "steps"),
        ("GetVisits", pb.GetVisitsRequest(site="Not A Site"), "site"),
    ],
)  # fmt: skip
def test_bad_arguments_name_their_field(
    stub: pb_grpc.AnalyticsServiceStub, call: str, request_: object, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, call)(request_)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(error.trailing_metadata())["field"] == field


def store(database_url: str, redis_url: str, event: ClickEvent, visit: tuple[object, ...]) -> None:
    """What process does: the event and its visit in one transaction (checked against
    `visit`), then the cache told."""

    async def write() -> None:
        async with (
            await psycopg.AsyncConnection.connect(database_url) as conn,
            conn.transaction(),
        ):
            stored = await write_events(conn, [event])
            cursor = await conn.execute(
                """SELECT site, visit_key, started_at, ended_at, user_id, events, entry_page,
                          exit_page FROM visits WHERE site = %s""",
                [event.site],
            )
            assert await cursor.fetchall() == [visit]
        cache = Cache(redis_url)
        stale = stale_tags(stored.events) | visit_start_tags(stored.visit_starts)
        assert await cache.committed(stale, new_counts(stored.events), 300)
        await cache.close()

    asyncio.run(write())


def test_reports_are_cached_until_an_event_changes_their_visits(
    stub: pb_grpc.AnalyticsServiceStub, query: QueryServer, database_url: str, redis_url: str
) -> None:
    site, started = f"c-{RUN}.test", WORLD.end - timedelta(minutes=10)
    visit = (site, "u:cy", started, started, "cy", 1, "/a", "/a")
    store(database_url, redis_url, ClickEvent(event_id="c1", user_id="cy", event_type="pageview",
          page_url="/a", time_stamp=started, site=site), visit)  # fmt: skip
    request = pb.GetVisitsRequest(range=window(), site=site)
    first = stub.GetVisits(request)
    assert (first.visits, first.bounce_rate, first.mean_duration_s) == (1, 1.0, 0.0)
    reads = query.metric("clickstream_query_db_reads_total", kind="visits_report")
    assert stub.GetVisits(request) == first
    assert query.metric("clickstream_query_db_reads_total", kind="visits_report") == reads
    # cy comes back 5 minutes after the range ends: the visit, started inside it, grows
    later = WORLD.end + timedelta(minutes=5)
    store(database_url, redis_url, ClickEvent(event_id="c2", user_id="cy", event_type="pageview",
          page_url="/b", time_stamp=later, site=site),
          (site, "u:cy", started, later, "cy", 2, "/a", "/b"))  # fmt: skip
    after = stub.GetVisits(request)
    assert (after.visits, after.bounce_rate, after.mean_duration_s) == (1, 0.0, 900.0)
