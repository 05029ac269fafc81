"""Where the local KafkaSources send: `process` over HTTP, and KafkaSinks, which the cluster
runs as an HTTP service producing to a topic and which are played here by producing to that
topic directly (acknowledged by the broker, as the KafkaSink answers only then)."""

from __future__ import annotations

import logging

import aiohttp
from cloudevents.http import CloudEvent

from functions.core.errors import DependencyUnavailable
from functions.core.kafka import AsyncProducer
from functions.dev.delivery import event_request, kafka_message
from functions.dev.sources import Destination

log = logging.getLogger("clickstream.dispatcher")

Answer = tuple[int | None, bytes]  # the status (None: no answer at all) and the body
HttpRequest = tuple[dict[str, str], bytes]
# what a KafkaSink answers once the broker has the record
KAFKA_SINK_ACCEPTED = 202


class Sinks:
    def __init__(
        self, http: aiohttp.ClientSession, process_url: str, producer: AsyncProducer
    ) -> None:
        self._http = http
        self._process_url = process_url.rstrip("/")
        self._producer = producer

    def address(self, destination: Destination) -> str:
        """The destination's address, as `knativeerrordest` names it."""
        if destination.kind == "kafka":
            return f"kafka:{destination.topic}"
        return self._process_url + destination.path

    async def post(
        self, destination: Destination, request: HttpRequest, limit: aiohttp.ClientTimeout
    ) -> Answer:
        """One attempt at an HTTP destination, within `limit`."""
        headers, data = request
        url = self.address(destination)
        try:
            async with self._http.post(url, data=data, headers=headers, timeout=limit) as answer:
                return answer.status, await answer.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            log.info("POST %s failed: %r", url, error)
            # as the data plane: no response, so no code and no data for the dead letter
            return None, b""

    async def send(
        self, destination: Destination, event: CloudEvent, limit: aiohttp.ClientTimeout
    ) -> Answer:
        """One attempt at sending `event` (a dead letter) to `destination`."""
        if destination.kind == "process":
            return await self.post(destination, event_request(event), limit)
        try:
            await self._producer.send(destination.topic, [kafka_message(event)])
        except DependencyUnavailable as error:
            log.info("producing to %s failed: %s", destination.topic, error)
            return None, b""
        return KAFKA_SINK_ACCEPTED, b""
