"""Unfiltered breakdowns and visit KPIs from the report roll-ups (migration 0013), in ONE
statement each.

The window is cut into runs (functions/core/spans.py): a whole day reads its day roll-up
while that is current, else each of its hours; an hour reads its hour roll-up while that is
current, else its raw events and visits; minutes at the edges read raw. "Current" means
built at the version the hour (or the sum of its day's hours) has now, checked in the same
snapshot as the rows, so an answer is as right as the raw one (functions/query/reports.py)
whenever the roller last ran. Raw parts are computed in the roll-ups' shape
(functions/query/report_rows.py), and all parts merge alike: events summed, sketches
unioned, then estimated.

Sketches estimate: hll counts exactly while a union holds up to 256 distinct values
(explicit mode, kept small as its unions re-sort every id: migration 0017), and within about
1% beyond. A breakdown ranks values by visitors, which needs every value's sketches
unioned; over 30 days of thousands of pages that is most of a read, so only the SHORTLIST
values with the most events are ranked (as functions/query/top_pages.py shortlists top
pages). A value outside it by events but inside
the top `limit` by visitors would be missed: it needs ~5x fewer events per visitor than the
values it passes, which repeat visits by few people can make.
"""

from __future__ import annotations

from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.spans import Run, runs
from functions.query.dimensions import Dimension
from functions.query.parts import Connection
from functions.query.report_rows import ALL_VISITS, ROLLED_UP, raw_rows
from functions.query.validate import Window

SHORTLIST_FACTOR = 5
SHORTLIST_MIN = 50

# the parts of a window (`%(site)s`, one `%(dimension)s`): stored roll-ups, and raw rows
# for whatever no current roll-up holds
_PARTS = """
WITH hours AS (  -- every hour of the day and hour runs, its version now and as built
    SELECT h.bucket, coalesce(v.version, 0) AS version, b.version AS built
    FROM unnest(%(coarse_lo)s::timestamptz[], %(coarse_hi)s::timestamptz[]) AS c(lo, hi)
    CROSS JOIN generate_series(c.lo, c.hi - interval '1 hour', interval '1 hour') AS h(bucket)
    LEFT JOIN rollup_versions AS v ON v.site = %(site)s AND v.bucket = h.bucket
    LEFT JOIN rollup_builds AS b ON b.site = %(site)s AND b.grain = 'hour' AND b.bucket = h.bucket
), days AS (  -- the whole days whose roll-up is current
    SELECT b.bucket
    FROM unnest(%(day_lo)s::timestamptz[], %(day_hi)s::timestamptz[]) AS r(lo, hi)
    CROSS JOIN generate_series(r.lo, r.hi - interval '24 hours', interval '24 hours') AS d(bucket)
    JOIN rollup_builds AS b ON b.site = %(site)s AND b.grain = 'day' AND b.bucket = d.bucket
    WHERE b.version = (SELECT sum(h.version) FROM hours AS h
                       WHERE h.bucket >= d.bucket AND h.bucket < d.bucket + interval '24 hours')
), loose AS (  -- the hours outside those that hold anything (an hour never written holds none)
    SELECT h.bucket, h.built = h.version AS up_to_date FROM hours AS h
    WHERE h.version > 0 AND NOT EXISTS (
        SELECT FROM days AS d
        WHERE h.bucket >= d.bucket AND h.bucket < d.bucket + interval '24 hours')
), ranges AS (  -- read raw
    SELECT bucket AS lo, bucket + interval '1 hour' AS hi FROM loose WHERE up_to_date IS NOT TRUE
    UNION ALL
    SELECT lo, hi FROM unnest(%(minute_lo)s::timestamptz[], %(minute_hi)s::timestamptz[])
                       AS m(lo, hi)
), parts AS (
    -- each bucket's rows by the primary key's whole prefix, bucket by bucket whatever the
    -- planner guesses of the CTEs' rows (OFFSET 0 keeps each subquery a loop of its own)
    SELECT r.* FROM days AS d CROSS JOIN LATERAL (
        SELECT value, events, visitors, visits, bounces, duration_s FROM report_rollups
        WHERE site = %(site)s AND grain = 'day' AND bucket = d.bucket
          AND dimension = %(dimension)s OFFSET 0
    ) AS r
    UNION ALL
    SELECT r.* FROM loose AS h CROSS JOIN LATERAL (
        SELECT value, events, visitors, visits, bounces, duration_s FROM report_rollups
        WHERE site = %(site)s AND grain = 'hour' AND bucket = h.bucket
          AND dimension = %(dimension)s OFFSET 0
    ) AS r
    WHERE h.up_to_date
    UNION ALL
    SELECT value, events, visitors, visits, bounces, duration_s FROM ({raw}) AS raw
)
"""


