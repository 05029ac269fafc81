"""`python -m functions.process`: serve the process function and the dead-letter sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from functions.core.cache import Cache
from functions.core.config import Settings, fails_fast, load_settings
from functions.core.db import database_ready, open_pool
from functions.core.retention import Maintainer
from functions.core.serving import function_app, probe_routes, serve
from functions.core.telemetry import init_metrics
from functions.process import runtime
from functions.process.dead_letters import DeadLetterSink
from functions.process.main import process
from functions.process.roller import Roller
from functions.process.service import ProcessService

# a delivery carries one event (or one dead letter holding one), and ingest accepts no
# request over 1 MiB: anything larger did not come from the pipeline
MAX_BODY_BYTES = 1024 * 1024


def build_app(settings: Settings) -> Starlette:
    meter = init_metrics("process", settings.metrics_port)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await open_pool(settings.database_url, settings.db_pool_max)
        cache = Cache(settings.redis_url)
        service = ProcessService(pool, settings.db_pool_max, cache, settings.cache_ttl_s, meter)
        service.committer.start()
        service.cache_updates.start()
        # the report roll-ups, built in the background, never in a delivery's path
        roller = Roller(pool)
        roller.start()
        # time partitions made ahead and a site's expired raw events dropped: at start, then
        # hourly (functions/core/retention.py)
        maintainer = Maintainer(pool)
        maintainer.start()
        runtime.install(service)
        app.state.pool, app.state.cache = pool, cache
        app.state.dead_letters = DeadLetterSink(pool, meter)
        yield
        runtime.install(None)
        await maintainer.stop()
        await roller.stop()
        await service.committer.stop()
        await service.cache_updates.stop()
        await cache.close()
        await pool.close()

    async def readiness(request: Request) -> dict[str, bool]:
        return {
            "postgresql": await database_ready(request.app.state.pool),
            "redis": await request.app.state.cache.ready(),
        }

    async def dead_letter(request: Request) -> Response:
        sink: DeadLetterSink = request.app.state.dead_letters
        return await sink.receive(request)

    routes = [*probe_routes(readiness), Route("/dead-letters", dead_letter, methods=["POST"])]
    return function_app(
        Path(__file__).with_name("main.py"),
        "process",
        lifespan,
        routes,
        binary_events=process,
        max_body_bytes=MAX_BODY_BYTES,
    )


@fails_fast
def main() -> None:
    settings = load_settings("process")
    serve(build_app(settings), settings.port)


if __name__ == "__main__":
    main()
