"""The database side of each read: SQL over the roll-ups (migration 0002), answers as protobuf.

A window is cut into day, hour and minute runs (functions/core/spans.py); each run is read
from the table of its grain, so the rows read grow with the number of runs' buckets, not with
the events stored. Long reads combine per-bucket parts that `query` keeps in memory while
their bucket's total is unchanged (functions/query/parts.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from clickstream.analytics.v1 import analytics_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from functions.core import replay
from functions.core.spans import STEP, Grain, Run, runs
from functions.query import top_pages as top_pages_summaries
from functions.query.minute_users import MinuteSketches
from functions.query.parts import Bucket, Connect, Connection, PartCache, bucket_totals, by_run
from functions.query.rollup_spans import Spans
from functions.query.validate import Window

Result = TypeVar("Result")
# parts kept in memory (functions/query/parts.py): a 30-day read uses ~80 summaries and up to
# 3 hour or day runs' sketches, its edges up to 118 minutes' sketches (an hll sketch takes 8
# bytes per user while small, ~10 KB once full, as few minutes are)
SUMMARIES_KEPT = 5_000
MINUTE_SKETCHES_KEPT = 4_000
RUNS_KEPT = 1_000
# every sketch's parameters (migration 0011's typmod); a sketch travels as bytes (hll_send),
# which become an hll again only through a cast naming them. The sketches go in binary (%b):
# psycopg sends bytea as hex text otherwise, and PostgreSQL's parsing of a 30-day read's
# ~100 KB of hex took 6-9 ms against 1 ms in binary (measured with 65 sketches)
_HLL = "hll(14, 5, -1, 1)"
_ESTIMATE = f"SELECT hll_union_cardinality(p::{_HLL})::bigint FROM unnest(%b::bytea[]) AS p"
_COARSE_RUN = """SELECT hll_send(hll_union_agg(users)) FROM user_hll
WHERE site = %s AND grain = %s AND bucket >= %s AND bucket < %s"""


class Parts:
    """What long-range reads keep between calls, one per `query` process."""

    def __init__(self, connect: Connect) -> None:
        self.summaries = top_pages_summaries.SummaryCaches(
            PartCache(SUMMARIES_KEPT), PartCache(RUNS_KEPT)
        )
        self.minute_sketches: PartCache[bytes] = PartCache(MINUTE_SKETCHES_KEPT)
        self.run_sketches: PartCache[bytes] = PartCache(RUNS_KEPT)
        self.minutes = MinuteSketches(connect, self.minute_sketches)
        self.spans = Spans(connect)

    def clear(self) -> None:
        """Forget every part (the database was restored or wiped: functions/core/epoch.py)."""
        for cache in (
            self.summaries.buckets,
            self.summaries.runs,
            self.minute_sketches,
            self.run_sketches,
        ):
            cache.clear()
        self.spans.forget()


def timestamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def _raw_where(site: str, minutes: Sequence[Run]) -> tuple[str, list[object]]:
    """The site's raw events in an OR of the runs' time ranges."""
    if not minutes:
        return "false", []
    params: list[object] = [site]
    for run in minutes:
        params += [run.start, run.end]
    ranges = " OR ".join(["(time_stamp >= %s AND time_stamp < %s)"] * len(minutes))
    return f"site = %s AND ({ranges})", params


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
                f"SELECT {columns} FROM page_minute_counts"
                f" WHERE site = %s AND bucket >= %s AND bucket < %s{only}"
            )
            params += [window.site, run.start, run.end]
        else:
            branches.append(
                f"SELECT {columns} FROM page_rollups"
                f" WHERE site = %s AND grain = %s AND bucket >= %s AND bucket < %s{only}"
            )
            params += [window.site, run.grain, run.start, run.end]
        if pages is not None:
            params.append(pages)
    return " UNION ALL ".join(branches) or f"SELECT {columns} FROM page_rollups WHERE false", params


def _split(window: Window) -> tuple[list[Run], list[Run]]:
    """(minute runs, hour and day runs) of `window`."""
    cut = runs(window.start, window.end)
    return [r for r in cut if r.grain == "minute"], [r for r in cut if r.grain != "minute"]


async def top_pages(
    conn: Connection, window: Window, limit: int, parts: Parts
) -> list[pb.PageCount]:
    """Summed over the pages that can make the list (functions/query/top_pages.py) when the
    range is long, else over every page."""
    pages = None
    if top_pages_summaries.worth_it(window, limit):
        pages = await top_pages_summaries.shortlist(
            conn, window, limit, datetime.now(UTC), parts.summaries
        )
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
           WHERE site = %s AND bucket >= %s AND bucket < %s
           GROUP BY event_type ORDER BY total DESC, event_type LIMIT %s""",
        [window.site, window.start, window.end, limit],
    )
    return [
        pb.EventTypeCount(event_type=str(kind), count=int(n)) for kind, n in await cursor.fetchall()
    ]


