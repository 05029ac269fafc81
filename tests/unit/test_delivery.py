from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cloudevents.conversion import to_binary
from cloudevents.kafka import KafkaMessage

from functions.core.events import parse_event, to_kafka
from functions.dev.delivery import (
    DeliveryPolicy,
    RecordOrigin,
    acknowledged,
    dead_letter_event,
    event_request,
    header_value,
    kafka_message,
    record_event,
    record_request,
    retryable,
)


def at(partition: int, offset: int) -> RecordOrigin:
    return RecordOrigin("clickstream", "clicks-to-process", "clicks", partition, offset)


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
    event = record_event(message._replace(key=b"u1"), at(0, 5))
    assert event["id"] == "e1"
    # KafkaSource adds where the record was, and not its key
    assert event["knativekafkapartition"] == "0"
    assert event["knativekafkaoffset"] == "5"
    assert "partitionkey" not in event.get_attributes()
    assert event.get_data() == b'{"a": 1}'


def test_plain_record_is_wrapped_like_kafkasource() -> None:
    event = record_event(KafkaMessage({}, None, b"raw"), at(2, 9))
    assert event["type"] == "dev.knative.kafka.event"
    assert event["id"] == "partition:2/offset:9"
    assert (
        event["source"] == "/apis/v1/namespaces/clickstream/kafkasources/clicks-to-process#clicks"
    )


def test_dead_letter_carries_knative_error_extensions() -> None:
    event = record_event(KafkaMessage({}, None, b"raw"), at(0, 1))
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
    via_sdk = to_binary(record_event(message, at(1, 7)), data_marshaller=lambda d: d)
    headers, body = record_request(message, at(1, 7))
    assert body == via_sdk[1]
    assert headers == via_sdk[0]
    assert headers["ce-knativekafkapartition"] == "1"
    assert headers["ce-knativekafkaoffset"] == "7"
    assert record_request(message, at(1, 7)) == event_request(record_event(message, at(1, 7)))


def test_plain_record_request_carries_the_wrapping_event() -> None:
    headers, body = record_request(KafkaMessage({}, None, b"raw"), at(2, 9))
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
    headers, _ = event_request(record_event(message, at(0, 1)))
    assert headers["ce-id"] == "e%EF%BF%BD"


def test_a_letter_without_an_answer_has_no_code_and_no_data() -> None:
    letter = dead_letter_event(
        record_event(KafkaMessage({}, None, b"raw"), at(0, 1)), "d", None, b""
    )
    assert letter["knativeerrordest"] == "d"
    assert "knativeerrorcode" not in letter.get_attributes()
    assert "knativeerrordata" not in letter.get_attributes()


def test_a_kafka_sink_writes_the_letter_in_binary_mode() -> None:
    click = parse_event(
        {"event_id": "e-2", "user_id": "u", "event_type": "click", "page_url": "/"},
        received_at=datetime(2026, 11, 26, 10, 1, tzinfo=UTC),
    )
    event = record_event(to_kafka(click), at(2, 3))
    letter = dead_letter_event(event, "http://process/", 503, b"busy")
    record = kafka_message(letter)
    assert record.key is None
    assert record.headers["ce_id"] == b"e-2"
    assert record.headers["ce_knativeerrorcode"] == b"503"
    assert record.value == event.get_data()
    # read back as the dead-letter source reads it: the same event, error extensions and all
    again = record_event(record, at(0, 0))
    assert again["knativeerrordest"] == "http://process/"
    assert again.get_data() == event.get_data()


def test_a_kafka_sink_writes_a_wrapped_record_as_octets() -> None:
    event = record_event(KafkaMessage({}, b"k", b"\x00raw"), at(1, 4))
    record = kafka_message(dead_letter_event(event, "http://process/", 400, b"no"))
    assert record.headers["content-type"] == b"application/octet-stream"
    assert record.value == b"\x00raw"
