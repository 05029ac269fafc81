"""`nox -s smoke -- INGEST_URL`: events through a deployed ingest, counted by its gateway.

Sends a batch of events for a fresh user, then the first one again (the idempotency key must
hold end to end), and polls the gateway until the count is exactly the batch size.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from functions.deploy.tools import DeployError

PAGE = "/smoke"


@dataclass(frozen=True, slots=True)
class SmokeResult:
    user_id: str
    sent: int
    counted: int
    seconds: float


def gateway_for(ingest_url: str) -> str:
    """Knative names hosts `<service>.<namespace>.<domain>`: ingest's URL with `gateway`."""
    parts = urlsplit(ingest_url)
    host = parts.hostname or ""
    if not host.startswith("ingest."):
        raise DeployError("smoke", f"cannot derive the gateway from {ingest_url}; pass --gateway")
    netloc = "gateway." + parts.netloc.removeprefix("ingest.")
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def _events(user_id: str, count: int) -> list[dict[str, str]]:
    return [
        {"event_id": f"{user_id}-{i}", "user_id": user_id, "event_type": "click", "page_url": PAGE}
        for i in range(count)
    ]


def _send(client: httpx.Client, ingest_url: str, events: list[dict[str, str]]) -> None:
    try:
        response = client.post(f"{ingest_url.rstrip('/')}/ingest", json=events)
    except httpx.HTTPError as error:
        raise DeployError("smoke", f"ingest at {ingest_url} unreachable: {error!r}") from None
    if response.status_code != 202:
        raise DeployError(
            "smoke",
            f"ingest answered {response.status_code} to {len(events)} events: {response.text}",
        )


def _count(client: httpx.Client, gateway_url: str, user_id: str) -> int | str:
    """The gateway's count, or why there is none yet (it may still be waking up)."""
    query = {"user_id": user_id, "page_url": PAGE}
    try:
        response = client.get(f"{gateway_url.rstrip('/')}/analytics/events", params=query)
    except httpx.HTTPError as error:
        return repr(error)
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return int(response.json()["count"])


def run_smoke(
    client: httpx.Client,
    ingest_url: str,
    gateway_url: str,
    events: int = 5,
    timeout_s: float = 120,
    poll_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SmokeResult:
    user_id = f"smoke-{uuid.uuid4().hex[:12]}"
    batch = _events(user_id, events)
    start = clock()
    _send(client, ingest_url, batch)
    _send(client, ingest_url, batch[:1])  # a redelivery: must not be counted twice
    last: int | str = "no answer yet"
    while clock() - start < timeout_s:
        last = _count(client, gateway_url, user_id)
        if isinstance(last, int) and last > events:
            raise DeployError("smoke", f"gateway counts {last} events, {events} were sent")
        if last == events:
            return SmokeResult(user_id, events, last, clock() - start)
        sleep(poll_s)
    raise DeployError(
        "smoke",
        f"the gateway did not count {events} events for {user_id} within {timeout_s:.0f} s; "
        f"last answer from {gateway_url}: {last}",
    )
