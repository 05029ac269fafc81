"""Distinct-count estimate from HyperLogLog registers (precision 12: 4,096 registers).

PostgreSQL keeps one register set per hour and per day (`user_hll`, migration 0002), hashing
each user_id with md5: the register is the first 12 bits, the rank the position of the first
1 in the next 52 (53 when none). Merging spans takes the maximum rank per register; this
module turns the merged registers into a count with Ertl's improved raw estimator ("New
cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs no empirical
bias tables: relative standard error 1.04/sqrt(4096) = 1.6 %, near exact for small counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

PRECISION = 12
REGISTERS = 1 << PRECISION
MAX_RANK = 64 - PRECISION + 1
_ALPHA_INF = 1 / (2 * math.log(2))


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3


def estimate(ranks: Iterable[tuple[int, int]]) -> int:
    """The distinct count from (register, rank) pairs; a register may repeat (max wins),
    absent registers are empty."""
    merged: dict[int, int] = {}
    for register, rank in ranks:
        if rank > merged.get(register, 0):
            merged[register] = rank
    histogram = [0] * (MAX_RANK + 1)
    histogram[0] = REGISTERS - len(merged)
    for rank in merged.values():
        histogram[rank] += 1
    if histogram[0] == REGISTERS:
        return 0
    z = REGISTERS * _tau(1 - histogram[MAX_RANK] / REGISTERS)
    for k in range(MAX_RANK - 1, 0, -1):
        z = 0.5 * (z + histogram[k])
    z += REGISTERS * _sigma(histogram[0] / REGISTERS)
    return round(_ALPHA_INF * REGISTERS * REGISTERS / z)
