"""The database side of each read: SQL over the roll-ups (migration 0002), answers as protobuf.

A window is cut into day, hour and minute runs (functions/core/spans.py); each run is read
from the table of its grain, so the rows read grow with the number of runs' buckets, not with
the events stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

from clickstream.analytics.v1 import analytics_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp
from psycopg import AsyncConnection

from functions.core.spans import STEP, Grain, Run, runs, spans
from functions.query import hll, minute_users
from functions.query import top_pages as top_pages_summaries
from functions.query.validate import Window

Connection = AsyncConnection[Any]
# a pooled connection, held for one `async with`
Connect = Callable[[], AbstractAsyncContextManager[Connection]]
Part = TypeVar("Part")


def timestamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def _where(selected: Sequence[Run], with_grain: bool) -> tuple[str, list[object]]:
    """An OR of bucket ranges, one per run; `with_grain` for tables keyed by (grain, bucket)."""
    if not selected:
        return "false", []
    clause = (
        "(grain = %s AND bucket >= %s AND bucket < %s)"
        if with_grain
        else ("(bucket >= %s AND bucket < %s)")
    )
    params: list[object] = []
    for run in selected:
        params += [run.grain, run.start, run.end] if with_grain else [run.start, run.end]
    return "(" + " OR ".join([clause] * len(selected)) + ")", params


def _branches(
    window: Window, columns: str, pages: list[str] | None = None
) -> tuple[str, list[object]]:
    """`columns` of every run's rows (of `pages` only, if given) as a UNION ALL of one range
    per run: each branch is a single index range (an OR of ranges would make PostgreSQL fall
    back to bitmap heap scans, while page_rollups_span answers a branch index-only)."""
    branches: list[str] = []
    params: list[object] = []
    only = "" if pages is None else " AND page_url = ANY(%s)"
    for run in runs(window.start, window.end):
        if run.grain == "minute":
            branches.append(
                f"SELECT {columns} FROM page_minute_counts WHERE bucket >= %s AND bucket < %s{only}"
            )
            params += [run.start, run.end]
        else:
            branches.append(
                f"SELECT {columns} FROM page_rollups"
                f" WHERE grain = %s AND bucket >= %s AND bucket < %s{only}"
            )
            params += [run.grain, run.start, run.end]
        if pages is not None:
            params.append(pages)
    return " UNION ALL ".join(branches) or f"SELECT {columns} FROM page_rollups WHERE false", params


def _split(window: Window) -> tuple[list[Run], list[Run]]:
    """(minute runs, hour and day runs) of `window`."""
    cut = runs(window.start, window.end)
    return [r for r in cut if r.grain == "minute"], [r for r in cut if r.grain != "minute"]


async def top_pages(conn: Connection, window: Window, limit: int) -> list[pb.PageCount]:
    """Summed over the pages that can make the list (functions/query/top_pages.py) when the
    range is long, else over every page."""
    pages = None
    if top_pages_summaries.worth_it(window, limit):
        pages = await top_pages_summaries.shortlist(conn, window, limit, datetime.now(UTC))
    spans, params = _branches(window, "page_url, count", pages)
    cursor = await conn.execute(
        f"""SELECT page_url, sum(count)::bigint AS total FROM ({spans}) AS spans
            GROUP BY page_url ORDER BY total DESC, page_url LIMIT %s""",
        [*params, limit],
    )
    return [pb.PageCount(page_url=str(url), count=int(n)) for url, n in await cursor.fetchall()]


async def event_types(conn: Connection, window: Window, limit: int) -> list[pb.EventTypeCount]:
    # event types are few: minute buckets stay small even over a week
    cursor = await conn.execute(
        """SELECT event_type, sum(count)::bigint AS total FROM type_minute_counts
           WHERE bucket >= %s AND bucket < %s
           GROUP BY event_type ORDER BY total DESC, event_type LIMIT %s""",
        [window.start, window.end, limit],
    )
    return [
        pb.EventTypeCount(event_type=str(kind), count=int(n)) for kind, n in await cursor.fetchall()
    ]


async def total_events(conn: Connection, window: Window) -> int:
    where, params = _where(runs(window.start, window.end), with_grain=True)
    cursor = await conn.execute(
        f"SELECT coalesce(sum(count), 0)::bigint FROM total_rollups WHERE {where}", params
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def distinct_users(conn: Connection, window: Window) -> int:
    """Exact below two hours (only minute runs); else HyperLogLog over hour and day registers
    merged with the loose minutes' registers (functions/query/minute_users.py)."""
    minutes, coarse = _split(window)
    minute_where, minute_params = _where(minutes, with_grain=False)
    raw_where = minute_where.replace("bucket", "time_stamp")
    if not coarse:
        cursor = await conn.execute(
            f"SELECT count(DISTINCT user_id) FROM click_events WHERE {raw_where}", minute_params
        )
        row = await cursor.fetchone()
        return int(row[0]) if row else 0
    coarse_where, coarse_params = _where(coarse, with_grain=True)
    cursor = await conn.execute(
        f"SELECT registers FROM user_hll_sketches WHERE {coarse_where}", coarse_params
    )
    merged = hll.merge(bytes(sketch) for (sketch,) in await cursor.fetchall())
    if minutes:
        loose = [bucket for grain, bucket in spans(window.start, window.end) if grain == "minute"]
        merged = hll.with_pairs(
            merged, await minute_users.register_pairs(conn, loose, datetime.now(UTC))
        )
    return hll.estimate(merged)