def _estimate(sketches: str) -> str:
    return f"coalesce(hll_cardinality(hll_union_agg({sketches})), 0)::bigint"


_BREAKDOWN = f"""
, shortlist AS (
    SELECT value FROM parts GROUP BY value ORDER BY sum(events) DESC, value LIMIT %(shortlist)s
)
SELECT p.value, sum(p.events)::bigint AS events, {_estimate("p.visitors")} AS visitors,
       {_estimate("p.visits")} AS visits
FROM parts AS p JOIN shortlist USING (value)
GROUP BY p.value ORDER BY visitors DESC, events DESC, p.value LIMIT %(limit)s
"""
_VISITS = f"""
SELECT {_estimate("visits")}, {_estimate("visitors")}, coalesce(sum(bounces), 0)::bigint,
       coalesce(sum(duration_s), 0)::float8, coalesce(sum(events), 0)::bigint
FROM parts
"""


def rolled_up(dimension: Dimension) -> bool:
    """Whether the roll-ups hold `dimension` (not `prop:<key>`)."""
    return dimension in ROLLED_UP


def _parameters(window: Window, dimension: Dimension) -> dict[str, object]:
    cut = runs(window.start, window.end)

    def bounds(selected: list[Run]) -> tuple[list[object], list[object]]:
        return [run.start for run in selected], [run.end for run in selected]

    coarse_lo, coarse_hi = bounds([run for run in cut if run.grain != "minute"])
    day_lo, day_hi = bounds([run for run in cut if run.grain == "day"])
    minute_lo, minute_hi = bounds([run for run in cut if run.grain == "minute"])
    return {
        "site": window.site,
        "dimension": dimension.name,
        "coarse_lo": coarse_lo,
        "coarse_hi": coarse_hi,
        "day_lo": day_lo,
        "day_hi": day_hi,
        "minute_lo": minute_lo,
        "minute_hi": minute_hi,
    }


def _parts(dimension: Dimension) -> str:
    return _PARTS.format(raw=raw_rows([dimension]))


async def breakdown(
    conn: Connection, window: Window, dimension: Dimension, limit: int
) -> list[pb.BreakdownRow]:
    """As `reports.breakdown` without filters, for a dimension the roll-ups hold."""
    params = _parameters(window, dimension)
    params |= {"limit": limit, "shortlist": max(limit * SHORTLIST_FACTOR, SHORTLIST_MIN)}
    cursor = await conn.execute(_parts(dimension) + _BREAKDOWN, params)
    return [
        pb.BreakdownRow(value=str(value), events=int(events), visitors=int(users), visits=int(n))
        for value, events, users, n in await cursor.fetchall()
    ]


async def visits(conn: Connection, window: Window) -> pb.GetVisitsResponse:
    """As `reports.visits` without filters."""
    cursor = await conn.execute(_parts(ALL_VISITS) + _VISITS, _parameters(window, ALL_VISITS))
    row = await cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY answers one row
    count, users, bounces, duration, events = row
    return pb.GetVisitsResponse(
        visits=count,
        visitors=users,
        bounce_rate=bounces / count if count else 0.0,
        mean_duration_s=duration / count if count else 0.0,
        views_per_visit=events / count if count else 0.0,
    )
