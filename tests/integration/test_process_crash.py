"""Crashes mid-stream (kill -9 of process, then of the dispatcher): stored exactly once."""

from __future__ import annotations

import time
import uuid

import pytest

from functions.dev.scrape import total
from tests.fixtures.pipeline import (
    FROM_SCRATCH,
    PipelineFactory,
    aggregate_differences,
    make_events,
    produce,
    wait_committed,
    wait_stored,
)

# generous: these streams are long, and the machine is shared
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

TOTAL = 50_000


def test_kill_9_of_process_and_dispatcher_loses_and_doubles_nothing(
    pipelines: PipelineFactory, database_url: str
) -> None:
    run = uuid.uuid4().hex[:8]
    pipeline, topic = pipelines()
    pipeline.start("process")
    pipeline.start("dispatcher")
    produce(pipelines.bootstrap, topic, make_events(run, TOTAL))

    assert wait_stored(database_url, run, TOTAL // 4, timeout_s=300) >= TOTAL // 4
    pipeline.kill("process")
    time.sleep(1)  # deliveries fail meanwhile and are retried
    pipeline.start("process")

    assert wait_stored(database_url, run, TOTAL // 2, timeout_s=300) >= TOTAL // 2
    # the first fault happened: deliveries to the killed process failed and were retried
    assert total(pipeline.metrics("dispatcher"), "clickstream_dispatcher_retries_total")
    duplicates = "clickstream_process_events_total"
    before = total(pipeline.metrics("process"), duplicates, outcome="duplicate") or 0
    pipeline.kill("dispatcher")  # its uncommitted offsets are redelivered
    pipeline.start("dispatcher")

    assert wait_stored(database_url, run, TOTAL, timeout_s=600) == TOTAL
    # the second fault happened: records already stored came again (as duplicates)
    after = total(pipeline.metrics("process"), duplicates, outcome="duplicate") or 0
    assert after > before
    assert wait_committed(pipelines.bootstrap, topic, TOTAL, timeout_s=120) == TOTAL
    assert aggregate_differences(database_url) == dict.fromkeys(FROM_SCRATCH, 0)
