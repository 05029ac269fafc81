"""A Zipf sampler over ranks 0..n-1: P(rank k) is proportional to 1 / (k + 1) ** s; no I/O."""

from __future__ import annotations

import bisect
import itertools
import random


class Zipf:
    """Draws ranks with Zipf's law, rank 0 the most frequent (pages, users)."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        if n < 1:
            raise ValueError("a Zipf distribution needs at least one rank")
        if s < 0:
            raise ValueError("the Zipf exponent must not be negative")
        self.n = n
        self.s = s
        self._rng = rng
        weights = [1 / (k + 1) ** s for k in range(n)]
        self._cumulative = list(itertools.accumulate(weights))
        self._total = self._cumulative[-1]

    def probability(self, rank: int) -> float:
        """The exact probability of `rank`."""
        return float((1 / (rank + 1) ** self.s) / self._total)

    def sample(self) -> int:
        point = self._rng.random() * self._total
        return min(bisect.bisect_right(self._cumulative, point), self.n - 1)
