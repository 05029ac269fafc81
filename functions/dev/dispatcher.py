"""The local KafkaSource: consumes `clicks`, POSTs each record to `process` as a CloudEvent.

Same rules as Knative's KafkaSource data plane: one record per POST, binary mode, at least
once; retries and dead letters per `DeliveryPolicy`; offsets stored only up to records that
were acknowledged or dead-lettered, and committed periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import defaultdict
from collections.abc import Iterable

import aiohttp
import uvloop
from cloudevents.http import CloudEvent
from cloudevents.kafka import KafkaMessage
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from functions.core.config import Settings, fails_fast, load_settings, require_kafka
from functions.core.kafka import consumer_config, ensure_topic
from functions.core.memory import freeze_startup_objects
from functions.core.telemetry import init_metrics
from functions.dev.delivery import (
    DeliveryPolicy,
    acknowledged,
    dead_letter_event,
    event_request,
    record_event,
    record_request,
    retryable,
)
from functions.dev.offsets import PartitionOffsets

log = logging.getLogger("clickstream.dispatcher")
DEAD_LETTER_MAX_BACKOFF_S = 5.0
# while deliveries are in flight and nothing is fetched: how long to wait before polling again
IDLE_WAIT_S = 0.005
# every slot busy this long: keep polling (group liveness) with the partitions paused
STUCK_AFTER_S = 1.0
LAG_REFRESH_S = 1.0


class Dispatcher:
    def __init__(
        self,
        consumer: Consumer,
        http: aiohttp.ClientSession,
        *,
        topic: str,
        sink: str,
        dead_letter_sink: str,
        policy: DeliveryPolicy,
        ordered: bool,
        meter: Meter,
        max_in_flight: int,
    ) -> None:
        self._consumer = consumer
        self._http = http
        self._topic = topic
        self._sink = sink
        self._dead_letter_sink = dead_letter_sink
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(total=policy.timeout_s)
        self._ordered = ordered
        self._max_in_flight = max_in_flight
        self._offsets: dict[int, PartitionOffsets] = defaultdict(PartitionOffsets)
        self._partition_tails: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._a_delivery_ended = asyncio.Event()  # set whenever a delivery finishes
        self._stopping = asyncio.Event()
        # the assigned partitions are paused: every slot waits on retries
        self._paused = False
        self._deliveries = meter.create_counter(
            "clickstream.dispatcher.deliveries",
            unit="{record}",
            description="Records by outcome: delivered, dead_lettered",
        )
        self._retries = meter.create_counter(
            "clickstream.dispatcher.retries", unit="{attempt}", description="Delivery retries"
        )
        self._retries.add(0)  # every series exists from start, so increase() sees the first
        for outcome in ("delivered", "dead_lettered"):
            self._deliveries.add(0, {"outcome": outcome})
        # per partition: the offset up to which records were acknowledged (stored for commit)
        self._acknowledged: dict[int, int] = {}
        self._lag: dict[int, int] = {}
        meter.create_observable_gauge(
            "clickstream.dispatcher.lag",
            callbacks=[self._observe_lag],
            unit="{record}",
            description="Records in the topic not yet acknowledged, per partition",
        )

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Consume until `stop()`, then finish what is in flight and commit it."""
        self._consumer.subscribe(
            [self._topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        lag_due = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            # cleared before looking at the slots: a delivery finishing from here on wakes us
            self._a_delivery_ended.clear()
            if loop.time() >= lag_due:
                self._refresh_lag()
                lag_due = loop.time() + LAG_REFRESH_S
            capacity = self._max_in_flight - len(self._tasks)
            if capacity > 0:
                if self._paused:
                    self._consumer.resume(self._consumer.assignment())
                    self._paused = False
                if self._tasks:  # busy: take what is already fetched, without blocking
                    records = self._consumer.consume(capacity, 0)
                else:
                    records = await asyncio.to_thread(self._consumer.consume, capacity, 0.5)
                self._start_all(records)
                if not records and self._tasks:
                    await self._delivery_finished(IDLE_WAIT_S)
                continue
            if not await self._delivery_finished(STUCK_AFTER_S):
                # every slot waits on retries: stay in the group (poll) without taking records;
                # pausing drops librdkafka's prefetched records, so only here, not on every fill
                if not self._paused:
                    self._consumer.pause(self._consumer.assignment())
                    self._paused = True
                self._start_all(await asyncio.to_thread(self._consumer.consume, 1, 0.1))
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self._policy.timeout_s)
        self._consumer.close()

    def _start_all(self, records: list[Message]) -> None:
        for record in records:
            error = record.error()
            if error is not None:
                log.warning("consume error: %s", error)
                continue
            self._start(record)

    def _start(self, record: Message) -> None:
        partition, offset = _position(record)
        self._offsets[partition].started(offset)
        if self._ordered:
            previous = self._partition_tails.get(partition)
            task = asyncio.create_task(self._after(previous, record))
            self._partition_tails[partition] = task
        else:
            task = asyncio.create_task(self._deliver(record))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._a_delivery_ended.set()

    async def _delivery_finished(self, timeout_s: float) -> bool:
        """Whether a delivery finished since the loop's turn began, waiting up to `timeout_s`
        (an event, not asyncio.wait: that re-registers on every task in flight each time)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._a_delivery_ended.wait()
        except TimeoutError:
            return False
        return True

    async def _after(self, previous: asyncio.Task[None] | None, record: Message) -> None:
        if previous is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(previous)
        await self._deliver(record)

    async def _deliver(self, record: Message) -> None:
        partition, offset = _position(record)
        raw = record.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        headers = {name: value for name, value in pairs if isinstance(value, bytes)}
        message = KafkaMessage(headers, record.key(), record.value() or b"")
        request = record_request(message, self._topic, partition, offset)
        attempt = 0
        while True:
            status, body = await self._post(self._sink, request)
            if status is not None and acknowledged(status):
                self._deliveries.add(1, {"outcome": "delivered"})
                break
            if not retryable(status) or attempt >= self._policy.retry:
                event = record_event(message, self._topic, partition, offset)
                await self._dead_letter(event, status, body)
                self._deliveries.add(1, {"outcome": "dead_lettered"})
                break
            self._retries.add(1)
            await asyncio.sleep(self._policy.backoff(attempt))
            attempt += 1
        self._finished(partition, offset)

    async def _dead_letter(self, event: CloudEvent, status: int | None, body: bytes) -> None:
        letter = dead_letter_event(event, self._sink, status, body)
        request = event_request(letter)
        attempt = 0
        # the record is committed only once the sink has it: keep trying, never drop it
        while True:
            sink_status, _ = await self._post(self._dead_letter_sink, request)
            if sink_status is not None and acknowledged(sink_status):
                return
            log.error("dead-letter sink answered %s; retrying", sink_status)
            await asyncio.sleep(min(DEAD_LETTER_MAX_BACKOFF_S, self._policy.backoff(attempt)))
            attempt += 1

    async def _post(
        self, url: str, request: tuple[dict[str, str], bytes]
    ) -> tuple[int | None, bytes]:
        headers, data = request
        try:
            async with self._http.post(
                url, data=data, headers=headers, timeout=self._timeout
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            log.info("POST %s failed: %r", url, error)
            return None, repr(error).encode()

    def _finished(self, partition: int, offset: int) -> None:
        position = self._offsets[partition].finished(offset)
        if position is None:
            return
        self._acknowledged[partition] = position
        try:
            self._consumer.store_offsets(offsets=[TopicPartition(self._topic, partition, position)])
        except KafkaException as error:  # partition revoked meanwhile: its new owner redelivers
            log.info("offset %d of partition %d not stored: %s", position, partition, error)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # librdkafka keeps a partition paused across a rebalance: paused, revoked, then
        # resumed while the assignment was empty, it would come back paused for good (seen
        # after a stall beyond max.poll.interval.ms); the loop pauses again if still stuck
        consumer.resume(partitions)
        self._paused = False

    def _on_revoke(self, _: Consumer, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            self._offsets.pop(tp.partition, None)
            self._acknowledged.pop(tp.partition, None)
            self._partition_tails.pop(tp.partition, None)

    def _refresh_lag(self) -> None:
        """Records behind the high watermark per partition, from librdkafka's cached
        watermarks, computed on the event loop every LAG_REFRESH_S."""
        lag: dict[int, int] = {}
        for tp in self._consumer.assignment():
            try:
                low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                continue
            if high >= 0:
                acknowledged = self._acknowledged.get(tp.partition, max(low, 0))
                lag[tp.partition] = max(high - acknowledged, 0)
        self._lag = lag

    def _observe_lag(self, _: CallbackOptions) -> Iterable[Observation]:
        # the scrape thread only reads the snapshot: it never waits on the Kafka client
        return [Observation(n, {"partition": str(p)}) for p, n in self._lag.items()]


def _position(record: Message) -> tuple[int, int]:
    partition, offset = record.partition(), record.offset()
    if partition is None or offset is None:
        raise ValueError("a consumed record always has a partition and an offset")
    return partition, offset


async def run(settings: Settings) -> None:
    bootstrap = require_kafka(settings)
    meter = init_metrics("dispatcher", settings.metrics_port)
    await asyncio.to_thread(ensure_topic, bootstrap, settings.kafka_topic)
    consumer = Consumer(consumer_config(bootstrap, settings.consumer_group))
    policy = DeliveryPolicy(
        retry=settings.delivery_retry,
        backoff_policy="linear" if settings.delivery_backoff_policy == "linear" else "exponential",
        backoff_delay_s=settings.delivery_backoff_delay_s,
        timeout_s=settings.delivery_timeout_s,
    )
    in_flight = settings.delivery_max_in_flight
    # aiohttp: about a third of httpx's CPU per request, and the dispatcher shares 2 cores
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as http:
        dispatcher = Dispatcher(
            consumer,
            http,
            topic=settings.kafka_topic,
            sink=settings.process_url,
            dead_letter_sink=settings.dead_letter_url,
            policy=policy,
            ordered=settings.delivery_ordering == "ordered",
            meter=meter,
            max_in_flight=in_flight,
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, dispatcher.stop)
        freeze_startup_objects()
        await dispatcher.run()


@fails_fast
def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvloop.run(run(load_settings("dispatcher")))


if __name__ == "__main__":
    main()
