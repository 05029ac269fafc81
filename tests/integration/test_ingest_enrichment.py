"""Enrichment through a real running ingest and a real broker, and on into PostgreSQL.

Every request comes from 127.0.0.1, a trusted proxy by default, so `X-Forwarded-For` plays
the client; an ingest trusting only 10.0.0.0/8 shows an untrusted peer's header ignored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import psycopg
import pytest

from functions.dev.ports import free_port
from tests.fixtures.functions import new_topic, read_topic, record_headers, running_function
from tests.fixtures.metrics import metric
from tests.fixtures.pipeline import PipelineFactory, wait_stored
from tests.fixtures.user_agents import BROWSERS, CRAWLERS

pytestmark = pytest.mark.integration

# public addresses whose country iptocc's registry data knows (checked in test_countries)
US_V4, GB_V4, US_V6 = "8.8.8.8", "81.2.69.142", "2001:4860:4860::8888"
ADDRESSES = (US_V4, GB_V4, US_V6)
ENRICHMENT = (
    "browser",
    "os",
    "device",
    "country",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)


class Ingest(NamedTuple):
    url: str
    topic: str
    metrics: str
    log: Path


def start(
    kafka_bootstrap: str, tmp: pytest.TempPathFactory, name: str, **env: str
) -> Iterator[Ingest]:
    topic = new_topic(kafka_bootstrap)
    metrics_port = free_port()
    log = tmp.mktemp(name) / "ingest.log"
    settings = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC": topic,
        "METRICS_PORT": str(metrics_port),
        **env,
    }
    with running_function("functions.ingest", settings, log) as url:
        yield Ingest(url, topic, f"http://127.0.0.1:{metrics_port}/metrics", log)


@pytest.fixture(scope="module")
def ingest(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ingest]:
    yield from start(kafka_bootstrap, tmp_path_factory, "ingest-enrich", DATABASE_URL=database_url)


@pytest.fixture(scope="module")
def untrusting(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ingest]:
    yield from start(
        kafka_bootstrap,
        tmp_path_factory,
        "ingest-untrusting",
        DATABASE_URL=database_url,
        INGEST_TRUSTED_PROXIES="10.0.0.0/8",
        INGEST_COUNTRY_HEADER="CF-IPCountry",
    )


@pytest.fixture(scope="module")
def plain(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ingest]:
    yield from start(
        kafka_bootstrap,
        tmp_path_factory,
        "ingest-off",
        DATABASE_URL=database_url,
        INGEST_ENRICHMENT="off",
    )


def event(**fields: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "user_id": "u-enrich",
        "event_type": "pageview",
        "page_url": "/pricing",
        **fields,
    }


def on_topic(kafka_bootstrap: str, ingest: Ingest) -> dict[str, dict[str, Any]]:
    """The data of every record on `ingest`'s topic, by event id."""
    found = read_topic(kafka_bootstrap, ingest.topic, 100_000, timeout_s=3)
    return {record_headers(r)["ce_id"].decode(): json.loads(r.value() or b"") for r in found}


