"""The reports over raw events and visits (DESIGN.md "Visits and reports"): one statement each,
every scan bounded by the site and the range through click_events_site_time_user or
visits_site_started. Without filters, breakdowns (but by `prop:<key>`) and the visit KPIs
read the report roll-ups instead (functions/query/report_rollups.py), which answer the same.
Also the filtered overview, top pages and time series: with filters they read raw events,
since the roll-ups keep no combinations of values."""

from __future__ import annotations

from datetime import datetime

from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.goals import Goal
from functions.core.spans import STEP, Grain
from functions.query.dimensions import Dimension
from functions.query.filters import VISIT_KEY, Query
from functions.query.loads import timestamp
from functions.query.parts import Connection


def _events(query: Query) -> tuple[str, list[object]]:
    """The window's events `e` of the site that pass the filters."""
    where, params = query.events_where()
    window = query.window
    return (
        f"click_events e WHERE e.site = %s AND e.time_stamp >= %s AND e.time_stamp < %s"
        f" AND {where}",
        [window.site, window.start, window.end, *params],
    )


def _visits(query: Query) -> tuple[str, list[object]]:
    """The site's visits `v` that started in the window and pass the filters."""
    where, params = query.visits_where()
    window = query.window
    return (
        f"visits v WHERE v.site = %s AND v.started_at >= %s AND v.started_at < %s AND {where}",
        [window.site, window.start, window.end, *params],
    )


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


_ORDER = "ORDER BY visitors DESC, events DESC, value LIMIT %s"


async def breakdown(
    conn: Connection, query: Query, dimension: Dimension, limit: int
) -> list[pb.BreakdownRow]:
    """Per value: events, visitors, and the visits holding an event with it (an event-level
    dimension) or the visits started with it (a visit-level one, counting their events)."""
    if dimension.level == "visit":
        source, params = _visits(query)
        sql = f"""SELECT {dimension.sql} AS value, sum(v.events)::bigint AS events,
                         count(DISTINCT v.user_id) AS visitors, count(*) AS visits
                  FROM {source} GROUP BY 1 {_ORDER}"""
    else:
        # an event in no visit (stored before visits were kept) counts as an event only
        source, params = _events(query)
        sql = f"""SELECT {dimension.sql} AS value, count(*) AS events,
                         count(DISTINCT e.user_id) AS visitors,
                         count(DISTINCT ({VISIT_KEY}, e.visit_started_at))
                             FILTER (WHERE e.visit_started_at IS NOT NULL) AS visits
                  FROM {source} GROUP BY 1 {_ORDER}"""
    cursor = await conn.execute(sql, [*dimension.params, *params, limit])
    return [
        pb.BreakdownRow(value=str(value), events=int(events), visitors=int(users), visits=int(n))
        for value, events, users, n in await cursor.fetchall()
    ]


async def visits(conn: Connection, query: Query) -> pb.GetVisitsResponse:
    source, params = _visits(query)
    cursor = await conn.execute(
        f"""SELECT count(*), count(DISTINCT v.user_id), count(*) FILTER (WHERE v.events = 1),
                   coalesce(avg(extract(epoch FROM v.ended_at - v.started_at)), 0)::float8,
                   coalesce(sum(v.events), 0)::bigint
            FROM {source}""",
        params,
    )
    row = await cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY answers one row
    count, users, bounces, duration, events = row
    return pb.GetVisitsResponse(
        visits=count,
        visitors=users,
        bounce_rate=_ratio(bounces, count),
        mean_duration_s=float(duration),
        views_per_visit=_ratio(events, count),
    )


async def goals(conn: Connection, query: Query, asked: tuple[Goal, ...]) -> list[pb.GoalResult]:
    """Every goal's visitors and events, and the range's visitors, in one scan."""
    columns: list[str] = []
    params: list[object] = []
    for goal in asked:
        condition, bound = goal.condition()
        columns.append(
            f"count(DISTINCT e.user_id) FILTER (WHERE {condition}),"
            f" count(*) FILTER (WHERE {condition})"
        )
        params += bound * 2
    source, where_params = _events(query)
    cursor = await conn.execute(
        f"SELECT count(DISTINCT e.user_id), {', '.join(columns)} FROM {source}",
        [*params, *where_params],
    )
    row = await cursor.fetchone()
    assert row is not None
    everyone, counts = row[0], row[1:]
    return [
        pb.GoalResult(
            goal=goal.text,
            visitors=counts[2 * n],
            events=counts[2 * n + 1],
            conversion_rate=_ratio(counts[2 * n], everyone),
        )
        for n, goal in enumerate(asked)
    ]


async def realtime(conn: Connection, query: Query, limit: int) -> pb.GetRealtimeResponse:
    """Over `query.window`: the last 5 minutes and what ingest accepts ahead of now
    (`filters.realtime_query`)."""
    source, params = _events(query)
    cursor = await conn.execute(f"SELECT count(DISTINCT e.user_id), count(*) FROM {source}", params)
    row = await cursor.fetchone()
    assert row is not None
    cursor = await conn.execute(
        f"""SELECT e.page_url, count(DISTINCT e.user_id) AS visitors FROM {source}
            GROUP BY 1 ORDER BY visitors DESC, e.page_url LIMIT %s""",
        [*params, limit],
    )
    pages = [pb.PageVisitors(page_url=str(u), visitors=int(n)) for u, n in await cursor.fetchall()]
    return pb.GetRealtimeResponse(visitors=row[0], events=row[1], pages=pages)


async def top_pages(conn: Connection, query: Query, limit: int) -> list[pb.PageCount]:
    source, params = _events(query)
    cursor = await conn.execute(
        f"""SELECT e.page_url, count(*) AS n FROM {source}
            GROUP BY 1 ORDER BY n DESC, e.page_url LIMIT %s""",
        [*params, limit],
    )
    return [pb.PageCount(page_url=str(url), count=int(n)) for url, n in await cursor.fetchall()]


async def overview(conn: Connection, query: Query) -> pb.GetOverviewResponse:
    source, params = _events(query)
    cursor = await conn.execute(f"SELECT count(*), count(DISTINCT e.user_id) FROM {source}", params)
    row = await cursor.fetchone()
    assert row is not None
    total, users = row
    answer = pb.GetOverviewResponse(
        total_events=total, distinct_users=users, events_per_minute=total / query.window.minutes
    )
    top = await top_pages(conn, query, 1)
    if top:
        answer.top_page.CopyFrom(top[0])
    return answer


async def time_series(
    conn: Connection, query: Query, grain: Grain, page_url: str | None
) -> list[pb.TimeSeriesPoint]:
    """Every bucket of the window, zeros included."""
    source, params = _events(query)
    if page_url is not None:
        source, params = f"{source} AND e.page_url = %s", [*params, page_url]
    cursor = await conn.execute(
        f"SELECT date_trunc(%s, e.time_stamp, 'UTC'), count(*) FROM {source} GROUP BY 1",
        [grain, *params],
    )
    counts: dict[datetime, int] = {bucket: int(n) for bucket, n in await cursor.fetchall()}
    points, moment, step = [], query.window.start, STEP[grain]
    while moment < query.window.end:
        points.append(pb.TimeSeriesPoint(t=timestamp(moment), count=counts.get(moment, 0)))
        moment += step
    return points
