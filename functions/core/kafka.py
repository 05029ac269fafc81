"""The one Kafka adapter: client configuration, topic creation and an asyncio producer.

Broker-specific tuning lives in `GROUP_TIMEOUTS` only; tansu's quirks are listed in
`functions.dev.broker`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cloudevents.kafka import KafkaMessage
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from functions.core.errors import DependencyUnavailable

# Group joins take ~23 s on tansu with librdkafka's defaults and ~3 s with these;
# both values are inside Apache Kafka's and Redpanda's accepted ranges too.
GROUP_TIMEOUTS = {"session.timeout.ms": 6000, "max.poll.interval.ms": 10000}

# How long the producer may try to hand a record to the broker before we answer 503.
DELIVERY_TIMEOUT_MS = 5000


def producer_config(bootstrap: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "message.timeout.ms": DELIVERY_TIMEOUT_MS,
        "queue.buffering.max.messages": 200_000,
    }


def consumer_config(bootstrap: str, group_id: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        # offsets are stored by hand, only up to acknowledged records, then auto-committed
        "enable.auto.offset.store": False,
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 1000,
        **GROUP_TIMEOUTS,
    }


def ensure_topic(bootstrap: str, topic: str, partitions: int = 3, timeout_s: float = 15) -> None:
    """Create `topic` unless it exists (idempotent)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = admin.list_topics(timeout=timeout_s).topics
    if topic in existing:
        return
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions)])
    try:
        futures[topic].result(timeout_s)
    except KafkaException as error:
        if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise


def _settle(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(DependencyUnavailable("kafka", error.str()))


class _Acknowledgements:
    """One request's delivery reports, counted on the poll thread: the event loop is woken
    once per request (at the last acknowledgement or the first failure), not per record."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], expected: int
    ) -> None:
        self._loop = loop
        self._future = future
        self._pending = expected  # only the poll thread changes it after this
        self._signalled = False

    def delivered(self, error: KafkaError | None, _: Message) -> None:
        self._pending -= 1
        if self._signalled or (error is None and self._pending):
            return
        self._signalled = True
        self._loop.call_soon_threadsafe(_settle, self._future, error)


class AsyncProducer:
    """confluent-kafka's producer for asyncio: `send` returns once the broker acked all."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = Producer(producer_config(bootstrap))
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    async def send(self, topic: str, messages: Iterable[KafkaMessage]) -> None:
        """Produce every message; raise `DependencyUnavailable` unless all were acknowledged."""
        batch = list(messages)
        if not batch:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledgements = _Acknowledgements(asyncio.get_running_loop(), done, len(batch))
        for message in batch:
            try:
                self._producer.produce(
                    topic,
                    value=message.value,
                    key=message.key,
                    headers=list(message.headers.items()),
                    on_delivery=acknowledgements.delivered,
                )
            except BufferError:
                raise DependencyUnavailable("kafka", "producer queue is full") from None
            except KafkaException as error:
                raise DependencyUnavailable("kafka", str(error)) from None
        await done

    def ready(self, timeout_s: float = 2.0) -> bool:
        try:
            self._producer.list_topics(timeout=timeout_s)
        except KafkaException:
            return False
        return True

    def close(self, timeout_s: float = 10.0) -> int:
        """Flush what is queued, stop polling; returns how many records were left unsent."""
        remaining: int = self._producer.flush(timeout_s)
        self._stop.set()
        self._poller.join()
        return remaining


def kafka_message(record: Message) -> KafkaMessage:
    """A consumed record as the cloudevents Kafka binding reads it (headers with a value)."""
    raw = record.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    headers = {name: value for name, value in pairs if isinstance(value, bytes)}
    return KafkaMessage(headers, record.key(), record.value() or b"")


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The offset `group` has committed on each partition of `topic` (where its next record
    starts); a partition it never committed on reads as its earliest offset."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            raise DependencyUnavailable("kafka", f"topic {topic}: {metadata.error}")
        asked = [TopicPartition(topic, p) for p in metadata.partitions]
        positions = consumer.committed(asked, timeout=10)
        return {
            tp.partition: tp.offset
            if tp.offset >= 0
            else consumer.get_watermark_offsets(tp, timeout=10)[0]
            for tp in positions
        }
    except KafkaException as error:
        raise DependencyUnavailable("kafka", str(error)) from None
    finally:
        consumer.close()


def _ends(consumer: Consumer, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    """Each partition's end now: one past its last record. Read, not taken from the high
    watermark alone, which tansu reports as its last batch's first offset + 1: the records
    from there on are read until none comes for a second."""
    ends: dict[int, int] = {}
    starts: list[TopicPartition] = []
    for partition in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        ends[partition] = high
        if high > low:
            starts.append(TopicPartition(topic, partition, high - 1))
    consumer.assign(starts)
    while records := consumer.consume(1000, timeout=1.0):
        for record in records:
            at, offset = record.partition(), record.offset()
            if record.error() is None and at is not None and offset is not None:
                ends[at] = max(ends[at], offset + 1)
    return ends


def records_from(
    bootstrap: str, topic: str, offsets: Mapping[int, int], batch: int = 1000
) -> Iterator[list[KafkaMessage]]:
    """The records of `topic` from each partition's offset in `offsets` up to its end when
    called, in batches: what a replay produces again."""
    # assigned, never subscribed: the group only names the client, and commits nothing
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "clickstream-replay",
            "enable.auto.commit": False,
        }
    )
    try:
        ends = _ends(consumer, topic, offsets)
        left = {p for p, offset in offsets.items() if ends[p] > offset}
        consumer.assign([TopicPartition(topic, p, offsets[p]) for p in left])
        while left:
            records: list[KafkaMessage] = []
            for record in consumer.consume(batch, timeout=1.0):
                partition, offset = record.partition(), record.offset()
                if record.error() is not None or partition not in left or offset is None:
                    continue
                if offset < ends[partition]:
                    records.append(kafka_message(record))
                if offset >= ends[partition] - 1:
                    left.discard(partition)
            if records:
                yield records
    except KafkaException as error:
        raise DependencyUnavailable("kafka", str(error)) from None
    finally:
        consumer.close()
