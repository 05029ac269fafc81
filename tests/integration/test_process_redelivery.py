"""Redelivery never changes a number: 10,000 events delivered twice, in both orders."""

from __future__ import annotations

import uuid

import pytest

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


@pytest.mark.parametrize("ordering", ["ordered", "unordered"])
def test_every_event_delivered_twice_is_counted_once(
    pipelines: PipelineFactory, database_url: str, ordering: str
) -> None:
    run = uuid.uuid4().hex[:8]
    events = make_events(run, 10_000)
    # ordered delivery waits for each answer per partition: partitions are its parallelism
    pipeline, topic = pipelines(partitions=8, DELIVERY_ORDERING=ordering)
    pipeline.start("process")
    pipeline.start("dispatcher")
    produce(pipelines.bootstrap, topic, events)
    produce(pipelines.bootstrap, topic, reversed(events))  # every record a second time
    assert wait_stored(database_url, run, 10_000, timeout_s=600) == 10_000
    # the stored count is reached before the second copies have all gone through
    assert wait_committed(pipelines.bootstrap, topic, 20_000, timeout_s=600) == 20_000, (
        pipeline.log("dispatcher")
    )
    assert wait_stored(database_url, run, 10_001, timeout_s=1) == 10_000
    assert aggregate_differences(database_url) == dict.fromkeys(FROM_SCRATCH, 0)
