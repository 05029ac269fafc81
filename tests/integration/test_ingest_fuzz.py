"""Property-based fuzzing of ingest's bodies and headers against the running function."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.functions import read_topic, record_headers

pytestmark = pytest.mark.integration

CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
        "application/xml",
        "",
        "multipart/form-data",
        "application/json; charset=latin-1",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_values = st.one_of(
    st.text(max_size=40),
    st.just("/page"),
    st.just("https://x.example/p"),
    st.just("click"),
    st.just("2026-11-26T10:00:00Z"),
    st.integers(),
    st.none(),
    json_values,
)
events = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.uuids().map(str) | field_values,
        "user_id": st.just("fuzz-user") | field_values,
        "event_type": st.just("click") | field_values,
        "page_url": st.just("/fuzz") | field_values,
        "time_stamp": field_values,
        "properties": json_values,
        "referrer": field_values,
    },
)
bodies = st.one_of(
    events.map(json.dumps).map(str.encode),
    st.lists(events, min_size=1, max_size=5).map(json.dumps).map(str.encode),
    json_values.map(json.dumps).map(str.encode),
    st.binary(max_size=200),
)
ce_headers = st.dictionaries(
    st.sampled_from(["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time"]),
    # values an HTTP client can send: printable ASCII, no surrounding blanks
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
    max_size=5,
)


def accepted_ids(body: bytes, answer: dict[str, Any]) -> set[str]:
    """Plain-JSON event ids the answer says were accepted (rejected indexes excluded)."""
    document = json.loads(body)
    items = document if isinstance(document, list) else [document]
    rejected = {r["index"] for r in answer["rejected"]}
    if not isinstance(document, list):
        rejected = {0} if rejected else set()
    return {str(e["event_id"]) for n, e in enumerate(items) if n not in rejected}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, content_type=CONTENT_TYPES, headers=ce_headers)
def test_no_input_yields_5xx_and_every_2xx_event_is_on_the_topic(
    ingest_url: str,
    kafka_bootstrap: str,
    ingest_topic: str,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
) -> None:
    answer = httpx.post(
        ingest_url + "/ingest",
        content=body,
        headers={"content-type": content_type, **headers},
        timeout=10,
    )
    assert answer.status_code < 500, answer.text
    assert answer.status_code in (202, 400, 413, 415)
    if (
        answer.status_code == 202
        and not headers
        and content_type.startswith(("application/json", "text/plain"))
    ):
        expected = accepted_ids(body, answer.json())
        on_topic = {
            record_headers(r)["ce_id"].decode()
            for r in read_topic(kafka_bootstrap, ingest_topic, 100_000, timeout_s=1)
        }
        assert expected <= on_topic
    assert httpx.get(ingest_url + "/healthz").status_code == 200
