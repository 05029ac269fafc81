"""Broker outage mid-stream: every 202 is on the topic afterwards, everything else got non-2xx.

tansu keeps records in memory, so the outage is a frozen broker (SIGSTOP, then SIGCONT):
from ingest's side the same as a dead one, and its records survive for the check.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

import httpx
import pytest

from functions.dev.broker import start_broker
from tests.fixtures.functions import new_topic, read_topic, record_headers, running_function

pytestmark = pytest.mark.integration


async def send_stream(url: str, count: int, freeze_at: int, broker_pid: int) -> dict[str, int]:
    """POST `count` single events, 32 at a time; freeze the broker after `freeze_at` sends."""
    outcomes: dict[str, int] = {}
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def send(n: int) -> None:
            event_id = f"outage-{n}-{uuid.uuid4().hex[:6]}"
            body = {
                "event_id": event_id,
                "user_id": f"u{n % 7}",
                "event_type": "click",
                "page_url": "/x",
            }
            async with limit:
                if n == freeze_at:
                    os.kill(broker_pid, signal.SIGSTOP)
                try:
                    outcomes[event_id] = (await client.post("/ingest", json=body)).status_code
                except httpx.HTTPError:
                    outcomes[event_id] = 0

        await asyncio.gather(*(send(n) for n in range(count)))
    return outcomes


def test_no_acknowledged_event_is_lost(tmp_path: Path, database_url: str) -> None:
    broker, bootstrap = start_broker(tmp_path / "broker.log")
    try:
        topic = new_topic(bootstrap)
        env = {
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC": topic,
        }
        with running_function("functions.ingest", env, tmp_path / "ingest.log") as url:
            outcomes = asyncio.run(send_stream(url, 250, 150, broker.pid))
            broker.send_signal(signal.SIGCONT)
            accepted = {k for k, status in outcomes.items() if status == 202}
            refused = {k: s for k, s in outcomes.items() if s != 202}
            assert accepted, "the stream before the outage must have been accepted"
            assert refused, "the outage must have been noticed"
            assert set(refused.values()) <= {503}
            on_topic = {
                record_headers(r)["ce_id"].decode()
                for r in read_topic(bootstrap, topic, len(outcomes), timeout_s=20)
            }
            assert accepted <= on_topic
    finally:
        broker.send_signal(signal.SIGCONT)
        broker.terminate()
        broker.wait(10)
