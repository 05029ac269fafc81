"""The background task of `process` (functions/core/periodic.py) over a real pool: it runs
at start and then every interval, a failed run is logged and the next one runs all the
same, and stopping waits for the run under way."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from psycopg import AsyncConnection

from functions.core.db import open_pool
from functions.core.periodic import Periodic

pytestmark = pytest.mark.integration

LOG = logging.getLogger("tests.periodic")
MOMENT = datetime(2025, 3, 3, tzinfo=UTC)


class Flaky(Periodic):
    """Fails its first run; each run asks PostgreSQL for 1 and records what `now` it saw."""

    name = "flaky task"
    log = LOG
    interval_s = 0.02

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runs: list[datetime] = []
        self.release = asyncio.Event()

    async def run(self, conn: AsyncConnection[Any], now: datetime) -> None:
        cursor = await conn.execute("SELECT 1")
        assert await cursor.fetchone() == (1,)
        self.runs.append(now)
        if len(self.runs) == 1:
            raise RuntimeError("the first run fails")
        if len(self.runs) == 3:
            await self.release.wait()  # a run under way when stop() is called


def test_a_failed_run_is_logged_and_the_next_runs_and_stop_waits_for_the_run_under_way(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        pool = await open_pool(database_url, 1)
        task = Flaky(pool, clock=lambda: MOMENT)
        try:
            task.start()
            for _ in range(500):
                if len(task.runs) == 3:
                    break
                await asyncio.sleep(0.01)
            assert len(task.runs) == 3  # the failure did not stop it
            stopping = asyncio.create_task(task.stop())
            await asyncio.sleep(0.1)
            assert not stopping.done()  # it waits for the third run to end
            task.release.set()
            await asyncio.wait_for(stopping, 5)
            assert len(task.runs) == 3  # and starts no other
        finally:
            await pool.close()
        assert task.runs == [MOMENT] * 3

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        asyncio.run(scenario())
    failures = [r for r in caplog.records if r.name == LOG.name]
    assert [r.getMessage() for r in failures] == ["flaky task failed; retrying in 0.02 s"]
    assert failures[0].exc_info is not None
