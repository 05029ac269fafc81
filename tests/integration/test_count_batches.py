"""The gateway's count reads against a real `query`: reads that arrive together leave as one
GetEventCounts call, every caller gets its own answer, and a bad key fails only its caller."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import psycopg
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.events import ClickEvent
from functions.dev.ports import free_port
from functions.gateway.client import QueryClient
from functions.gateway.count_batches import MAX_CALLS, MAX_KEYS
from functions.process.store import write_events
from tests.fixtures.query_server import QueryServer, running_query

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
# user n visited page /p n times, and /q once
USERS = 6


@pytest.fixture(scope="module")
def query(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QueryServer]:
    events = [
        ClickEvent(
            event_id=f"{RUN}-{n}-{page}-{k}",
            user_id=f"{RUN}-{n}",
            event_type="click",
            page_url=page,
            time_stamp=datetime(2025, 6, 1, tzinfo=UTC),
        )
        for n in range(USERS)
        for page, times in (("/p", n), ("/q", 1))
        for k in range(times)
    ]

    async def write() -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await write_events(conn, events)

    asyncio.run(write())
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with running_query(env, tmp_path_factory.mktemp("query") / "query.log") as server:
        yield server


def calls(query: QueryServer, rpc: str) -> float:
    return query.metric("clickstream_query_duration_seconds_count", rpc=rpc)


def request(n: int, page: str) -> pb.GetEventCountRequest:
    return pb.GetEventCountRequest(user_id=f"{RUN}-{n}", page_url=page)


async def counted(address: str, requests: list[pb.GetEventCountRequest]) -> list[int | str]:
    """Each request's count (or its error's code and field), all asked in one turn."""
    client = QueryClient(address)

    async def one(request: pb.GetEventCountRequest) -> int | str:
        try:
            return await client.event_count(request)
        except grpc.aio.AioRpcError as error:
            return f"{error.code().name} {dict(error.trailing_metadata() or ()).get('field')}"

    try:
        return list(await asyncio.gather(*(one(r) for r in requests)))
    finally:
        await client.close()


def test_reads_asked_together_leave_as_one_call(query: QueryServer) -> None:
    # every user on both pages, a page nobody visited, and each key twice
    requests = [request(n, page) for n in range(USERS) for page in ("/p", "/q", "/none")] * 2
    batched, single = calls(query, "GetEventCounts"), calls(query, "GetEventCount")
    answers = asyncio.run(counted(query.address, requests))
    assert answers == [count for n in range(USERS) for count in (n, 1, 0)] * 2
    assert (calls(query, "GetEventCounts"), calls(query, "GetEventCount")) == (batched + 1, single)


def test_a_read_alone_is_one_plain_call(query: QueryServer) -> None:
    batched, single = calls(query, "GetEventCounts"), calls(query, "GetEventCount")
    assert asyncio.run(counted(query.address, [request(3, "/p")])) == [3]
    assert (calls(query, "GetEventCounts"), calls(query, "GetEventCount")) == (batched, single + 1)


def test_a_bad_key_fails_only_its_own_read(query: QueryServer) -> None:
    requests = [request(2, "/p"), request(4, "/q"), request(5, "x" * 2049), request(1, "/p")]
    answers = asyncio.run(counted(query.address, requests))
    assert answers == [2, 1, "INVALID_ARGUMENT page_url", 1]


def test_query_unreachable_fails_every_read_as_unavailable() -> None:
    address = f"127.0.0.1:{free_port()}"
    answers = asyncio.run(counted(address, [request(n, "/p") for n in range(3)]))
    assert answers == ["UNAVAILABLE None"] * 3


def test_calls_hold_at_most_max_keys_and_the_rest_waits_for_one(query: QueryServer) -> None:
    total = MAX_KEYS * MAX_CALLS + 1
    batched, single = calls(query, "GetEventCounts"), calls(query, "GetEventCount")
    answers = asyncio.run(counted(query.address, [request(n % USERS, "/p") for n in range(total)]))
    assert answers == [n % USERS for n in range(total)]
    # full calls leave at once, as many as may be under way; the key left goes alone after
    assert calls(query, "GetEventCounts") == batched + MAX_CALLS
    assert calls(query, "GetEventCount") == single + 1
