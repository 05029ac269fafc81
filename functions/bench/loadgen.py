"""The load generator's core: open model (fixed arrival rate) and closed model (fixed
concurrency), with a linear ramp-up; transport-agnostic (a request is an async callable).

Open-model latency is measured from each request's *intended* start, so a stalled server
also charges the requests it kept from being sent (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from functions.bench.stats import Latency

# One request; True when the answer was the expected one. Transport failures return False.
Request = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class OpenModel:
    """`rate` requests/s arrive whatever the server does (after a linear ramp from 0)."""

    rate: float
    duration_s: float
    ramp_s: float = 0.0
    max_in_flight: int = 2048


@dataclass(frozen=True, slots=True)
class ClosedModel:
    """`concurrency` clients each send their next request as soon as the last one answered."""

    concurrency: int
    duration_s: float
    ramp_s: float = 0.0


@dataclass
class Tally:
    """Live counts of the measured window; the progress display reads it while it runs."""

    latency: Latency = field(default_factory=Latency)
    ok: int = 0
    errors: int = 0
    in_flight: int = 0
    window_s: float = 0.0

    def add(self, ok: bool, seconds: float) -> None:
        self.latency.record(seconds)
        if ok:
            self.ok += 1
        else:
            self.errors += 1

    @property
    def rate(self) -> float:
        """Expected answers per second over the measured window."""
        return self.ok / self.window_s if self.window_s > 0 else 0.0


def arrival_offsets(rate: float, duration_s: float, ramp_s: float = 0.0) -> Iterator[float]:
    """Intended start times (seconds from the start) of an open-model run.

    During the ramp the rate grows linearly from 0 to `rate` (N(t) = rate t² / 2 ramp);
    then `duration_s` seconds at `rate`.
    """
    if rate <= 0:
        raise ValueError("the arrival rate must be positive")
    end = ramp_s + duration_s
    ramp_count = rate * ramp_s / 2
    index = 0
    while True:
        if index < ramp_count:
            offset = math.sqrt(2 * ramp_s * index / rate)
        else:
            offset = ramp_s + (index - ramp_count) / rate
        if offset >= end:
            return
        yield offset
        index += 1


async def run_open(model: OpenModel, request: Request, tally: Tally) -> Tally:
    """Send at the model's arrival times; record requests intended after the ramp."""
    slots = asyncio.Semaphore(model.max_in_flight)
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()

    async def one(intended: float, measured: bool) -> None:
        try:
            ok = await request()
        finally:
            slots.release()
            tally.in_flight -= 1
        if measured:
            tally.add(ok, time.perf_counter() - intended)

    for offset in arrival_offsets(model.rate, model.duration_s, model.ramp_s):
        intended = start + offset
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()  # waiting here is counted: latency runs from `intended`
        tally.in_flight += 1
        task = asyncio.create_task(one(intended, offset >= model.ramp_s))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        tally.window_s = max(0.0, time.perf_counter() - start - model.ramp_s)
    if tasks:
        await asyncio.gather(*tasks)
    tally.window_s = model.duration_s
    return tally


async def run_closed(model: ClosedModel, request: Request, tally: Tally) -> Tally:
    """`concurrency` loops until the end; requests sent after the ramp are recorded."""
    start = time.perf_counter()
    measure_from = start + model.ramp_s
    end = measure_from + model.duration_s

    async def client(number: int) -> None:
        await asyncio.sleep(model.ramp_s * number / model.concurrency)
        while (sent := time.perf_counter()) < end:
            tally.in_flight += 1
            try:
                ok = await request()
            finally:
                tally.in_flight -= 1
            done = time.perf_counter()
            # every request sent in the window counts, however long it takes to answer:
            # dropping those answered after the window would drop the slowest, and leave no
            # figure at all for a read slower than the window
            if sent >= measure_from:
                tally.add(ok, done - sent)
            tally.window_s = max(tally.window_s, done - measure_from)

    await asyncio.gather(*(client(n) for n in range(model.concurrency)))
    # the window runs until the last answer, so that a rate counts no answer twice over
    tally.window_s = max(tally.window_s, model.duration_s)
    return tally


async def run(model: OpenModel | ClosedModel, request: Request, tally: Tally) -> Tally:
    if isinstance(model, OpenModel):
        return await run_open(model, request, tally)
    return await run_closed(model, request, tally)
