from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.core.errors import InvalidEvent
from functions.ingest.decode import (
    MAX_BODY_BYTES,
    MAX_EVENTS,
    PayloadTooLarge,
    UnsupportedMediaType,
    decode,
)

DATA = {"user_id": "u1", "event_type": "click", "page_url": "/home"}
PLAIN = {"event_id": "e1", **DATA}


# received_at is the clock: the cloudevents SDK stamps a missing `time` with it too
def run(content_type: str, body: object, **headers: str) -> list[str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    decoded = decode(
        {"content-type": content_type, **headers}, raw, received_at=datetime.now(UTC), source=None
    )
    return [e.event_id for e in decoded.events]


def test_plain_object_array_and_beacon_text() -> None:
    assert run("application/json", PLAIN) == ["e1"]
    assert run("application/json; charset=utf-8", [PLAIN, {**PLAIN, "event_id": "e2"}]) == [
        "e1",
        "e2",
    ]
    assert run("text/plain;charset=UTF-8", [PLAIN]) == ["e1"]


def test_binary_cloudevent() -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "c1",
        "ce-source": "/s",
        "ce-type": "io.clickstream.event.v1",
    }
    assert run("application/json", DATA, **headers) == ["c1"]


def test_structured_cloudevent() -> None:
    envelope = {
        "specversion": "1.0",
        "id": "c2",
        "source": "/s",
        "type": "io.clickstream.event.v1",
        "datacontenttype": "application/json",
        "data": DATA,
    }
    assert run("application/cloudevents+json", envelope) == ["c2"]


def test_batch_keeps_valid_events_and_reports_the_rest_by_index() -> None:
    good = {
        "specversion": "1.0",
        "id": "b1",
        "source": "/s",
        "type": "io.clickstream.event.v1",
        "data": DATA,
    }
    bad = {**good, "id": "b2", "data": {**DATA, "page_url": "nope"}}
    not_ce = {"hello": "world"}
    body = json.dumps([good, bad, not_ce]).encode()
    decoded = decode(
        {"content-type": "application/cloudevents-batch+json"},
        body,
        received_at=datetime.now(UTC),
        source=None,
    )
    assert [e.event_id for e in decoded.events] == ["b1"]
    assert {(p.index, p.field) for p in decoded.problems} == {(1, "page_url"), (2, "$")}


def test_batch_must_be_an_array() -> None:
    with pytest.raises(InvalidEvent):
        run("application/cloudevents-batch+json", {"id": "x"})


def test_malformed_json_and_empty_array() -> None:
    with pytest.raises(InvalidEvent):
        run("application/json", b"{not json")
    with pytest.raises(InvalidEvent):
        run("application/json", [])


def test_limits() -> None:
    with pytest.raises(PayloadTooLarge):
        run("application/json", [PLAIN] * (MAX_EVENTS + 1))
    with pytest.raises(PayloadTooLarge):
        run("application/json", b" " * (MAX_BODY_BYTES + 1))


def test_unknown_content_type() -> None:
    with pytest.raises(UnsupportedMediaType):
        run("application/xml", b"<a/>")
    with pytest.raises(UnsupportedMediaType):
        run("", b"{}")


def test_write_key_source_overrides_the_senders() -> None:
    decoded = decode(
        {"content-type": "application/json"},
        json.dumps(PLAIN).encode(),
        received_at=datetime.now(UTC),
        source="site-a",
    )
    assert decoded.events[0].source == "site-a"
