"""Which distinct-user register updates a group must send: only pairs that can still raise
a register.

A bucket's register set only grows (register-wise max), so once this process has committed
rank r for register i of a bucket, no later pair (i, r' <= r) can change it, and such pairs
are left out of the group's statement. Past a bucket's first few thousand distinct users
nearly every event's pair is one of those, and the statement skips the 4,096-byte row
update (and its lock) altogether. Sending a pair again (another writer, another replica, a
redelivered event) is harmless, max being idempotent: this is a filter, never a source of
truth, and a fresh process (nothing known) sends every pair once. What it assumes is that
stored sets never shrink: a database emptied or restored under a running `process` needs
`process` restarted (`query`'s per-bucket parts need no such care: they are keyed by
totals).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from functions.core.events import ClickEvent
from functions.core.hll_hash import REGISTERS, register_rank

GRAIN_SECONDS = (("hour", 3600), ("day", 86400))  # user_hll_sketches' grains
# buckets whose committed registers are remembered: events arrive in a few current hours
# and days, and a bucket forgotten only costs its pairs being sent again
KEPT_BUCKETS = 64
# md5 per event is most of this module's CPU; users repeat (a few hot ones most), and a
# lookup costs a fifth of a hash. ~200 bytes per entry.
_register_rank = functools.lru_cache(maxsize=16_384)(register_rank)


class RegisterUpdate(msgspec.Struct, frozen=True):
    """One (site, grain, bucket)'s pairs, each register once with its highest rank."""

    site: str
    grain: str
    bucket: datetime
    registers: list[int]
    ranks: list[int]


class KnownRegisters:
    def __init__(self, kept_buckets: int = KEPT_BUCKETS) -> None:
        self._kept_buckets = kept_buckets
        # (site, grain, bucket start in epoch seconds) -> lower bounds of the stored ranks;
        # insertion order is recency, for eviction
        self._known: dict[tuple[str, str, int], bytearray] = {}

    def updates(self, events: Iterable[ClickEvent]) -> list[RegisterUpdate]:
        """The pairs of `events` that may raise a stored register."""
        pending: dict[tuple[str, str, int], dict[int, int]] = {}
        for event in events:
            assert event.time_stamp is not None, "parse_event gives every event a time"
            register, rank = _register_rank(event.user_id)
            seconds = event.time_stamp.timestamp()
            for grain, width in GRAIN_SECONDS:
                key = (event.site, grain, int(seconds // width) * width)
                known = self._known.get(key)
                if known is not None and known[register] >= rank:
                    continue
                ranks = pending.setdefault(key, {})
                if ranks.get(register, 0) < rank:
                    ranks[register] = rank
        return [
            RegisterUpdate(
                site, grain, datetime.fromtimestamp(start, UTC), list(ranks), list(ranks.values())
            )
            for (site, grain, start), ranks in pending.items()
        ]

    def committed(self, updates: Iterable[RegisterUpdate]) -> None:
        """Remember `updates` as stored: call only once their transaction committed."""
        for update in updates:
            key = (update.site, update.grain, int(update.bucket.timestamp()))
            known = self._known.pop(key, None) or bytearray(REGISTERS)
            for register, rank in zip(update.registers, update.ranks, strict=True):
                if rank > known[register]:
                    known[register] = rank
            self._known[key] = known  # most recently used last
            while len(self._known) > self._kept_buckets:
                del self._known[next(iter(self._known))]
