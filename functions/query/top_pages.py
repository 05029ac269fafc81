"""Narrowing a long range's top pages down with per-bucket summaries (migration 0004).

Summing every page of every bucket of a 30-day range reads pages x buckets rows (~250,000
for 5,000 pages). Instead each hour and day of the range contributes its `SUMMARY_SIZE` most
counted pages and a bound, the count of its next page. A page's total is at least what the
summaries list for it, and at most that plus the bounds of the buckets not listing it; a page
no summary lists is at most the sum of all bounds. The loose minutes at the range's ends add
to the upper bounds only, through the summary of the hour holding them (a page's count in
part of an hour is at most its count in the hour), so no minute ever needs a summary. Only
pages whose upper bound reaches the N-th best lower bound can be in the top N, so only they
are summed exactly (by the caller). When a page no summary lists could still reach it, the
summaries cannot narrow anything down.

Summaries are kept in `query`'s memory by bucket total (functions/query/parts.py): a read
fetches one row of totals per bucket and, for buckets new to it, their stored summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from functions.core.spans import STEP, Run, floor, runs
from functions.query.parts import Bucket, Connection, PartCache, bucket_totals, by_run
from functions.query.validate import Window

SUMMARY_SIZE = 50
MAX_LIMIT = 25  # a longer list than this is rarely settled by 50 pages a bucket
MIN_MINUTES = 6 * 60  # shorter ranges read few enough rows to sum them all
MAX_SHORTLIST = 200  # past this, summing everything costs about as much

# The given buckets' totals, and their stored summary when still valid (same total).
_STORED = """
SELECT w.grain, w.bucket, t.count, s.pages, s.counts, s.bound, s.total = t.count AS valid
FROM unnest(%(grains)s::text[], %(buckets)s::timestamptz[]) AS w(grain, bucket)
JOIN total_rollups AS t ON t.site = %(site)s AND t.grain = w.grain AND t.bucket = w.bucket
LEFT JOIN page_top_summaries AS s
  ON s.site = %(site)s AND s.grain = w.grain AND s.bucket = w.bucket
"""

# Summaries of the given buckets from one snapshot of the roll-ups (so each list and its
# total agree); closed buckets' are stored, a newer total winning over an older one.
_BUILD = """
WITH wanted AS (
    SELECT t.grain, t.bucket, t.count AS total FROM total_rollups AS t
    JOIN unnest(%(grains)s::text[], %(buckets)s::timestamptz[]) AS w(grain, bucket)
      ON t.grain = w.grain AND t.bucket = w.bucket
    WHERE t.site = %(site)s AND t.bucket = ANY(%(buckets)s::timestamptz[])
), counted AS (  -- hours and days only: minutes are bounded by their hour's summary
    SELECT w.grain, w.bucket, w.total, r.page_url, r.count FROM wanted AS w
    JOIN page_rollups AS r
      ON r.site = %(site)s AND r.grain = w.grain AND r.bucket = w.bucket
), ranked AS (
    SELECT grain, bucket, total, page_url, count,
           row_number() OVER (PARTITION BY grain, bucket ORDER BY count DESC, page_url) AS rank
    FROM counted
), built AS (
    SELECT grain, bucket, total,
           array_agg(page_url ORDER BY rank) FILTER (WHERE rank <= %(size)s) AS pages,
           array_agg(count ORDER BY rank) FILTER (WHERE rank <= %(size)s) AS counts,
           coalesce(max(count) FILTER (WHERE rank > %(size)s), 0) AS bound
    FROM ranked WHERE rank <= %(size)s + 1
    GROUP BY grain, bucket, total
), stored AS (
    INSERT INTO page_top_summaries AS s (site, grain, bucket, total, pages, counts, bound)
    SELECT %(site)s, grain, bucket, total, pages, counts, bound FROM built
    WHERE bucket + ('1 ' || grain)::interval <= %(now)s
    ON CONFLICT (site, grain, bucket) DO UPDATE
    SET total = EXCLUDED.total, pages = EXCLUDED.pages, counts = EXCLUDED.counts,
        bound = EXCLUDED.bound
    WHERE s.total < EXCLUDED.total
)
SELECT grain, bucket, total, pages, counts, bound FROM built
"""


@dataclass(frozen=True, slots=True)
class Summary:
    """One bucket's most counted pages, and a bound on every other page's count in it."""

    pages: Sequence[str]
    counts: Sequence[int]
    bound: int


def worth_it(window: Window, limit: int) -> bool:
    return limit <= MAX_LIMIT and window.minutes >= MIN_MINUTES


def summarized_runs(window: Window) -> tuple[list[Run], list[Run]]:
    """(the hour and day runs inside `window`, the hours holding its loose minutes)."""
    inside: list[Run] = []
    edges: list[Run] = []
    for run in runs(window.start, window.end):
        if run.grain == "minute":
            hour = floor(run.start, "hour")
            edge = Run("hour", hour, hour + STEP["hour"])
            if edge not in edges:  # both ends in one hour: a range shorter than MIN_MINUTES
                edges.append(edge)
        else:
            inside.append(run)
    return inside, edges


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the summaries of some buckets tell about each page's count over them all."""

    lower: Mapping[str, int]  # at least: the counts exact summaries list
    listed: Mapping[str, int]  # the counts any summary lists, exact or bounding
    listed_bounds: Mapping[str, int]  # the bounds of the summaries that list the page
    all_bounds: int  # at most, for a page no summary lists


