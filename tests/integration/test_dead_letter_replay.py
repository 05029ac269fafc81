"""Dead letters replayed through `query`'s ReplayDeadLetters and the admin command, on real
components: letters stored by `process`'s sink, records read back off a tansu topic, rows
marked in PostgreSQL; and a replayed event counted once by the real pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import httpx
import psycopg
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc
from cloudevents.kafka import KafkaMessage

from functions.core.events import ClickEvent, to_kafka
from functions.core.replay import MAX_REPLAY
from tests.fixtures.dead_letters import (
    BYTE_EXACT,
    assert_same_record,
    letter_records,
    records_of,
    replays,
    store_letters,
)
from tests.fixtures.functions import record_headers
from tests.fixtures.pipeline import PipelineFactory, wait_committed, wait_stored
from tests.fixtures.query_server import QueryServer, running_query

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stub(replay_query: QueryServer) -> Iterator[pb_grpc.AnalyticsServiceStub]:
    with grpc.insecure_channel(replay_query.address) as channel:
        yield replay_query.stub(channel)


def replay(stub: pb_grpc.AnalyticsServiceStub, **arguments: Any) -> int:
    answer = stub.ReplayDeadLetters(pb.ReplayDeadLettersRequest(**arguments), timeout=30)
    return int(answer.replayed)


def test_rpc_replays_the_original_records_and_marks_the_letters(
    stub: pb_grpc.AnalyticsServiceStub,
    dead_letter_sink: str,
    database_url: str,
    kafka_bootstrap: str,
    replay_topic: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    records = letter_records(run)
    ids = store_letters(dead_letter_sink, database_url, records)

    assert replay(stub, ids=ids) == 3

    replayed = records_of(kafka_bootstrap, replay_topic, run, 3)
    assert len(replayed) == 3
    for record, original, byte_exact in zip(replayed, records, BYTE_EXACT, strict=True):
        assert_same_record(record, original, byte_exact)
    assert replays(database_url, ids) == [(1, True)] * 3
    listed = stub.ListDeadLetters(pb.ListDeadLettersRequest(limit=1000), timeout=5).items
    mine = {item.id: item for item in listed if item.id in ids}
    assert all(item.replay_count == 1 and item.HasField("replayed_at") for item in mine.values())

    # only the never replayed: none left, by ids or by range
    assert replay(stub, ids=ids, only_unreplayed=True) == 0
    assert replay(stub, from_id=ids[0], to_id=ids[-1], only_unreplayed=True) == 0
    assert replays(database_url, ids) == [(1, True)] * 3

    # replaying again is allowed, and counted on the rows; the calls above produced nothing
    assert replay(stub, from_id=ids[0], to_id=ids[-1]) == 3
    assert replays(database_url, ids) == [(2, True)] * 3
    replayed = records_of(kafka_bootstrap, replay_topic, run, 6)
    assert len(replayed) == 6
    for record, original, byte_exact in zip(replayed[3:], records, BYTE_EXACT, strict=True):
        assert_same_record(record, original, byte_exact)


def test_ids_that_do_not_exist_are_not_counted(stub: pb_grpc.AnalyticsServiceStub) -> None:
    assert replay(stub, ids=[2**62, 2**62 + 1]) == 0


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({}, "ids"),
        ({"ids": [1], "from_id": 1, "to_id": 2}, "ids"),
        ({"ids": [0]}, "ids"),
        ({"ids": list(range(1, MAX_REPLAY + 2))}, "ids"),
        ({"from_id": 3}, "to_id"),
        ({"to_id": 3}, "from_id"),
        ({"from_id": 0, "to_id": 3}, "from_id"),
        ({"from_id": 9, "to_id": 3}, "to_id"),
        ({"from_id": 1, "to_id": MAX_REPLAY + 1}, "to_id"),
    ],
)
def test_bad_selections_are_invalid_argument_naming_the_field(
    stub: pb_grpc.AnalyticsServiceStub, arguments: Mapping[str, object], field: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        replay(stub, **arguments)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}: ")
    assert dict(error.trailing_metadata())["field"] == field


def test_query_without_kafka_serves_reads_and_refuses_replays(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": "",
        "KAFKA_BROKER": "",
    }
    with (
        running_query(env, tmp_path / "query.log") as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        service = server.stub(channel)
        service.ListDeadLetters(pb.ListDeadLettersRequest(limit=1), timeout=5)
        with pytest.raises(grpc.RpcError) as caught:
            replay(service, ids=[1])
    error = caught.value
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "KAFKA_BOOTSTRAP_SERVERS" in error.details()


def admin(env: Mapping[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m functions.admin ...` as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "functions.admin", *arguments],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def admin_env(database_url: str, kafka_bootstrap: str, replay_topic: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC": replay_topic,
    }


def test_admin_command_lists_and_replays(
    admin_env: dict[str, str],
    dead_letter_sink: str,
    database_url: str,
    kafka_bootstrap: str,
    replay_topic: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    records = letter_records(run)
    ids = store_letters(dead_letter_sink, database_url, records)
    first, last = str(ids[0]), str(ids[-1])

    done = admin(admin_env, "dead-letters", "replay", "--from-id", first, "--to-id", last)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"replayed 3 dead letter(s) into topic {replay_topic}\n"
    replayed = records_of(kafka_bootstrap, replay_topic, run, 3)
    assert len(replayed) == 3
    for record, original, byte_exact in zip(replayed, records, BYTE_EXACT, strict=True):
        assert_same_record(record, original, byte_exact)
    assert replays(database_url, ids) == [(1, True)] * 3

    arguments = ["dead-letters", "replay", "--only-unreplayed", "--json"]
    done = admin(admin_env, *arguments, *(f"--id={letter}" for letter in ids))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"replayed": 0}

    listed = admin(admin_env, "dead-letters", "list", "--limit", "3", "--json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["items"]
    assert [item["id"] for item in items] == ids[::-1]  # the newest first
    assert all(item["replay_count"] == 1 and item["replayed_at"] for item in items)
    table = admin(admin_env, "dead-letters", "list", "--limit", "3")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == [
        "id",
        "received_at",
        "code",
        "replays",
        "replayed_at",
        "event_id",
    ]
    assert [int(line.split()[0]) for line in table.stdout.splitlines()[1:]] == ids[::-1]


def test_admin_command_lists_and_replays_one_sites_letters(
    admin_env: dict[str, str],
    dead_letter_sink: str,
    database_url: str,
    kafka_bootstrap: str,
    replay_topic: str,
) -> None:
    """--site chooses as the API's `site` does: that site's letters only, not another
    site's nor a letter whose site cannot be read (raw bytes)."""
    run = uuid.uuid4().hex[:8]
    mine, theirs = f"mine-{run}.example", f"theirs-{run}.example"

    def refused(site: str, n: int) -> KafkaMessage:
        return to_kafka(
            ClickEvent(
                event_id=f"{run}-{site}-{n}",
                user_id=f"{run}-user-{n}",
                event_type="click",
                page_url="nowhere",  # neither an absolute URL nor a path: refused
                site=site,
            )
        )

    raw = letter_records(run)[1]
    records = [refused(mine, 1), refused(theirs, 2), raw, refused(mine, 3)]
    ids = store_letters(dead_letter_sink, database_url, records)
    first, last = str(ids[0]), str(ids[-1])

    listed = admin(admin_env, "dead-letters", "list", "--site", mine, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [item["id"] for item in json.loads(listed.stdout)["items"]] == [ids[3], ids[0]]
    table = admin(admin_env, "dead-letters", "list", "--site", theirs)
    assert table.returncode == 0, table.stderr
    assert [int(line.split()[0]) for line in table.stdout.splitlines()[1:]] == [ids[1]]

    arguments = ["--from-id", first, "--to-id", last, "--site", mine, "--json"]
    done = admin(admin_env, "dead-letters", "replay", *arguments)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"replayed": 2}
    replayed = records_of(kafka_bootstrap, replay_topic, run, 2)
    assert [record_headers(r)["ce_id"] for r in replayed] == [
        f"{run}-{mine}-1".encode(),
        f"{run}-{mine}-3".encode(),
    ]
    assert replays(database_url, ids) == [(1, True), (0, False), (0, False), (1, True)]


