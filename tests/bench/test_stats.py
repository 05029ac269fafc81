"""HDR percentiles and medians of repeated runs."""

from __future__ import annotations

import pytest

from functions.bench.stats import Latency, Spread


def test_percentiles_of_a_known_distribution() -> None:
    latency = Latency()
    for micros in range(1, 10_001):  # 1 µs .. 10 ms, uniform
        latency.record(micros / 1_000_000)
    assert latency.count == 10_000
    assert latency.percentile_ms(50) == pytest.approx(5.0, rel=0.002)
    assert latency.percentile_ms(99) == pytest.approx(9.9, rel=0.002)
    assert latency.percentile_ms(100) == pytest.approx(10.0, rel=0.002)


def test_merge_and_empty() -> None:
    assert Latency().percentile_ms(99) == 0.0
    low, high = Latency(), Latency()
    for _ in range(99):
        low.record(0.001)
    high.record(1.0)
    low.merge(high)
    assert low.count == 100
    assert low.percentile_ms(99) == pytest.approx(1.0, rel=0.002)
    assert low.percentile_ms(100) == pytest.approx(1000.0, rel=0.002)


def test_spread_is_the_median_with_extremes() -> None:
    assert Spread.of([3.0, 1.0, 2.0]) == Spread(2.0, 1.0, 3.0)
    with pytest.raises(ValueError, match="at least one run"):
        Spread.of([])