async def events_and_users(conn: Connection, window: Window, parts: Parts) -> tuple[int, int]:
    """(events, distinct users) of `window`: one read of its buckets' totals gives the first
    and says which kept sketches still hold. Users are exact below two hours (only minute
    runs); else the hll estimate (migration 0011) of one union, in a single statement, of
    each hour or day run's sketch (user_hll, kept in memory per run while the totals of its
    buckets are unchanged) and each loose minute's sketch (functions/query/minute_users.py,
    kept per minute). A sliding "last 30 days" view starts a new minute run on every read,
    so a minute run's union is not worth keeping: sending its minutes' small sketches with
    the estimate saves a round trip per edge instead."""
    minutes, coarse = _split(window)
    totals = await bucket_totals(conn, window.site, [*minutes, *coarse])
    events = sum(totals.values())
    if not events:
        return 0, 0
    if not coarse:
        raw_where, raw_params = _raw_where(window.site, minutes)
        cursor = await conn.execute(
            f"SELECT count(DISTINCT user_id) FROM click_events WHERE {raw_where}", raw_params
        )
        row = await cursor.fetchone()
        return events, int(row[0]) if row else 0

    async def combined(run: Run, run_totals: dict[Bucket, int]) -> bytes:
        if not run_totals:  # no events: sketches and totals are written together
            return b""
        # read after the totals: it may hold later events than the version it is kept for,
        # never fewer, and the next change of a total replaces it
        cursor = await conn.execute(
            _COARSE_RUN, [window.site, run.grain, run.start, run.end], binary=True
        )
        row = await cursor.fetchone()
        return bytes(row[0]) if row and row[0] is not None else b""

    sketches = await by_run(parts.run_sketches, window.site, coarse, totals, combined)
    loose = {bucket: total for (grain, bucket), total in totals.items() if grain == "minute"}
    if loose:
        sketches += await parts.minutes.sketches(conn, window.site, loose)
    cursor = await conn.execute(_ESTIMATE, [[sketch for sketch in sketches if sketch]])
    row = await cursor.fetchone()
    return events, int(row[0]) if row and row[0] is not None else 0


async def overview(connect: Connect, window: Window, parts: Parts) -> pb.GetOverviewResponse:
    """The two reads run at once, each on its own pooled connection: the answer takes the
    slower one's time, not their sum."""

    async def run(load: Callable[[Connection], Awaitable[Result]]) -> Result:
        async with connect() as conn:
            return await load(conn)

    (total, users), top = await asyncio.gather(
        run(lambda conn: events_and_users(conn, window, parts)),
        run(lambda conn: top_pages(conn, window, 1, parts)),
    )
    answer = pb.GetOverviewResponse(
        total_events=total,
        distinct_users=users,
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
        f"SELECT bucket, count FROM {table}"
        f" WHERE site = %s AND {scope} AND bucket >= %s AND bucket < %s",
        [window.site, *params, window.start, window.end],
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
           WHERE site = %s AND user_id = %s AND time_stamp >= %s AND time_stamp < %s
           GROUP BY page_url ORDER BY n DESC, page_url LIMIT %s""",
        [window.site, user_id, window.start, window.end, limit],
    )
    rows = await cursor.fetchall()
    total = int(rows[0][2]) if rows else 0
    return total, [pb.PageCount(page_url=str(url), count=int(n)) for url, n, _ in rows]


_DEAD_LETTERS = f"""
SELECT id, coalesce(event_id, ''), event::text, coalesce(knativeerrordest, ''),
       coalesce(knativeerrorcode, ''), coalesce(knativeerrordata, ''), received_at,
       replayed_at, replay_count
FROM dead_letters
WHERE (%s::bigint IS NULL OR id < %s) AND (%s::text IS NULL OR {replay.LETTER_SITE_SQL} = %s)
ORDER BY id DESC LIMIT %s
"""


async def dead_letters(
    conn: Connection, limit: int, before_id: int | None, site: str | None
) -> tuple[list[pb.DeadLetter], int | None]:
    """Up to `limit` dead letters older than `before_id` (of `site` only, when given),
    newest first, and the id to page on from (None on the last page)."""
    cursor = await conn.execute(_DEAD_LETTERS, [before_id, before_id, site, site, limit + 1])
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
            replayed_at=None if row[7] is None else timestamp(row[7]),
            replay_count=row[8],
        )
        for row in rows[:limit]
    ]
    return items, items[-1].id if len(rows) > limit else None
