"""The rule the cluster runs and the local dispatcher follows: a record whose delivery and
whose dead-letter delivery both fail every retry is committed past, and gone. (This is why
the deployed dead-letter sink is a KafkaSink, not `process`.)"""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from confluent_kafka import Consumer
from opentelemetry.metrics import get_meter

from functions.core.kafka import AsyncProducer, consumer_config
from functions.dev.delivery import DeliveryPolicy
from functions.dev.dispatcher import Dispatcher
from functions.dev.ports import free_port
from functions.dev.sinks import Sinks
from functions.dev.sources import Destination, SourceSpec
from tests.fixtures.functions import new_topic
from tests.fixtures.pipeline import committed, make_events, produce

pytestmark = pytest.mark.integration

RECORDS = 30


async def run_until_committed(bootstrap: str, source: SourceSpec, nobody: str) -> None:
    producer = AsyncProducer(bootstrap)
    async with aiohttp.ClientSession() as http:
        dispatcher = Dispatcher(
            Consumer(consumer_config(bootstrap, source.consumer_group)),
            source,
            Sinks(http, nobody, producer),
            get_meter("test"),
        )
        running = asyncio.create_task(dispatcher.run())
        dispatcher.drain()  # stops once every record is finished
        await asyncio.wait_for(running, 120)
    producer.close()


def test_a_record_whose_dead_letter_fails_too_is_committed_and_dropped(
    kafka_bootstrap: str,
) -> None:
    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, make_events(uuid.uuid4().hex[:8], RECORDS))
    source = SourceSpec(
        name="clicks-to-process",
        namespace="clickstream",
        topic=topic,
        consumer_group=f"group-{topic}",
        ordered=False,
        policy=DeliveryPolicy(retry=1, backoff_delay_s=0.01, timeout_s=1),
        max_poll_records=50,
        # nothing listens there: neither delivery nor dead letter gets an answer
        sink=Destination("process", path="/"),
        dead_letter_sink=Destination("process", path="/dead-letters"),
    )
    asyncio.run(run_until_committed(kafka_bootstrap, source, f"http://127.0.0.1:{free_port()}"))
    assert committed(kafka_bootstrap, topic) == RECORDS
