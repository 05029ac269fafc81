"""Poison records become dead letters at once, with Knative's error extensions, through the
dead-letter topic into `dead_letters`; the stream behind them keeps flowing."""

from __future__ import annotations

import base64
import json
import uuid

import psycopg
import pytest
from confluent_kafka import Producer

from functions.core.kafka import producer_config
from tests.fixtures.pipeline import (
    PipelineFactory,
    make_events,
    produce,
    wait_committed,
    wait_stored,
)

pytestmark = pytest.mark.integration


def produce_raw(
    bootstrap: str, topic: str, records: list[tuple[dict[str, bytes], bytes, bytes]]
) -> None:
    producer = Producer(producer_config(bootstrap))
    for headers, value, key in records:
        producer.produce(topic, value, key, headers=list(headers.items()))
    assert producer.flush(30) == 0


def test_poison_events_are_dead_lettered_and_the_stream_flows(
    pipelines: PipelineFactory, database_url: str
) -> None:
    run = uuid.uuid4().hex[:8]
    pipeline, topic = pipelines(DELIVERY_ORDERING="ordered")
    pipeline.start("process")
    pipeline.start("dispatcher")
    bad_id, unstorable_id = f"{run}-poison", f"{run}-nul"
    ce = {
        "ce_specversion": b"1.0",
        "ce_id": bad_id.encode(),
        "ce_source": b"/test",
        "ce_type": b"io.clickstream.event.v1",
        "content-type": b"application/json",
    }
    # valid JSON that PostgreSQL cannot store, keyed by a user id no HTTP header can carry
    unstorable = {
        "user_id": "u",
        "event_type": "click",
        "page_url": "/x",
        "properties": {"k": "\0"},
    }
    produce_raw(
        pipelines.bootstrap,
        topic,
        [
            (
                ce,
                json.dumps({"user_id": "", "event_type": "click", "page_url": "/x"}).encode(),
                b"poison",
            ),
            ({}, b"not a cloudevent at all", b"poison"),
            (
                {**ce, "ce_id": unstorable_id.encode()},
                json.dumps(unstorable).encode(),
                b"line\nbreak\0",
            ),
        ],
    )
    produce(pipelines.bootstrap, topic, make_events(run, 300))
    assert wait_stored(database_url, run, 300) == 300
    # no record is left without an answer: every offset is committed
    assert wait_committed(pipelines.bootstrap, topic, 303) == 303

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_id, knativeerrorcode, knativeerrordata, knativeerrordest, event"
            " FROM dead_letters WHERE event_id IN (%s, %s) OR event->>'source' LIKE %s",
            (bad_id, unstorable_id, f"%{topic}"),
        ).fetchall()
    by_id = {row[0]: row for row in rows}
    assert bad_id in by_id
    _, code, data, dest, event = by_id[bad_id]
    assert code == "400"
    assert dest == pipeline.process_url + "/"
    reason = json.loads(base64.b64decode(data))
    assert reason["errors"][0]["field"] == "user_id"
    assert event["data"]["user_id"] == ""
    _, code, data, _, event = by_id[unstorable_id]
    assert code == "400"
    assert json.loads(base64.b64decode(data))["errors"][0]["field"] == "properties"
    # as KafkaSource delivers it: where it was read from, not its key
    assert "partitionkey" not in event
    assert event["knativekafkaoffset"].isdigit()
    assert json.loads(base64.b64decode(event["data"]["data_base64"])) == unstorable
    wrapped = [row for key, row in by_id.items() if key.startswith("partition:")]
    assert len(wrapped) == 1
    assert wrapped[0][1] == "400"
