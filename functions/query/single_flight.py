"""Concurrent loads of one key share a single call: no cache stampede."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Generic, TypeVar

Value = TypeVar("Value")


class SingleFlight(Generic[Value]):
    """Concurrent loads of one key share a single call (no cache stampede)."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[Value]] = {}

    async def run(self, key: str, load: Callable[[], Awaitable[Value]]) -> Value:
        async def load_one(_: list[str]) -> dict[str, Value]:
            return {key: await load()}

        return (await self.run_many((key,), load_one))[key]

    async def run_many(
        self, keys: Iterable[str], load: Callable[[list[str]], Awaitable[Mapping[str, Value]]]
    ) -> dict[str, Value]:
        """The value of each of `keys`: those another caller is loading are awaited, the rest
        loaded by one call of `load`, which must answer every key it is given."""
        joined: dict[str, asyncio.Future[Value]] = {}
        mine: dict[str, asyncio.Future[Value]] = {}
        for key in keys:
            if key in joined or key in mine:
                continue
            if key in self._inflight:
                joined[key] = self._inflight[key]
            else:
                mine[key] = self._inflight[key] = asyncio.get_running_loop().create_future()
        values: dict[str, Value] = {}
        if mine:
            try:
                loaded = await load(list(mine))
                values = {key: loaded[key] for key in mine}
            except BaseException as error:
                for future in mine.values():
                    future.set_exception(error)
                    # retrieved here so a load nobody else awaited does not warn
                    future.exception()
                raise
            else:
                for key, future in mine.items():
                    future.set_result(values[key])
            finally:
                for key in mine:
                    del self._inflight[key]
        for key, future in joined.items():
            values[key] = await asyncio.shield(future)
        return values
