"""Group commit: concurrent deliveries share one transaction, each answered after it commits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from functions.core.events import ClickEvent


@dataclass(slots=True)
class _Pending:
    event: ClickEvent
    done: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


# Writes a group and returns the event ids it newly inserted.
GroupWriter = Callable[[list[ClickEvent]], Awaitable[set[str]]]


class GroupCommitter:
    """Writes what queued up while the previous group was being written (up to `max_group`),
    waiting at most `max_wait_s` for more: under load groups grow by themselves.

    `writers` groups are written at once, each in its own transaction: a delivery waits for
    one group's round trip, not for a queue of them. Concurrent groups are safe as between
    replicas: each statement locks rows in one order, and an event in two groups at once is
    inserted by one of them only.

    The writer's exception fails every request of its group (they are all retried).
    """

    def __init__(
        self,
        writer: GroupWriter,
        *,
        writers: int = 1,
        max_group: int = 500,
        max_wait_s: float = 0.0,
    ) -> None:
        self._writer = writer
        self._writers = writers
        self._max_group = max_group
        self._max_wait_s = max_wait_s
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
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
        pending = _Pending(event)
        self._queue.put_nowait(pending)
        return await pending.done

    async def _collect(self) -> list[_Pending]:
        group = [await self._queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait_s
        while len(group) < self._max_group:
            if not self._queue.empty():
                group.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                group.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return group

    async def _run(self) -> None:
        while True:
            group = await self._collect()
            try:
                inserted = await self._writer([p.event for p in group])
            except Exception as error:  # every waiter gets the failure, the loop goes on
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_exception(error)
                continue
            for pending in group:
                if pending.done.done():
                    continue
                new = pending.event.event_id in inserted
                # a duplicate inside one group: only its first copy counts as inserted
                inserted.discard(pending.event.event_id)
                pending.done.set_result(new)
