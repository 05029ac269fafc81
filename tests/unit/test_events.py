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
    found = problems({"event_id": "", "user_id": "x" * 257, "event_type": "", "page_url": "x"})
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
    sent = {**VALID, "properties": {"a": 1}, "source": "/site", "site": "shop.example"}
    event = parse_event(sent, received_at=NOW)
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


ATTRIBUTE_RULE = "must be printable ASCII without spaces"
CONTROL_RULE = "must not contain control characters"


@pytest.mark.parametrize("event_id", ["é-1", "a b", "a\nb", "a\x00b", "a\x7fb"])
def test_event_id_is_a_header_safe_cloudevents_id(event_id: str) -> None:
    assert problems({**VALID, "event_id": event_id}) == {("event_id", ATTRIBUTE_RULE)}


@pytest.mark.parametrize("source", ["/sïte", "/a b", "/a\r\nX-Injected: 1"])
def test_source_is_a_header_safe_uri(source: str) -> None:
    assert problems({**VALID, "source": source}) == {("source", ATTRIBUTE_RULE)}
    cloud = to_cloudevent(parse_event(VALID, received_at=NOW))
    cloud["source"] = source
    with pytest.raises(InvalidEvent) as caught:
        from_cloudevent(cloud, received_at=NOW)
    assert [(p.field, p.rule) for p in caught.value.problems] == [("source", ATTRIBUTE_RULE)]


@pytest.mark.parametrize("field", ["user_id", "referrer", "session_id"])
@pytest.mark.parametrize("control", ["\x00", "\n", "\x1b", "\x7f"])
def test_text_fields_refuse_control_characters(field: str, control: str) -> None:
    assert problems({**VALID, field: f"a{control}b"}) == {(field, CONTROL_RULE)}


def test_page_url_refuses_nul() -> None:
    assert problems({**VALID, "page_url": "/a\x00b"}) == {("page_url", CONTROL_RULE)}


def test_unicode_identifiers_and_urls_stay_accepted() -> None:
    event = parse_event(
        {**VALID, "user_id": "ünïcode 用户", "page_url": "/straße", "session_id": "s é"},
        received_at=NOW,
    )
    assert (event.user_id, event.page_url) == ("ünïcode 用户", "/straße")


@pytest.mark.parametrize("properties", [{"k": "a\x00b"}, {"a\x00": 1}, {"k": [{"deep": ["\x00"]}]}])
def test_properties_refuse_nul_anywhere(properties: dict[str, object]) -> None:
    assert problems({**VALID, "properties": properties}) == {
        ("properties", "must not contain NUL characters")
    }


def test_properties_keep_other_control_characters() -> None:
    event = parse_event({**VALID, "properties": {"note": "line 1\nline 2\t"}}, received_at=NOW)
    assert event.properties == {"note": "line 1\nline 2\t"}


def test_problems_on_the_slow_path_include_the_new_rules() -> None:
    found = problems({**VALID, "event_id": "é", "user_id": "a\x00", "event_type": "x" * 121})
    assert found >= {("event_id", ATTRIBUTE_RULE), ("user_id", CONTROL_RULE)}


@pytest.mark.parametrize("name", ["Signup", "Outbound Link: Click", "404", "Café ☕", "x" * 120])
def test_event_types_are_case_sensitive_free_text(name: str) -> None:
    assert parse_event({**VALID, "event_type": name}, received_at=NOW).event_type == name


@pytest.mark.parametrize("name", ["", "x" * 121, "Sign\nup", "Signup\n", "tab\there", "\x7f"])
def test_event_types_are_bounded_and_hold_no_control_characters(name: str) -> None:
    assert {field for field, _ in problems({**VALID, "event_type": name})} == {"event_type"}


@pytest.mark.parametrize("site", ["", "Shop.example", "a b", "shop.example\n", "x" * 254, "é.fr"])
def test_a_site_is_a_lower_case_host_name(site: str) -> None:
    assert {field for field, _ in problems({**VALID, "site": site})} == {"site"}


def test_a_site_given_overrides_the_senders_and_defaults_to_default() -> None:
    assert parse_event(VALID, received_at=NOW).site == "default"
    given = parse_event({**VALID, "site": "Not Valid"}, received_at=NOW, site="a.example")
    assert given.site == "a.example"
