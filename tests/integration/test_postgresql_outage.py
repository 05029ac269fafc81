"""PostgreSQL down for longer than every retry budget, while events keep coming: each event
is stored or held as a dead letter (in Kafka while PostgreSQL is away, in `dead_letters` once
it is back); none is dropped; replaying the letters makes every count exact.

The budgets are shortened through the environment (2 retries 0.05 s apart, for both the
events source and the dead-letter source), not by changing a rule: a record still goes to
its dead-letter sink after its retries, and a letter that cannot be stored goes back onto
the dead-letter topic, as the manifests say.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping

import psycopg
import pytest

from tests.fixtures.metrics import metric
from tests.fixtures.pipeline import (
    FROM_SCRATCH,
    PipelineFactory,
    aggregate_differences,
    make_events,
    produce,
    stored,
    wait_committed,
    wait_stored,
)
from tests.fixtures.polling import eventually
from tests.fixtures.postgres_cluster import pg_ctlcluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BEFORE, DURING = 600, 400
DELIVERIES = "clickstream_dispatcher_deliveries_total"


def dead_lettered_only(database_url: str, run: str) -> int:
    """Events of the run held as dead letters and not stored."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT d.event_id) FROM dead_letters d"
            " WHERE d.event_id LIKE %s"
            " AND NOT EXISTS (SELECT 1 FROM click_events c WHERE c.event_id = d.event_id)",
            (f"{run}-%",),
        ).fetchone()
    return int(row[0]) if row else 0


def letter_ids(database_url: str, run: str) -> tuple[int, int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT min(id), max(id) FROM dead_letters WHERE event_id LIKE %s", (f"{run}-%",)
        ).fetchone()
    assert row is not None
    assert row[0] is not None, "no dead letter of the run"
    return int(row[0]), int(row[1])


def test_postgresql_down_past_every_retry_loses_nothing(
    pipelines: PipelineFactory, database_url: str
) -> None:
    run = uuid.uuid4().hex[:8]
    pipeline, topic = pipelines(
        DELIVERY_RETRY="2", DELIVERY_BACKOFF_DELAY_SECONDS="0.05", DELIVERY_TIMEOUT_SECONDS="1"
    )
    pipeline.start("process")
    pipeline.start("dispatcher")
    metrics_url = f"http://127.0.0.1:{pipeline.metrics_ports['dispatcher']}/metrics"
    events = make_events(run, BEFORE + DURING)
    produce(pipelines.bootstrap, topic, events[:BEFORE])
    assert wait_stored(database_url, run, BEFORE) == BEFORE

    pg_ctlcluster("stop")
    try:
        produce(pipelines.bootstrap, topic, events[BEFORE:])
        # past the events source's budget: its records are dead letters, in Kafka ...
        eventually(
            lambda: (
                metric(metrics_url, DELIVERIES, outcome="dead_lettered", source="clicks-to-process")
                >= DURING
            ),
            "the events source did not dead-letter every record while PostgreSQL was down",
            timeout_s=240,
        )
        # ... and past the dead-letter source's too: letters go round through their topic
        eventually(
            lambda: (
                metric(
                    metrics_url,
                    DELIVERIES,
                    outcome="dead_lettered",
                    source="dead-letters-to-process",
                )
                >= DURING
            ),
            "the dead-letter source did not send its letters back onto their topic",
            timeout_s=240,
        )
        time.sleep(3)
    finally:
        pg_ctlcluster("start")

    def all_accounted_for() -> bool:
        try:
            held = stored(database_url, run) + dead_lettered_only(database_url, run)
        except psycopg.OperationalError:  # PostgreSQL still starting
            return False
        return held == BEFORE + DURING

    eventually(all_accounted_for, "events neither stored nor dead letters", timeout_s=180)
    assert metric(metrics_url, DELIVERIES, outcome="dropped") == 0, pipeline.log("dispatcher")
    assert stored(database_url, run) == BEFORE  # nothing of the outage was stored on its own

    first, last = letter_ids(database_url, run)
    replay = [sys.executable, "-m", "functions.admin", "dead-letters", "replay", "--json"]
    selected = ["--from-id", str(first), "--to-id", str(last)]
    replayed = replay_letters(pipeline.env, [*replay, *selected, "--only-unreplayed"])
    assert replayed >= DURING
    assert wait_stored(database_url, run, BEFORE + DURING) == BEFORE + DURING
    # a second replay of the same letters changes no count, once delivered
    replayed += replay_letters(pipeline.env, [*replay, *selected])
    records = BEFORE + DURING + replayed
    assert wait_committed(pipelines.bootstrap, topic, records) == records
    assert stored(database_url, run) == BEFORE + DURING
    assert aggregate_differences(database_url) == dict.fromkeys(FROM_SCRATCH, 0)


def replay_letters(env: Mapping[str, str], command: list[str]) -> int:
    """Run the admin command's replay; how many letters it put back on the events topic."""
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["replayed"])
