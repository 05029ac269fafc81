"""ingest: the HTTP front door (functions-framework function `ingest`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from functions_framework import aio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.core.config import Settings
from functions.core.errors import DependencyUnavailable, InvalidEvent, Problem, log_unavailable
from functions.ingest import plausible
from functions.ingest.access import (
    Unauthorized,
    cors_headers,
    preflight_headers,
    presented_key,
    site_for,
)
from functions.ingest.decode import MAX_BODY_BYTES, PayloadTooLarge, UnsupportedMediaType, decode
from functions.ingest.service import Accepted, Decoder, IngestService

log = logging.getLogger("clickstream.ingest")
INGEST_PATHS = ("/", "/ingest")
PLAUSIBLE_PATH = "/api/event"  # Plausible's Events API (functions/ingest/plausible.py)
TRACKER = (resources.files("functions.ingest") / "tracker.js").read_bytes()


def _errors(status: int, problems: list[dict[str, object]]) -> JSONResponse:
    return JSONResponse({"errors": problems}, status_code=status)


def _plausible_errors(problems: list[Problem]) -> JSONResponse:
    """Plausible's 400 shape, `{"errors": {field: [rule, ...]}}`, with our field names."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        found.setdefault(problem.field, []).append(problem.rule)
    return JSONResponse({"errors": found}, status_code=400)


def _native_answer(accepted: Accepted) -> JSONResponse:
    rejected = [p.as_json() for p in accepted.rejected]
    return JSONResponse({"accepted": accepted.count, "rejected": rejected}, status_code=202)


def _plausible_answer(_: Accepted) -> JSONResponse:
    return JSONResponse({}, status_code=202)


@dataclass(frozen=True, slots=True)
class Form:
    """A request form ingest answers: how it decodes and how it answers."""

    decode: Decoder
    answer: Callable[[Accepted], JSONResponse]
    invalid: Callable[[list[Problem]], JSONResponse]


def _native_errors(problems: list[Problem]) -> JSONResponse:
    return _errors(400, [p.as_json() for p in problems])


NATIVE = Form(decode, _native_answer, _native_errors)
PLAUSIBLE = Form(plausible.decode, _plausible_answer, _plausible_errors)


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}}, status_code=status
    )


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


async def _accept(
    request: Request, service: IngestService, settings: Settings, form: Form
) -> Response:
    """The one place ingest's errors become HTTP statuses."""
    try:
        keys = request.app.state.keys
        site = site_for(keys, presented_key(request.headers, request.query_params))
        if settings.sites_require_registration and not keys.loaded:
            raise DependencyUnavailable("postgresql", "registered sites are not loaded yet")
        accepted = await service.accept(
            dict(request.headers),
            await _body(request),
            site=site,
            peer=request.client.host if request.client else None,
            forwarded=request.headers.getlist("x-forwarded-for"),
            form=form.decode,
        )
        return form.answer(accepted)
    except Unauthorized as error:
        return _error(401, "UNAUTHENTICATED", str(error), "authorization")
    except InvalidEvent as error:
        return form.invalid(error.problems)
    except PayloadTooLarge as error:
        return _errors(413, [{"index": None, "field": error.field, "rule": error.rule}])
    except UnsupportedMediaType as error:
        rule = (
            f"{error.content_type} is not accepted; use application/json, text/plain or"
            " application/cloudevents+json, application/cloudevents-batch+json"
        )
        return _errors(415, [{"index": None, "field": "content-type", "rule": rule}])
    except DependencyUnavailable as error:
        log_unavailable(log, error)
        response = _error(503, "UNAVAILABLE", DependencyUnavailable.PUBLIC)
        response.headers["Retry-After"] = "1"
        return response


@aio.http
async def ingest(request: Request) -> Response:
    """Accept click events in every supported form; 202 once Kafka has them."""
    service: IngestService = request.app.state.ingest
    settings: Settings = request.app.state.settings
    origin = request.headers.get("origin")
    path = request.url.path
    if path == "/tracker.js" and request.method in ("GET", "HEAD"):
        return Response(
            TRACKER,
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=3600"},
        )
    if path == PLAUSIBLE_PATH:
        form = PLAUSIBLE
    elif path in INGEST_PATHS:
        form = NATIVE
    else:
        return _error(404, "NOT_FOUND", f"no route {path}")
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=preflight_headers(settings.cors_origins, origin))
    if request.method != "POST":
        refusal = _error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed; use POST")
        refusal.headers["Allow"] = "POST, OPTIONS"
        return refusal
    started = time.perf_counter()
    response = await _accept(request, service, settings, form)
    response.headers.update(cors_headers(settings.cors_origins, origin))
    service.record_request(response.status_code, time.perf_counter() - started)
    return response