def post(ingest: Ingest, body: object, **headers: str) -> httpx.Response:
    answer = httpx.post(ingest.url + "/ingest", json=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer


def test_browsers_are_named_and_crawlers_dropped(ingest: Ingest, kafka_bootstrap: str) -> None:
    bots_before = metric(ingest.metrics, "clickstream_ingest_events_total", outcome="bot")
    sent: dict[str, str] = {}
    for seen in BROWSERS:
        single = event()
        sent[seen.name] = single["event_id"]
        post(ingest, single, **{"user-agent": seen.user_agent, "x-forwarded-for": US_V4})
    crawled = []
    for seen in CRAWLERS:
        batch = [event(), event()]
        answer = post(ingest, batch, **{"user-agent": seen.user_agent, "x-forwarded-for": US_V4})
        assert answer.json() == {"accepted": 2, "rejected": []}  # a bot learns nothing
        crawled += [e["event_id"] for e in batch]
    data = on_topic(kafka_bootstrap, ingest)
    for seen in BROWSERS:
        got = data[sent[seen.name]]
        assert (got["browser"], got["os"], got["device"], got["country"]) == (
            seen.browser,
            seen.os,
            seen.device,
            "US",
        ), seen.name
    assert not set(crawled) & set(data)
    bots = metric(ingest.metrics, "clickstream_ingest_events_total", outcome="bot")
    assert bots - bots_before == len(crawled)


def test_countries_referrer_and_utm(ingest: Ingest, kafka_bootstrap: str) -> None:
    chrome = BROWSERS[0].user_agent
    by_address = {}
    for address, forwarded in (
        (US_V4, f"{US_V4}, 10.0.0.3"),
        (GB_V4, f"{GB_V4}:5123"),
        (US_V6, US_V6),
        ("private", "192.168.1.20"),
        ("garbage", "unknown"),
    ):
        sent = event(
            page_url="https://shop.example/p?utm_source=news&utm_medium=email&utm_campaign=dec",
            referrer="https://WWW.Google.com/search?q=clickstream",
        )
        post(ingest, sent, **{"user-agent": chrome, "x-forwarded-for": forwarded})
        by_address[address] = sent["event_id"]
    direct = event(referrer="https://ref.example/a", page_url="/p?x=1")
    post(ingest, direct, **{"user-agent": chrome})
    data = on_topic(kafka_bootstrap, ingest)
    countries = {address: data[i].get("country") for address, i in by_address.items()}
    assert countries == {US_V4: "US", GB_V4: "GB", US_V6: "US", "private": None, "garbage": None}
    tagged = data[by_address[US_V4]]
    assert {name: tagged.get(name) for name in ENRICHMENT} == {
        "browser": "Chrome",
        "os": "Windows",
        "device": "desktop",
        "country": "US",
        "referrer_host": "google.com",
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "dec",
    }
    untagged = data[direct["event_id"]]
    assert untagged["referrer_host"] == "ref.example"
    assert not {"country", "utm_source", "utm_medium", "utm_campaign"} & set(untagged)


def test_server_side_hints_and_spoofed_fields(ingest: Ingest, kafka_bootstrap: str) -> None:
    relayed = event(user_agent=BROWSERS[4].user_agent, client_ip=GB_V4)  # iPhone in GB
    crawler = event(user_agent=CRAWLERS[1].user_agent, client_ip=US_V4)
    spoofed = event(browser="Netscape", country="FR", device="tablet", utm_source="x")
    answer = post(ingest, [relayed, crawler, spoofed], **{"user-agent": "python-requests/2.32"})
    assert answer.json()["accepted"] == 3
    bad = httpx.post(ingest.url + "/ingest", json=event(client_ip="8.8.8.999"), timeout=10)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "client_ip"
    assert "8.8.8.999" not in bad.text
    data = on_topic(kafka_bootstrap, ingest)
    got = data[relayed["event_id"]]
    assert (got["browser"], got["os"], got["device"], got["country"]) == (
        "Mobile Safari",
        "iOS",
        "mobile",
        "GB",
    )
    assert "user_agent" not in got
    assert "client_ip" not in got
    assert crawler["event_id"] not in data
    faked = data[spoofed["event_id"]]
    assert (faked.get("browser"), faked.get("country"), faked.get("device")) == (
        "Python Requests",
        None,
        None,
    )
    assert "utm_source" not in faked


def test_untrusted_peers_header_is_ignored_and_cdn_country_used(
    untrusting: Ingest, kafka_bootstrap: str
) -> None:
    ignored, cdn = event(), event()
    post(untrusting, ignored, **{"x-forwarded-for": US_V4})
    post(untrusting, cdn, **{"x-forwarded-for": US_V4, "cf-ipcountry": "NZ"})
    data = on_topic(kafka_bootstrap, untrusting)
    assert "country" not in data[ignored["event_id"]]  # 127.0.0.1 itself: no country
    assert data[cdn["event_id"]]["country"] == "NZ"


def test_enrichment_off(plain: Ingest, kafka_bootstrap: str) -> None:
    sent = event(page_url="/p?utm_source=news", referrer="https://x.example/", country="FR")
    post(plain, sent, **{"user-agent": CRAWLERS[0].user_agent, "x-forwarded-for": US_V4})
    got = on_topic(kafka_bootstrap, plain)[sent["event_id"]]
    assert not set(ENRICHMENT) & set(got)  # nor is a bot told apart


def test_the_client_address_goes_nowhere(
    ingest: Ingest, untrusting: Ingest, plain: Ingest, kafka_bootstrap: str
) -> None:
    """After the tests above: no record (key, value, headers) and no log line holds any
    client address they sent."""
    for each in (ingest, untrusting, plain):
        post(each, event(), **{"x-forwarded-for": US_V4, "user-agent": BROWSERS[0].user_agent})
        found = read_topic(kafka_bootstrap, each.topic, 100_000, timeout_s=3)
        assert found
        for record in found:
            raw = (record.key() or b"") + (record.value() or b"")
            raw += b"".join(name.encode() + value for name, value in record_headers(record).items())
            for address in ADDRESSES:
                assert address.encode() not in raw
        log = each.log.read_text(errors="replace")
        for address in ADDRESSES:
            assert address not in log


def test_enrichment_is_stored(
    pipelines: PipelineFactory,
    kafka_bootstrap: str,
    database_url: str,
    tmp_path: Path,
) -> None:
    """ingest -> Kafka -> dispatcher -> process -> click_events' columns."""
    run = uuid.uuid4().hex[:8]
    pipeline, topic = pipelines(partitions=1)
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC": topic,
    }
    with running_function("functions.ingest", env, tmp_path / "ingest.log") as url:
        pipeline.start("process")
        pipeline.start("dispatcher")
        tagged = event(
            event_id=f"{run}-1",
            page_url="/p?utm_source=news&utm_medium=email&utm_campaign=dec",
            referrer="https://www.google.com/",
        )
        bare = event(event_id=f"{run}-2")
        headers = {"user-agent": BROWSERS[5].user_agent, "x-forwarded-for": GB_V4}
        answer = httpx.post(url + "/ingest", json=tagged, headers=headers, timeout=10)
        assert answer.status_code == 202
        answer = httpx.post(url + "/ingest", json=bare, headers={"user-agent": ""}, timeout=10)
        assert answer.status_code == 202
        assert wait_stored(database_url, run, 2) == 2
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT event_id, {', '.join(ENRICHMENT)} FROM click_events"
            " WHERE event_id LIKE %s ORDER BY event_id",
            (f"{run}-%",),
        ).fetchall()
    assert rows == [
        (f"{run}-1", "Mobile Safari", "iOS", "tablet", "GB", "google.com", "news", "email", "dec"),
        (f"{run}-2", *(None,) * 8),
    ]
