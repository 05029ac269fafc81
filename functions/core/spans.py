"""Time ranges cut into the fewest aligned day, hour and minute spans (UTC).

Reads sum pre-aggregated rows per span, and range-cache entries are tagged with the spans
they cover, so an event invalidates exactly the cached ranges holding its minute.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Grain = Literal["minute", "hour", "day"]
GRAINS: tuple[Grain, ...] = ("minute", "hour", "day")
STEP: dict[Grain, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive aligned spans of one grain: buckets in [start, end)."""

    grain: Grain
    start: datetime
    end: datetime


def floor(moment: datetime, grain: Grain) -> datetime:
    """The start of the `grain` bucket holding `moment` (UTC)."""
    step = STEP[grain]
    return _EPOCH + ((moment.astimezone(UTC) - _EPOCH) // step) * step


def ceil(moment: datetime, grain: Grain) -> datetime:
    start = floor(moment, grain)
    return start if start == moment else start + STEP[grain]


def aligned(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """The starts of the buckets of any `step` (aligned on the epoch, as the grains' are)
    that lie inside [start, end)."""
    first = _EPOCH - ((_EPOCH - start.astimezone(UTC)) // step) * step  # the ceiling
    return [first + n * step for n in range((end - first) // step)] if first < end else []


# remembered: one read cuts its range several times (SQL, cache tags), and datetime
# arithmetic made cutting a 30-day range a tenth of a read's CPU
@functools.lru_cache(maxsize=1024)
def runs(start: datetime, end: datetime) -> tuple[Run, ...]:
    """[start, end), both minute-aligned, as at most five runs: minutes, hours, days, hours,
    minutes, each span the coarsest that fits."""
    found: list[Run] = []
    cursor = start
    while cursor < end:
        grain = _coarsest(cursor, end)
        stop = cursor + STEP[grain]
        while stop + STEP[grain] <= end and _coarsest(stop, end) == grain:
            stop += STEP[grain]
        found.append(Run(grain, cursor, stop))
        cursor = stop
    return tuple(found)


def _coarsest(cursor: datetime, end: datetime) -> Grain:
    for grain in ("day", "hour"):
        if floor(cursor, grain) == cursor and cursor + STEP[grain] <= end:
            return grain
    return "minute"


@functools.lru_cache(maxsize=256)  # a 30-day range is ~200 spans: at most a few MB
def spans(start: datetime, end: datetime) -> tuple[tuple[Grain, datetime], ...]:
    """Every aligned span of `runs(start, end)`, as (grain, bucket start)."""
    found: list[tuple[Grain, datetime]] = []
    for run in runs(start, end):
        cursor = run.start
        while cursor < run.end:
            found.append((run.grain, cursor))
            cursor += STEP[run.grain]
    return tuple(found)
