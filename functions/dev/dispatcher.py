"""The local KafkaSources: each consumes its topic and POSTs each record to `process` as a
CloudEvent, with the rules and defaults of the manifests (functions/dev/sources.py).

Same rules as Knative's KafkaSource data plane: one record per POST, binary mode, at least
once; unordered, new records are polled while fewer than `max.poll.records` are in flight;
retries and dead letters per `DeliveryPolicy`; a dead letter goes to its sink (a KafkaSink:
here, produced to the dead-letter topic) with the same retries, and when that fails too the
record is committed all the same and is gone, as on the cluster; offsets are stored only up
to finished records, and committed periodically.

Stopping (SIGTERM or SIGINT) drains: the events source delivers every record on its topic,
then the dead-letter source every letter on its own, then both commit and the process exits.
A second signal stops at once, saying how many records it leaves on the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable

import aiohttp
import uvloop
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from functions.core.config import Settings, fails_fast, load_settings, require_kafka
from functions.core.kafka import AsyncProducer, consumer_config, ensure_topic, kafka_message
from functions.core.memory import freeze_startup_objects
from functions.core.telemetry import init_metrics
from functions.dev.delivery import (
    RecordOrigin,
    acknowledged,
    dead_letter_event,
    record_event,
    record_request,
    retryable,
)
from functions.dev.offsets import PartitionOffsets
from functions.dev.sinks import Answer, Sinks
from functions.dev.sources import SourceSpec, load_sources, localized

log = logging.getLogger("clickstream.dispatcher")
# while deliveries are in flight and nothing is fetched: how long to wait before polling again
IDLE_WAIT_S = 0.005
# every slot busy this long: keep polling (group liveness) with the partitions paused
STUCK_AFTER_S = 1.0
LAG_REFRESH_S = 1.0


class Dispatcher:
    def __init__(
        self,
        consumer: Consumer,
        source: SourceSpec,
        sinks: Sinks,
        meter: Meter,
    ) -> None:
        self._consumer = consumer
        self._source = source
        self._topic = source.topic
        self._sinks = sinks
        self._policy = source.policy
        self._timeout = aiohttp.ClientTimeout(total=source.policy.timeout_s)
        self._ordered = source.ordered
        self._max_poll_records = source.max_poll_records
        self._offsets: dict[int, PartitionOffsets] = defaultdict(PartitionOffsets)
        self._partition_tails: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._a_delivery_ended = asyncio.Event()  # set whenever a delivery finishes
        self._draining = False  # asked to stop: deliver what the topic holds, then stop
        self._abandoning = False  # asked again: stop now
        self.stopped = asyncio.Event()  # set once run() has closed the consumer
        # the assigned partitions are paused: every slot waits on retries
        self._paused = False
        self._attributes = {"source": source.name}
        self._deliveries = meter.create_counter(
            "clickstream.dispatcher.deliveries",
            unit="{record}",
            description="Records by outcome: delivered, dead_lettered, dropped (its dead-letter"
            " delivery failed too)",
        )
        self._retries = meter.create_counter(
            "clickstream.dispatcher.retries", unit="{attempt}", description="Delivery retries"
        )
        # partitions taken away by a rebalance (the group moved them, or this consumer was
        # dropped after a stall beyond max.poll.interval.ms): their records are redelivered
        self._revoked = meter.create_counter(
            "clickstream.dispatcher.revoked_partitions",
            unit="{partition}",
            description="Partitions revoked from this dispatcher by a rebalance",
        )
        # every series exists from start, so increase() sees the first
        self._retries.add(0, self._attributes)
        self._revoked.add(0, self._attributes)
        for outcome in ("delivered", "dead_lettered", "dropped"):
            self._deliveries.add(0, {"outcome": outcome, **self._attributes})
        # per partition: the offset up to which records were acknowledged (stored for commit)
        self._acknowledged: dict[int, int] = {}
        self._lag: dict[int, int] = {}
        meter.create_observable_gauge(
            "clickstream.dispatcher.lag",
            callbacks=[self._observe_lag],
            unit="{record}",
            description="Records in the topic not yet acknowledged, per partition",
        )

    def drain(self) -> None:
        """Deliver every record the topic holds now and later, until it holds none; stop."""
        self._draining = True

    def abandon(self) -> None:
        """Stop at once: what is in flight or on the topic stays there."""
        self._abandoning = True
        self._a_delivery_ended.set()

    async def run(self) -> None:
        """Consume until drained or abandoned; commit what was finished."""
        self._consumer.subscribe(
            [self._topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        lag_due = 0.0
        loop = asyncio.get_running_loop()
        while not self._abandoning:
            # cleared before looking at the slots: a delivery finishing from here on wakes us
            self._a_delivery_ended.clear()
            if loop.time() >= lag_due:
                self._refresh_lag()
                lag_due = loop.time() + LAG_REFRESH_S
            # KafkaSource polls (up to max.poll.records) only while fewer are in flight
            if len(self._tasks) < self._max_poll_records:
                if self._paused:
                    self._consumer.resume(self._consumer.assignment())
                    self._paused = False
                if self._tasks:  # busy: take what is already fetched, without blocking
                    records = self._consumer.consume(self._max_poll_records, 0)
                else:
                    records = await asyncio.to_thread(
                        self._consumer.consume, self._max_poll_records, 0.5
                    )
                    if not records and self._draining and await self._drained():
                        break
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
        if self._abandoning:
            left = await asyncio.to_thread(self._remaining)
            log.warning(
                "%s: stopped at once; %d deliveries in flight and %d records on %s not"
                " delivered (redelivered from the last commit if the broker keeps them)",
                self._source.name,
                len(self._tasks),
                left,
                self._topic,
            )
            for task in self._tasks:
                task.cancel()
        self._consumer.close()  # commits the offsets stored for finished records
        self.stopped.set()

    async def _drained(self) -> bool:
        """Nothing in flight, and every assigned partition finished up to its end."""
        return not self._tasks and await asyncio.to_thread(self._remaining) == 0

    def _remaining(self) -> int:
        """Records not yet finished on the assigned partitions (by the broker's live end);
        with no assignment yet, the group is joining and the topic is not known empty."""
        assignment = self._consumer.assignment()
        if not assignment:
            return -1
        committed = {tp.partition: tp.offset for tp in self._consumer.committed(assignment, 10)}
        remaining = 0
        for tp in assignment:
            low, high = self._consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            done = self._acknowledged.get(tp.partition, committed.get(tp.partition, -1))
            remaining += max(high - max(done, low), 0)
        return remaining

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
        if not task.cancelled() and task.exception() is not None:
            # its offset is never stored: the record is redelivered after a restart
            log.error("%s: a delivery failed", self._source.name, exc_info=task.exception())

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
        message = kafka_message(record)
        origin = RecordOrigin(
            self._source.namespace, self._source.name, self._topic, partition, offset
        )
        sink, dead_letter_sink = self._source.sink, self._source.dead_letter_sink
        request = record_request(message, origin)
        status, body = await self._retried(lambda: self._sinks.post(sink, request, self._timeout))
        if status is not None and acknowledged(status):
            outcome = "delivered"
        else:
            outcome = "dropped"
            if dead_letter_sink is not None:
                event = record_event(message, origin)
                letter = dead_letter_event(event, self._sinks.address(sink), status, body)
                sent, _ = await self._retried(
                    lambda: self._sinks.send(dead_letter_sink, letter, self._timeout)
                )
                if sent is not None and acknowledged(sent):
                    outcome = "dead_lettered"
        if outcome == "dropped":
            # as on the cluster: the record is committed past, and gone
            log.error(
                "%s: record %d of partition %d dropped: delivery answered %s and no dead-letter"
                " sink took it",
                self._source.name,
                offset,
                partition,
                status,
            )
        self._deliveries.add(1, {"outcome": outcome, **self._attributes})
        self._finished(partition, offset)

    async def _retried(self, attempt_once: Callable[[], Awaitable[Answer]]) -> Answer:
        """Attempts until acknowledged, answered with a status never retried, or out of
        retries, with the policy's backoff between them; the last answer."""
        attempt = 0
        while True:
            status, body = await attempt_once()
            acked = status is not None and acknowledged(status)
            if acked or not retryable(status) or attempt >= self._policy.retry:
                return status, body
            self._retries.add(1, self._attributes)
            await asyncio.sleep(self._policy.backoff(attempt))
            attempt += 1

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
        partitions = list(partitions)
        self._revoked.add(len(partitions), self._attributes)
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
    sources = [localized(source, settings) for source in load_sources()]
    for topic in {source.topic for source in sources}:
        await asyncio.to_thread(ensure_topic, bootstrap, topic)
    producer = AsyncProducer(bootstrap)
    # aiohttp: about a third of httpx's CPU per request, and the dispatcher shares 2 cores;
    # at most twice max.poll.records are in flight per source
    connector = aiohttp.TCPConnector(limit=sum(2 * s.max_poll_records for s in sources))
    async with aiohttp.ClientSession(connector=connector) as http:
        sinks = Sinks(http, settings.process_url, producer)
        dispatchers = [
            Dispatcher(
                Consumer(consumer_config(bootstrap, source.consumer_group)), source, sinks, meter
            )
            for source in sources
        ]
        stopping = Stopping(dispatchers)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.signalled)
        freeze_startup_objects()
        await asyncio.gather(*(dispatcher.run() for dispatcher in dispatchers))
    unsent = producer.close()
    if unsent:
        log.error("%d dead letters not acknowledged by the broker at exit", unsent)


class Stopping:
    """The first signal drains the sources one after the other, in the order of the
    manifests (events first, their dead letters after); a second one abandons them all."""

    def __init__(self, dispatchers: list[Dispatcher]) -> None:
        self._dispatchers = dispatchers
        self._signals = 0

    def signalled(self) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("stopping: delivering what the topics hold first (signal again: stop now)")
            asyncio.get_running_loop().create_task(self._drain_in_order())
        else:
            for dispatcher in self._dispatchers:
                dispatcher.abandon()

    async def _drain_in_order(self) -> None:
        for dispatcher in self._dispatchers:
            dispatcher.drain()
            await dispatcher.stopped.wait()


@fails_fast
def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvloop.run(run(load_settings("dispatcher")))


if __name__ == "__main__":
    main()
