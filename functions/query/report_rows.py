"""Report rows in the roll-ups' shape (migration 0013), computed from raw events and visits.

One shape for every dimension: (dimension, value, events, visitors, visits, bounces,
duration_s), the two middle ones hll sketches, so that rows of any buckets merge by summing
and unioning. The roller (functions/process/roller.py) stores these rows per closed hour;
the unfiltered reads (functions/query/report_rollups.py) compute the same rows for whatever
no current roll-up holds, and merge them with the stored ones.

The rows cover the time ranges of a relation `ranges(lo, hi)` the statement defines, of the
site `%(site)s`. Event-level dimensions count the ranges' events, and the visits holding
them (as functions/query/reports.py does); visit-level ones the visits started in the ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from functions.query.dimensions import DIMENSIONS, Dimension
from functions.query.filters import VISIT_ID

# The roll-ups' grains, finest first, each a whole number of the one before, their buckets
# aligned on the Unix epoch (EPOCH, date_bin's origin). An hour is built from raw events and
# visits, each coarser bucket from its finer roll-ups; a read takes the coarsest current
# buckets that fit its range. A read unions each value's sketches of every bucket it takes,
# which is most of its work: 30 days take about 10 day, 4-day and 16-day buckets, not 29 days.
GRAINS: tuple[tuple[str, timedelta], ...] = (
    ("hour", timedelta(hours=1)),
    ("day", timedelta(days=1)),
    ("4 days", timedelta(days=4)),
    ("16 days", timedelta(days=16)),
    ("64 days", timedelta(days=64)),
)
EPOCH = "timestamptz '1970-01-01 00:00:00+00'"
# an hour is built once it ended this long ago (functions/process/roller.py): events arrive a
# little late, and an hour built while it still fills is rebuilt at once
BUILD_GRACE = timedelta(minutes=5)
# every sketch's parameters: migration 0017's hll(14, 5, 256, 1), whose unions stay cheap
SKETCH = "14, 5, 256"
# A pseudo-dimension of every visit started in a bucket, whose one row holds the visit KPIs
# (GetVisits): a visit-level dimension like the others, so it is built and read the same way.
ALL_VISITS = Dimension("", "visit", "''")
# what the roll-ups hold: every dimension of the registry (`prop:<key>` is not in it: its keys
# are open-ended, so its reports read raw events), and the visit KPIs
ROLLED_UP: tuple[Dimension, ...] = (*DIMENSIONS.values(), ALL_VISITS)

# A visit's id in its sketches, as an event names it (filters.VISIT_ID)
_VISIT_ID = "v.visit_key || '@' || extract(epoch FROM v.started_at)::text"
_EMPTY = f"hll_empty({SKETCH})"
# Each range read on its own through the site-and-time index: the planner cannot know how few
# ranges a read has left raw (a CTE's rows are guessed), and, guessing hundreds, scans all
# the site's events and sorts them instead (measured: 500 ms against a few ms over 30 days of
# 50,000 events). OFFSET 0 keeps the subquery from being merged into the outer join, so it
# runs once per range, as a parameterized index range.
_EACH_RANGE = "OFFSET 0"


def _sketch(expression: str) -> str:
    # hll_add_agg over nothing but NULLs (events whose visit is not written yet) gives NULL
    return f"coalesce(hll_add_agg(hll_hash_text({expression}), {SKETCH}), {_EMPTY})"


def _unpivot(dimensions: Sequence[Dimension]) -> str:
    """Each row once per dimension, as (dimension, value): one scan serves them all."""
    for each in dimensions:
        if each.params:
            raise ValueError(f"{each.name!r} takes parameters: it cannot be rolled up")
    pairs = ", ".join(f"('{each.name}', {each.sql})" for each in dimensions)
    return f"CROSS JOIN LATERAL (VALUES {pairs}) AS d(dimension, value)"


def raw_rows(dimensions: Sequence[Dimension]) -> str:
    """A SELECT of the shape's rows of `dimensions` over `ranges`."""
    branches: list[str] = []
    event_level = [each for each in dimensions if each.level == "event"]
    visit_level = [each for each in dimensions if each.level == "visit"]
    if event_level:
        branches.append(
            f"""SELECT d.dimension, d.value, count(*)::bigint AS events,
                       {_sketch("e.user_id")} AS visitors, {_sketch("e.visit_id")} AS visits,
                       0::bigint AS bounces, 0::float8 AS duration_s
                FROM ranges AS r CROSS JOIN LATERAL (
                    SELECT e.*, {VISIT_ID} AS visit_id FROM click_events AS e
                    WHERE e.site = %(site)s AND e.time_stamp >= r.lo AND e.time_stamp < r.hi
                    {_EACH_RANGE}
                ) AS e
                {_unpivot(event_level)}
                GROUP BY 1, 2"""
        )
    if visit_level:
        branches.append(
            f"""SELECT d.dimension, d.value, sum(v.events)::bigint AS events,
                       {_sketch("v.user_id")} AS visitors, {_sketch("v.visit_id")} AS visits,
                       count(*) FILTER (WHERE v.events = 1) AS bounces,
                       sum(extract(epoch FROM v.ended_at - v.started_at))::float8 AS duration_s
                FROM ranges AS r CROSS JOIN LATERAL (
                    SELECT v.*, {_VISIT_ID} AS visit_id FROM visits AS v
                    WHERE v.site = %(site)s AND v.started_at >= r.lo AND v.started_at < r.hi
                    {_EACH_RANGE}
                ) AS v
                {_unpivot(visit_level)}
                GROUP BY 1, 2"""
        )
    return " UNION ALL ".join(branches)
