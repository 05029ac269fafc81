"""A unit of work run in the background every few seconds or hours, on a pooled connection:
`process`'s report roller (functions/process/roller.py) and retention maintainer
(functions/core/retention.py) are two of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


class Periodic(ABC):
    """`run` at start and then every `interval_s`; a failed run is logged and retried at the
    next. Stopping waits for the run under way, if any: a transaction is never cut off
    halfway."""

    name: ClassVar[str]  # the task's name, and what a failure's log line calls it
    log: ClassVar[logging.Logger]
    interval_s: ClassVar[float]  # unless the constructor is given another

    def __init__(
        self,
        pool: AsyncConnectionPool,
        interval_s: float | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._interval_s = self.interval_s if interval_s is None else interval_s
        self._clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run(self, conn: AsyncConnection[Any], now: datetime) -> None: ...

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                async with self._pool.connection() as conn:
                    await self.run(conn, self._clock())
            except Exception:  # whatever failed, the next run retries it
                self.log.warning(
                    "%s failed; retrying in %s s", self.name, self._interval_s, exc_info=True
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)
