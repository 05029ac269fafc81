"""Write keys from the environment: required when configured, and a key's site is the
event's, whatever the event says (keys from PostgreSQL: tests/integration/test_sites_e2e.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.functions import new_topic, read_topic, record_headers, running_function

pytestmark = pytest.mark.integration

KEY = "k-0123456789abcdef"


@pytest.fixture(scope="module")
def keyed(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    topic = new_topic(kafka_bootstrap)
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC": topic,
        "INGEST_WRITE_KEYS": f"{KEY}:shop.example,k-fedcba9876543210:blog.example",
    }
    log = tmp_path_factory.mktemp("ingest-keys") / "ingest.log"
    with running_function("functions.ingest", env, log) as url:
        yield url, topic


def click() -> dict[str, str]:
    return {"event_id": uuid.uuid4().hex, "user_id": "u", "event_type": "click", "page_url": "/"}


def test_missing_or_wrong_key_is_401(keyed: tuple[str, str]) -> None:
    url, _ = keyed
    for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": f"Basic {KEY}"}):
        answer = httpx.post(url + "/ingest", json=click(), headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["field"] == "authorization"


def test_bearer_and_query_keys_set_the_site(keyed: tuple[str, str], kafka_bootstrap: str) -> None:
    url, topic = keyed
    by_header, by_query = {**click(), "site": "blog.example"}, click()
    assert (
        httpx.post(
            url + "/ingest", json=by_header, headers={"authorization": f"Bearer {KEY}"}
        ).status_code
        == 202
    )
    assert (
        httpx.post(url + "/ingest", params={"key": "k-fedcba9876543210"}, json=by_query).status_code
        == 202
    )
    sites = {
        record_headers(r)["ce_id"]: json.loads(r.value() or b"")["site"]
        for r in read_topic(kafka_bootstrap, topic, 2)
    }
    assert sites[by_header["event_id"].encode()] == "shop.example"
    assert sites[by_query["event_id"].encode()] == "blog.example"
