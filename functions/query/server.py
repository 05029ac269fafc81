"""query: the AnalyticsService gRPC server (health and reflection included)."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import grpc
import uvloop
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.metrics import Histogram

from functions.core import goals
from functions.core.cache import Cache
from functions.core.config import Settings, fails_fast, load_settings
from functions.core.db import database_ready, open_pool
from functions.core.epoch import EpochWatch
from functions.core.errors import (
    ConfigError,
    DependencyUnavailable,
    InvalidArgument,
    log_unavailable,
)
from functions.core.events import site_argument
from functions.core.memory import freeze_startup_objects
from functions.core.replayer import Replayer
from functions.core.telemetry import init_metrics
from functions.query import validate
from functions.query.dimensions import dimension
from functions.query.filters import query, realtime_query
from functions.query.lifecycle import Lifecycle
from functions.query.reads import Reads

log = logging.getLogger("clickstream.query")
Response = TypeVar("Response")
# an erasure's `actor`, as recorded
MAX_ACTOR_LENGTH = 200
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AnalyticsService"].full_name


@asynccontextmanager
async def _statuses(
    service: AnalyticsService, name: str, context: grpc.aio.ServicerContext
) -> AsyncIterator[None]:
    """The one place errors become gRPC statuses; also times every call."""
    started = time.perf_counter()
    code = grpc.StatusCode.OK
    try:
        yield
    except InvalidArgument as error:
        code = grpc.StatusCode.INVALID_ARGUMENT
        context.set_trailing_metadata((("field", error.field),))
        await context.abort(code, str(error))
    except DependencyUnavailable as error:
        code = grpc.StatusCode.UNAVAILABLE
        log_unavailable(log, error)
        # the dependency's name, for the gateway's log; never its words (a host, a port)
        await context.abort(code, f"{error.dependency} is unavailable")
    except ConfigError as error:
        # a call this deployment is not configured for (replay without Kafka): the
        # server runs and serves the rest, so it is not a start-up failure
        code = grpc.StatusCode.FAILED_PRECONDITION
        await context.abort(code, f"not configured: {error}")
    except Exception:
        code = grpc.StatusCode.INTERNAL
        log.exception("%s failed", name)
        await context.abort(code, "internal error")
    finally:
        service.duration.record(time.perf_counter() - started, {"rpc": name, "code": code.name})


def rpc(
    method: Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Response]],
) -> Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Response]]:
    """A unary call whose errors become statuses (`_statuses`)."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Response:
        async with _statuses(self, method.__name__, context):
            return await method(self, request, context)
        raise AssertionError("unreachable: abort raises")

    return wrapper


def rpc_stream(
    method: Callable[[Any, Any, grpc.aio.ServicerContext], AsyncIterator[Response]],
) -> Callable[[Any, Any, grpc.aio.ServicerContext], AsyncIterator[Response]]:
    """A server-streaming call whose errors become statuses (`_statuses`), timed to its
    last message."""

    @functools.wraps(method)
    async def wrapper(
        self: Any, request: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Response]:
        async with _statuses(self, method.__name__, context):
            async for message in method(self, request, context):
                yield message

    return wrapper