async def overview(connect: Connect, window: Window) -> pb.GetOverviewResponse:
    """The three reads run at once, each on its own pooled connection: the answer takes the
    slowest one's time, not their sum."""

    async def run(load: Callable[[Connection], Awaitable[Part]]) -> Part:
        async with connect() as conn:
            return await load(conn)

    total, top, users = await asyncio.gather(
        run(lambda conn: total_events(conn, window)),
        run(lambda conn: top_pages(conn, window, 1)),
        run(lambda conn: distinct_users(conn, window)),
    )
    answer = pb.GetOverviewResponse(
        total_events=total,
        distinct_users=users if total else 0,
        events_per_minute=total / window.minutes,
    )
    getattr(answer, "from").CopyFrom(timestamp(window.start))
    answer.to.CopyFrom(timestamp(window.end))
    if total and top:
        answer.top_page.CopyFrom(top[0])
    return answer


async def time_series(
    conn: Connection, window: Window, grain: Grain, page_url: str | None
) -> list[pb.TimeSeriesPoint]:
    """Every bucket of `window`, zeros included."""
    params: list[object]
    if page_url is None:
        table, scope, params = "total_rollups", "grain = %s", [grain]
    elif grain == "minute":
        table, scope, params = "page_minute_counts", "page_url = %s", [page_url]
    else:
        table, scope, params = "page_rollups", "page_url = %s AND grain = %s", [page_url, grain]
    cursor = await conn.execute(
        f"SELECT bucket, count FROM {table} WHERE {scope} AND bucket >= %s AND bucket < %s",
        [*params, window.start, window.end],
    )
    counts: dict[datetime, int] = {b: int(n) for b, n in await cursor.fetchall()}
    points, moment, step = [], window.start, STEP[grain]
    while moment < window.end:
        points.append(pb.TimeSeriesPoint(t=timestamp(moment), count=counts.get(moment, 0)))
        moment += step
    return points


async def user_activity(
    conn: Connection, user_id: str, window: Window, limit: int
) -> tuple[int, list[pb.PageCount]]:
    """(all the user's events in `window`, the `limit` pages most visited)."""
    cursor = await conn.execute(
        """SELECT page_url, count(*) AS n, sum(count(*)) OVER ()::bigint FROM click_events
           WHERE user_id = %s AND time_stamp >= %s AND time_stamp < %s
           GROUP BY page_url ORDER BY n DESC, page_url LIMIT %s""",
        [user_id, window.start, window.end, limit],
    )
    rows = await cursor.fetchall()
    total = int(rows[0][2]) if rows else 0
    return total, [pb.PageCount(page_url=str(url), count=int(n)) for url, n, _ in rows]


async def dead_letters(
    conn: Connection, limit: int, before_id: int | None
) -> tuple[list[pb.DeadLetter], int | None]:
    """Up to `limit` dead letters older than `before_id`, newest first, and the id to page
    on from (None on the last page)."""
    cursor = await conn.execute(
        """SELECT id, coalesce(event_id, ''), event::text, coalesce(knativeerrordest, ''),
                  coalesce(knativeerrorcode, ''), coalesce(knativeerrordata, ''), received_at
           FROM dead_letters WHERE %s::bigint IS NULL OR id < %s
           ORDER BY id DESC LIMIT %s""",
        [before_id, before_id, limit + 1],
    )
    rows = await cursor.fetchall()
    items = [
        pb.DeadLetter(
            id=row[0],
            event_id=row[1],
            event_json=row[2],
            knativeerrordest=row[3],
            knativeerrorcode=row[4],
            knativeerrordata=row[5],
            received_at=timestamp(row[6]),
        )
        for row in rows[:limit]
    ]
    return items, items[-1].id if len(rows) > limit else None
