"""Count reads the gateway cannot answer itself go to `query` together: what arrives while
earlier calls are under way leaves as one GetEventCounts call.

A gRPC call costs `query` several times what reading one more key in it does (profiled:
three fifths of a miss was grpc.aio's own work and its poller thread), so under load most
of it is shared; when idle, a read leaves at once, alone, as GetEventCount. Like group
commit on the write side: nothing waits for a timer, only for a free call.
"""

from __future__ import annotations

import asyncio

import grpc
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc

# calls under way at once (never-seen reads/s through the gateway under `wrk -c32`: 1, 2, 4, 8
# in flight gave ~1,170, ~1,380, ~1,720-1,990, ~1,600-1,800; once `count_reads.py` answered
# fetched reads too, 3, 4, 6, 8 gave ~1,950-2,100, ~2,110-2,450, ~1,920-2,080, ~1,960-2,170)
MAX_CALLS = 4
# keys per call; `query` takes up to 1,000
MAX_KEYS = 256
Waiting = tuple[pb.GetEventCountRequest, "asyncio.Future[int]"]


class CountBatches:
    def __init__(self, stub: pb_grpc.AnalyticsServiceStub, deadline_s: float) -> None:
        self._stub = stub
        self._deadline_s = deadline_s
        self._waiting: list[Waiting] = []
        self._calls: set[asyncio.Task[None]] = set()
        self._flush_due = False

    async def count(self, request: pb.GetEventCountRequest) -> int:
        """The all-time count of `request`'s (user, page), as `query` answers it."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        self._flush_soon()
        return await future

    def _flush_soon(self) -> None:
        # after this turn of the loop, so that the reads the same turn brings leave together
        if not self._flush_due and len(self._calls) < MAX_CALLS:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        while self._waiting and len(self._calls) < MAX_CALLS:
            batch, self._waiting = self._waiting[:MAX_KEYS], self._waiting[MAX_KEYS:]
            call = asyncio.create_task(self._send(batch))
            self._calls.add(call)
            call.add_done_callback(self._sent)

    def _sent(self, call: asyncio.Task[None]) -> None:
        self._calls.discard(call)
        if self._waiting:
            self._flush_soon()

    async def _send(self, batch: list[Waiting]) -> None:
        if len(batch) == 1:
            await self._send_one(batch[0])
            return
        try:
            answer = await self._stub.GetEventCounts(
                pb.GetEventCountsRequest(keys=[request for request, _ in batch]),
                timeout=self._deadline_s,
            )
            counts = [int(counted.count) for counted in answer.counts]
            if len(counts) != len(batch):
                raise RuntimeError(f"query answered {len(counts)} counts for {len(batch)} keys")
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                _fail(batch, error)
                return
            # one bad key fails the whole call: each asks alone, so only it gets the error
            await asyncio.gather(*(self._send_one(waiting) for waiting in batch))
            return
        except Exception as error:
            _fail(batch, error)
            return
        for (_, future), count in zip(batch, counts, strict=True):
            if not future.done():  # its HTTP request may have gone
                future.set_result(count)

    async def _send_one(self, waiting: Waiting) -> None:
        request, future = waiting
        try:
            answer = await self._stub.GetEventCount(request, timeout=self._deadline_s)
        except Exception as error:
            _fail([waiting], error)
        else:
            if not future.done():
                future.set_result(int(answer.count))


def _fail(batch: list[Waiting], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