class AnalyticsService(pb_grpc.AnalyticsServiceServicer):
    def __init__(
        self, reads: Reads, replayer: Replayer, lifecycle: Lifecycle, duration: Histogram
    ) -> None:
        self.reads = reads
        self.replayer = replayer
        self.lifecycle = lifecycle
        self.duration = duration

    @rpc
    async def GetEventCount(
        self, request: pb.GetEventCountRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEventCountResponse:
        site, user_id, page_url = validate.count_key(request)
        [count] = await self.reads.event_counts([(site, user_id, page_url)])
        return pb.GetEventCountResponse(user_id=user_id, page_url=page_url, count=count)

    @rpc
    async def GetEventCounts(
        self, request: pb.GetEventCountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEventCountsResponse:
        keys = validate.count_keys(request.keys)
        counts = await self.reads.event_counts(keys)
        return pb.GetEventCountsResponse(
            counts=[
                pb.GetEventCountResponse(user_id=user_id, page_url=page_url, count=count)
                for (_, user_id, page_url), count in zip(keys, counts, strict=True)
            ]
        )

    @rpc
    async def GetOverview(
        self, request: pb.GetOverviewRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetOverviewResponse:
        return await self.reads.overview(query(request.range, request.site, request.filters))

    @rpc
    async def GetTopPages(
        self, request: pb.GetTopPagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTopPagesResponse:
        limit = validate.limit(request.limit)
        read = query(request.range, request.site, request.filters)
        return await self.reads.top_pages(read, limit)

    @rpc
    async def GetEventTypes(
        self, request: pb.GetEventTypesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEventTypesResponse:
        limit = validate.limit(request.limit)
        window = validate.window(request.range, request.site)
        return await self.reads.event_types(window, limit)

    @rpc
    async def GetTimeSeries(
        self, request: pb.GetTimeSeriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTimeSeriesResponse:
        grain = validate.grain(request.bucket)
        read = query(request.range, request.site, request.filters, grain)
        validate.points(read.window, grain)
        page_url = (
            validate.text("page_url", request.page_url, validate.MAX_PAGE_URL_LENGTH)
            if request.HasField("page_url")
            else None
        )
        bucket = pb.BUCKET_HOUR if grain == "hour" else pb.BUCKET_MINUTE
        return await self.reads.time_series(read, grain, bucket, page_url)

    @rpc
    async def GetUserActivity(
        self, request: pb.GetUserActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUserActivityResponse:
        user_id = validate.text("user_id", request.user_id, validate.MAX_USER_ID_LENGTH)
        limit = validate.limit(request.limit)
        window = validate.window(request.range, request.site)
        return await self.reads.user_activity(user_id, window, limit)

    @rpc
    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeadLettersResponse:
        limit = validate.limit(request.limit)
        site = validate.letters_site(request)
        return await self.reads.dead_letters(limit, validate.cursor(request.cursor), site)

    @rpc
    async def ReplayDeadLetters(
        self, request: pb.ReplayDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReplayDeadLettersResponse:
        replayed = await self.replayer.replay(validate.replay_selection(request))
        return pb.ReplayDeadLettersResponse(replayed=replayed)

    @rpc
    async def ListSites(
        self, request: pb.ListSitesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSitesResponse:
        return await self.reads.sites()

    @rpc
    async def GetBreakdown(
        self, request: pb.GetBreakdownRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBreakdownResponse:
        by = dimension(request.dimension)
        limit = validate.limit(request.limit)
        read = query(request.range, request.site, request.filters)
        return await self.reads.breakdown(read, by, limit)

    @rpc
    async def GetVisits(
        self, request: pb.GetVisitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetVisitsResponse:
        return await self.reads.visits(query(request.range, request.site, request.filters))

    @rpc
    async def GetGoals(
        self, request: pb.GetGoalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetGoalsResponse:
        asked = goals.goals(request.goals, "goals", 1, goals.MAX_GOALS)
        return await self.reads.goals(query(request.range, request.site, request.filters), asked)

    @rpc
    async def GetFunnel(
        self, request: pb.GetFunnelRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetFunnelResponse:
        steps = goals.goals(request.steps, "steps", goals.MIN_STEPS, goals.MAX_STEPS)
        return await self.reads.funnel(query(request.range, request.site, request.filters), steps)

    @rpc
    async def GetRealtime(
        self, request: pb.GetRealtimeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRealtimeResponse:
        limit = validate.limit(request.limit)
        return await self.reads.realtime(realtime_query(request.site, request.filters), limit)

    @rpc
    async def EraseUser(
        self, request: pb.EraseUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.EraseUserResponse:
        site = site_argument(request.site)
        user_id = validate.text("user_id", request.user_id, validate.MAX_USER_ID_LENGTH)
        actor = validate.text("actor", request.actor, MAX_ACTOR_LENGTH)
        return await self.lifecycle.erase(site, user_id, actor)

    @rpc_stream
    async def ExportEvents(
        self, request: pb.ExportEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ExportEventsBatch]:
        read = query(request.range, request.site, request.filters)
        async for batch in self.lifecycle.export(read):
            yield batch


async def serve(settings: Settings) -> None:
    meter = init_metrics("query", settings.metrics_port)
    pool = await open_pool(settings.database_url, settings.db_pool_max, plan_each_execution=True)
    cache = Cache(settings.redis_url)
    duration = meter.create_histogram(
        "clickstream.query.duration", unit="s", description="AnalyticsService call duration"
    )
    server = grpc.aio.server()
    reads = Reads(pool, cache, settings.cache_ttl_s, meter)
    replayer = Replayer(pool.connection, settings)
    lifecycle = Lifecycle(pool, cache, settings.erasure_hash_key)
    pb_grpc.add_AnalyticsServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AnalyticsService(reads, replayer, lifecycle, duration), server
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    server.add_insecure_port(f"[::]:{settings.port}")
    await server.start()
    freeze_startup_objects()

    async def watch_readiness() -> None:
        # SERVING follows PostgreSQL; Redis down only slows answers, so it does not count
        while True:
            up = await database_ready(pool)
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if up
                else (health_pb2.HealthCheckResponse.NOT_SERVING)
            )
            await health_servicer.set("", status)
            await health_servicer.set(SERVICE_NAME, status)
            await asyncio.sleep(5)

    watcher = asyncio.create_task(watch_readiness())
    epochs = asyncio.create_task(EpochWatch(pool, cache, reads.forget_parts).run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    watcher.cancel()
    epochs.cancel()
    await server.stop(grace=10)
    replayer.close()
    await reads.close()
    await cache.close()
    await pool.close()


@fails_fast
def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvloop.run(serve(load_settings("query")))
