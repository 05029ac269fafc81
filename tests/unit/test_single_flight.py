"""SingleFlight on its own: concurrent loads of one key share one call, a batch loads only
the keys nobody else is loading, a failure reaches every caller sharing it, and nothing
stays in flight afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from functions.query.single_flight import SingleFlight


class Loader:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.release = asyncio.Event()
        self.error: Exception | None = None

    async def many(self, keys: list[str]) -> Mapping[str, int]:
        self.calls.append(keys)
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return {key: len(key) for key in keys}


def test_concurrent_loads_of_one_key_share_a_call() -> None:
    async def scenario() -> None:
        flight: SingleFlight[int] = SingleFlight()
        loader = Loader()

        async def one() -> int:
            return (await loader.many(["abc"]))["abc"]

        callers = [asyncio.create_task(flight.run("abc", one)) for _ in range(10)]
        await asyncio.sleep(0.01)
        loader.release.set()
        assert await asyncio.gather(*callers) == [3] * 10
        assert loader.calls == [["abc"]]
        # over: the next load calls again
        assert await flight.run("abc", one) == 3
        assert len(loader.calls) == 2

    asyncio.run(scenario())


def test_a_batch_loads_only_what_nobody_else_is_loading() -> None:
    async def scenario() -> None:
        flight: SingleFlight[int] = SingleFlight()
        loader = Loader()
        first = asyncio.create_task(flight.run_many(["a", "bb"], loader.many))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(flight.run_many(["bb", "ccc", "ccc"], loader.many))
        await asyncio.sleep(0.01)
        loader.release.set()
        assert await first == {"a": 1, "bb": 2}
        assert await second == {"bb": 2, "ccc": 3}
        assert loader.calls == [["a", "bb"], ["ccc"]]

    asyncio.run(scenario())


def test_a_failure_reaches_every_caller_and_is_not_kept() -> None:
    async def scenario() -> None:
        flight: SingleFlight[int] = SingleFlight()
        loader = Loader()
        loader.error = TimeoutError("slow")
        callers = [asyncio.create_task(flight.run_many(["k"], loader.many)) for _ in range(3)]
        await asyncio.sleep(0.01)
        loader.release.set()
        answers = await asyncio.gather(*callers, return_exceptions=True)
        assert [type(answer) for answer in answers] == [TimeoutError] * 3
        assert loader.calls == [["k"]]
        loader.error = None
        assert await flight.run_many(["k"], loader.many) == {"k": 1}

    asyncio.run(scenario())


def test_a_cancelled_joiner_does_not_cancel_the_shared_load() -> None:
    async def scenario() -> None:
        flight: SingleFlight[int] = SingleFlight()
        loader = Loader()
        owner = asyncio.create_task(flight.run_many(["k"], loader.many))
        await asyncio.sleep(0.01)
        joiner = asyncio.create_task(flight.run_many(["k"], loader.many))
        await asyncio.sleep(0.01)
        joiner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await joiner
        loader.release.set()
        assert await owner == {"k": 1}

    asyncio.run(scenario())
