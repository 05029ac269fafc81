"""process: stores each delivered click (functions-framework CloudEvent function `process`)."""

from __future__ import annotations

import logging

import msgspec
from cloudevents.abstract import AnyCloudEvent
from functions_framework import aio
from starlette.exceptions import HTTPException

from functions.core.errors import DependencyUnavailable, InvalidEvent, log_unavailable
from functions.process import runtime

log = logging.getLogger("clickstream.process")


@aio.cloud_event
async def process(event: AnyCloudEvent) -> None:
    """2xx: stored (or already stored). 400: can never succeed, so KafkaSource dead-letters it
    at once. 503: transient, so it is retried."""
    try:
        await runtime.current().handle(event)
    except InvalidEvent as error:
        body = msgspec.json.encode({"errors": [p.as_json() for p in error.problems]}).decode()
        raise HTTPException(400, detail=body) from error
    except DependencyUnavailable as error:
        log_unavailable(log, error)
        raise HTTPException(
            503, detail=DependencyUnavailable.PUBLIC, headers={"Retry-After": "1"}
        ) from error
