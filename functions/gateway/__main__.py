"""`python -m functions.gateway`: serve the REST gateway on `PORT`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
from starlette.applications import Starlette
from starlette.requests import Request

from functions.core.config import Settings, fails_fast, load_settings
from functions.core.serving import function_app, probe_routes, serve
from functions.core.telemetry import init_metrics
from functions.gateway.client import QueryClient

READY_TIMEOUT_S = 1.0


def build_app(settings: Settings) -> Starlette:
    init_metrics("gateway", settings.metrics_port)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.query = QueryClient(settings.query_addr)
        yield
        await app.state.query.close()

    async def readiness(request: Request) -> dict[str, bool]:
        client: QueryClient = request.app.state.query
        try:
            await asyncio.wait_for(client.channel.channel_ready(), READY_TIMEOUT_S)
        except (TimeoutError, grpc.aio.AioRpcError):
            return {"query": False}
        return {"query": True}

    return function_app(
        Path(__file__).with_name("main.py"), "gateway", lifespan, probe_routes(readiness)
    )


@fails_fast
def main() -> None:
    settings = load_settings("gateway")
    serve(build_app(settings), settings.port)


if __name__ == "__main__":
    main()
