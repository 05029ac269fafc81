"""PostgreSQL restarted mid-stream: deliveries fail with 5xx, are retried, and every event is
stored exactly once."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures.pipeline import (
    FROM_SCRATCH,
    PipelineFactory,
    aggregate_differences,
    make_events,
    produce,
    wait_stored,
)
from tests.fixtures.postgres_cluster import pg_ctlcluster

# generous: these streams are long, and the machine is shared
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

TOTAL = 20_000


def test_restart_mid_stream_loses_and_doubles_nothing(
    pipelines: PipelineFactory, database_url: str
) -> None:
    run = uuid.uuid4().hex[:8]
    pipeline, topic = pipelines()
    pipeline.start("process")
    pipeline.start("dispatcher")
    produce(pipelines.bootstrap, topic, make_events(run, TOTAL))
    assert wait_stored(database_url, run, TOTAL // 4, timeout_s=300) >= TOTAL // 4
    pg_ctlcluster("restart")
    assert wait_stored(database_url, run, TOTAL, timeout_s=600) == TOTAL, pipeline.log("process")
    assert aggregate_differences(database_url) == dict.fromkeys(FROM_SCRATCH, 0)
