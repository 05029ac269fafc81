"""An admin token of one site (`keys add --scope admin --site S`) on real `process` (the
dead-letter sink), `query` (replaying into a topic of its own) and `gateway` processes over a
database of this module's own: it opens the admin routes of its site (export, erasure, its
site's dead letters and their replay) and refuses another site's, or every site's, with a
403 naming `site`; the admin token of every site keeps seeing and replaying every letter,
and read tokens stay out of the admin routes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from cloudevents.kafka import KafkaMessage

from functions.core.events import ClickEvent, to_kafka
from functions.process.store import write_events
from tests.fixtures.dead_letters import letter_records, records_of, replays, store_letters
from tests.fixtures.functions import new_topic, record_headers, running_function
from tests.fixtures.polling import eventually
from tests.fixtures.query_server import running_read_path
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
SITE, OTHER = f"mine-{RUN}.example", f"theirs-{RUN}.example"
EVERY_SITE_TOKEN = "every-site-admin-0123456789abcdef"
T0 = datetime(2021, 6, 1, 10, tzinfo=UTC)
RANGE = {"from": "2021-06-01T10:00:00Z", "to": "2021-06-01T11:00:00Z"}
PERSON = f"person-{RUN}"  # one user id on both sites: erasing it on one leaves the other
LETTERS = "/api/v1/dead-letters"
REPLAY = "/api/v1/dead-letters/replay"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin_json(url: str, *arguments: str) -> Any:
    """`python -m functions.admin ... --json` as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "functions.admin", *arguments, "--json"],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of this module's own: its keys would close other tests' open routes."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def tokens(database_url: str) -> dict[str, str]:
    """SITE's admin token and read token (OTHER exists too)."""
    read = admin_json(database_url, "sites", "add", SITE)["read"]["secret"]
    admin_json(database_url, "sites", "add", OTHER)
    site_admin = admin_json(database_url, "keys", "add", "--site", SITE, "--scope", "admin")
    assert site_admin["secret"].startswith("csa_")
    return {"admin": site_admin["secret"], "read": read}


def seed_events(database_url: str) -> None:
    """PERSON and a bystander on each site, written as process writes them."""
    events = [
        ClickEvent(
            event_id=f"{RUN}-{site}-{user}",
            user_id=user,
            event_type="pageview",
            page_url="/home",
            time_stamp=T0 + timedelta(minutes=minute),
            site=site,
        )
        for site in (SITE, OTHER)
        for minute, user in enumerate((PERSON, f"bystander-{RUN}"))
    ]

    async def write() -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await write_events(conn, events)

    asyncio.run(write())


@pytest.fixture(scope="module")
def replay_topic(kafka_bootstrap: str) -> str:
    return new_topic(kafka_bootstrap)


