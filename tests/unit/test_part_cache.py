"""PartCache on its own: a part is served only for the version it was made at, the least
recently used part goes first once over capacity, and `split` tells held from missing."""

from __future__ import annotations

from datetime import UTC, datetime

from functions.query.parts import PartCache

HOUR = datetime(2026, 1, 5, 10, tzinfo=UTC)


def test_a_part_is_served_for_its_version_only() -> None:
    cache: PartCache[str] = PartCache(4)
    cache.put(("default", "a"), 10, "part-a")
    assert cache.get(("default", "a"), 10) == "part-a"
    assert cache.get(("default", "a"), 11) is None  # the bucket changed since
    assert cache.get(("shop.example", "a"), 10) is None  # another site's key
    cache.put(("default", "a"), 11, "part-a2")
    assert cache.get(("default", "a"), 11) == "part-a2"
    assert cache.get(("default", "a"), 10) is None


def test_the_least_recently_used_goes_first() -> None:
    cache: PartCache[int] = PartCache(2)
    cache.put("a", 1, 1)
    cache.put("b", 1, 2)
    assert cache.get("a", 1) == 1  # a used: b is now the oldest
    cache.put("c", 1, 3)
    assert cache.get("b", 1) is None
    assert (cache.get("a", 1), cache.get("c", 1)) == (1, 3)


def test_capacity_bounds_the_entries() -> None:
    cache: PartCache[int] = PartCache(100)
    for n in range(10_000):
        cache.put(n, 0, n)
    assert sum(cache.get(n, 0) is not None for n in range(10_000)) == 100


def test_split_tells_held_parts_from_missing_buckets() -> None:
    cache: PartCache[str] = PartCache(8)
    held_bucket, changed_bucket, new_bucket = ("hour", HOUR), ("minute", HOUR), ("day", HOUR)
    cache.put(("default", held_bucket), 5, "held")
    cache.put(("default", changed_bucket), 5, "stale")
    held, missing = cache.split("default", {held_bucket: 5, changed_bucket: 6, new_bucket: 1})
    assert held == ["held"]
    assert missing == [changed_bucket, new_bucket]
