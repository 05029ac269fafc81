"""ingest: the HTTP front door (functions-framework function `ingest`)."""

from __future__ import annotations

import time

from functions_framework import aio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.core.errors import DependencyUnavailable, InvalidEvent
from functions.ingest.decode import MAX_BODY_BYTES, PayloadTooLarge, UnsupportedMediaType
from functions.ingest.service import IngestService

INGEST_PATHS = ("/", "/ingest")


def _errors(status: int, problems: list[dict[str, object]]) -> JSONResponse:
    return JSONResponse({"errors": problems}, status_code=status)


async def _body(request: Request) -> bytes:
    """The body, refusing to buffer more than the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge("$", f"body must be at most {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge("$", f"body must be at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@aio.http
async def ingest(request: Request) -> Response:
    """Accept click events in every supported form; 202 once Kafka has them."""
    service: IngestService = request.app.state.ingest
    if request.url.path not in INGEST_PATHS:
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": "no such path"}}, 404)
    if request.method != "POST":
        return JSONResponse(
            {"error": {"code": "METHOD_NOT_ALLOWED", "message": "use POST"}},
            status_code=405,
            headers={"Allow": "POST"},
        )
    started = time.perf_counter()
    status = 500
    try:
        accepted = await service.accept(dict(request.headers), await _body(request))
        status = 202
        return JSONResponse(
            {"accepted": accepted.count, "rejected": [p.as_json() for p in accepted.rejected]},
            status_code=status,
        )
    except InvalidEvent as error:
        status = 400
        return _errors(status, [p.as_json() for p in error.problems])
    except PayloadTooLarge as error:
        status = 413
        return _errors(status, [{"index": None, "field": error.field, "rule": error.rule}])
    except UnsupportedMediaType as error:
        status = 415
        rule = (
            f"{error.content_type} is not accepted; use application/json, text/plain or"
            " application/cloudevents(+json|-batch+json)"
        )
        return _errors(status, [{"index": None, "field": "content-type", "rule": rule}])
    except DependencyUnavailable as error:
        status = 503
        return JSONResponse(
            {"error": {"code": "UNAVAILABLE", "message": str(error), "field": None}},
            status_code=status,
            headers={"Retry-After": "1"},
        )
    finally:
        service.record_request(status, time.perf_counter() - started)
