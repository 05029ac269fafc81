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
        return _base64(value)
    return value


def _base64(data: bytes) -> dict[str, str]:
    return {"data_base64": base64.b64encode(data).decode()}


def _storable(text: str) -> str:
    """`text` as a PostgreSQL text value can hold it (no NUL, no lone surrogate)."""
    return text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")


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
            try:
                await self._insert(event["id"], document, extensions)
            except (psycopg.DataError, UnicodeEncodeError):
                # a letter is often bad because of what PostgreSQL cannot hold (a NUL, a lone
                # surrogate): keep it all the same, its data as the bytes that came
                document = {k: _storable(str(v)) for k, v in document.items() if k != "data"}
                document["data"] = _base64(await request.body())
                await self._insert(_storable(event["id"]), document, extensions)
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

    async def _insert(self, event_id: str, document: dict[str, Any], extensions: list[Any]) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(INSERT, (event_id, Jsonb(document), *extensions))
