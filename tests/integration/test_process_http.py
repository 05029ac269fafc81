"""`process` over HTTP: a binary-mode delivery (answered before functions-framework's layers)
and the same event in structured mode (through functions-framework) get the same answers."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import msgspec
import pytest

from functions.core.events import EVENT_TYPE
from tests.fixtures.pipeline import PipelineFactory, stored

pytestmark = pytest.mark.integration


def binary(event: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    headers = {f"ce-{name}": value for name, value in event.items() if name != "data"}
    return headers | {"content-type": "application/json"}, msgspec.json.encode(event["data"])


def structured(event: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    envelope = event | {"datacontenttype": "application/json"}
    return {"content-type": "application/cloudevents+json"}, msgspec.json.encode(envelope)


def cloudevent(event_id: str, **data: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/test",
        "type": EVENT_TYPE,
        "time": "2026-01-02T03:04:05Z",
        "data": {"user_id": "u", "event_type": "click", "page_url": "/x"} | data,
    }


def http_counts(metrics: str) -> dict[str, float]:
    """Requests measured under functions-framework's route, by status class."""
    counts = {}
    for labels, value in re.findall(
        r"clickstream_http_server_request_duration_seconds_count\{(.*)\} (\S+)", metrics
    ):
        if 'route="/{path:path}"' in labels:
            status = re.search(r'status_class="(\w+)"', labels)
            assert status is not None
            counts[status.group(1)] = float(value)
    return counts


def test_binary_and_structured_deliveries_are_answered_alike(
    pipelines: PipelineFactory, database_url: str
) -> None:
    run = uuid.uuid4().hex[:8]
    pipeline, _ = pipelines()
    pipeline.start("process")
    valid = cloudevent(f"{run}-1")
    invalid = cloudevent(f"{run}-2", page_url="")
    answers: dict[str, list[tuple[int, str]]] = {}
    with httpx.Client(base_url=pipeline.process_url, timeout=10) as client:
        for mode, encode in (("binary", binary), ("structured", structured)):
            for event in (valid, invalid):
                headers, body = encode(event)
                answer = client.post("/", headers=headers, content=body)
                answers.setdefault(mode, []).append((answer.status_code, answer.text))
        # not every attribute a binary-mode request needs: functions-framework's answer
        headers, body = binary(valid)
        del headers["ce-source"]
        incomplete = client.post("/", headers=headers, content=body)
    assert answers["binary"] == answers["structured"]
    (ok, ok_text), (bad, bad_text) = answers["binary"]
    assert (ok, ok_text) == (200, "OK")
    assert bad == 400
    assert msgspec.json.decode(bad_text)["errors"][0]["field"] == "page_url"
    assert incomplete.status_code == 400
    assert incomplete.text.startswith("Bad Request: Got CloudEvent exception")
    assert stored(database_url, run) == 1
    assert http_counts(pipeline.metrics("process")) == {"2xx": 2, "4xx": 3}
