"""Serving a functions-framework function: its ASGI app, our probes, golden-signal metrics,
lifespan and uvicorn."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol, cast

import uvicorn
from functions_framework import aio
from opentelemetry import metrics
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.core.binary_events import BinaryEvents, CloudEventFunction
from functions.core.coalesced_writes import CoalescedWritesProtocol
from functions.core.limits import BodyLimit
from functions.core.memory import freeze_startup_objects

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


class ASGIMiddleware(Protocol):
    def __init__(self, app: ASGIApp) -> None: ...
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"


class HttpMetrics:
    """ASGI middleware: `clickstream.http.server.request.duration` for every request.

    Labels stay low-cardinality: `route` is a template, never the URL: the one a handler
    names in `request.state.route` (a function serving several paths behind one catch-all),
    else the matched Starlette route's path (`/healthz`, `/{path:path}`), else `unmatched`;
    `method` is one of `METHODS` or `other`; `status_class` is `2xx`..`5xx`. A request that
    fails before its response starts counts as `5xx`, as the server error it becomes.
    """

    def __init__(self, app: ASGIApp, meter: metrics.Meter | None = None) -> None:
        self.app = app
        self._duration = request_duration(meter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            self._duration.record(
                time.perf_counter() - started,
                {
                    "route": route_template(scope),
                    "method": method,
                    "status_class": f"{status // 100}xx",
                },
            )


def request_duration(meter: metrics.Meter | None = None) -> metrics.Histogram:
    """The instrument `HttpMetrics` records into; a meter hands the same one to every caller,
    so a request answered below ASGI lands in the same series."""
    meter = meter or metrics.get_meter("clickstream.http")
    return meter.create_histogram(
        "clickstream.http.server.request.duration",
        unit="s",
        description="HTTP request duration by route template, method and status class",
    )


def route_template(scope: Scope) -> str:
    """The route label of a finished request (see `HttpMetrics`)."""
    named = scope.get("state", {}).get("route")
    if isinstance(named, str):
        return named
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def probe_routes(
    readiness: Callable[[Request], Awaitable[dict[str, bool]]],
    optional: frozenset[str] = frozenset({"redis"}),
) -> list[BaseRoute]:
    """`/healthz` says the process runs; `/readyz` checks each dependency and names it.

    A failed `optional` dependency (the cache) reports `degraded` but stays ready.
    """

    async def alive(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        checks = await readiness(request)
        ok = all(up for name, up in checks.items() if name not in optional)
        status = "ok" if all(checks.values()) else "degraded" if ok else "unavailable"
        return JSONResponse(
            {"status": status, "checks": checks},
            status_code=200 if ok else 503,
        )

    return [Route("/healthz", alive, methods=["GET"]), Route("/readyz", ready, methods=["GET"])]


CATCH_ALL = "/{path:path}"


def function_app(
    source: Path,
    target: str,
    lifespan: Lifespan,
    routes: list[BaseRoute],
    front: Sequence[type[ASGIMiddleware]] = (),
    binary_events: CloudEventFunction | None = None,
    max_body_bytes: int | None = None,
) -> Starlette:
    """functions-framework's ASGI app for `target` in `source`, with `routes` served first,
    the `front` middleware before functions-framework's own layers, and every request
    measured by `HttpMetrics`. A CloudEvent function passed again as `binary_events` gets its
    binary-mode deliveries before all of those (`functions.core.binary_events`). A body over
    `max_body_bytes` is answered 413 before any of them (`functions.core.limits`; None: the
    function caps its bodies itself, as ingest does with its own error shape)."""
    app: Starlette = aio.create_asgi_app(target=target, source=str(source))  # type: ignore[no-untyped-call]
    app.router.routes[:0] = routes
    # functions-framework's catch-all `/{path:path}` is a regex that no path holding a newline
    # matches (`%0A` in a user id): those reach the function too, not Starlette's bare 404
    catch_all = next(r for r in app.router.routes if getattr(r, "path", None) == CATCH_ALL)
    app.router.default = cast(Route, catch_all).app
    app.router.lifespan_context = lifespan
    for middleware in front:
        app.add_middleware(middleware)
    if binary_events is not None:
        app.add_middleware(BinaryEvents, function=binary_events)
    if max_body_bytes is not None:
        app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(HttpMetrics)  # added last: the outermost, so it measures the front too
    return app


def serve(
    app: Callable[..., Awaitable[None]] | Starlette,
    port: int,
    http: type[asyncio.Protocol] = CoalescedWritesProtocol,
) -> None:
    """Run under uvicorn with `http` as its HTTP protocol (by default uvicorn's own, each
    answer sent in one write); SIGTERM drains in-flight requests, then the lifespan closes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    freeze_startup_objects()
    uvicorn.run(
        app,
        host="0.0.0.0",
        port=port,
        access_log=False,
        # scope["client"] stays the direct peer: uvicorn would replace it with an
        # X-Forwarded-For hop of its own choosing; ingest decides whom to believe
        # (functions/ingest/enrich.py, INGEST_TRUSTED_PROXIES)
        proxy_headers=False,
        log_level="warning",
        timeout_graceful_shutdown=20,
        lifespan="on",
        http=http,
    )
