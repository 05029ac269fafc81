from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cloudevents.conversion import to_binary
from cloudevents.kafka import KafkaMessage

from functions.core.events import parse_event, to_kafka
from functions.dev.delivery import (
    DeliveryPolicy,
    acknowledged,
    dead_letter_event,
    event_request,
    header_value,
    record_event,
    record_request,
    retryable,
)


@pytest.mark.parametrize("status", [500, 502, 503, 404, 408, 409, 429, None])
def test_retried_like_kafkasource(status: int | None) -> None:
    assert retryable(status)


@pytest.mark.parametrize("status", [400, 401, 403, 413, 415, 422])
def test_other_4xx_go_straight_to_dead_letters(status: int) -> None:
    assert not retryable(status)
    assert not acknowledged(status)


def test_backoff_policies() -> None:
    exponential = DeliveryPolicy(backoff_delay_s=0.3)
    assert [exponential.backoff(n) for n in range(3)] == pytest.approx([0.6, 1.2, 2.4])
    linear = DeliveryPolicy(backoff_policy="linear", backoff_delay_s=0.5)
    assert [linear.backoff(n) for n in range(3)] == pytest.approx([0.5, 1.0, 1.5])


def test_cloudevent_record_is_forwarded_unchanged() -> None:
    message = KafkaMessage(
        {
            "ce_id": b"e1",
            "ce_source": b"/s",
            "ce_type": b"t",
            "ce_specversion": b"1.0",
            "content-type": b"application/json",
        },
        "u1",
        b'{"a": 1}',
    )
    event = record_event(message._replace(key=b"u1"), "clicks", 0, 5)
    assert event["id"] == "e1"
    assert event["partitionkey"] == "u1"
    assert event.get_data() == b'{"a": 1}'


def test_plain_record_is_wrapped_like_kafkasource() -> None:
    event = record_event(KafkaMessage({}, None, b"raw"), "clicks", 2, 9)
    assert event["type"] == "dev.knative.kafka.event"
    assert event["id"] == "partition:2/offset:9"


def test_dead_letter_carries_knative_error_extensions() -> None:
    event = record_event(KafkaMessage({}, None, b"raw"), "clicks", 0, 1)
    letter = dead_letter_event(event, "http://process/", 400, b'{"errors": []}')
    assert letter["knativeerrordest"] == "http://process/"
    assert letter["knativeerrorcode"] == "400"
    assert base64.b64decode(letter["knativeerrordata"]) == b'{"errors": []}'


def test_cloudevent_record_translates_to_the_request_the_sdk_would_send() -> None:
    click = parse_event(
        {
            "event_id": "e-1",
            "user_id": "u-ü",
            "event_type": "click",
            "page_url": "/p?q=ä",
            "time_stamp": "2026-11-26T10:00:00.123456Z",
            "properties": {"k": [1, 2]},
        },
        received_at=datetime(2026, 11, 26, 10, 1, tzinfo=UTC),
    )
    message = to_kafka(click)
    via_sdk = to_binary(record_event(message, "clicks", 1, 7), data_marshaller=lambda d: d)
    headers, body = record_request(message, "clicks", 1, 7)
    assert body == via_sdk[1]
    assert headers == {**via_sdk[0], "ce-partitionkey": "u-%C3%BC"}
    assert record_request(message, "clicks", 1, 7) == event_request(
        record_event(message, "clicks", 1, 7)
    )


def test_plain_record_request_carries_the_wrapping_event() -> None:
    headers, body = record_request(KafkaMessage({}, None, b"raw"), "clicks", 2, 9)
    assert headers["ce-type"] == "dev.knative.kafka.event"
    assert headers["ce-id"] == "partition:2/offset:9"
    assert body == b"raw"


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("/clickstream/ingest", "/clickstream/ingest"),
        ("https://x.io/a%20b?q=1", "https://x.io/a%20b?q=1"),  # printable ASCII: unchanged
        ("u\nX-Injected: 1", "u%0AX-Injected:%201"),
        ("a\x00b", "a%00b"),
        ('ü "q" 50%', "%C3%BC%20%22q%22%2050%25"),
    ],
)
def test_header_values_are_sent_or_percent_encoded(text: str, sent: str) -> None:
    assert header_value(text) == sent


def test_record_with_undecodable_header_bytes_still_becomes_an_event() -> None:
    message = KafkaMessage(
        {"ce_id": b"e\xff", "ce_source": b"/s", "ce_type": b"t", "ce_specversion": b"1.0"},
        b"k\xfe",
        b"{}",
    )
    headers, _ = event_request(record_event(message, "clicks", 0, 1))
    assert headers["ce-id"] == "e%EF%BF%BD"
    assert headers["ce-partitionkey"] == "k%EF%BF%BD"
