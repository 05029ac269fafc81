"""Redis down: processing goes on, failed invalidations are counted, and no answer is served
from the cache longer than its TTL."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2

from functions.core.events import ClickEvent
from functions.dev.ports import free_port
from tests.fixtures.functions import running_function
from tests.fixtures.pipeline import PipelineFactory, produce, wait_stored
from tests.fixtures.query_server import health_is

pytestmark = pytest.mark.integration

TTL_S = 3
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis of this test's own, so it can be frozen without touching anyone else's."""
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    yield server, f"redis://127.0.0.1:{port}/0"
    server.send_signal(signal.SIGCONT)
    server.terminate()
    server.wait(10)


def invalidation_failures(exposition: str) -> float:
    for line in exposition.splitlines():
        if line.startswith("clickstream_process_cache_invalidation_failures_total"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def clicks(run: str, start: int, count: int) -> list[ClickEvent]:
    return [
        ClickEvent(
            event_id=f"{run}-{n}",
            user_id=f"{run}-user",
            event_type="click",
            page_url="/cached",
            time_stamp=datetime.now(UTC),
        )
        for n in range(start, start + count)
    ]


def test_processing_survives_a_frozen_redis_and_staleness_is_bounded_by_ttl(
    pipelines: PipelineFactory,
    database_url: str,
    own_redis: tuple[subprocess.Popen[bytes], str],
    tmp_path: Path,
) -> None:
    redis_server, redis_url = own_redis
    run = uuid.uuid4().hex[:8]
    # one TTL for the platform (one ConfigMap in the cluster): process writes counts in place,
    # so a write Redis runs late, after the outage, lives as long as process's TTL says
    pipeline, topic = pipelines(REDIS_URL=redis_url, CACHE_TTL_SECONDS=str(TTL_S))
    pipeline.start("process")
    pipeline.start("dispatcher")
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "CACHE_TTL_SECONDS": str(TTL_S)}
    with running_function(
        "functions.query", env, tmp_path / "query.log", ready=health_is(SERVING)
    ) as url:
        channel = grpc.insecure_channel(url.removeprefix("http://"))
        stub = pb_grpc.AnalyticsServiceStub(channel)  # type: ignore[no-untyped-call]
        request = pb.GetEventCountRequest(user_id=f"{run}-user", page_url="/cached")

        produce(pipelines.bootstrap, topic, clicks(run, 0, 100))
        assert wait_stored(database_url, run, 100) == 100
        assert stub.GetEventCount(request, timeout=5).count == 100  # now cached

        redis_server.send_signal(signal.SIGSTOP)
        produce(pipelines.bootstrap, topic, clicks(run, 100, 50))
        assert wait_stored(database_url, run, 150) == 150, pipeline.log("process")
        # the rows commit before their invalidation times out: wait for the count
        deadline = time.monotonic() + 10
        while invalidation_failures(pipeline.metrics("process")) < 1:
            assert time.monotonic() < deadline, "failed invalidations were not counted"
            time.sleep(0.2)

        redis_server.send_signal(signal.SIGCONT)
        # the entry cached before the outage missed its invalidation: it may be served
        # until its TTL runs out, never after
        deadline = time.monotonic() + TTL_S + 1
        while stub.GetEventCount(request, timeout=5).count != 150:
            assert time.monotonic() < deadline, "a stale answer outlived the cache TTL"
            time.sleep(0.2)
        channel.close()
