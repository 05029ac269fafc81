"""ingest through a real running process and a real broker, reading the records back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from confluent_kafka import Message

from tests.fixtures.functions import read_topic, record_headers

pytestmark = pytest.mark.integration

CE_TYPE = "io.clickstream.event.v1"


def event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "user_id": "u-1",
        "event_type": "click",
        "page_url": "/pricing",
        **overrides,
    }


def by_id(records: list[Message]) -> dict[str, Message]:
    return {record_headers(r)["ce_id"].decode(): r for r in records}


def test_plain_json_object_and_array(
    ingest_url: str, kafka_bootstrap: str, ingest_topic: str
) -> None:
    single = event(properties={"plan": "pro"}, referrer="https://ref.example/")
    pair = [event(user_id="u-2"), event(user_id="u-3", time_stamp="2026-11-26T10:00:00Z")]
    assert httpx.post(ingest_url + "/ingest", json=single).status_code == 202
    answer = httpx.post(ingest_url + "/", json=pair)
    assert answer.status_code == 202
    assert answer.json() == {"accepted": 2, "rejected": []}
    records = by_id(read_topic(kafka_bootstrap, ingest_topic, 10_000, timeout_s=3))
    record = records[single["event_id"]]
    assert record.key() == b"u-1"
    headers = record_headers(record)
    assert headers["ce_type"] == CE_TYPE.encode()
    assert headers["ce_specversion"] == b"1.0"
    assert headers["content-type"] == b"application/json"
    assert json.loads(record.value() or b"") == {
        "site": "default",
        "user_id": "u-1",
        "event_type": "click",
        "page_url": "/pricing",
        "referrer": "https://ref.example/",
        "properties": {"plan": "pro"},
        # enrichment: httpx's User-Agent names no browser, 127.0.0.1 no country
        "referrer_host": "ref.example",
    }
    assert record_headers(records[pair[1]["event_id"]])["ce_time"] == b"2026-11-26T10:00:00Z"


def test_cloudevents_binary_structured_and_batch(
    ingest_url: str, kafka_bootstrap: str, ingest_topic: str
) -> None:
    data = {"user_id": "ce-user", "event_type": "pageview", "page_url": "https://a.example/x"}
    binary_id, structured_id, batch_ids = uuid.uuid4().hex, uuid.uuid4().hex, []
    binary = httpx.post(
        ingest_url + "/",
        json=data,
        headers={
            "ce-specversion": "1.0",
            "ce-id": binary_id,
            "ce-source": "/app",
            "ce-type": CE_TYPE,
            "ce-time": "2026-11-26T09:00:00Z",
        },
    )
    assert binary.status_code == 202, binary.text
    envelope = {
        "specversion": "1.0",
        "id": structured_id,
        "source": "/web",
        "type": CE_TYPE,
        "datacontenttype": "application/json",
        "data": data,
    }
    structured = httpx.post(
        ingest_url + "/ingest",
        content=json.dumps(envelope),
        headers={"content-type": "application/cloudevents+json"},
    )
    assert structured.status_code == 202, structured.text
    batch = []
    for _ in range(3):
        batch_ids.append(uuid.uuid4().hex)
        batch.append({**envelope, "id": batch_ids[-1]})
    answer = httpx.post(
        ingest_url + "/",
        content=json.dumps(batch),
        headers={"content-type": "application/cloudevents-batch+json"},
    )
    assert answer.json() == {"accepted": 3, "rejected": []}
    records = by_id(read_topic(kafka_bootstrap, ingest_topic, 10_000, timeout_s=3))
    assert record_headers(records[binary_id])["ce_source"] == b"/app"
    assert record_headers(records[binary_id])["ce_time"] == b"2026-11-26T09:00:00Z"
    assert record_headers(records[structured_id])["ce_source"] == b"/web"
    assert all(i in records for i in batch_ids)
    assert records[binary_id].key() == b"ce-user"


def test_beacon_text_plain(ingest_url: str, kafka_bootstrap: str, ingest_topic: str) -> None:
    beacon = [event(user_id="beacon-user")]
    answer = httpx.post(
        ingest_url + "/ingest",
        content=json.dumps(beacon),
        headers={"content-type": "text/plain;charset=UTF-8"},
    )
    assert answer.status_code == 202
    assert beacon[0]["event_id"] in by_id(read_topic(kafka_bootstrap, ingest_topic, 10_000, 3))


def test_mixed_batch_accepts_the_valid_and_names_the_rest(ingest_url: str) -> None:
    answer = httpx.post(
        ingest_url + "/ingest",
        json=[event(), event(user_id=""), event(), {"event_id": "x"}],
    )
    assert answer.status_code == 202
    body = answer.json()
    assert body["accepted"] == 2
    # the last names no user: ingest derives a cookieless one (docs/privacy.md)
    assert {(r["index"], r["field"]) for r in body["rejected"]} == {
        (1, "user_id"),
        (3, "event_type"),
        (3, "page_url"),
    }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (event(event_id="x" * 129), "event_id"),
        (event(user_id="u" * 257), "user_id"),
        (event(event_type="Click\nMe"), "event_type"),
        (event(event_type="x" * 121), "event_type"),
        (event(page_url="example.com/x"), "page_url"),
        (event(time_stamp="2099-01-01T00:00:00Z"), "time_stamp"),
        (event(time_stamp="yesterday"), "time_stamp"),
        (event(properties={"k": "v" * 5000}), "properties"),
        (event(properties="flat"), "properties"),
        (event(session_id=7), "session_id"),
        # what PostgreSQL or an HTTP header between the dispatcher and process cannot carry
        (event(event_id="é-1"), "event_id"),
        (event(user_id="a\u0000b"), "user_id"),
        (event(referrer="https://x.io/\r\nX: 1"), "referrer"),
        (event(properties={"k": "\u0000"}), "properties"),
    ],
)
def test_each_rule_is_a_400_naming_the_field(
    ingest_url: str, payload: dict[str, Any], field: str
) -> None:
    answer = httpx.post(ingest_url + "/ingest", json=payload)
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_limits_type_method_and_path(ingest_url: str) -> None:
    too_many = httpx.post(ingest_url + "/ingest", json=[event() for _ in range(1001)])
    assert too_many.status_code == 413
    too_big = httpx.post(
        ingest_url + "/ingest",
        content=b"[" + b" " * (1024 * 1024) + b"]",
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413
    xml = httpx.post(
        ingest_url + "/ingest", content=b"<a/>", headers={"content-type": "application/xml"}
    )
    assert xml.status_code == 415
    assert xml.json()["errors"][0]["field"] == "content-type"
    get = httpx.get(ingest_url + "/ingest")
    assert get.status_code == 405
    assert "POST" in get.headers["allow"]
    assert httpx.post(ingest_url + "/elsewhere", json=event()).status_code == 404
    malformed = httpx.post(
        ingest_url + "/ingest", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["field"] == "$"


def test_cors_preflight_follows_the_allow_list(ingest_url: str) -> None:
    allowed = httpx.options(
        ingest_url + "/ingest",
        headers={"origin": "https://shop.example", "access-control-request-method": "POST"},
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    other = httpx.options(ingest_url + "/ingest", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    posted = httpx.post(
        ingest_url + "/ingest", json=event(), headers={"origin": "https://shop.example"}
    )
    assert posted.headers["access-control-allow-origin"] == "https://shop.example"


def test_tracker_is_served_small(ingest_url: str) -> None:
    answer = httpx.get(ingest_url + "/tracker.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    assert len(answer.content) <= 2048
    assert b"sendBeacon" in answer.content
