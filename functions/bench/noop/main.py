"""The no-op function (functions-framework CloudEvent function `noop`): counts and acks."""

from __future__ import annotations

from cloudevents.abstract import AnyCloudEvent
from functions_framework import aio

from functions.bench.noop.counter import Received


@aio.cloud_event
async def noop(event: AnyCloudEvent) -> None:
    """Acknowledge (200) without doing anything but counting."""
    Received.one()
