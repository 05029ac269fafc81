"""GroupCommitter on its own: what queues while a group is written leaves as the next group
(never more than `max_group`), each caller learns whether its event was new, a duplicate
inside one group counts once, and a failed write fails exactly its group's callers."""

from __future__ import annotations

import asyncio

import pytest

from functions.core.events import ClickEvent
from functions.process.group_commit import GroupCommitter


def click(n: int, site: str = "default") -> ClickEvent:
    return ClickEvent(event_id=f"e{n}", user_id="u", event_type="click", page_url="/", site=site)


class Store:
    """A writer that holds each group until released, remembering what it stored."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.stored: set[tuple[str, str]] = set()
        self.release = asyncio.Event()
        self.fail_next: Exception | None = None

    async def write(self, events: list[ClickEvent]) -> set[tuple[str, str]]:
        self.groups.append([event.event_id for event in events])
        await self.release.wait()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        new = {(e.site, e.event_id) for e in events} - self.stored
        self.stored |= new
        return set(new)


def run(scenario: object) -> None:
    asyncio.run(scenario)  # type: ignore[arg-type]


def test_what_queues_during_a_write_leaves_as_the_next_group() -> None:
    async def scenario() -> None:
        store = Store()
        committer = GroupCommitter(store.write, max_group=3)
        committer.start()
        first = asyncio.create_task(committer.submit(click(0)))
        await asyncio.sleep(0.01)  # the first group (one event) is being written
        later = [asyncio.create_task(committer.submit(click(n))) for n in range(1, 6)]
        await asyncio.sleep(0.01)
        assert store.groups == [["e0"]]
        store.release.set()
        assert await first is True
        assert await asyncio.gather(*later) == [True] * 5
        # five waited: a group of at most three, then the rest
        assert store.groups == [["e0"], ["e1", "e2", "e3"], ["e4", "e5"]]
        await committer.stop()

    run(scenario())


def test_duplicates_are_false_and_count_once_within_a_group() -> None:
    async def scenario() -> None:
        store = Store()
        store.release.set()
        committer = GroupCommitter(store.write)
        committer.start()
        answers = await asyncio.gather(
            committer.submit(click(1)), committer.submit(click(1)), committer.submit(click(2))
        )
        assert list(answers) == [True, False, True]
        assert await committer.submit(click(2)) is False
        # one id on two sites is two events
        assert await committer.submit(click(2, site="shop.example")) is True
        await committer.stop()

    run(scenario())


def test_a_failed_write_fails_its_group_only_and_the_loop_goes_on() -> None:
    async def scenario() -> None:
        store = Store()
        store.fail_next = ConnectionError("down")
        store.release.set()
        committer = GroupCommitter(store.write)
        committer.start()
        failed = await asyncio.gather(
            committer.submit(click(1)), committer.submit(click(2)), return_exceptions=True
        )
        assert [type(answer) for answer in failed] == [ConnectionError, ConnectionError]
        assert await committer.submit(click(1)) is True  # retried: now stored
        await committer.stop()

    run(scenario())


@pytest.mark.parametrize("writers", [2, 3])
def test_several_writers_write_groups_at_once(writers: int) -> None:
    async def scenario() -> None:
        store = Store()
        committer = GroupCommitter(store.write, writers=writers, max_group=1)
        committer.start()
        calls = [asyncio.create_task(committer.submit(click(n))) for n in range(writers)]
        await asyncio.sleep(0.01)
        # each writer holds one group in flight, none waiting for another to finish
        assert len(store.groups) == writers
        store.release.set()
        assert await asyncio.gather(*calls) == [True] * writers
        await committer.stop()

    run(scenario())
