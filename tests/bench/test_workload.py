"""The event stream: duplicate and invalid ratios, unique ids, valid events per the model."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from functions.bench.workload import EventStream, Mix
from functions.core.errors import InvalidEvent
from functions.core.events import parse_event


def test_duplicate_and_invalid_ratios() -> None:
    stream = EventStream("r", Mix(duplicate_ratio=0.1, invalid_ratio=0.05), seed=4)
    events = [stream.next_event() for _ in range(40_000)]
    ids = Counter(event["event_id"] for event, valid in events if valid)
    resent = sum(count - 1 for count in ids.values())
    assert resent / len(events) == pytest.approx(0.1, rel=0.08)
    assert sum(not valid for _, valid in events) / len(events) == pytest.approx(0.05, rel=0.1)
    assert stream.duplicates == resent


def test_valid_events_pass_the_model_and_invalid_ones_fail() -> None:
    stream = EventStream("run1", Mix(invalid_ratio=0.2), seed=5)
    now = datetime.now(UTC)
    for _ in range(500):
        event, valid = stream.next_event()
        assert event["event_id"].startswith("run1-")
        if valid:
            assert parse_event(event, received_at=now).user_id.startswith("run1-")
        else:
            with pytest.raises(InvalidEvent):
                parse_event(event, received_at=now)


def test_batch_counts_valid_events() -> None:
    events, valid = EventStream("b", Mix(invalid_ratio=0.5), seed=6).batch(1_000)
    assert len(events) == 1_000
    assert valid == sum(event["user_id"] != "" for event in events)


def test_same_seed_same_stream() -> None:
    def shape(stream: EventStream) -> list[tuple[str, str, str]]:
        events, _ = stream.batch(100)
        return [(e["event_id"], e["user_id"], e["page_url"]) for e in events]

    assert shape(EventStream("s", seed=9)) == shape(EventStream("s", seed=9))


def test_ratios_are_checked() -> None:
    with pytest.raises(ValueError, match="duplicate_ratio"):
        Mix(duplicate_ratio=1.5)
