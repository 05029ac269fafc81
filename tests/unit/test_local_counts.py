"""The gateway's own copy of counts: exact under any interleaving of fetches and
publications, empty and unused whenever publications may have been missed."""

from __future__ import annotations

import asyncio

from functions.gateway.local_counts import LocalCounts


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def live(capacity: int = 10, ttl_s: float = 60.0, clock: Clock | None = None) -> LocalCounts:
    counts = LocalCounts(capacity, ttl_s, clock or Clock())
    counts.start()
    return counts


async def constant(value: int) -> int:
    return value


def test_nothing_is_served_until_the_subscription_is_confirmed() -> None:
    counts = LocalCounts(10, 60.0)
    counts.publish({"k": 3})
    assert counts.get("k") is None
    counts.start()
    assert counts.get("k") is None  # a fresh start forgets what came before


def test_a_fetched_count_is_kept() -> None:
    counts = live()
    assert asyncio.run(counts.fetch("k", lambda: constant(4))) == 4
    assert counts.get("k") == 4


def test_a_publication_during_a_fetch_wins_over_the_older_fetched_value() -> None:
    counts = live()

    async def slow_load() -> int:
        counts.publish({"k": 9})  # committed while query was answering
        return 8

    assert asyncio.run(counts.fetch("k", slow_load)) == 9
    assert counts.get("k") == 9


def held(counts: LocalCounts, key: str, count: int) -> None:
    """`key` read once (fetched from query as `count`), so the copy holds it."""
    assert asyncio.run(counts.fetch(key, lambda: constant(count))) == count


def test_publications_only_raise_counts() -> None:
    counts = live()
    held(counts, "k", 1)
    counts.publish({"k": 5})
    counts.publish({"k": 4})  # a replica's older commit, published late
    assert counts.get("k") == 5


def test_a_fetch_across_a_lost_subscription_is_not_kept() -> None:
    counts = live()

    async def load_while_reconnecting() -> int:
        counts.stop()
        counts.start()
        return 2

    assert asyncio.run(counts.fetch("k", load_while_reconnecting)) == 2
    assert counts.get("k") is None


def test_forgetting_drops_what_is_held_and_fetched_but_stays_live() -> None:
    counts = live()
    held(counts, "k", 5)

    async def load_while_erased() -> int:
        counts.forget()  # an erasure: counts went down
        return 5  # read before it

    assert asyncio.run(counts.fetch("j", load_while_erased)) == 5
    assert counts.get("j") is None
    assert counts.get("k") is None
    held(counts, "k", 1)  # read again afterwards: held and raised again
    counts.publish({"k": 2})
    assert counts.get("k") == 2


def test_a_count_nobody_read_is_not_kept() -> None:
    """The copy's size follows the reads: publications of keys never read add nothing."""
    counts = live()
    counts.publish({f"k{n}": n for n in range(1000)})
    assert len(counts) == 0
    assert counts.get("k5") is None
    held(counts, "k5", 5)
    counts.publish({f"k{n}": n + 1 for n in range(1000)})
    assert len(counts) == 1
    assert counts.get("k5") == 6


def test_stopping_forgets_everything() -> None:
    counts = live()
    held(counts, "k", 1)
    counts.stop()
    assert counts.get("k") is None
    assert len(counts) == 0


def test_least_recently_used_entries_go_first() -> None:
    counts = live(capacity=2)
    held(counts, "a", 1)
    held(counts, "b", 2)
    assert counts.get("a") == 1  # b is now the least recently used
    held(counts, "c", 3)
    assert (counts.get("a"), counts.get("b"), counts.get("c")) == (1, None, 3)


def test_an_entry_expires_ttl_after_it_was_last_confirmed() -> None:
    clock = Clock()
    counts = live(ttl_s=10, clock=clock)
    held(counts, "k", 1)
    clock.now = 9
    counts.publish({"k": 2})
    clock.now = 18
    assert counts.get("k") == 2
    clock.now = 19.5
    assert counts.get("k") is None