@pytest.mark.parametrize(
    ("env", "arguments", "names"),
    [
        ({}, ["dead-letters", "replay"], "--id"),
        ({}, ["dead-letters", "replay", "--id", "1", "--from-id", "1"], "--id"),
        ({}, ["dead-letters", "replay", "--from-id", "5"], "--to-id"),
        ({}, ["dead-letters", "replay", "--id", "one"], "--id"),
        ({}, ["dead-letters", "list", "--limit", "0"], "--limit"),
        ({}, ["dead-letters", "list", "--site", "Not A Site"], "--site: must be"),
        ({}, ["dead-letters", "replay", "--id", "1", "--site", "a/b"], "--site: must be"),
        ({}, ["dead-letters", "forget"], "forget"),
        ({}, [], "GROUP"),
        ({"KAFKA_BOOTSTRAP_SERVERS": ""}, ["dead-letters", "replay", "--id", "1"], "KAFKA_"),
        ({"DATABASE_URL": "mysql://x/y"}, ["dead-letters", "list"], "DATABASE_URL"),
    ],
)
def test_admin_command_refuses_in_one_line(
    admin_env: dict[str, str], env: dict[str, str], arguments: list[str], names: str
) -> None:
    done = admin({**admin_env, "KAFKA_BROKER": "", **env}, *arguments)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert names in done.stderr


def test_an_event_replayed_twice_is_counted_once(
    pipelines: PipelineFactory, database_url: str, kafka_bootstrap: str
) -> None:
    """A valid event that was dead-lettered (say, by a bug since fixed in `process`) and then
    replayed twice: the real dispatcher delivers both records, `process` stores it once."""
    run = uuid.uuid4().hex[:8]
    pipeline, events_topic = pipelines(partitions=1)
    pipeline.start("process")
    pipeline.start("dispatcher")
    event_id = f"{run}-0"
    letter = httpx.post(
        pipeline.process_url + "/dead-letters",
        json={"user_id": f"{run}-user", "event_type": "click", "page_url": f"/{run}"},
        headers={
            "ce-specversion": "1.0",
            "ce-id": event_id,
            "ce-source": "/replay-test",
            "ce-type": "io.clickstream.event.v1",
            "ce-time": "2026-03-01T12:30:00Z",
            "ce-knativeerrorcode": "500",
            "ce-knativeerrordest": pipeline.process_url + "/",
        },
    )
    assert letter.status_code == 202, letter.text
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT id FROM dead_letters WHERE event_id = %s", (event_id,)
        ).fetchone()
    assert row is not None
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC": events_topic,
    }
    for _ in range(2):
        done = admin(env, "dead-letters", "replay", "--id", str(row[0]), "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"replayed": 1}

    # both records delivered and acknowledged, the event stored once
    assert wait_committed(kafka_bootstrap, events_topic, 2) == 2
    assert wait_stored(database_url, run, 1) == 1
    with psycopg.connect(database_url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM click_events WHERE event_id = %s),"
            " (SELECT click_count FROM page_clicks WHERE user_id = %s AND page_url = %s)",
            (event_id, f"{run}-user", f"/{run}"),
        ).fetchone()
    assert counts == (1, 1)
    assert replays(database_url, [int(row[0])]) == [(2, True)]
