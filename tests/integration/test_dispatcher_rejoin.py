"""The dispatcher stalls past `max.poll.interval.ms` while its partitions are paused (every
slot waiting on retries because `process` is down): the broker revokes them, the dispatcher
rejoins, and delivery resumes on the reassigned partitions."""

from __future__ import annotations

import signal
import time
import uuid

import httpx
import pytest

from functions.core.kafka import GROUP_TIMEOUTS
from tests.fixtures.metrics import metric
from tests.fixtures.pipeline import PipelineFactory, make_events, produce, wait_stored
from tests.fixtures.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TOTAL = 2_000
# polled at a time: far fewer than TOTAL, so most records are still in the topic when it stalls
IN_FLIGHT = 20


def test_stall_beyond_max_poll_interval_while_paused_resumes_delivery(
    pipelines: PipelineFactory, database_url: str
) -> None:
    run = uuid.uuid4().hex[:8]
    pipeline, topic = pipelines(
        DELIVERY_MAX_POLL_RECORDS=str(IN_FLIGHT),
        DELIVERY_BACKOFF_POLICY="linear",
        DELIVERY_BACKOFF_DELAY_SECONDS="0.2",
        DELIVERY_RETRY="100",
    )
    produce(pipelines.bootstrap, topic, make_events(run, TOTAL))
    pipeline.start("dispatcher")  # process is not running: every delivery is retried
    metrics_url = f"http://127.0.0.1:{pipeline.metrics_ports['dispatcher']}/metrics"

    def retrying() -> bool:
        try:
            return metric(metrics_url, "clickstream_dispatcher_retries_total") > 0
        except httpx.HTTPError:  # not serving metrics yet
            return False

    eventually(retrying, "the dispatcher never retried a delivery", timeout_s=60)
    time.sleep(2)  # every slot busy for longer than the dispatcher waits before pausing

    dispatcher = pipeline.processes["dispatcher"]
    dispatcher.send_signal(signal.SIGSTOP)
    try:
        pipeline.start("process")
        time.sleep(GROUP_TIMEOUTS["max.poll.interval.ms"] / 1000 + 2)
    finally:
        dispatcher.send_signal(signal.SIGCONT)

    assert wait_stored(database_url, run, TOTAL, timeout_s=120) == TOTAL, pipeline.log("dispatcher")
    # the fault happened: the broker took the partitions away during the stall
    revoked = metric(metrics_url, "clickstream_dispatcher_revoked_partitions_total")
    assert revoked > 0, pipeline.log("dispatcher")
