"""The requests a load run sends (aiohttp, keep-alive): ingest forms and REST reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import aiohttp

from functions.bench.loadgen import Request
from functions.bench.workload import EventStream, json_body

TIMEOUT_S = 30.0
JSON = {"Content-Type": "application/json"}
BEACON = {"Content-Type": "text/plain;charset=UTF-8"}
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


@asynccontextmanager
async def session(connections: int = 256) -> AsyncIterator[aiohttp.ClientSession]:
    """One keep-alive connection pool for a load run."""
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        yield client


async def _status(
    client: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> int | None:
    try:
        async with client.request(method, url, data=body, headers=headers, params=params) as r:
            await r.read()
            return r.status
    except TRANSPORT_ERRORS:
        return None


def ingest_events(
    client: aiohttp.ClientSession, url: str, stream: EventStream, size: int, *, beacon: bool
) -> Request:
    """POST `size` events per request (one object when `size` is 1, else an array);
    `beacon` sends them as `navigator.sendBeacon` does (text/plain).

    Expected: 202 when any event is valid, 400 when none is."""
    headers = BEACON if beacon else JSON

    async def request() -> bool:
        if size == 1:
            event, valid = stream.next_event()
            body, any_valid = json_body(event), valid
        else:
            events, count = stream.batch(size)
            body, any_valid = json_body(events), count > 0
        status = await _status(client, "POST", url, body=body, headers=headers)
        return status == (202 if any_valid else 400)

    return request


def plausible_body(event: Mapping[str, str], domain: str) -> bytes:
    """A workload event as Plausible's tracker sends it to `POST /api/event`."""
    return json_body(
        {
            "n": event["event_type"],
            "u": f"https://{domain}{event['page_url']}",
            "d": domain,
            "r": None,
            "w": 1440,
        }
    )


def plausible_events(
    client: aiohttp.ClientSession, url: str, stream: EventStream, domain: str
) -> Request:
    """POST one event per request to Plausible's Events API, as its tracker does
    (text/plain); expected: 202."""

    async def request() -> bool:
        event, _ = stream.next_event()
        body = plausible_body(event, domain)
        return await _status(client, "POST", url, body=body, headers=BEACON) == 202

    return request


def rest_get(
    client: aiohttp.ClientSession, url: str, params: Callable[[], Mapping[str, str]]
) -> Request:
    """GET `url` with fresh query parameters per request; expected: 200."""

    async def request() -> bool:
        return await _status(client, "GET", url, params=params()) == 200

    return request


async def route_exists(url: str, params: Mapping[str, str] | None = None) -> bool:
    """False when the gateway answers 404 (the route is not built yet)."""
    async with session(1) as client:
        status = await _status(client, "GET", url, params=params)
    return status is not None and status != 404
