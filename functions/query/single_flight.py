"""Concurrent loads of one key share a single call: no cache stampede."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class SingleFlight(Generic[Value]):
    """Concurrent loads of one key share a single call (no cache stampede)."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[Value]] = {}

    async def run(self, key: str, load: Callable[[], Awaitable[Value]]) -> Value:
        if key in self._inflight:
            return await asyncio.shield(self._inflight[key])
        future: asyncio.Future[Value] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await load()
        except BaseException as error:
            future.set_exception(error)
            # retrieved here so a load nobody else awaited does not warn
            future.exception()
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._inflight[key]
