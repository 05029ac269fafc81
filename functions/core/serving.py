"""Serving a functions-framework function: its ASGI app, our probes, lifespan and uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import uvicorn
from functions_framework import aio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


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


def function_app(
    source: Path, target: str, lifespan: Lifespan, routes: list[BaseRoute]
) -> Starlette:
    """functions-framework's ASGI app for `target` in `source`, with `routes` served first."""
    app: Starlette = aio.create_asgi_app(target=target, source=str(source))  # type: ignore[no-untyped-call]
    app.router.routes[:0] = routes
    app.router.lifespan_context = lifespan
    return app


def serve(app: Callable[..., Awaitable[None]] | Starlette, port: int) -> None:
    """Run under uvicorn; SIGTERM drains in-flight requests, then the lifespan closes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvicorn.run(
        app,
        host="0.0.0.0",
        port=port,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=20,
        lifespan="on",
    )
