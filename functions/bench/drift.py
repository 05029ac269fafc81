"""A soak's drift: how far RSS and p99 moved from the end of warm-up to the end of the run.

Warm-up (caches filling, the first connections, the allocator's arenas growing) is left
out; each end is the median of a few 10-s samples, so that one noisy window does not make
or hide a drift."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

WARMUP_S = 60.0
# samples (10 s each) taken together at each end
ENDS = 3

Point = dict[str, float]


def settled(points: Sequence[Point]) -> Point:
    """The median of each series over the first `ENDS` samples after warm-up (or the first
    samples, for a run too short to warm up)."""
    after = [p for p in points if p["t_s"] >= WARMUP_S] or list(points)
    return _medians(after[:ENDS])


def final(points: Sequence[Point]) -> Point:
    """The median of each series over the last `ENDS` samples."""
    return _medians(points[-ENDS:])


def drifts(points: Sequence[Point]) -> dict[str, float]:
    """Each series' relative change, final over settled minus 1 (0.05: 5 % higher)."""
    start, end = settled(points), final(points)
    return {key: end[key] / start[key] - 1 for key in start if key in end and start[key] > 0}


def _medians(points: Sequence[Point]) -> Point:
    keys = {key for point in points for key in point if key != "t_s"}
    return {key: median(p[key] for p in points if key in p) for key in keys}
