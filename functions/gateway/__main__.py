"""`python -m functions.gateway`: serve the REST gateway on `PORT`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request

from functions.core.config import Settings, fails_fast, load_settings, require_gateway_tokens
from functions.core.db import connect
from functions.core.serving import function_app, probe_routes, serve
from functions.core.sites import KeyRing, KeyRingRefresher, env_grants
from functions.core.telemetry import init_metrics
from functions.gateway.client import QueryClient
from functions.gateway.count_protocol import count_protocol
from functions.gateway.count_reads import CountReads
from functions.gateway.local_counts import LocalCounts, follow

READY_TIMEOUT_S = 1.0
# the largest body a route takes is a replay's list of at most 10,000 ids (~200 KB)
MAX_BODY_BYTES = 256 * 1024


def build_app(settings: Settings) -> Starlette:
    init_metrics("gateway", settings.metrics_port)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.query = QueryClient(settings.query_addr)
        # the tokens of every site (the fast count paths check them too), reloaded from
        # PostgreSQL, and the environment's
        app.state.keys = KeyRing(
            env_grants({}, settings.gateway_read_tokens, settings.gateway_admin_tokens)
        )
        refresher = KeyRingRefresher(app.state.keys, lambda: connect(settings.database_url))
        await refresher.refresh()
        refresher.start()
        app.state.dashboard_dir = settings.dashboard_dir
        app.state.public = settings.gateway_public
        app.state.counts = None
        following = None
        if settings.gateway_cache_entries:
            app.state.counts = LocalCounts(settings.gateway_cache_entries, settings.cache_ttl_s)
            following = asyncio.create_task(follow(app.state.counts, settings.redis_url))
        yield
        if following is not None:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
        await refresher.close()
        await app.state.query.close()

    async def readiness(request: Request) -> dict[str, bool]:
        """Ready when `query` reports SERVING (it follows PostgreSQL)."""
        client: QueryClient = request.app.state.query
        try:
            answer = await asyncio.wait_for(client.health(), READY_TIMEOUT_S)
        except (TimeoutError, grpc.aio.AioRpcError):
            return {"query": False}
        return {"query": answer.status == health_pb2.HealthCheckResponse.SERVING}

    app = function_app(
        Path(__file__).with_name("main.py"),
        "gateway",
        lifespan,
        probe_routes(readiness),
        front=[CountReads],
        max_body_bytes=MAX_BODY_BYTES,
    )
    if settings.cors_origins:
        # the dashboard served from another origin (e.g. its dev server)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    return app


@fails_fast
def main() -> None:
    settings = load_settings("gateway")
    require_gateway_tokens(settings)
    app = build_app(settings)
    serve(app, settings.port, http=count_protocol(app))


if __name__ == "__main__":
    main()
