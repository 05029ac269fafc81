"""Plausible's Events API and cookieless native events through a real ingest and broker."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.fixtures.functions import read_topic, record_headers

pytestmark = pytest.mark.integration

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
RUN = uuid.uuid4().hex[:8]


def records(bootstrap: str, topic: str) -> dict[str, dict[str, object]]:
    """Every record so far: its data by event id (and the key, as `_key`)."""
    found = {}
    for record in read_topic(bootstrap, topic, 10_000, timeout_s=3):
        data = json.loads(record.value() or b"")
        found[record_headers(record)["ce_id"].decode()] = {**data, "_key": record.key()}
    return found


def test_events_api_text_plain_and_json_land_in_kafka_once_per_request(
    ingest_url: str, kafka_bootstrap: str, ingest_topic: str
) -> None:
    body = {
        "n": "Signup",
        "u": f"https://{RUN}.example/pricing?utm_source=news",
        "d": f"{RUN}.example,second-{RUN}.example",
        "p": json.dumps({"plan": "pro"}),
    }
    headers = {"content-type": "text/plain", "user-agent": FIREFOX}
    for _ in range(2):  # a retry: the same ids, stored once by process
        answer = httpx.post(ingest_url + "/api/event", content=json.dumps(body), headers=headers)
        assert (answer.status_code, answer.json()) == (202, {})
    found = [r for r in records(kafka_bootstrap, ingest_topic).values() if RUN in str(r["site"])]
    assert sorted(str(r["site"]) for r in found) == [f"{RUN}.example", f"second-{RUN}.example"]
    first = next(r for r in found if r["site"] == f"{RUN}.example")
    assert first["event_type"] == "Signup"
    assert first["page_url"] == "/pricing"
    assert first["utm_source"] == "news"
    assert first["properties"] == {"plan": "pro"}
    assert first["browser"] == "Firefox"
    assert first["_key"] == str(first["user_id"]).encode()
    assert "127.0.0.1" not in str(found)


def test_bad_events_api_payloads_get_plausibles_400_shape(ingest_url: str) -> None:
    answer = httpx.post(ingest_url + "/api/event", json={"url": "/x", "domain": "Bad Domain"})
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert set(errors) == {"site"}
    assert all(isinstance(r, str) for r in errors["site"])
    answer = httpx.post(ingest_url + "/api/event", json={"url": "http://a.example/"})
    assert answer.status_code == 400
    assert "site" in answer.json()["errors"]
    answer = httpx.post(
        ingest_url + "/api/event", json={"url": "http://a.example/", "domain": "a.example"}
    )
    assert answer.json() == {"errors": {"event_type": ["required"]}}


def test_a_native_event_without_user_id_gets_a_cookieless_one(
    ingest_url: str, kafka_bootstrap: str, ingest_topic: str
) -> None:
    def send(event_id: str, agent: str, site: str = f"n-{RUN}.example") -> None:
        event = {"event_id": event_id, "event_type": "pageview", "page_url": "/", "site": site}
        answer = httpx.post(ingest_url + "/ingest", json=event, headers={"user-agent": agent})
        assert answer.status_code == 202, answer.text

    send(f"{RUN}-1", FIREFOX)
    send(f"{RUN}-2", FIREFOX)
    send(f"{RUN}-3", FIREFOX + " other")
    send(f"{RUN}-4", FIREFOX, f"m-{RUN}.example")
    found = records(kafka_bootstrap, ingest_topic)
    users = [found[f"{RUN}-{n}"]["user_id"] for n in range(1, 5)]
    assert users[0] == users[1]
    assert len(set(users)) == 3
