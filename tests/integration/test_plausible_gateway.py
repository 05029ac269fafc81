"""The Stats API routes' tokens, with real `query` and `gateway` processes: a site's read token
is the Bearer key of its own site only, and refusals keep Plausible's shape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.query_server import QueryServer
from tests.integration.test_gateway_admin import READ_TOKEN, bearer, running_gateway

pytestmark = pytest.mark.integration

# a past day of their own, so that no other test's cached answers are read
BODY = {"metrics": ["visitors", "events"], "date_range": ["2020-01-01", "2020-01-01"]}


@pytest.fixture(scope="module")
def gateway(
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
        GATEWAY_READ_TOKENS=READ_TOKEN,  # a read token of the `default` site
    )


def test_a_read_token_is_the_bearer_key_of_its_site(gateway: httpx.Client) -> None:
    answer = gateway.post(
        "/api/v2/query", json={**BODY, "site_id": "default"}, headers=bearer(READ_TOKEN)
    )
    assert answer.status_code == 200
    assert answer.json()["results"] == [{"metrics": [0, 0], "dimensions": []}]
    other = gateway.post(
        "/api/v2/query", json={**BODY, "site_id": "other.example"}, headers=bearer(READ_TOKEN)
    )
    assert other.status_code == 401
    assert "Invalid API key or site ID" in other.json()["error"]
    realtime = gateway.get(
        "/api/v1/stats/realtime/visitors",
        params={"site_id": "other.example"},
        headers=bearer(READ_TOKEN),
    )
    assert realtime.status_code == 401


def test_without_a_token_nothing_is_read(gateway: httpx.Client) -> None:
    answer = gateway.post("/api/v2/query", json={**BODY, "site_id": "default"})
    assert answer.status_code == 401
    aggregate = gateway.get("/api/v1/stats/aggregate", params={"site_id": "default"})
    assert aggregate.status_code == 401


def test_refusals_name_what_is_not_supported(gateway: httpx.Client) -> None:
    answer = gateway.post(
        "/api/v2/query",
        json={**BODY, "site_id": "default", "metrics": ["time_on_page"]},
        headers=bearer(READ_TOKEN),
    )
    assert answer.status_code == 400
    assert "time_on_page" in answer.json()["error"]
    bad_filter = gateway.post(
        "/api/v2/query",
        json={**BODY, "site_id": "default", "filters": [["is", "event:page", ["\u0000"]]]},
        headers=bearer(READ_TOKEN),
    )
    assert bad_filter.status_code == 400
    assert set(bad_filter.json()) == {"error"}
