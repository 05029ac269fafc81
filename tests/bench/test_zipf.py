"""The Zipf sampler draws ranks with the law's frequencies."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from functions.bench.zipf import Zipf


def test_probabilities_sum_to_one_and_follow_the_power_law() -> None:
    zipf = Zipf(100, 1.2, random.Random(1))
    assert sum(zipf.probability(k) for k in range(100)) == pytest.approx(1.0)
    assert zipf.probability(0) / zipf.probability(1) == pytest.approx(2**1.2)


def test_sampled_frequencies_match_the_probabilities() -> None:
    zipf = Zipf(50, 1.1, random.Random(2))
    draws = 200_000
    counts = Counter(zipf.sample() for _ in range(draws))
    assert set(counts) <= set(range(50))
    for rank in (0, 1, 4, 9):
        assert counts[rank] / draws == pytest.approx(zipf.probability(rank), rel=0.05)
    assert counts[0] > counts[1] > counts[9]


def test_exponent_zero_is_uniform() -> None:
    zipf = Zipf(10, 0.0, random.Random(3))
    counts = Counter(zipf.sample() for _ in range(50_000))
    assert all(c / 50_000 == pytest.approx(0.1, rel=0.08) for c in counts.values())


def test_rejects_an_empty_range() -> None:
    with pytest.raises(ValueError, match="at least one rank"):
        Zipf(0, 1.0, random.Random())
