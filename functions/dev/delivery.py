"""KafkaSource's delivery rules (eventing-kafka-broker data plane), with no I/O."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

from cloudevents.http import CloudEvent
from cloudevents.kafka import KafkaMessage, from_binary

# Statuses KafkaSource retries; any other 4xx goes to the dead-letter sink at once.
RETRYABLE_4XX = frozenset({404, 408, 409, 429})


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """`spec.delivery` of a KafkaSource."""

    retry: int = 10
    backoff_policy: Literal["exponential", "linear"] = "exponential"
    backoff_delay_s: float = 0.3
    timeout_s: float = 10.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry number `attempt` (0-based), as Knative computes it."""
        if self.backoff_policy == "linear":
            return self.backoff_delay_s * (attempt + 1)
        return self.backoff_delay_s * float(2 ** (attempt + 1))


def acknowledged(status: int) -> bool:
    return status < 300


def retryable(status: int | None) -> bool:
    """No answer at all (timeout, refused) is retried like a 5xx."""
    return status is None or status >= 500 or status in RETRYABLE_4XX


def record_event(message: KafkaMessage, topic: str, partition: int, offset: int) -> CloudEvent:
    """The CloudEvent KafkaSource sends for a record: itself when it is one (binary binding),
    else a `dev.knative.kafka.event` wrapping the value."""
    if any(name.startswith("ce_") for name in message.headers):
        event = from_binary(message, data_unmarshaller=lambda value: value)
        key = event.get("partitionkey")
        if isinstance(key, bytes):  # the record key: an HTTP header carries text only
            event["partitionkey"] = key.decode(errors="replace")
        return event
    return CloudEvent(
        {
            "id": f"partition:{partition}/offset:{offset}",
            "source": f"/dev/kafkasource/{topic}",
            "type": "dev.knative.kafka.event",
            "subject": f"partition:{partition}#{offset}",
        },
        message.value,
    )


def dead_letter_event(
    event: CloudEvent, destination: str, status: int | None, body: bytes
) -> CloudEvent:
    """The event as sent to the dead-letter sink, with Knative's error extensions."""
    attributes = dict(event.get_attributes())
    attributes["knativeerrordest"] = destination
    if status is not None:
        attributes["knativeerrorcode"] = str(status)
    if body:
        attributes["knativeerrordata"] = base64.b64encode(body[:1024]).decode()
    return CloudEvent(attributes, event.get_data())
