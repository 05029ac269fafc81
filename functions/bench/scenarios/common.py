"""What every scenario shares: the plan (sizes and durations), the run context, load runs."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import psycopg

from functions.bench.environment import Platform
from functions.bench.loadgen import ClosedModel, OpenModel, Request, Tally, run
from functions.bench.progress import console, shown
from functions.bench.results import Ceiling, Results, ceiling
from functions.process.roller import build_pending

SUSTAINABLE_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes and durations of one benchmark run."""

    repeat: int
    load_s: float
    ramp_s: float
    concurrency: int = 32
    batch_size: int = 100
    batch_concurrency: int = 8
    prefill_events: int = 60_000  # ~20 s of draining: a sustained rate, not a start-up burst
    ceiling_events: int = 50_000
    freshness_rate: float = 2_000
    mixed_write_rate: float = 1_000
    mixed_warmup_s: float = 20.0  # the same reads and writes, before the hit rate is counted
    history_events: int = 10_000_000
    history_budget_s: float = 1_200.0  # loading stops here; the figure says how many it holds
    freshness_give_up_s: float = 30.0
    distinct_users: int = 1_000_000
    report_events: int = 10_000_000  # the reports' 30 days of visits
    # loading stops here, the figure saying how many it holds: the write keeps visits and each
    # event's visit, at 2,965 events/s on a slow day (8 M fit; 10 M would take 56 minutes)
    report_budget_s: float = 2_700.0
    export_events: int = 2_000_000  # streamed whole and a tenth of them: memory must not grow


FULL = Plan(repeat=3, load_s=8, ramp_s=2)
QUICK = Plan(
    repeat=1,
    load_s=2,
    ramp_s=0.5,
    prefill_events=1_000,
    ceiling_events=20_000,
    history_events=0,
    freshness_give_up_s=10.0,
    distinct_users=20_000,
    mixed_warmup_s=2.0,
    report_events=5_000,
    export_events=5_000,
)


@dataclass
class Context:
    """One benchmark run: the platform under test, the plan, and the results it fills."""

    platform: Platform
    plan: Plan
    results: Results
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ceiling_runs: dict[str, list[float]] = field(default_factory=dict)
    pipeline_rate: float | None = None  # the median measured, once the pipeline ran

    def sustainable(self, wanted: float) -> float:
        """`wanted` events/s, or 80% of the measured pipeline rate when that is lower:
        a steady load the pipeline cannot drain would only measure its backlog. A pipeline
        that stalled (0 events/s) gives no rate to scale by: then `wanted`."""
        if not self.pipeline_rate:
            return wanted
        return min(wanted, SUSTAINABLE_SHARE * self.pipeline_rate)

    def prefix(self, scenario: str, repetition: int) -> str:
        """Unique ids per scenario and repetition: no two runs share a key."""
        return f"{self.run}{scenario}{repetition}"

    def add_ceiling_run(self, name: str, value: float) -> None:
        self.ceiling_runs.setdefault(name, []).append(value)

    def ceiling(self, name: str, unit: str) -> Ceiling | None:
        runs = self.ceiling_runs.get(name)
        if not runs:
            return None
        found = ceiling(name, unit, runs)
        if all(c.name != name for c in self.results.ceilings):
            self.results.ceilings.append(found)
        return found


async def load(label: str, model: OpenModel | ClosedModel, request: Request) -> Tally:
    """One load run with its live progress line."""
    tally = Tally()
    async with shown(label, model.ramp_s + model.duration_s, tally):
        await run(model, request, tally)
    return tally


async def wait_http(url: str, timeout_s: float = 30.0, containing: str = "") -> bool:
    """Until `url` answers 200 (a function's readiness) with a body `containing` this."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            try:
                async with client.get(url) as answer:
                    if answer.status == 200 and containing in await answer.text():
                        return True
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(0.05)
    return False


async def metric_sum(metrics_url: str, metric: str, label: str) -> float | None:
    """The sum of `metric`'s series carrying `label` (e.g. kind="count"); None if absent."""
    async with aiohttp.ClientSession() as client, client.get(metrics_url) as answer:
        text = await answer.text()
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(metric + "{") and label in line
    ]
    return sum(values) if values else None


def say(message: str) -> None:
    console.print(message)


async def settle(database_url: str) -> tuple[float, str]:
    """What follows a bulk load in production long before a 30-day view is read: VACUUM
    (ANALYZE), as autovacuum soon does, and every report roll-up the load left pending, as
    `process`'s roller does in the background (reads measured during that backlog would
    share the CPU with it). Returns the build's seconds and what it built."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        say(f"VACUUM (ANALYZE) took {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        built = await build_pending(conn, datetime.now(UTC))
        seconds = time.perf_counter() - started
        # as autovacuum would soon after: the roll-up tables were empty at the first ANALYZE
        await conn.execute("ANALYZE report_rollups, rollup_builds, rollup_versions")
    return seconds, f"{built.hours} hour, {built.days} day and {built.longer} longer roll-ups"
