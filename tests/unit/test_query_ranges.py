"""Range cutting and range-cache invalidation precision (no I/O); the distinct-user estimate is
PostgreSQL's (tests/integration/test_distinct_users.py)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from functions.core.cache import range_tags, site_scope, stale_tags, visit_start_tags
from functions.core.spans import STEP, aligned, floor, runs

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


@given(MINUTES, st.integers(min_value=0, max_value=40 * 1440), st.sampled_from([1, 4, 16, 64]))
def test_aligned_lists_every_bucket_inside_the_range_and_no_other(
    offset: int, length: int, days: int
) -> None:
    start = ORIGIN + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    step = timedelta(days=days)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    # every aligned bucket near the range, tested one by one against the definition
    first = epoch + ((start - epoch) // step - 1) * step
    near = [first + n * step for n in range(length // (days * 1440) + 4)]
    assert aligned(start, end, step) == [b for b in near if start <= b and b + step <= end]


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


@given(MINUTES, st.integers(min_value=1, max_value=40 * 1440), MINUTES, st.integers(0, 59))
def test_a_visit_s_start_makes_stale_exactly_its_site_s_ranges_holding_it(
    offset: int, length: int, start_minute: int, second: int
) -> None:
    start = ORIGIN + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    moment = ORIGIN + timedelta(minutes=start_minute, seconds=second)
    stale = visit_start_tags([("a.example", moment)])
    hit = bool(stale & set(range_tags(site_scope("a.example"), start, end)))
    assert hit == (start <= moment < end)
    assert not stale & set(range_tags(site_scope("b.example"), start, end))
