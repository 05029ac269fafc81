"""The reports' workload: visits of 1-20 events minutes apart, inside the span, every
dimension varied, the same events for the same seed."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from functions.bench.report_workload import (
    CAMPAIGNS,
    MAX_VISIT_EVENTS,
    REFERRERS,
    ReportMix,
    visits,
)
from functions.core.events import ClickEvent

START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=30)


def _events(count: int = 20_000, seed: int = 3) -> list[ClickEvent]:
    return list(visits("r", "s.bench", count, START, SPAN, ReportMix(), seed))


def _at(event: ClickEvent) -> datetime:
    assert event.time_stamp is not None  # the workload times every event
    return event.time_stamp


def test_count_ids_site_and_span() -> None:
    events = _events()
    assert len(events) == 20_000
    assert len({e.event_id for e in events}) == len(events)
    assert {e.site for e in events} == {"s.bench"}
    assert all(e.event_id.startswith("r-") for e in events)
    # the last event of a visit may run past the span by its length, never more
    assert all(START <= _at(e) < START + SPAN + timedelta(hours=2) for e in events)


def test_visits_hold_1_to_20_events_seconds_to_minutes_apart() -> None:
    by_visit: dict[str, list[ClickEvent]] = defaultdict(list)
    for event in _events():
        by_visit[event.event_id.rsplit("-", 1)[0]].append(event)
    lengths = Counter(len(events) for events in by_visit.values())
    assert set(lengths) <= set(range(1, MAX_VISIT_EVENTS + 1))
    assert 0.3 < lengths[1] / len(by_visit) < 0.5  # bounces
    assert max(lengths) > 10
    for events in by_visit.values():
        gaps = [(_at(b) - _at(a)).total_seconds() for a, b in itertools.pairwise(events)]
        assert all(5 <= gap <= 240 for gap in gaps)
        # one client per visit: its visit-level fields do not change
        assert len({(e.user_id, e.session_id, e.browser, e.country) for e in events}) == 1


def test_every_dimension_is_varied_and_pages_are_skewed() -> None:
    events = _events()
    assert {e.referrer_host for e in events} == {None, *REFERRERS}
    assert {e.utm_campaign for e in events} == {None, *CAMPAIGNS}
    assert len({(e.browser, e.os, e.device) for e in events}) >= 5
    assert len({e.country for e in events}) >= 8
    assert 0.5 < sum(e.session_id is not None for e in events) / len(events) < 0.9
    pages = Counter(e.page_url for e in events).most_common()
    assert pages[0][0] == "/page/0"
    assert pages[0][1] > 20 * pages[100][1]


def test_the_same_seed_gives_the_same_events() -> None:
    assert _events(2_000, seed=9) == _events(2_000, seed=9)
    assert _events(2_000, seed=9) != _events(2_000, seed=10)
