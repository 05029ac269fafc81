"""Group commit: concurrent deliveries share one transaction, each answered after it commits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from functions.core.events import ClickEvent

# Writes a group and returns the (site, event id) of each event it newly inserted.
GroupWriter = Callable[[list[ClickEvent]], Awaitable[set[tuple[str, str]]]]


class GroupCommitter:
    """Writes what queued up while the previous group was being written (up to
    `max_group`): under load groups grow by themselves, and an event arriving alone is
    written at once.

    `writers` groups are written at once, each in its own transaction: a delivery waits for
    one group's round trip, not for a queue of them. Concurrent groups are safe as between
    replicas: each statement locks rows in one order, an event in two groups at once is
    inserted by one of them only, and groups touching one visit key take turns
    (`functions.process.visits`).

    The writer's exception fails every request of its group (they are all retried).
    """

    def __init__(self, writer: GroupWriter, *, writers: int = 1, max_group: int = 500) -> None:
        self._writer = writer
        self._writers = writers
        self._max_group = max_group
        # a plain list and one event, not an asyncio.Queue: a queue's put and get per event
        # cost more than the rest of the hand-off
        self._waiting: list[tuple[ClickEvent, asyncio.Future[bool]]] = []
        self._arrived = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._run(), name=f"group-commit-{n}") for n in range(self._writers)
        ]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def submit(self, event: ClickEvent) -> bool:
        """Store `event` durably; True when it was new, False for a duplicate."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, done))
        self._arrived.set()
        return await done

    async def _collect(self) -> list[tuple[ClickEvent, asyncio.Future[bool]]]:
        while not self._waiting:  # another writer may have taken what woke this one
            self._arrived.clear()
            await self._arrived.wait()
        group = self._waiting[: self._max_group]
        del self._waiting[: self._max_group]
        return group

    async def _run(self) -> None:
        while True:
            group = await self._collect()
            try:
                inserted = await self._writer([event for event, _ in group])
            except Exception as error:  # every waiter gets the failure, the loop goes on
                for _, done in group:
                    if not done.done():
                        done.set_exception(error)
                continue
            for event, done in group:
                if done.done():
                    continue
                key = (event.site, event.event_id)
                new = key in inserted
                # a duplicate inside one group: only its first copy counts as inserted
                inserted.discard(key)
                done.set_result(new)
