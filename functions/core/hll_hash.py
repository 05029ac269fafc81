"""A user's HyperLogLog register and rank, as PostgreSQL's `hll_register` and `hll_rank`
give them (migration 0001): md5's first 64 bits; the register is the first 12, the rank the
position of the first 1 in the other 52 (53 when none). The two must never disagree: a
register set holds pairs from both."""

from __future__ import annotations

import hashlib

PRECISION = 12
REGISTERS = 1 << PRECISION
_REST_BITS = 64 - PRECISION
_REST_MASK = (1 << _REST_BITS) - 1
MAX_RANK = _REST_BITS + 1  # the rank of a hash whose other 52 bits are all zero


def register_rank(user_id: str) -> tuple[int, int]:
    bits = int.from_bytes(hashlib.md5(user_id.encode()).digest()[:8], "big")
    # position of the first 1 counted from the left; all zeros gives MAX_RANK, as in SQL
    return bits >> _REST_BITS, MAX_RANK - (bits & _REST_MASK).bit_length()
