"""The reports' REST routes through real `gateway` and `query` processes over the hand-built
world of tests/fixtures/reports_world.py: the JSON shapes of DESIGN.md "REST", filters on
every report, 400s naming the parameter, and the token checks of the other reports."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.fixtures.query_server import running_read_path
from tests.fixtures.reports_world import World, seed

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
T0 = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=random.randrange(200 * 24))
WORLD = World(f"a-{RUN}.test", f"b-{RUN}.test", f"r-{RUN}.test", T0, T0 + timedelta(hours=2))
READ_TOKEN = "read-token-of-default-0123456789"  # reads the `default` site only
ADMIN_TOKEN = "admin-token-0123456789abcdef"  # reads every site
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SLOW_S = 3.0  # over the point reads' deadline, under the reports'


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


RANGE = {"site": WORLD.site, "from": iso(WORLD.start), "to": iso(WORLD.end)}


@pytest.fixture(scope="module")
def gateway(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    seed(database_url, WORLD)
    logs = tmp_path_factory.mktemp("reports-rest")
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    tokens = {"GATEWAY_READ_TOKENS": READ_TOKEN, "GATEWAY_ADMIN_TOKENS": ADMIN_TOKEN}
    with (
        running_read_path(env, logs, {}, tokens) as url,
        httpx.Client(base_url=url, timeout=10, headers=AUTH) as client,
    ):
        yield client


def get(gateway: httpx.Client, path: str, **params: str | int | list[str]) -> dict[str, object]:
    answer = gateway.get(path, params={**RANGE, **params})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_breakdown(gateway: httpx.Client) -> None:
    body = get(gateway, "/api/v1/breakdown", dimension="entry_page", filter="event_type:is:signup")
    assert body == {
        "from": RANGE["from"],
        "to": RANGE["to"],
        "dimension": "entry_page",
        "rows": [
            {"value": "/home", "events": 6, "visitors": 2, "visits": 2},
            {"value": "/pricing", "events": 3, "visitors": 1, "visits": 1},
            {"value": "/docs", "events": 1, "visitors": 1, "visits": 1},
        ],
    }
    body = get(gateway, "/api/v1/breakdown", dimension="page", limit=1)
    assert body["rows"] == [{"value": "/pricing", "events": 6, "visitors": 4, "visits": 4}]


def test_visits(gateway: httpx.Client) -> None:
    body = get(gateway, "/api/v1/visits", filter=["country:is:DE", "page:contains:pric"])
    assert body == {
        "from": RANGE["from"],
        "to": RANGE["to"],
        "visits": 2,
        "visitors": 2,
        "bounce_rate": 0.0,
        "mean_duration_s": 240.0,
        "views_per_visit": 3.0,
    }


def test_goals(gateway: httpx.Client) -> None:
    body = get(gateway, "/api/v1/goals", goal=["event_type:signup", "page:/docs"])
    assert body == {
        "from": RANGE["from"],
        "to": RANGE["to"],
        "goals": [
            {"goal": "event_type:signup", "visitors": 4, "events": 4, "conversion_rate": 0.8},
            {"goal": "page:/docs", "visitors": 2, "events": 2, "conversion_rate": 0.4},
        ],
    }


def test_funnel(gateway: httpx.Client) -> None:
    body = get(gateway, "/api/v1/funnel", step=["page:/home", "page:/pricing", "event_type:signup"])
    assert body == {
        "from": RANGE["from"],
        "to": RANGE["to"],
        "steps": [
            {"goal": "page:/home", "visitors": 4, "conversion_rate": 1.0, "dropoff": 0},
            {"goal": "page:/pricing", "visitors": 3, "conversion_rate": 0.75, "dropoff": 1},
            {"goal": "event_type:signup", "visitors": 2, "conversion_rate": 0.5, "dropoff": 1},
        ],
    }


def test_a_report_slower_than_a_point_read_still_answers(
    gateway: httpx.Client, database_url: str
) -> None:
    """A funnel kept waiting 3 s (its visits locked meanwhile) answers: reports have the
    gateway's report deadline, not the point reads' 2 s."""
    steps = ["page:/home", "page:/pricing", "event_type:signup"]
    # a range never asked before: no cached answer spares the read
    fresh = {**RANGE, "to": iso(WORLD.end + timedelta(seconds=1))}
    with psycopg.connect(database_url) as holder:
        holder.execute("LOCK TABLE visits IN ACCESS EXCLUSIVE MODE")
        release = threading.Timer(SLOW_S, holder.commit)
        release.start()
        started = time.monotonic()
        try:
            answer = gateway.get("/api/v1/funnel", params={**fresh, "step": steps})
        finally:
            release.join()
        waited = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert waited >= SLOW_S, f"the read did not wait for the lock: {waited:.1f} s"
    assert [step["visitors"] for step in answer.json()["steps"]] == [4, 3, 2]


def test_realtime(gateway: httpx.Client) -> None:
    answer = gateway.get("/api/v1/realtime", params={"site": WORLD.realtime_site})
    assert answer.json() == {
        "visitors": 2,
        "events": 3,
        "pages": [{"page_url": "/a", "visitors": 2}, {"page_url": "/b", "visitors": 1}],
    }
    answer = gateway.get(
        "/api/v1/realtime", params={"site": WORLD.realtime_site, "filter": "page:is:/b"}
    )
    assert answer.json() == {
        "visitors": 1,
        "events": 1,
        "pages": [{"page_url": "/b", "visitors": 1}],
    }


def test_filters_on_the_older_reports(gateway: httpx.Client) -> None:
    overview = get(gateway, "/api/v1/overview", filter="entry_page:is:/home")
    assert (overview["total_events"], overview["distinct_users"]) == (8, 3)
    assert overview["top_page"] == {"page_url": "/pricing", "count": 5}
    top = get(gateway, "/api/v1/pages/top", filter="country:is:US", limit=2)
    assert top["pages"] == [{"page_url": "/home", "count": 2}, {"page_url": "/docs", "count": 1}]
    series = get(gateway, "/api/v1/timeseries", bucket="hour", filter="event_type:is:signup")
    assert [p["count"] for p in series["points"]] == [3, 1]  # type: ignore[attr-defined]
    # unfiltered: the roll-ups, which hold the same events
    assert get(gateway, "/api/v1/overview")["total_events"] == 13


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/breakdown", {"dimension": "page", "filter": "page:like:/"}, "filter"),
        ("/api/v1/breakdown", {"dimension": "nope"}, "dimension"),
        ("/api/v1/breakdown", {}, "dimension"),
        ("/api/v1/visits", {"filter": "nope:is:x"}, "filter"),
        ("/api/v1/overview", {"filter": "page"}, "filter"),
        ("/api/v1/pages/top", {"filter": "page:is:"}, "filter"),
        ("/api/v1/timeseries", {"filter": "prop::is:x"}, "filter"),
        ("/api/v1/realtime", {"filter": "x:is:y"}, "filter"),
        ("/api/v1/goals", {}, "goal"),
        ("/api/v1/goals", {"goal": "visit:/x"}, "goal"),
        ("/api/v1/goals", {"goal": "page:/a", "filter": "page:has:a"}, "filter"),
        ("/api/v1/funnel", {"step": "page:/a"}, "step"),
        ("/api/v1/funnel", {"step": ["page:/a", "nope"]}, "step"),
        ("/api/v1/funnel", {"step": ["page:/a"] * 9}, "step"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    gateway: httpx.Client, path: str, params: dict[str, str | list[str]], field: str
) -> None:
    answer = gateway.get(path, params={**RANGE, **params})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("INVALID_ARGUMENT", field)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/breakdown?dimension=page", "/api/v1/visits", "/api/v1/goals?goal=page:/a",
     "/api/v1/funnel?step=page:/a&step=page:/b", "/api/v1/realtime"],
)  # fmt: skip
def test_tokens_are_checked_like_the_other_reports(gateway: httpx.Client, path: str) -> None:
    site = {"site": WORLD.site}
    assert gateway.get(path, params=site, headers={"Authorization": ""}).status_code == 401
    read_default = {"Authorization": f"Bearer {READ_TOKEN}"}
    assert gateway.get(path, params=site, headers=read_default).status_code == 403
    assert gateway.get(path, headers=read_default).status_code == 200
