"""Distinct-count estimate from HyperLogLog registers (precision 12: 4,096 registers).

PostgreSQL keeps one register set per hour and per day (`user_hll_sketches`, migration 0003:
4,096 bytes, byte i = register i's rank), hashing each user_id with md5: the register is the
first 12 bits, the rank the position of the first 1 in the next 52 (53 when none). Merging
spans takes the maximum rank per register; this module merges register sets and turns them
into a count with Ertl's improved raw estimator ("New
cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs no empirical
bias tables: relative standard error 1.04/sqrt(4096) = 1.6 %, near exact for small counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from functions.core.hll_hash import MAX_RANK, REGISTERS

_ALPHA_INF = 1 / (2 * math.log(2))
EMPTY = bytes(REGISTERS)


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


# every byte's top bit: ranks stay below 128, so the bit is free for the SWAR compare in merge
_HIGH = int.from_bytes(b"\x80" * REGISTERS, "big")


def merge(sketches: Iterable[bytes]) -> bytes:
    """Register-wise max of register sets, computed on each set as one big integer (SIMD within
    a register): (a | 0x80..) - b keeps a byte's top bit exactly where a >= b, and no borrow
    crosses bytes, so ~10 big-integer steps merge 4,096 registers, ~100x faster than a loop."""
    merged = 0
    for sketch in sketches:
        other = int.from_bytes(sketch, "big")
        keep = (((merged | _HIGH) - other) & _HIGH) >> 7
        keep *= 0xFF
        merged = (merged & keep) | (other & ~keep)
    return merged.to_bytes(REGISTERS, "big")


def with_pairs(sketch: bytes, ranks: Iterable[tuple[int, int]]) -> bytes:
    """`sketch` with (register, rank) pairs added; a register may repeat (max wins)."""
    registers = bytearray(sketch)
    for register, rank in ranks:
        if rank > registers[register]:
            registers[register] = rank
    return bytes(registers)


def estimate(sketch: bytes) -> int:
    """The distinct count of a register set (4,096 bytes, 0 for an empty register)."""
    histogram = [sketch.count(rank) for rank in range(MAX_RANK + 1)]
    if histogram[0] == REGISTERS:
        return 0
    z = REGISTERS * _tau(1 - histogram[MAX_RANK] / REGISTERS)
    for k in range(MAX_RANK - 1, 0, -1):
        z = 0.5 * (z + histogram[k])
    z += REGISTERS * _sigma(histogram[0] / REGISTERS)
    return round(_ALPHA_INF * REGISTERS * REGISTERS / z)