def bounds(summaries: Iterable[Summary], exact: bool) -> Bounds:
    """`exact` summaries are of buckets wholly inside the range; the others of buckets only
    partly inside it, so their counts are upper bounds only."""
    lower: dict[str, int] = {}
    listed: dict[str, int] = {}
    listed_bounds: dict[str, int] = {}
    all_bounds = 0
    for summary in summaries:
        all_bounds += summary.bound
        for page, count in zip(summary.pages, summary.counts, strict=True):
            if exact:
                lower[page] = lower.get(page, 0) + count
            listed[page] = listed.get(page, 0) + count
            listed_bounds[page] = listed_bounds.get(page, 0) + summary.bound
    return Bounds(lower, listed, listed_bounds, all_bounds)


def combined(parts: Iterable[Bounds]) -> Bounds:
    lower: dict[str, int] = {}
    listed: dict[str, int] = {}
    listed_bounds: dict[str, int] = {}
    all_bounds = 0
    for part in parts:
        for mine, theirs in ((lower, part.lower), (listed, part.listed)):
            for page, count in theirs.items():
                mine[page] = mine.get(page, 0) + count
        for page, bound in part.listed_bounds.items():
            listed_bounds[page] = listed_bounds.get(page, 0) + bound
        all_bounds += part.all_bounds
    return Bounds(lower, listed, listed_bounds, all_bounds)


def narrow(exact: Sequence[Summary], bounding: Sequence[Summary], limit: int) -> list[str] | None:
    """The shortlist that `exact` and `bounding` summaries allow (see `bounds`), or None."""
    return decide(combined([bounds(exact, exact=True), bounds(bounding, exact=False)]), limit)


def decide(known: Bounds, limit: int) -> list[str] | None:
    """The pages that can make the top `limit` (see the module's doc), or None."""
    if known.all_bounds == 0:  # every page of every bucket is listed
        return list(known.listed)
    if len(known.lower) < limit:
        return None
    threshold = sorted(known.lower.values(), reverse=True)[limit - 1]
    if known.all_bounds >= threshold:  # a page no summary lists could still make the list
        return None
    found = [
        page
        for page, count in known.listed.items()
        if count + known.all_bounds - known.listed_bounds[page] >= threshold
    ]
    return found if len(found) <= MAX_SHORTLIST else None


async def shortlist(
    conn: Connection,
    window: Window,
    limit: int,
    now: datetime,
    cache: SummaryCaches,
) -> list[str] | None:
    """The pages among which the `limit` most counted of `window` are (each to be summed
    exactly), or None when the summaries cannot tell. Each run's bounds are kept in memory
    for its buckets' totals: a sliding range recombines at most five of them."""
    inside, edges = summarized_runs(window)
    totals = await bucket_totals(conn, window.site, inside + edges)

    async def summarized(run: Run, run_totals: dict[Bucket, int]) -> Bounds:
        summaries = await _summaries(conn, window.site, run_totals, now, cache.buckets)
        return bounds(summaries, exact=run not in edges)

    known = await by_run(cache.runs, window.site, inside + edges, totals, summarized)
    return decide(combined(known), limit)


@dataclass(frozen=True, slots=True)
class SummaryCaches:
    """Summaries by bucket, and their bounds combined by run."""

    buckets: PartCache[Summary]
    runs: PartCache[Bounds]


async def _summaries(
    conn: Connection,
    site: str,
    totals: Mapping[Bucket, int],
    now: datetime,
    cache: PartCache[Summary],
) -> list[Summary]:
    found, missing = cache.split(site, totals)
    if missing:
        for bucket, total, summary in await _fetch(conn, site, missing, now):
            cache.put((site, bucket), total, summary)
            found.append(summary)
    return found


async def _fetch(
    conn: Connection, site: str, buckets: Sequence[Bucket], now: datetime
) -> list[tuple[Bucket, int, Summary]]:
    """The summaries of `site`'s `buckets` (all with events), each with the total it is
    valid for: stored ones while still valid, the others built (and stored once closed)."""
    cursor = await conn.execute(
        _STORED,
        {
            "site": site,
            "grains": [grain for grain, _ in buckets],
            "buckets": [bucket for _, bucket in buckets],
        },
    )
    found: list[tuple[Bucket, int, Summary]] = []
    stale: list[Bucket] = []
    for grain, bucket, total, pages, counts, bound, valid in await cursor.fetchall():
        if valid:
            found.append(((grain, bucket), int(total), Summary(pages, counts, bound)))
        else:
            stale.append((grain, bucket))
    if stale:
        cursor = await conn.execute(
            _BUILD,
            {
                "site": site,
                "grains": [grain for grain, _ in stale],
                "buckets": [bucket for _, bucket in stale],
                "size": SUMMARY_SIZE,
                "now": now,
            },
        )
        found += [
            ((grain, bucket), int(total), Summary(pages, counts, bound))
            for grain, bucket, total, pages, counts, bound in await cursor.fetchall()
        ]
    return found
