"""Unfiltered breakdowns and visit KPIs from the report roll-ups (migration 0013), in ONE
statement each.

The window is cut into runs (functions/core/spans.py). Its whole days, with the built hours
after them, read their span (all of them as one bucket: functions/query/rollup_spans.py)
while that is current, else the longest buckets (64, 16 or 4 days, or a day:
report_rows.GRAINS) that fit inside the days and are current, and none longer holding them
is; the hours left read their hour roll-up while that is current, else their raw events and
visits; minutes at the edges read raw. "Current" means built at the sum of its hours'
versions now, checked in the same snapshot as the rows, so an answer is as right as the raw
one (functions/query/reports.py) whenever the roller last ran; a late event makes only the
buckets holding it stale, and the finer ones around it still
serve. Raw parts are computed in the roll-ups' shape (functions/query/report_rows.py), and
all parts merge alike: events summed, sketches unioned, then estimated.

Sketches estimate: hll counts exactly while a union holds up to 256 distinct values
(explicit mode, kept small as its unions re-sort every id: migration 0017), and within about
1% beyond. A breakdown ranks values by visitors, which needs every value's sketches
unioned; over 30 days of thousands of pages that is most of a read, so only the SHORTLIST
values with the most events are ranked (as functions/query/top_pages.py shortlists top
pages). A value outside it by events but inside the top `limit` by visitors would be
missed: it needs ~5x fewer events per visitor than the values it passes, which repeat visits
by few people can make.

Summing every value of every bucket to choose the shortlist is most of a read too (72,000
rows for 30 days of pages over 2M events), so a stored bucket adds only its RANKED most
eventful values (ranked when built, migration 0017), raw parts all theirs; only the
shortlisted values' sketches are read. A value counts from the buckets where it ranks within
RANKED: one ranked lower in every bucket is not shortlisted, and one ranked lower in some
is shortlisted by fewer events than it has (its answer row is exact all the same).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.spans import STEP, Run, aligned, floor, runs
from functions.query.dimensions import Dimension
from functions.query.parts import Connection
from functions.query.report_rows import (
    ALL_VISITS,
    BUILD_GRACE,
    EPOCH,
    GRAINS,
    ROLLED_UP,
    raw_rows,
)
from functions.query.validate import Window

SHORTLIST_FACTOR = 5
SHORTLIST_MIN = 50
RANKED = 100  # the ranks of each bucket a shortlist of up to as many values sums
# a range's whole days read as a span when they are this many at least: fewer take two
# aligned buckets at most, and a span would cost a build for little
SPAN_MIN_DAYS = timedelta(days=3)
EVERY_RANK = 2**31 - 1

# the buckets of a window (`%(site)s`): the stored roll-ups current for it (`rolled`), and
# the time ranges no current roll-up holds, read raw (`ranges`)
BUCKETS = f"""
WITH hours AS (  -- every hour of the day and hour runs, its version now and as built
    SELECT h.bucket, coalesce(v.version, 0) AS version, b.version AS built
    FROM unnest(%(coarse_lo)s::timestamptz[], %(coarse_hi)s::timestamptz[]) AS c(lo, hi)
    CROSS JOIN generate_series(c.lo, c.hi - interval '1 hour', interval '1 hour') AS h(bucket)
    LEFT JOIN rollup_versions AS v ON v.site = %(site)s AND v.bucket = h.bucket
    LEFT JOIN rollup_builds AS b ON b.site = %(site)s AND b.grain = 'hour' AND b.bucket = h.bucket
), days AS MATERIALIZED (  -- each day's version now: the sum of its hours' (summed once)
    SELECT date_bin(interval '1 day', bucket, {EPOCH}) AS bucket, sum(version) AS version
    FROM hours GROUP BY 1
), current AS (  -- the buckets of a day or more inside the window whose roll-up is current
    SELECT c.grain, c.lo, c.hi
    FROM unnest(%(span_grain)s::text[], %(span_lo)s::timestamptz[], %(span_hi)s::timestamptz[])
         AS c(grain, lo, hi)
    JOIN rollup_builds AS b ON b.site = %(site)s AND b.grain = c.grain AND b.bucket = c.lo
    WHERE b.version = CASE WHEN c.grain LIKE '%%-hour span'  -- ends within a day: its hours
        THEN (SELECT sum(h.version) FROM hours AS h WHERE h.bucket >= c.lo AND h.bucket < c.hi)
        ELSE (SELECT sum(d.version) FROM days AS d WHERE d.bucket >= c.lo AND d.bucket < c.hi)
    END
), coarse AS (  -- of those, the ones inside no longer one: the fewest that cover them
    SELECT c.grain, c.lo, c.hi FROM current AS c
    WHERE NOT EXISTS (SELECT FROM current AS p
                      WHERE p.hi - p.lo > c.hi - c.lo AND c.lo >= p.lo AND c.lo < p.hi)
), loose AS (  -- the hours outside those that hold anything (an hour never written holds none)
    SELECT h.bucket, h.built = h.version AS up_to_date FROM hours AS h
    WHERE h.version > 0 AND NOT EXISTS (
        SELECT FROM coarse AS c WHERE h.bucket >= c.lo AND h.bucket < c.hi)
), rolled AS (  -- read from their roll-ups
    SELECT grain, lo AS bucket FROM coarse
    UNION ALL
    SELECT 'hour', bucket FROM loose WHERE up_to_date
), ranges AS (  -- read raw
    SELECT bucket AS lo, bucket + interval '1 hour' AS hi FROM loose WHERE up_to_date IS NOT TRUE
    UNION ALL
    SELECT lo, hi FROM unnest(%(minute_lo)s::timestamptz[], %(minute_hi)s::timestamptz[])
                       AS m(lo, hi)
)"""
# Each rolled bucket's rows of one `%(dimension)s` that pass `{only}`, by an index range of
# that bucket whatever the planner guesses of the CTEs' rows (OFFSET 0 keeps the subquery a
# loop of its own).
_ROLLED = """
    SELECT r.* FROM rolled AS b CROSS JOIN LATERAL (
        SELECT {columns} FROM report_rollups
        WHERE site = %(site)s AND grain = b.grain AND bucket = b.bucket
          AND dimension = %(dimension)s AND {only} OFFSET 0
    ) AS r"""
_SKETCHED = "value, events, visitors, visits, bounces, duration_s"


def _estimate(sketches: str) -> str:
    # the union's estimate without packing the union first (migration 0023)
    return f"coalesce(hll_union_cardinality({sketches}), 0)::bigint"


# The shortlist sums each rolled bucket's RANKED most eventful values (the index
# report_rollups_ranked, migration 0017) and every raw value, then reads the sketches of the
# shortlisted values only: `{shortlisted}` is one of the two conditions below.
_BREAKDOWN = f"""
, raw AS MATERIALIZED (SELECT {_SKETCHED} FROM ({{raw}}) AS raw)
, candidates AS (
    {_ROLLED.format(columns="value, events", only="rank <= %(ranked)s")}
    UNION ALL
    SELECT value, events FROM raw
), shortlist AS (
    SELECT value FROM candidates GROUP BY value
    ORDER BY sum(events) DESC, value LIMIT %(shortlist)s
), parts AS (
    {_ROLLED.format(columns=_SKETCHED, only="{shortlisted}")}
    UNION ALL
    SELECT * FROM raw WHERE value IN (SELECT value FROM shortlist)
)
SELECT value, sum(events)::bigint AS events, {_estimate("visitors")} AS visitors,
       {_estimate("visits")} AS visits
