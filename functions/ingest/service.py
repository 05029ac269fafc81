"""Ingest's work: decode a request, hand the valid events to Kafka, count the outcomes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry.metrics import Meter

from functions.core.errors import InvalidEvent, Problem
from functions.core.events import to_kafka
from functions.core.kafka import AsyncProducer
from functions.ingest.decode import decode


@dataclass(frozen=True, slots=True)
class Accepted:
    count: int
    rejected: list[Problem]


class IngestService:
    def __init__(self, producer: AsyncProducer, topic: str, meter: Meter) -> None:
        self._producer = producer
        self._topic = topic
        self._events = meter.create_counter(
            "clickstream.ingest.events", unit="{event}", description="Events by outcome"
        )
        self._produce_latency = meter.create_histogram(
            "clickstream.kafka.produce.latency",
            unit="s",
            description="From produce to the broker's acknowledgement of a request's events",
        )
        for outcome in ("accepted", "rejected", "failed"):  # every series exists from start
            self._events.add(0, {"outcome": outcome})
        self._duration = meter.create_histogram(
            "clickstream.ingest.request.duration", unit="s", description="Ingest request duration"
        )

    async def accept(
        self, headers: Mapping[str, str], body: bytes, *, source: str | None = None
    ) -> Accepted:
        """Validate and produce; returns once the broker acknowledged every valid event.

        Raises `InvalidEvent` when nothing was valid and `DependencyUnavailable` when the
        broker did not acknowledge them all (the sender retries; process dedups by id).
        """
        decoded = decode(headers, body, received_at=datetime.now(UTC), source=source)
        if decoded.problems:
            # one event with three bad fields is one rejected event
            rejected = len({p.index for p in decoded.problems})
            self._events.add(rejected, {"outcome": "rejected"})
        if not decoded.events:
            raise InvalidEvent(decoded.problems)
        started = time.perf_counter()
        try:
            await self._producer.send(self._topic, map(to_kafka, decoded.events))
        except Exception:
            self._events.add(len(decoded.events), {"outcome": "failed"})
            raise
        self._produce_latency.record(time.perf_counter() - started)
        self._events.add(len(decoded.events), {"outcome": "accepted"})
        return Accepted(len(decoded.events), decoded.problems)

    async def ready(self) -> bool:
        return await asyncio.to_thread(self._producer.ready)

    def record_request(self, status: int, seconds: float) -> None:
        self._duration.record(seconds, {"status": str(status)})
