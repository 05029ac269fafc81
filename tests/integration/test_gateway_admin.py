"""`POST /api/v1/dead-letters/replay` and token scopes, with real `process` (the sink),
`query` (replaying into a topic of its own) and `gateway` processes: open with no token at
all; once tokens exist, the replay route takes admin tokens only (401 without a valid token,
403 for a read token) and reports take read or admin tokens, the fast count paths included."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping

import httpx
import pytest

from functions.dev.ports import free_port
from tests.fixtures.dead_letters import (
    BYTE_EXACT,
    assert_same_record,
    letter_records,
    records_of,
    replays,
    store_letters,
)
from tests.fixtures.functions import running_function
from tests.fixtures.metrics import metric
from tests.fixtures.polling import eventually
from tests.fixtures.query_server import QueryServer

pytestmark = pytest.mark.integration

READ_TOKEN = "read-token-0123456789abcdef"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
REPLAY = "/api/v1/dead-letters/replay"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def running_gateway(
    query: QueryServer,
    redis_url: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    **env: str,
) -> Iterator[httpx.Client]:
    env = {
        "DATABASE_URL": database_url,  # the sites' tokens
        "QUERY_ADDR": query.address,
        "REDIS_URL": redis_url,
        **env,
    }
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with (
        running_function("functions.gateway", env, log) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def gateway(
    replay_query: QueryServer,
    redis_url: str,
    database_url: str,
    metrics_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[httpx.Client]:
    yield from running_gateway(
        replay_query,
        redis_url,
        database_url,
        tmp_path_factory,
        GATEWAY_READ_TOKENS=READ_TOKEN,
        GATEWAY_ADMIN_TOKENS=f"other-admin-0123456789,{ADMIN_TOKEN}",
        METRICS_PORT=str(metrics_port),
    )


@pytest.fixture(scope="module")
def open_gateway(
    replay_query: QueryServer,
    redis_url: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[httpx.Client]:
    yield from running_gateway(
        replay_query,
        redis_url,
        database_url,
        tmp_path_factory,
        GATEWAY_READ_TOKENS="",
        GATEWAY_ADMIN_TOKENS="",
    )


def test_replay_through_rest_with_an_admin_token(
    gateway: httpx.Client,
    dead_letter_sink: str,
    database_url: str,
    kafka_bootstrap: str,
    replay_topic: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    records = letter_records(run)
    ids = store_letters(dead_letter_sink, database_url, records)

    answer = gateway.post(REPLAY, json={"ids": ids}, headers=bearer(ADMIN_TOKEN))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"replayed": 3}
    assert answer.headers["cache-control"] == "no-store"
    replayed = records_of(kafka_bootstrap, replay_topic, run, 3)
    assert len(replayed) == 3
    for record, original, byte_exact in zip(replayed, records, BYTE_EXACT, strict=True):
        assert_same_record(record, original, byte_exact)
    listed = gateway.get("/api/v1/dead-letters?limit=3", headers=bearer(ADMIN_TOKEN)).json()
    assert [item["id"] for item in listed["items"]] == ids[::-1]
    assert all(item["replay_count"] == 1 for item in listed["items"])
    assert all(item["replayed_at"].endswith("Z") for item in listed["items"])

    again = {"from_id": ids[0], "to_id": ids[-1], "only_unreplayed": True}
    answer = gateway.post(REPLAY, json=again, headers=bearer(ADMIN_TOKEN))
    assert answer.json() == {"replayed": 0}
    assert replays(database_url, ids) == [(1, True)] * 3


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong-token-0123456789abcdef"), {"Authorization": ADMIN_TOKEN}],
)
def test_replay_without_a_valid_token_is_401(
    gateway: httpx.Client, headers: Mapping[str, str]
) -> None:
    answer = gateway.post(REPLAY, json={"ids": [1]}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "UNAUTHENTICATED"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_replay_with_a_read_token_is_403(gateway: httpx.Client) -> None:
    answer = gateway.post(REPLAY, json={"ids": [1]}, headers=bearer(READ_TOKEN))
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "PERMISSION_DENIED"
    assert "admin token" in error["message"]


# a past range of their own: the default one (the last 24 h) would leave answers in the shared
# Redis that another test's `query`, PostgreSQL down, could be served from
PAST = "from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z"


@pytest.mark.parametrize("token", [READ_TOKEN, ADMIN_TOKEN])
@pytest.mark.parametrize("path", [f"/api/v1/overview?{PAST}", f"/api/v1/pages/top?{PAST}"])
def test_reports_take_read_and_admin_tokens(gateway: httpx.Client, token: str, path: str) -> None:
    assert gateway.get(path, headers=bearer(token)).status_code == 200
    assert gateway.get(path).status_code == 401


def test_dead_letters_of_every_site_take_an_admin_token(gateway: httpx.Client) -> None:
    assert gateway.get("/api/v1/dead-letters", headers=bearer(ADMIN_TOKEN)).status_code == 200
    refused = gateway.get("/api/v1/dead-letters", headers=bearer(READ_TOKEN))
    assert refused.status_code == 403
    assert "admin token" in refused.json()["error"]["message"]
    assert gateway.get("/api/v1/dead-letters").status_code == 401


def test_held_counts_take_admin_tokens(gateway: httpx.Client, metrics_port: int) -> None:
    """A count the gateway holds is answered before the function (count_protocol.py,
    count_reads.py): an admin token opens it there too."""
    params = {"user_id": "admin-held-user", "page_url": "/held"}
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"

    def answered_from_the_copy() -> bool:
        hits = metric(metrics_url, "clickstream_gateway_cache_lookups_total", result="hit")
        answer = gateway.get("/analytics/events", params=params, headers=bearer(ADMIN_TOKEN))
        assert answer.status_code == 200, answer.text
        assert answer.json()["count"] == 0
        after = metric(metrics_url, "clickstream_gateway_cache_lookups_total", result="hit")
        return after == hits + 1

    eventually(answered_from_the_copy, "the gateway never answered from its copy", timeout_s=10)
    assert gateway.get("/analytics/events", params=params).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"not json", "body"),
        (b"[1]", "body"),
        (b"{}", "ids"),
        (b'{"ids": "1,2"}', "ids"),
        (b'{"ids": [0]}', "ids"),
        (b'{"ids": [1], "from_id": 1, "to_id": 2}', "ids"),
        (b'{"from_id": 1}', "to_id"),
        (b'{"from_id": "1", "to_id": 2}', "from_id"),
        (b'{"from_id": 9, "to_id": 1}', "to_id"),
        (b'{"from_id": 1, "to_id": 20000}', "to_id"),
        (b'{"ids": [1], "only_unreplayed": 1}', "only_unreplayed"),
        (b'{"ids": [1], "dry_run": true}', "dry_run"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(
    gateway: httpx.Client, body: bytes, field: str
) -> None:
    answer = gateway.post(
        REPLAY,
        content=body,
        headers={**bearer(ADMIN_TOKEN), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["field"] == field


def test_replay_is_post_only(gateway: httpx.Client) -> None:
    answer = gateway.get(REPLAY, headers=bearer(ADMIN_TOKEN))
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


def test_with_no_token_configured_every_route_is_open(
    open_gateway: httpx.Client, dead_letter_sink: str, database_url: str
) -> None:
    ids = store_letters(dead_letter_sink, database_url, letter_records(uuid.uuid4().hex[:8]))
    answer = open_gateway.post(REPLAY, json={"from_id": ids[0], "to_id": ids[-1]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"replayed": 3}
    assert open_gateway.get(f"/api/v1/overview?{PAST}").status_code == 200
