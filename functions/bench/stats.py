"""Latency histograms (HDR, microsecond resolution) and medians of repeated runs; no I/O."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 120_000_000  # two minutes: anything slower is recorded as two minutes
SIGNIFICANT_DIGITS = 3
CURVE_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 100.0)


class Latency:
    """An HDR histogram of latencies; percentiles are exact to three significant digits."""

    def __init__(self) -> None:
        self._histogram = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)

    def record(self, seconds: float) -> None:
        micros = min(HIGHEST_US, max(LOWEST_US, round(seconds * 1_000_000)))
        self._histogram.record_value(micros)

    def merge(self, other: Latency) -> None:
        self._histogram.add(other._histogram)

    @property
    def count(self) -> int:
        total: int = self._histogram.get_total_count()
        return total

    def percentile_ms(self, percentile: float) -> float:
        """The latency at `percentile` (0-100) in milliseconds; 0.0 when nothing was recorded."""
        if self.count == 0:
            return 0.0
        micros: int = self._histogram.get_value_at_percentile(percentile)
        return micros / 1000

    def curve(self) -> list[tuple[float, float]]:
        """(percentile, milliseconds) pairs for charts and results files."""
        return [(p, self.percentile_ms(p)) for p in CURVE_PERCENTILES]


@dataclass(frozen=True, slots=True)
class Spread:
    """The median of repeated runs, with their extremes."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, runs: list[float]) -> Spread:
        if not runs:
            raise ValueError("a spread needs at least one run")
        return cls(statistics.median(runs), min(runs), max(runs))