FROM parts GROUP BY value ORDER BY visitors DESC, events DESC, value LIMIT %(limit)s
"""
_VISITS = f"""
, parts AS (
    {_ROLLED.format(columns=_SKETCHED, only="true")}
    UNION ALL
    SELECT {_SKETCHED} FROM ({{raw}}) AS raw
)
SELECT {_estimate("visits")}, {_estimate("visitors")}, coalesce(sum(bounces), 0)::bigint,
       coalesce(sum(duration_s), 0)::float8, coalesce(sum(events), 0)::bigint
FROM parts
"""


def rolled_up(dimension: Dimension) -> bool:
    """Whether the roll-ups hold `dimension` (not `prop:<key>`)."""
    return dimension in ROLLED_UP


def span_grain(span: Run) -> str:
    """The grain naming the span `span` (functions/query/rollup_spans.py): its length in its
    own grain, days when it ends at a midnight, else hours (`span_of`)."""
    return f"{(span.end - span.start) // STEP[span.grain]}-{span.grain} span"


def span_of(window: Window, now: datetime) -> Run | None:
    """What of `window` a span may hold at `now`: its whole days and the whole hours after
    them that the roller has built by now (BUILD_GRACE after they ended), when a span of them
    would save a read buckets: at least SPAN_MIN_DAYS, and not one aligned bucket already.
    Today's built hours are in it, so that a range running to now or to tomorrow (Plausible's
    "30d") reads them as one bucket with the days; the hour still filling, where events keep
    arriving, is not, as each would make the span stale."""
    cut = runs(window.start, window.end)
    first = next((n for n, run in enumerate(cut) if run.grain == "day"), None)
    if first is None:
        return None
    end = cut[first].end
    if first + 1 < len(cut) and cut[first + 1].grain == "hour":
        end = cut[first + 1].end
    end = min(end, floor(now - BUILD_GRACE, "hour"))
    span = Run("day" if floor(end, "day") == end else "hour", cut[first].start, end)
    length = span.end - span.start
    if length < SPAN_MIN_DAYS:
        return None
    if any(step == length and aligned(span.start, span.end, step) for _, step in GRAINS[1:]):
        return None
    return span


def parameters(window: Window, dimension: Dimension, span: Run | None) -> dict[str, object]:
    """BUCKETS' parameters: the window's runs, and the buckets of a day or more that may hold
    its whole days (the aligned ones inside them, and `span` if given)."""
    cut = runs(window.start, window.end)

    def bounds(selected: list[Run]) -> tuple[list[object], list[object]]:
        return [run.start for run in selected], [run.end for run in selected]

    coarse_lo, coarse_hi = bounds([run for run in cut if run.grain != "minute"])
    minute_lo, minute_hi = bounds([run for run in cut if run.grain == "minute"])
    buckets = [
        (grain, start, start + step)
        for run in cut
        if run.grain == "day"
        for grain, step in GRAINS[1:]
        for start in aligned(run.start, run.end, step)
    ]
    if span is not None:
        buckets.append((span_grain(span), span.start, span.end))
    return {
        "site": window.site,
        "dimension": dimension.name,
        "coarse_lo": coarse_lo,
        "coarse_hi": coarse_hi,
        "span_grain": [grain for grain, _, _ in buckets],
        "span_lo": [start for _, start, _ in buckets],
        "span_hi": [end for _, _, end in buckets],
        "minute_lo": minute_lo,
        "minute_hi": minute_hi,
    }


# A short shortlist is read by an index probe per value and bucket; a long one (a breakdown
# of every value, as Stats API v2 asks by default: up to 5,000) by a hashed test of each
# row of the bucket, where a probe per value would make thousands of probes per bucket.
_SHORTLISTED = "value = ANY(ARRAY(SELECT value FROM shortlist))"
_IN_LONG_SHORTLIST = "value IN (SELECT value FROM shortlist)"


def _statement(dimension: Dimension, rest: str, shortlisted: str = _SHORTLISTED) -> str:
    return BUCKETS + rest.format(raw=raw_rows([dimension]), shortlisted=shortlisted)


# Every aggregate here groups by sorting, not hashing: a group's sketch state grows to tens of
# kB, and the planner, which cannot know how few raw ranges a read has left (see
# report_rows._EACH_RANGE), plans the raw rows' hash aggregate to spill in partitions to
# disk. Measured over 1 M events, a 30-day `page` read: the raw rows 12.5 ms hashed (117
# batches spilled) against 2.2 ms sorted, the read 58-86 ms against 40-46. A setting of the
# transaction, so that it ends with the read (three more round trips, against tens of ms). The
# roller's hour builds, one range of every dimension, keep the planner's choice: over the
# same events, an hour's build took 25 ms hashed against 31-33 sorted.
SORTED_GROUPS = "SET LOCAL enable_hashagg = off"


async def _read(conn: Connection, sql: str, params: dict[str, object]) -> list[tuple[Any, ...]]:
    async with conn.transaction():
        await conn.execute(SORTED_GROUPS)
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall()


async def breakdown(
    conn: Connection,
    window: Window,
    dimension: Dimension,
    limit: int,
    now: datetime | None = None,
) -> list[pb.BreakdownRow]:
    """As `reports.breakdown` without filters, for a dimension the roll-ups hold, read at
    `now` (the clock's, unless given)."""
    size = max(limit * SHORTLIST_FACTOR, SHORTLIST_MIN)
    long = size > RANKED
    span = span_of(window, now or datetime.now(UTC))
    params = parameters(window, dimension, span) | {
        "limit": limit,
        "shortlist": size,
        # a shortlist longer than the ranks kept sums every value of every bucket
        "ranked": EVERY_RANK if long else RANKED,
    }
    shortlisted = _IN_LONG_SHORTLIST if long else _SHORTLISTED
    rows = await _read(conn, _statement(dimension, _BREAKDOWN, shortlisted), params)
    return [
        pb.BreakdownRow(value=str(value), events=int(events), visitors=int(users), visits=int(n))
        for value, events, users, n in rows
    ]


async def visits(
    conn: Connection, window: Window, now: datetime | None = None
) -> pb.GetVisitsResponse:
    """As `reports.visits` without filters, read at `now` (the clock's, unless given)."""
    span = span_of(window, now or datetime.now(UTC))
    # an aggregate without GROUP BY answers one row
    [row] = await _read(conn, _statement(ALL_VISITS, _VISITS), parameters(window, ALL_VISITS, span))
    count, users, bounces, duration, events = row
    return pb.GetVisitsResponse(
        visits=count,
        visitors=users,
        bounce_rate=bounces / count if count else 0.0,
        mean_duration_s=duration / count if count else 0.0,
        views_per_visit=events / count if count else 0.0,
    )
