"""Soak: steady writes and reads for a long time; every 10 s the RSS of each function and
the p99 of that window's requests are sampled, so the report shows any drift."""

from __future__ import annotations

import asyncio
import time

from functions.bench.drift import ENDS, WARMUP_S, drifts, final, settled
from functions.bench.environment import cpu_s, rss_kb
from functions.bench.http import ingest_events, rest_get, session
from functions.bench.loadgen import OpenModel, Request, Tally, run
from functions.bench.progress import shown
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, say
from functions.bench.stats import Latency
from functions.bench.workload import EventStream, Mix, page_url, user_id

SAMPLE_EVERY_S = 10.0
# a rate `process` keeps up with on a 2-core machine that also serves READ_RATE: at 1,000/s
# it fell behind after ~3 minutes, and the soak measured a growing backlog, not steady state
WRITE_RATE = 500
WRITE_BATCH = 10
READ_RATE = 500


class Window:
    """The latencies of the current sampling window (swapped at every sample)."""

    def __init__(self) -> None:
        self.latency = Latency()

    def timed(self, request: Request) -> Request:
        async def wrapped() -> bool:
            started = time.perf_counter()
            ok = await request()
            self.latency.record(time.perf_counter() - started)
            return ok

        return wrapped

    def take(self) -> Latency:
        taken, self.latency = self.latency, Latency()
        return taken


async def measure(ctx: Context, duration_s: float) -> None:
    stream = EventStream(ctx.run + "soak", Mix(users=1_000, pages=100))
    reads, writes = Window(), Window()
    # CPU shares, the broker's too: on a shared machine a process that slows down (the local
    # memory-only broker does as it fills) takes cores from the others and moves their p99
    every_pid = {n: p.pid for n, p in ctx.platform.stack.processes.items()}
    pids = {name: pid for name, pid in every_pid.items() if name != "broker"}  # RSS: functions
    counter = iter(range(10**12))

    def key() -> dict[str, str]:
        n = next(counter)
        return {"user_id": user_id(stream.run, n % 1_000), "page_url": page_url(n % 100)}

    async def sample(started: float) -> None:
        used = {name: cpu_s(pid) for name, pid in every_pid.items()}
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            point = {
                "t_s": round(time.perf_counter() - started, 1),
                "read_p99_ms": reads.take().percentile_ms(99),
                "write_p99_ms": writes.take().percentile_ms(99),
            }
            for name, pid in pids.items():
                rss = rss_kb(pid)
                if rss is not None:
                    point[f"rss_{name}_mb"] = rss / 1024
            for name, pid in every_pid.items():
                now, before = cpu_s(pid), used[name]
                if now is not None and before is not None:
                    point[f"cpu_{name}_pct"] = 100 * (now - before) / SAMPLE_EVERY_S
                used[name] = now
            ctx.results.soak.append(point)

    tally = Tally()
    async with session() as client:
        write = writes.timed(
            ingest_events(
                client, ctx.platform.url("ingest") + "/ingest", stream, WRITE_BATCH, beacon=False
            )
        )
        read = reads.timed(rest_get(client, ctx.platform.url("gateway") + "/analytics/events", key))
        started = time.perf_counter()
        sampler = asyncio.create_task(sample(started))
        async with shown("soak", duration_s, tally):
            await asyncio.gather(
                run(OpenModel(WRITE_RATE / WRITE_BATCH, duration_s), write, Tally()),
                run(OpenModel(READ_RATE, duration_s), read, tally),
            )
        sampler.cancel()
    points = ctx.results.soak
    if len(points) < 2 * ENDS:
        ctx.results.omit("soak_read_p99_drift", "the soak was too short to compare two ends")
        return
    moved = drifts(points)
    rss = {key[4:-3]: value for key, value in moved.items() if key.startswith("rss_")}
    listed = ", ".join(f"{name} {value:+.1%}" for name, value in sorted(rss.items()))
    say(f"soak RSS drift after warm-up: {listed}")
    cpu = sorted(key for key in moved if key.startswith("cpu_"))
    start, end = settled(points), final(points)
    say(
        "soak CPU % after warm-up → at the end: "
        + ", ".join(f"{key[4:-4]} {start[key]:.0f} → {end[key]:.0f}" for key in cpu)
    )
    ctx.results.figures.append(
        figure(
            "soak_rss_drift",
            "ratio",
            [max(rss.values(), default=0.0)],
            note=f"largest RSS change of one function from the end of warm-up ({WARMUP_S:.0f} s)"
            f" to the end, medians of {ENDS} samples at each end: {listed}",
        )
    )
    ctx.results.figures.append(
        figure(
            "soak_read_p99_drift",
            "ratio",
            [moved.get("read_p99_ms", 0.0)],
            note=f"read p99 change from the end of warm-up to the end (medians of {ENDS}"
            f" 10-s windows); {WRITE_RATE:,} events/s and {READ_RATE} reads/s",
        )
    )