@pytest.fixture(scope="module")
def gateway(
    database_url: str,
    redis_url: str,
    kafka_bootstrap: str,
    replay_topic: str,
    tokens: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[httpx.Client]:
    seed_events(database_url)
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    kafka = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "KAFKA_TOPIC": replay_topic}
    logs = tmp_path_factory.mktemp("site-admin")
    with (
        running_read_path(env, logs, kafka, {"GATEWAY_ADMIN_TOKENS": EVERY_SITE_TOKEN}) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        eventually(  # the gateway loads the stored keys just after it starts
            lambda: (
                client.get(
                    LETTERS, params={"site": SITE}, headers=bearer(tokens["admin"])
                ).status_code
                == 200
            ),
            "the gateway never took the site's admin token",
            timeout_s=15,
        )
        yield client


@pytest.fixture(scope="module")
def letters(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[int]]:
    """Dead letters stored by process's real sink: two of SITE's events, one of OTHER's and
    one of raw bytes, whose site nobody can read; their ids by whose they are."""

    def refused(site: str, n: int) -> KafkaMessage:
        event = ClickEvent(
            event_id=f"{RUN}-letter-{site}-{n}",
            user_id=f"letter-user-{n}",
            event_type="click",
            page_url="nowhere",  # neither an absolute URL nor a path: refused
            site=site,
        )
        return to_kafka(event)

    raw = letter_records(RUN)[1]  # data_base64: the bytes of no JSON object
    records = [refused(SITE, 1), refused(OTHER, 2), raw, refused(SITE, 3)]
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    log = tmp_path_factory.mktemp("process") / "process.log"
    with running_function("functions.process", env, log) as sink:
        ids = store_letters(sink, database_url, records)
    return {SITE: [ids[0], ids[3]], OTHER: [ids[1]], "unknown": [ids[2]]}


def listed(gateway: httpx.Client, token: str, **params: str) -> list[int]:
    answer = gateway.get(LETTERS, params={"limit": "1000", **params}, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["next"] is None
    return [item["id"] for item in answer.json()["items"]]


def assert_refused(answer: httpx.Response, field: str | None, says: str) -> None:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["code"] == "PERMISSION_DENIED"
    assert error["field"] == field
    assert says in error["message"]


def test_a_site_admin_lists_its_sites_dead_letters_only(
    gateway: httpx.Client, tokens: dict[str, str], letters: dict[str, list[int]]
) -> None:
    mine = letters[SITE][::-1]  # newest first
    assert listed(gateway, tokens["admin"], site=SITE) == mine
    first = gateway.get(
        LETTERS, params={"site": SITE, "limit": "1"}, headers=bearer(tokens["admin"])
    )
    assert [item["id"] for item in first.json()["items"]] == mine[:1]
    assert first.json()["items"][0]["event"]["data"]["site"] == SITE
    cursor = first.json()["next"]
    assert cursor is not None
    rest = gateway.get(
        LETTERS,
        params={"site": SITE, "limit": "1", "cursor": cursor},
        headers=bearer(tokens["admin"]),
    )
    assert [item["id"] for item in rest.json()["items"]] == mine[1:]
    assert rest.json()["next"] is None

    as_site_admin = bearer(tokens["admin"])
    assert_refused(
        gateway.get(LETTERS, params={"site": OTHER}, headers=as_site_admin), "site", OTHER
    )
    assert_refused(gateway.get(LETTERS, headers=as_site_admin), "site", "name it")
    assert_refused(
        gateway.get(LETTERS, params={"site": "default"}, headers=as_site_admin), "site", "default"
    )


def test_the_every_site_admin_lists_every_letter(
    gateway: httpx.Client, letters: dict[str, list[int]]
) -> None:
    every = sorted(letters[SITE] + letters[OTHER] + letters["unknown"], reverse=True)
    assert listed(gateway, EVERY_SITE_TOKEN) == every
    assert listed(gateway, EVERY_SITE_TOKEN, site=OTHER) == letters[OTHER]
    # raw bytes name no site: not even `default`'s admin reads them
    assert listed(gateway, EVERY_SITE_TOKEN, site="default") == []


def test_a_site_admin_replays_its_sites_letters_only(
    gateway: httpx.Client,
    tokens: dict[str, str],
    letters: dict[str, list[int]],
    database_url: str,
    kafka_bootstrap: str,
    replay_topic: str,
) -> None:
    every = sorted(letters[SITE] + letters[OTHER] + letters["unknown"])
    as_site_admin = bearer(tokens["admin"])
    refusals = [
        gateway.post(REPLAY, params={"site": OTHER}, json={"ids": every}, headers=as_site_admin),
        gateway.post(REPLAY, json={"ids": every}, headers=as_site_admin),
    ]
    for answer in refusals:
        assert_refused(answer, "site", "")
    assert replays(database_url, every) == [(0, False)] * 4

    answer = gateway.post(REPLAY, params={"site": SITE}, json={"ids": every}, headers=as_site_admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"replayed": 2}
    marked = dict(zip(every, replays(database_url, every), strict=True))
    assert {i for i, state in marked.items() if state == (1, True)} == set(letters[SITE])
    replayed = records_of(kafka_bootstrap, replay_topic, RUN, 2)
    assert sorted(record_headers(r)["ce_id"].decode() for r in replayed) == [
        f"{RUN}-letter-{SITE}-1",
        f"{RUN}-letter-{SITE}-3",
    ]

    # by range, the admin of every site replays the rest, whatever their site
    rest = {"from_id": every[0], "to_id": every[-1], "only_unreplayed": True}
    answer = gateway.post(REPLAY, json=rest, headers=bearer(EVERY_SITE_TOKEN))
    assert answer.json() == {"replayed": 2}
    assert replays(database_url, every) == [(1, True)] * 4


@pytest.mark.parametrize("token", [EVERY_SITE_TOKEN, "site admin"])
def test_a_bad_site_is_400_naming_it(
    gateway: httpx.Client, tokens: dict[str, str], token: str
) -> None:
    headers = bearer(tokens["admin"] if token == "site admin" else token)
    answers = [
        gateway.get(LETTERS, params={"site": "Not A Site"}, headers=headers),
        gateway.post(REPLAY, params={"site": "a/b"}, json={"ids": [1]}, headers=headers),
    ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["field"] == "site"


def test_read_tokens_stay_out_of_the_admin_routes(
    gateway: httpx.Client, tokens: dict[str, str]
) -> None:
    as_reader = bearer(tokens["read"])
    answers = [
        gateway.get(LETTERS, params={"site": SITE}, headers=as_reader),
        gateway.post(REPLAY, params={"site": SITE}, json={"ids": [1]}, headers=as_reader),
        gateway.get("/api/v1/export", params={**RANGE, "site": SITE}, headers=as_reader),
        gateway.delete(f"/api/v1/users/{PERSON}", params={"site": SITE}, headers=as_reader),
    ]
    for answer in answers:
        assert_refused(answer, None, "admin token")
    unsigned = gateway.get("/api/v1/export", params={**RANGE, "site": SITE})
    assert unsigned.status_code == 401


def exported_users(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(json.loads(line)["user_id"] for line in answer.text.splitlines())


def test_a_site_admin_exports_its_site_only(gateway: httpx.Client, tokens: dict[str, str]) -> None:
    as_site_admin = bearer(tokens["admin"])
    mine = gateway.get("/api/v1/export", params={**RANGE, "site": SITE}, headers=as_site_admin)
    assert exported_users(mine) == sorted((PERSON, f"bystander-{RUN}"))
    theirs = gateway.get("/api/v1/export", params={**RANGE, "site": OTHER}, headers=as_site_admin)
    assert_refused(theirs, "site", OTHER)
    default = gateway.get("/api/v1/export", params=RANGE, headers=as_site_admin)
    assert_refused(default, "site", "default")  # no `site` reads `default`, not its own

    by_every_site = gateway.get(
        "/api/v1/export", params={**RANGE, "site": OTHER}, headers=bearer(EVERY_SITE_TOKEN)
    )
    assert exported_users(by_every_site) == sorted((PERSON, f"bystander-{RUN}"))


def test_a_site_admin_erases_a_person_of_its_site_only(
    gateway: httpx.Client, tokens: dict[str, str], database_url: str
) -> None:
    def events_of(site: str) -> int:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM click_events WHERE site = %s AND user_id = %s",
                (site, PERSON),
            ).fetchone()
        assert row is not None
        return int(row[0])

    as_site_admin = bearer(tokens["admin"])
    path = f"/api/v1/users/{PERSON}"
    assert_refused(
        gateway.delete(path, params={"site": OTHER}, headers=as_site_admin), "site", OTHER
    )
    assert (events_of(SITE), events_of(OTHER)) == (1, 1)

    answer = gateway.delete(path, params={"site": SITE}, headers=as_site_admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["removed"]["click_events"] == 1
    assert (events_of(SITE), events_of(OTHER)) == (0, 1)
    with psycopg.connect(database_url) as conn:
        record = conn.execute(
            "SELECT site, actor FROM erasures WHERE id = %s", (answer.json()["erasure_id"],)
        ).fetchone()
    assert record is not None
    assert record[0] == SITE
    assert str(record[1]).startswith("gateway token sha256:")

    by_every_site = gateway.delete(path, params={"site": OTHER}, headers=bearer(EVERY_SITE_TOKEN))
    assert by_every_site.status_code == 200, by_every_site.text
    assert events_of(OTHER) == 0
