"""Backup, wipe and restore under a running platform (docs/lifecycle.md "Backup and restore"):
the dispatcher, `process`, `query` and `gateway` run throughout and are never restarted; after
`pg_restore` every report equals what it answered when the database last held the same
events, and after the Kafka replay from the offsets saved with the backup, what it answered
before the wipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.fixtures.pipeline import (
    SITES,
    PipelineFactory,
    aggregate_differences,
    make_events,
    produce,
    wait_stored,
)
from tests.fixtures.polling import eventually
from tests.fixtures.query_server import running_read_path
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


NOW = datetime.now(UTC).replace(second=0, microsecond=0)
WINDOW = {
    "from": (NOW - timedelta(hours=5)).isoformat(),
    "to": (NOW + timedelta(hours=1)).isoformat(),
}
# (user, page) pairs that both batches count on (make_events: user n*7919 % 200, page n*104729 % 50)
PAIRS = [("user-0", "/p/0"), ("user-7", "/p/21"), ("user-114", "/p/48")]


def reports(gateway: httpx.Client) -> dict[str, Any] | None:
    """Every report this test compares, for each site; None when one is not answered (the
    database is away)."""
    answers: dict[str, Any] = {}
    for site in SITES:
        params = {**WINDOW, "site": site}
        for path, extra in (
            ("/api/v1/overview", {}),
            ("/api/v1/pages/top", {"limit": "50"}),
            ("/api/v1/timeseries", {"bucket": "hour"}),
            (f"/api/v1/users/{PAIRS[0][0]}/activity", {}),
        ):
            answer = gateway.get(path, params={**params, **extra})
            if answer.status_code != 200:
                return None
            answers[f"{site} {path}"] = answer.json()
        for user, page in PAIRS:
            answer = gateway.get(
                "/analytics/events", params={"user_id": user, "page_url": page, "site": site}
            )
            if answer.status_code != 200:
                return None
            answers[f"{site} {user} {page}"] = answer.json()["count"]
    return answers


def stored_total(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM click_events").fetchone()
    return int(row[0]) if row else -1


def admin(env: dict[str, str], *arguments: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "functions.admin", *arguments, "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def database() -> Iterator[str]:
    """A database of this test's own: it is dropped midway."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def platform(
    database: str, kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """The write path (dispatcher, process) and the read path (query, gateway), running; the
    write path's environment."""
    factory = PipelineFactory(kafka_bootstrap, database, redis_url, tmp_path)
    env = {"DATABASE_URL": database, "REDIS_URL": redis_url}
    try:
        pipeline, _ = factory()
        pipeline.start("process")
        pipeline.start("dispatcher")
        with (
            running_read_path(env, tmp_path, {}, {}) as url,
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            yield client, dict(pipeline.env)
    finally:
        factory.close()


def test_backup_wipe_restore_replay(
    platform: tuple[httpx.Client, dict[str, str]], database: str, tmp_path: Path
) -> None:
    gateway, env = platform
    before_backup = make_events("a", 300)
    produce(env["KAFKA_BOOTSTRAP_SERVERS"], env["KAFKA_TOPIC"], before_backup)
    assert wait_stored(database, "a", 300) == 300
    answers_a = reports(gateway)
    assert answers_a is not None
    assert sum(answers_a[f"{site} /api/v1/overview"]["total_events"] for site in SITES) == 300

    # the backup: offsets first, so that the dump holds every record before them
    offsets = tmp_path / "offsets.json"
    offsets.write_text(json.dumps(admin(env, "events", "offsets")))
    dump = tmp_path / "clickstream.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), database], check=True, timeout=120)

    after_backup = make_events("b", 200)
    produce(env["KAFKA_BOOTSTRAP_SERVERS"], env["KAFKA_TOPIC"], after_backup)
    assert wait_stored(database, "b", 200) == 200
    answers_ab = reports(gateway)
    assert answers_ab is not None
    assert answers_ab != answers_a
    assert reports(gateway) == answers_ab  # now from Redis and the gateway's own counts

    # the wipe: the database is lost under the running functions, then restored
    admin_url = database.rsplit("/", 1)[0] + "/postgres"
    name = database.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        ["pg_restore", "--single-transaction", "-d", database, str(dump)], check=True, timeout=120
    )
    assert stored_total(database) == 300
    eventually(
        lambda: reports(gateway) == answers_a, "reports after the restore are not the backup's"
    )

    replayed = admin(env, "events", "replay", "--offsets", str(offsets))
    assert replayed["produced"] >= 200
    assert wait_stored(database, "b", 200) == 200
    eventually(lambda: reports(gateway) == answers_ab, "reports after the replay are not whole")
    assert stored_total(database) == 500
    assert set(aggregate_differences(database).values()) == {0}
