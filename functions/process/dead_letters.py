"""The dead-letter sink: an HTTP CloudEvent endpoint storing each dead letter durably."""

from __future__ import annotations

import base64
from typing import Any

import psycopg
from cloudevents.conversion import to_dict
from cloudevents.exceptions import GenericException as CloudEventError
from cloudevents.http import from_http
from opentelemetry.metrics import Meter
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

ERROR_EXTENSIONS = ("knativeerrordest", "knativeerrorcode", "knativeerrordata")

INSERT = """
INSERT INTO dead_letters (event_id, event, knativeerrordest, knativeerrorcode, knativeerrordata)
VALUES (%s, %s, %s, %s, %s)
"""


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"data_base64": base64.b64encode(value).decode()}
    return value


class DeadLetterSink:
    def __init__(self, pool: AsyncConnectionPool, meter: Meter) -> None:
        self._pool = pool
        self._stored = meter.create_counter(
            "clickstream.deadletters", unit="{event}", description="Dead letters stored"
        )
        self._stored.add(0, {"code": "unknown"})  # the series exists before the first letter

    async def receive(self, request: Request) -> Response:
        try:
            event = from_http(dict(request.headers), await request.body())
        except (CloudEventError, ValueError, TypeError) as error:
            return JSONResponse(
                {"errors": [{"index": None, "field": "$", "rule": f"not a CloudEvent: {error}"}]},
                status_code=400,
            )
        document = to_dict(event)
        document["data"] = _json_safe(document.get("data"))
        extensions = [event.get(name) for name in ERROR_EXTENSIONS]
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute(INSERT, (event["id"], Jsonb(document), *extensions))
        except psycopg.OperationalError as error:
            return JSONResponse(
                {
                    "error": {
                        "code": "UNAVAILABLE",
                        "message": f"postgresql: {error}",
                        "field": None,
                    }
                },
                status_code=503,
                headers={"Retry-After": "1"},
            )
        self._stored.add(1, {"code": str(extensions[1] or "unknown")})
        return JSONResponse({"stored": True}, status_code=202)
