from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cloudevents.kafka import from_binary

from functions.core.errors import InvalidEvent
from functions.core.events import EVENT_TYPE, from_cloudevent, parse_event, to_cloudevent, to_kafka

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
VALID = {"event_id": "e1", "user_id": "u1", "event_type": "click", "page_url": "/home"}


def problems(raw: object, **kwargs: object) -> set[tuple[str, str]]:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw, received_at=NOW, **kwargs)  # type: ignore[arg-type]
    return {(p.field, p.rule) for p in caught.value.problems}


def test_valid_event_defaults_time_to_receive_time() -> None:
    event = parse_event(VALID, received_at=NOW)
    assert event.time_stamp == NOW
    assert event.user_id == "u1"


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"event_id": "", "user_id": "x" * 257, "event_type": "Click", "page_url": "x"})
    assert {field for field, _ in found} == {"event_id", "user_id", "event_type", "page_url"}


def test_missing_fields_are_required() -> None:
    assert problems({}) == {
        (f, "required") for f in ("event_id", "user_id", "event_type", "page_url")
    }


@pytest.mark.parametrize(
    "page_url", ["https://example.com/a?b=1", "http://x.io", "/", "/path/with?q=1"]
)
def test_accepted_page_urls(page_url: str) -> None:
    assert parse_event({**VALID, "page_url": page_url}, received_at=NOW).page_url == page_url


@pytest.mark.parametrize(
    "page_url", ["home", "ftp://x/y", "https://", "/a b", "javascript:alert(1)", "/" + "a" * 2048]
)
def test_rejected_page_urls(page_url: str) -> None:
    assert {f for f, _ in problems({**VALID, "page_url": page_url})} == {"page_url"}


def test_future_time_beyond_five_minutes_is_rejected() -> None:
    soon = (NOW + timedelta(minutes=4)).isoformat()
    late = (NOW + timedelta(minutes=6)).isoformat()
    assert parse_event({**VALID, "time_stamp": soon}, received_at=NOW).time_stamp is not None
    assert {f for f, _ in problems({**VALID, "time_stamp": late})} == {"time_stamp"}


def test_naive_timestamp_is_rejected() -> None:
    assert {f for f, _ in problems({**VALID, "time_stamp": "2026-11-26T12:00:00"})} == {
        "time_stamp"
    }


def test_properties_limited_to_4_kib() -> None:
    assert parse_event({**VALID, "properties": {"k": "v" * 4000}}, received_at=NOW).properties
    assert {f for f, _ in problems({**VALID, "properties": {"k": "v" * 4100}})} == {"properties"}
    assert {f for f, _ in problems({**VALID, "properties": [1]})} == {"properties"}


def test_non_object_is_rejected_with_index() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event([1], received_at=NOW, index=4)
    assert caught.value.problems[0].index == 4


def test_kafka_binding_round_trip() -> None:
    event = parse_event({**VALID, "properties": {"a": 1}}, received_at=NOW, source="/site")
    message = to_kafka(event)
    assert message.key == "u1"
    assert message.headers["ce_id"] == b"e1"
    assert message.headers["ce_type"] == EVENT_TYPE.encode()
    assert message.headers["content-type"] == b"application/json"
    back = from_cloudevent(from_binary(message), received_at=NOW)
    assert back == event


def test_cloudevent_problems_use_cloudevent_names() -> None:
    cloud = to_cloudevent(parse_event(VALID, received_at=NOW))
    cloud["time"] = (NOW + timedelta(hours=1)).isoformat()
    with pytest.raises(InvalidEvent) as caught:
        from_cloudevent(cloud, received_at=NOW)
    assert [p.field for p in caught.value.problems] == ["time"]


def test_cloudevent_of_another_type_is_rejected() -> None:
    cloud = to_cloudevent(parse_event(VALID, received_at=NOW))
    cloud["type"] = "com.example.other"
    with pytest.raises(InvalidEvent) as caught:
        from_cloudevent(cloud, received_at=NOW)
    assert caught.value.problems[0].field == "type"
