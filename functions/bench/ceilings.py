"""Ceilings measured in the same run as the scenarios: what the bare dependencies do.

Each returns a number comparable with a scenario's figure: the raw Kafka producer rate for
ingest, a COPY plus the aggregate upserts for the pipeline, a bare Redis GET and a bare
primary-key SELECT as the floors of cached and uncached reads.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import psycopg
import redis
from confluent_kafka import Producer

from functions.bench.stats import Latency
from functions.bench.workload import Event
from functions.core.events import ClickEvent, parse_event, to_kafka
from functions.core.kafka import ensure_topic, producer_config

FLOOR_SAMPLES = 5_000


def click_events(events: list[Event]) -> list[ClickEvent]:
    now = datetime.now(UTC)
    return [parse_event(event, received_at=now) for event in events]


def kafka_producer_events_per_s(bootstrap: str, topic: str, events: list[ClickEvent]) -> float:
    """Produce the records ingest would produce, with ingest's producer settings."""
    ensure_topic(bootstrap, topic)
    messages = [to_kafka(event) for event in events]
    producer = Producer(producer_config(bootstrap))
    producer.produce(topic, value=b"warm-up")  # the idempotent producer's id, metadata
    producer.flush(30)
    started = time.perf_counter()
    for message in messages:
        headers: list[tuple[str, str | bytes | None]] = list(message.headers.items())
        while True:
            try:
                producer.produce(topic, value=message.value, key=message.key, headers=headers)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    left = producer.flush(60)
    elapsed = time.perf_counter() - started
    if left:
        raise RuntimeError(f"{left} records were not acknowledged by the broker")
    return len(messages) / elapsed


_SCRATCH = ("click_events", "page_clicks", "page_minute_counts", "type_minute_counts")
_UPSERTS = """
INSERT INTO {pc} AS t (site, user_id, page_url, click_count)
SELECT site, user_id, page_url, count(*) FROM {ce} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (site, user_id, page_url)
DO UPDATE SET click_count = t.click_count + EXCLUDED.click_count;
INSERT INTO {pm} AS t (site, bucket, page_url, count)
SELECT site, date_trunc('minute', time_stamp, 'UTC'), page_url, count(*) FROM {ce}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (site, bucket, page_url) DO UPDATE SET count = t.count + EXCLUDED.count;
INSERT INTO {tm} AS t (site, bucket, event_type, count)
SELECT site, date_trunc('minute', time_stamp, 'UTC'), event_type, count(*) FROM {ce}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (site, bucket, event_type) DO UPDATE SET count = t.count + EXCLUDED.count;
"""


def postgres_copy_upsert_events_per_s(database_url: str, events: list[ClickEvent]) -> float:
    """COPY the rows into copies of our tables (same indexes, logged) and upsert the
    aggregates from them, in one transaction."""
    suffix = uuid.uuid4().hex[:8]
    names = {table: f"bench_{table}_{suffix}" for table in _SCRATCH}
    rows = [(e.event_id, e.user_id, e.event_type, e.page_url, e.time_stamp) for e in events]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table, scratch in names.items():
            conn.execute(f"CREATE TABLE {scratch} (LIKE {table} INCLUDING ALL)")
        try:
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cursor:
                columns = "event_id, user_id, event_type, page_url, time_stamp"
                with cursor.copy(f"COPY {names['click_events']} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    _UPSERTS.format(
                        ce=names["click_events"],
                        pc=names["page_clicks"],
                        pm=names["page_minute_counts"],
                        tm=names["type_minute_counts"],
                    ).encode()
                )
            elapsed = time.perf_counter() - started
        finally:
            for scratch in names.values():
                conn.execute(f"DROP TABLE IF EXISTS {scratch}")
    return len(rows) / elapsed


def redis_get(redis_url: str, samples: int = FLOOR_SAMPLES) -> Latency:
    """Round trips of a bare GET of one cached value."""
    client = redis.Redis.from_url(redis_url)
    key = f"clickstream:bench:floor:{uuid.uuid4().hex}"
    latency = Latency()
    try:
        client.set(key, b"42", ex=60)
        for _ in range(samples):
            started = time.perf_counter()
            client.get(key)
            latency.record(time.perf_counter() - started)
        client.delete(key)
    finally:
        client.close()
    return latency


def postgres_pk_select(database_url: str, samples: int = FLOOR_SAMPLES) -> Latency:
    """Round trips of the primary-key SELECT an uncached count read runs (prepared)."""
    latency = Latency()
    query = (
        "SELECT click_count FROM page_clicks"
        " WHERE site = 'default' AND user_id = %s AND page_url = %s"
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        for n in range(samples):
            started = time.perf_counter()
            conn.execute(query, (f"floor-{n}", "/"), prepare=True).fetchone()
            latency.record(time.perf_counter() - started)
    return latency
