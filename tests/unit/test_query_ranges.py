"""Range cutting, range-cache invalidation precision and the HyperLogLog estimate (no I/O)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from functions.core.cache import range_tags, site_scope, stale_tags
from functions.core.hll_hash import register_rank
from functions.core.spans import STEP, floor, runs
from functions.query import hll

MINUTES = st.integers(min_value=0, max_value=90 * 1440)
ORIGIN = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    site: str
    user_id: str
    page_url: str
    time_stamp: datetime
    click_count: int = 1


@given(MINUTES, st.integers(min_value=1, max_value=40 * 1440))
def test_runs_tile_the_range_with_aligned_buckets(offset: int, length: int) -> None:
    start = ORIGIN + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    cut = runs(start, end)
    assert cut[0].start == start
    assert cut[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(cut))
    assert len(cut) <= 5
    for run in cut:
        assert floor(run.start, run.grain) == run.start
        assert (run.end - run.start) % STEP[run.grain] == timedelta(0)


@given(MINUTES, st.integers(min_value=1, max_value=40 * 1440), MINUTES, st.integers(0, 59))
def test_an_event_makes_stale_exactly_its_site_s_ranges_holding_it(
    offset: int, length: int, event_minute: int, second: int
) -> None:
    start = ORIGIN + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    moment = ORIGIN + timedelta(minutes=event_minute, seconds=second)
    stale = stale_tags([Row("a.example", "u", "/p", moment)])
    hit = bool(stale & set(range_tags(site_scope("a.example"), start, end)))
    assert hit == (start <= moment < end)
    assert not stale & set(range_tags(site_scope("b.example"), start, end))


def _ranks(users: range) -> list[tuple[int, int]]:
    """The registers PostgreSQL's hll_register/hll_rank give (md5's first 64 bits)."""
    return [register_rank(f"user-{n}") for n in users]


def _sketch(pairs: list[tuple[int, int]]) -> bytes:
    return hll.with_pairs(hll.EMPTY, pairs)


def test_hll_is_near_exact_when_small_and_within_error_when_large() -> None:
    assert hll.estimate(hll.EMPTY) == 0
    assert hll.estimate(_sketch(_ranks(range(40)))) == 40
    rng = random.Random(12)  # fixed user sets: a random one lands past 4 errors now and then
    for size in (5_000, 50_000, 200_000):
        start = rng.randrange(10**6)
        estimate = hll.estimate(_sketch(_ranks(range(start, start + size))))
        assert abs(estimate - size) / size < 4 * 0.0163  # four standard errors


@given(
    st.lists(
        st.binary(min_size=4096, max_size=4096).map(lambda b: bytes(x % 54 for x in b)), max_size=5
    )
)
def test_hll_merge_is_the_registerwise_max(sketches: list[bytes]) -> None:
    expected = bytes(max(column, default=0) for column in zip(*sketches, strict=True))
    assert hll.merge(sketches) == (expected if sketches else hll.EMPTY)


def test_hll_merge_of_span_sketches_equals_the_sketch_of_all_users() -> None:
    parts = [_ranks(range(n * 3_000, n * 3_000 + 5_000)) for n in range(4)]
    assert hll.merge(_sketch(p) for p in parts) == _sketch([r for p in parts for r in p])
