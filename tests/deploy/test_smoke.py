"""`nox -s smoke` logic against a recording stand-in for a deployed ingest and gateway
(httpx's MockTransport): the stand-in counts like the real pipeline, or breaks it on purpose."""

from __future__ import annotations

import json

import httpx
import pytest

from functions.deploy.smoke import gateway_for, run_smoke
from functions.deploy.tools import DeployError

INGEST = "http://ingest.clickstream.127.0.0.1.sslip.io"
GATEWAY = "http://gateway.clickstream.127.0.0.1.sslip.io"


class Deployed:
    """Ingest stores events by event_id (or by arrival, when `idempotent` is off); the
    gateway reports them after `lag` polls, the time the pipeline takes."""

    def __init__(self, idempotent: bool = True, lag: int = 2, ingest_status: int = 202) -> None:
        self.idempotent = idempotent
        self.lag = lag
        self.ingest_status = ingest_status
        self.stored: list[str] = []
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.startswith("ingest.") and request.url.path == "/ingest":
            for event in json.loads(request.content):
                if not (self.idempotent and event["event_id"] in self.stored):
                    self.stored.append(event["event_id"])
            return httpx.Response(self.ingest_status, json={})
        if request.url.host.startswith("gateway.") and request.url.path == "/analytics/events":
            self.polls += 1
            assert request.url.params["page_url"] == "/smoke"
            count = len(self.stored) if self.polls > self.lag else 0
            return httpx.Response(200, json={"count": count})
        return httpx.Response(404)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _smoke(deployed: Deployed, timeout_s: float = 10) -> int:
    clock = FakeClock()
    with httpx.Client(transport=httpx.MockTransport(deployed)) as client:
        result = run_smoke(client, INGEST, GATEWAY, 5, timeout_s, 1.0, clock, clock.sleep)
    return result.counted


def test_counts_each_event_once() -> None:
    deployed = Deployed()
    assert _smoke(deployed) == 5
    assert deployed.polls == 3


def test_a_double_counted_redelivery_fails() -> None:
    with pytest.raises(DeployError, match="counts 6 events, 5 were sent"):
        _smoke(Deployed(idempotent=False))


def test_counts_that_never_arrive_fail_in_bounded_time() -> None:
    with pytest.raises(DeployError, match=r"did not count 5 events .* within 10 s"):
        _smoke(Deployed(lag=100))


def test_a_refusing_ingest_fails_with_its_status() -> None:
    with pytest.raises(DeployError, match="ingest answered 503"):
        _smoke(Deployed(ingest_status=503))


def test_gateway_url_follows_knative_naming() -> None:
    assert gateway_for(INGEST + "/") == GATEWAY
    assert gateway_for("http://ingest.clickstream.example.com:8080") == (
        "http://gateway.clickstream.example.com:8080"
    )
    with pytest.raises(DeployError, match="pass --gateway"):
        gateway_for("http://127.0.0.1:8080")
