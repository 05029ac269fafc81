from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime

import pytest

from functions.core.errors import InvalidEvent
from functions.core.events import NO_HINTS, ClickEvent, SenderHints
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
        {"content-type": content_type, **headers}, raw, received_at=datetime.now(UTC), site=None
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
        site=None,
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


def test_a_write_key_s_site_overrides_the_senders_in_every_form() -> None:
    sent = {**PLAIN, "site": "b.example"}
    plain = decode(
        {"content-type": "application/json"},
        json.dumps(sent).encode(),
        received_at=datetime.now(UTC),
        site="a.example",
    )
    envelope = {
        "specversion": "1.0",
        "id": "c9",
        "source": "/s",
        "type": "io.clickstream.event.v1",
        "data": {k: v for k, v in sent.items() if k != "event_id"},
    }
    batch = decode(
        {"content-type": "application/cloudevents-batch+json"},
        json.dumps([envelope]).encode(),
        received_at=datetime.now(UTC),
        site="a.example",
    )
    assert [e.site for e in plain.events + batch.events] == ["a.example", "a.example"]
    alone = decode(
        {"content-type": "application/json"},
        json.dumps(sent).encode(),
        received_at=datetime.now(UTC),
        site=None,
    )
    assert alone.events[0].site == "b.example"


def test_what_only_ingest_sets_is_dropped_from_what_senders_say() -> None:
    said = {
        **PLAIN,
        "browser": "Netscape",
        "device": "phone",  # invalid too: not even looked at
        "country": "FR",
        "utm_source": "spoofed",
        "user_agent": "curl/8.5.0",
        "client_ip": "8.8.8.8",
    }
    envelope = {
        "specversion": "1.0",
        "id": "c3",
        "source": "/s",
        "type": "io.clickstream.event.v1",
        "data": {**DATA, **{k: v for k, v in said.items() if k != "event_id"}},
    }
    for content_type, body in (
        ("application/json", said),
        ("application/cloudevents-batch+json", [envelope]),
        ("application/cloudevents+json", envelope),
    ):
        decoded = decode(
            {"content-type": content_type},
            json.dumps(body).encode(),
            received_at=datetime.now(UTC),
            site=None,
        )
        (event,) = decoded.events
        assert (event.browser, event.device, event.country, event.utm_source) == (None,) * 4


def test_hints_reach_enrichment_checked_and_bots_are_counted() -> None:
    seen: list[SenderHints] = []

    def enrich(click: ClickEvent, hints: SenderHints) -> ClickEvent | None:
        seen.append(hints)
        return None if hints.user_agent == "bot" else click

    events = [
        {**PLAIN, "user_agent": "Mozilla/5.0", "client_ip": "2001:db8::1"},
        {**PLAIN, "event_id": "e2", "user_agent": "bot"},
        {**PLAIN, "event_id": "e3", "client_ip": "8.8.8.888", "user_agent": 7},
        {**PLAIN, "event_id": "e4"},
    ]
    decoded = decode(
        {"content-type": "application/json"},
        json.dumps(events).encode(),
        received_at=datetime.now(UTC),
        site=None,
        enrich=enrich,
    )
    assert [e.event_id for e in decoded.events] == ["e1", "e4"]
    assert decoded.bots == 1
    assert {(p.index, p.field) for p in decoded.problems} == {(2, "client_ip"), (2, "user_agent")}
    # the rule never repeats the address
    assert all("8.8.8.888" not in p.rule for p in decoded.problems)
    assert seen == [
        SenderHints("Mozilla/5.0", ipaddress.ip_address("2001:db8::1")),
        SenderHints("bot", None),
        NO_HINTS,
    ]
