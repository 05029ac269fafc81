"""Two sites in one installation, each with the keys `python -m functions.admin sites add`
printed: events land in the site of the write key that sent them, and every route and RPC
answers a site's reader with that site's events only.

The stack here is its own (own database, topic and ports): once a site exists, keys are in
use and every route wants one, which the session's shared stack must not see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc

from functions.dev.stack import Ports, Stack
from tests.fixtures.pipeline import wait_stored
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
SITE_A, SITE_B = f"a-{RUN}.example", f"b-{RUN}.example"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
WINDOW = {
    "from": (NOW - timedelta(hours=1)).isoformat(),
    "to": (NOW + timedelta(minutes=5)).isoformat(),
}


@dataclass(frozen=True)
class Site:
    name: str
    write_key: str
    read_token: str


@dataclass(frozen=True)
class Installation:
    stack: Stack
    database_url: str
    a: Site
    b: Site


def add_site(database_url: str, name: str) -> Site:
    done = subprocess.run(
        [sys.executable, "-m", "functions.admin", "sites", "add", name, "--json"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    added = json.loads(done.stdout)
    return Site(name, added["write"]["secret"], added["read"]["secret"])


def event(n: int, user: str, page: str, **extra: str) -> dict[str, Any]:
    return {
        "event_id": f"{RUN}-{n}",
        "user_id": user,
        "event_type": "click",
        "page_url": page,
        "time_stamp": (NOW - timedelta(minutes=n % 30)).isoformat(),
        **extra,
    }


@pytest.fixture(scope="module")
def installation(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, kafka_bootstrap: str
) -> Iterator[Installation]:
    with fresh_database() as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC": f"clicks-sites-{RUN}",
        }
        stack = Stack(log_dir=tmp_path_factory.mktemp("sites"), ports=Ports.free(), env=env)
        stack.start()  # applies the migrations: the admin command needs the tables
        try:
            a, b = add_site(database_url, SITE_A), add_site(database_url, SITE_B)
            yield Installation(stack, database_url, a, b)
        finally:
            stack.stop()


@pytest.fixture(scope="module")
def sent(installation: Installation) -> Installation:
    """Site A: 3 events by 2 users (one claims to be B's), B: 5 events by 1 user, the same
    event ids as A's first ones (ids are per site), the same page."""
    a_events = [
        event(0, "alice", "/shared"),
        event(1, "alice", "/a-only"),
        event(2, "bob", "/shared", site=SITE_B),  # the key's site wins
    ]
    b_events = [event(n, "carol", "/shared") for n in range(5)]
    ingest_url = installation.stack.url("ingest")
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    for site, events in ((installation.a, a_events), (installation.b, b_events)):
        while True:  # ingest learns new keys within its reload interval (5 s)
            answer = httpx.post(
                ingest_url + "/ingest",
                json=events,
                headers={"authorization": f"Bearer {site.write_key}"},
                timeout=10,
            )
            if answer.status_code != 401 or datetime.now(UTC) > deadline:
                break
        assert answer.status_code == 202, answer.text
    assert wait_stored(installation.database_url, RUN, 8, timeout_s=60) == 8
    return installation


def gateway_get(
    installation: Installation, path: str, token: str | None, **params: str
) -> httpx.Response:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    return httpx.get(
        installation.stack.url("gateway") + path,
        params={**WINDOW, **params},
        headers=headers,
        timeout=10,
    )


def test_without_a_key_ingest_refuses_once_keys_exist(sent: Installation) -> None:
    answer = httpx.post(sent.stack.url("ingest") + "/ingest", json=event(99, "x", "/"), timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["field"] == "authorization"


@pytest.mark.parametrize(
    ("site", "events", "users", "pages"),
    [
        ("a", 3, 2, {"/shared": 2, "/a-only": 1}),
        ("b", 5, 1, {"/shared": 5}),
    ],
)
def test_each_site_reads_its_own_events_in_every_route(
    sent: Installation, site: str, events: int, users: int, pages: dict[str, int]
) -> None:
    mine: Site = getattr(sent, site)
    name, token = mine.name, mine.read_token
    overview = gateway_get(sent, "/api/v1/overview", token, site=name).json()
    assert (overview["total_events"], overview["distinct_users"]) == (events, users)
    top = gateway_get(sent, "/api/v1/pages/top", token, site=name).json()
    assert {p["page_url"]: p["count"] for p in top["pages"]} == pages
    types = gateway_get(sent, "/api/v1/event-types", token, site=name).json()
    assert types["types"] == [{"event_type": "click", "count": events}]
    series = gateway_get(sent, "/api/v1/timeseries", token, site=name).json()
    assert sum(point["count"] for point in series["points"]) == events
    shared = gateway_get(
        sent, "/api/v1/timeseries", token, site=name, page_url="/shared", bucket="hour"
    ).json()
    assert sum(point["count"] for point in shared["points"]) == pages["/shared"]
    user = "alice" if site == "a" else "carol"
    activity = gateway_get(sent, f"/api/v1/users/{user}/activity", token, site=name).json()
    assert activity["total"] == (2 if site == "a" else 5)
    count = gateway_get(
        sent, "/analytics/events", token, site=name, user_id=user, page_url="/shared"
    ).json()
    assert count["count"] == (1 if site == "a" else 5)
    listed = gateway_get(sent, "/api/v1/sites", token).json()
    assert [s["name"] for s in listed["sites"]] == [name]


def test_a_token_cannot_read_another_site(sent: Installation) -> None:
    for path in ("/api/v1/overview", "/api/v1/pages/top", "/api/v1/users/carol/activity"):
        refused = gateway_get(sent, path, sent.a.read_token, site=SITE_B)
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "PERMISSION_DENIED"
        assert gateway_get(sent, path, None, site=SITE_B).status_code == 401
    # the count fast paths check the site too
    count = gateway_get(
        sent, "/analytics/events", sent.a.read_token, site=SITE_B, user_id="carol", page_url="/"
    )
    assert count.status_code == 403
    # `default` is a site like the others
    assert gateway_get(sent, "/api/v1/overview", sent.a.read_token).status_code == 403


def test_rpcs_read_by_site_and_default_to_default(sent: Installation) -> None:
    window = pb.TimeRange()
    getattr(window, "from").FromDatetime(NOW - timedelta(hours=1))
    window.to.FromDatetime(NOW + timedelta(minutes=5))
    with grpc.insecure_channel(f"127.0.0.1:{sent.stack.ports.http['query']}") as channel:
        stub = pb_grpc.AnalyticsServiceStub(channel)  # type: ignore[no-untyped-call]
        totals = {
            site: stub.GetOverview(pb.GetOverviewRequest(range=window, site=site)).total_events
            for site in (SITE_A, SITE_B, "")
        }
        assert totals == {SITE_A: 3, SITE_B: 5, "": 0}
        counts = stub.GetEventCounts(
            pb.GetEventCountsRequest(
                keys=[
                    pb.GetEventCountRequest(site=SITE_A, user_id="bob", page_url="/shared"),
                    pb.GetEventCountRequest(site=SITE_B, user_id="bob", page_url="/shared"),
                ]
            )
        )
        assert [c.count for c in counts.counts] == [1, 0]
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetOverview(pb.GetOverviewRequest(range=window, site="Not A Site"))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "site" in (refused.value.details() or "")
        names = [site.name for site in stub.ListSites(pb.ListSitesRequest()).sites]
        assert names == sorted(["default", SITE_A, SITE_B])
