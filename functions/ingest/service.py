"""Ingest's work: decode a request, hand the valid events to Kafka, count the outcomes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from opentelemetry.metrics import Meter

from functions.core.errors import InvalidEvent, Problem
from functions.core.events import to_kafka
from functions.core.kafka import AsyncProducer
from functions.ingest.cookieless import Visitors
from functions.ingest.decode import Decoded, Enrich, VisitorIds, decode
from functions.ingest.enrich import Enricher


class Decoder(Protocol):
    """A request form: native (`decode.decode`) or Plausible's (`plausible.decode`)."""

    def __call__(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        received_at: datetime,
        site: str | None,
        enrich: Enrich | None = None,
        visitors: VisitorIds | None = None,
    ) -> Decoded: ...


@dataclass(frozen=True, slots=True)
class Accepted:
    count: int
    rejected: list[Problem]


class IngestService:
    def __init__(
        self,
        producer: AsyncProducer,
        topic: str,
        meter: Meter,
        enricher: Enricher | None = None,
        registered: Callable[[str], bool] | None = None,
        visitors: Visitors | None = None,
    ) -> None:
        """`enricher` None: enrichment off (`INGEST_ENRICHMENT=off`), so no bot filtering.
        `registered`, when given (`SITES_REQUIRE_REGISTRATION=true`), tells the sites whose
        events are kept; the others' are answered 202 and dropped, as Plausible does.
        `visitors` names the users of events that name none (cookieless); without it such
        events are refused (`user_id` required)."""
        self._producer = producer
        self._visitors = visitors
        self._topic = topic
        self._enricher = enricher
        self._registered = registered
        self._events = meter.create_counter(
            "clickstream.ingest.events", unit="{event}", description="Events by outcome"
        )
        self._produce_latency = meter.create_histogram(
            "clickstream.kafka.produce.latency",
            unit="s",
            description="From produce to the broker's acknowledgement of a request's events",
        )
        for outcome in (
            "accepted",
            "rejected",
            "failed",
            "bot",
            "unknown_site",
        ):  # every series exists from start
            self._events.add(0, {"outcome": outcome})
        self._duration = meter.create_histogram(
            "clickstream.ingest.request.duration", unit="s", description="Ingest request duration"
        )

    async def accept(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        site: str | None = None,
        peer: str | None = None,
        forwarded: Sequence[str] = (),
        form: Decoder = decode,
    ) -> Accepted:
        """Validate, enrich and produce; returns once the broker acknowledged every valid
        event. `peer` is the direct peer's address, `forwarded` the `X-Forwarded-For`
        values: they locate the client, and go no further.

        Raises `InvalidEvent` when nothing was valid and `DependencyUnavailable` when the
        broker did not acknowledge them all (the sender retries; process dedups by id).
        Bots' events count as accepted in the answer (a bot learns nothing) but are not
        produced.
        """
        enrich = None
        if self._enricher is not None:
            enrich = self._enricher.for_request(headers, peer, forwarded)
        visitors = None
        if self._visitors is not None:
            visitors = await self._visitors.for_request(headers, peer, forwarded)
        decoded = form(
            headers,
            body,
            received_at=datetime.now(UTC),
            site=site,
            enrich=enrich,
            visitors=visitors,
        )
        if decoded.problems:
            # one event with three bad fields is one rejected event
            rejected = len({p.index for p in decoded.problems})
            self._events.add(rejected, {"outcome": "rejected"})
        if decoded.bots:
            self._events.add(decoded.bots, {"outcome": "bot"})
        dropped = decoded.bots
        if self._registered is not None:
            kept = [event for event in decoded.events if self._registered(event.site)]
            if unknown := len(decoded.events) - len(kept):
                self._events.add(unknown, {"outcome": "unknown_site"})
            decoded.events, dropped = kept, dropped + unknown
        if not decoded.events:
            if dropped:
                return Accepted(dropped, decoded.problems)
            raise InvalidEvent(decoded.problems)
        started = time.perf_counter()
        try:
            await self._producer.send(self._topic, map(to_kafka, decoded.events))
        except Exception:
            self._events.add(len(decoded.events), {"outcome": "failed"})
            raise
        self._produce_latency.record(time.perf_counter() - started)
        self._events.add(len(decoded.events), {"outcome": "accepted"})
        return Accepted(len(decoded.events) + dropped, decoded.problems)

    async def ready(self) -> bool:
        return await asyncio.to_thread(self._producer.ready)

    def record_request(self, status: int, seconds: float) -> None:
        self._duration.record(seconds, {"status": str(status)})
