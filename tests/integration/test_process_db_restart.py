"""PostgreSQL restarted mid-stream: deliveries fail with 5xx, are retried, and every event is
stored exactly once."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
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
from tests.fixtures.services import missing

# generous: these streams are long, and the machine is shared
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

TOTAL = 20_000


def restart_postgresql() -> None:
    """Restart the local cluster the tests use (Debian's pg_ctlcluster, as root)."""
    clusters = glob.glob("/etc/postgresql/*/main")
    if shutil.which("pg_ctlcluster") is None or not clusters or os.geteuid() != 0:
        missing("restarting PostgreSQL needs Debian's pg_ctlcluster and root")
    version = clusters[0].split("/")[3]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )


def test_restart_mid_stream_loses_and_doubles_nothing(
    pipelines: PipelineFactory, database_url: str
) -> None:
    run = uuid.uuid4().hex[:8]
    pipeline, topic = pipelines()
    pipeline.start("process")
    pipeline.start("dispatcher")
    produce(pipelines.bootstrap, topic, make_events(run, TOTAL))
    assert wait_stored(database_url, run, TOTAL // 4, timeout_s=300) >= TOTAL // 4
    restart_postgresql()
    assert wait_stored(database_url, run, TOTAL, timeout_s=600) == TOTAL, pipeline.log("process")
    assert aggregate_differences(database_url) == dict.fromkeys(FROM_SCRATCH, 0)
