"""Narrowing a long range's top pages down with per-bucket summaries (migration 0004).

Summing every page of every bucket of a 30-day range reads pages x buckets rows (~250,000
for 5,000 pages). Instead each bucket of the range contributes its `SUMMARY_SIZE` most
counted pages and a bound, the count of its next page. A page's total is at least what the
summaries list for it, and at most that plus the bounds of the buckets not listing it; a page
no summary lists is at most the sum of all bounds. Only pages whose upper bound reaches the
N-th best lower bound can be in the top N, so only they are summed exactly (by the caller).
When a page no summary lists could still reach it, the summaries cannot narrow anything down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from functions.core.spans import spans
from functions.query.validate import Window

SUMMARY_SIZE = 50
MAX_LIMIT = 25  # a longer list than this is rarely settled by 50 pages a bucket
MIN_MINUTES = 6 * 60  # shorter ranges read few enough rows to sum them all
MAX_SHORTLIST = 200  # past this, summing everything costs about as much

# Buckets of the range with events, and their stored summary when still valid (same total).
_STORED = """
SELECT w.grain, w.bucket, s.pages, s.counts, s.bound, s.total = t.count AS valid
FROM unnest(%s::text[], %s::timestamptz[]) AS w(grain, bucket)
JOIN total_rollups AS t ON t.grain = w.grain AND t.bucket = w.bucket
LEFT JOIN page_top_summaries AS s ON s.grain = w.grain AND s.bucket = w.bucket
"""

# Summaries of the given buckets from one snapshot of the roll-ups (so each list and its
# total agree); closed buckets' are stored, a newer total winning over an older one.
_BUILD = """
WITH wanted AS (
    SELECT t.grain, t.bucket, t.count AS total FROM total_rollups AS t
    JOIN unnest(%(grains)s::text[], %(buckets)s::timestamptz[]) AS w(grain, bucket)
      ON t.grain = w.grain AND t.bucket = w.bucket
    WHERE t.bucket = ANY(%(buckets)s::timestamptz[])
), counted AS (
    SELECT w.grain, w.bucket, w.total, r.page_url, r.count FROM wanted AS w
    JOIN page_rollups AS r ON r.grain = w.grain AND r.bucket = w.bucket
    UNION ALL
    SELECT w.grain, w.bucket, w.total, m.page_url, m.count FROM wanted AS w
    JOIN page_minute_counts AS m ON w.grain = 'minute' AND m.bucket = w.bucket
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
    INSERT INTO page_top_summaries AS s (grain, bucket, total, pages, counts, bound)
    SELECT grain, bucket, total, pages, counts, bound FROM built
    WHERE bucket + ('1 ' || grain)::interval <= %(now)s
    ON CONFLICT (grain, bucket) DO UPDATE
    SET total = EXCLUDED.total, pages = EXCLUDED.pages, counts = EXCLUDED.counts,
        bound = EXCLUDED.bound
    WHERE s.total < EXCLUDED.total
)
SELECT grain, bucket, pages, counts, bound FROM built
"""


@dataclass(frozen=True, slots=True)
class Summary:
    """One bucket's most counted pages, and a bound on every other page's count in it."""

    pages: Sequence[str]
    counts: Sequence[int]
    bound: int


def worth_it(window: Window, limit: int) -> bool:
    return limit <= MAX_LIMIT and window.minutes >= MIN_MINUTES


async def shortlist(
    conn: AsyncConnection[Any], window: Window, limit: int, now: datetime
) -> list[str] | None:
    """The pages among which the `limit` most counted of `window` are (each to be summed
    exactly), or None when the summaries cannot tell."""
    return narrow(await _summaries(conn, window, now), limit)


def narrow(summaries: Sequence[Summary], limit: int) -> list[str] | None:
    """The shortlist the bounds allow (see the module's doc), or None."""
    lower: dict[str, int] = {}
    listed_bounds: dict[str, int] = {}
    all_bounds = 0
    for summary in summaries:
        all_bounds += summary.bound
        for page, count in zip(summary.pages, summary.counts, strict=True):
            lower[page] = lower.get(page, 0) + count
            listed_bounds[page] = listed_bounds.get(page, 0) + summary.bound
    if all_bounds == 0:  # every page of every bucket is listed
        return list(lower)
    if len(lower) < limit:
        return None
    threshold = sorted(lower.values(), reverse=True)[limit - 1]
    if all_bounds >= threshold:  # a page no summary lists could still make the list
        return None
    found = [p for p, n in lower.items() if n + all_bounds - listed_bounds[p] >= threshold]
    return found if len(found) <= MAX_SHORTLIST else None


async def _summaries(conn: AsyncConnection[Any], window: Window, now: datetime) -> list[Summary]:
    buckets = spans(window.start, window.end)
    cursor = await conn.execute(
        _STORED, ([grain for grain, _ in buckets], [bucket for _, bucket in buckets])
    )
    found: list[Summary] = []
    missing: list[tuple[str, datetime]] = []
    for grain, bucket, pages, counts, bound, valid in await cursor.fetchall():
        if valid:
            found.append(Summary(pages, counts, bound))
        else:
            missing.append((grain, bucket))
    if missing:
        cursor = await conn.execute(
            _BUILD,
            {
                "grains": [grain for grain, _ in missing],
                "buckets": [bucket for _, bucket in missing],
                "size": SUMMARY_SIZE,
                "now": now,
            },
        )
        found += [Summary(p, c, b) for _, _, p, c, b in await cursor.fetchall()]
    return found
