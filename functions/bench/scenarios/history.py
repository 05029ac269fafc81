"""History at scale: events over 30 days loaded by COPY through `process`'s own statement
(`write_bulk`: the same tables as delivering them one by one), settled (common.settle),
then 30-day overview, top pages and hourly time series, each request a range never asked
before (uncached); then the same reads with the same rows in an unpartitioned
`click_events`, as a same-run ratio."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import psycopg

from functions.bench.http import rest_get, route_exists, session
from functions.bench.loadgen import ClosedModel
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, load, say, settle
from functions.bench.stats import Latency
from functions.bench.unpartitioned import unpartitioned
from functions.bench.workload import Mix, page_url, user_id
from functions.bench.zipf import Zipf
from functions.core.events import ClickEvent
from functions.process.store import write_bulk

DAYS = 30
LOAD_BATCH = 100_000
CONCURRENCY = 4
ROUTES = {
    "overview": ("/api/v1/overview", {}),
    "top pages": ("/api/v1/pages/top", {"limit": "10"}),
    "hourly time series": ("/api/v1/timeseries", {"bucket": "hour"}),
}


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _load_history(
    database_url: str, run: str, events: int, budget_s: float
) -> tuple[int, float]:
    """Write up to `events` spread evenly over the last 30 days in time order, as they
    arrive in production (visits then grow at their ends, the path `process` is built for),
    stopping after `budget_s`; returns how many were written and at what rate (events/s)."""
    rng = random.Random(30)
    mix = Mix(users=100_000, pages=5_000)
    users, pages = Zipf(mix.users, mix.zipf_s, rng), Zipf(mix.pages, mix.zipf_s, rng)
    now = datetime.now(UTC)
    span_s = DAYS * 86_400
    started = time.perf_counter()
    written = 0
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        for first in range(0, events, LOAD_BATCH):
            if time.perf_counter() - started > budget_s:
                break
            batch = [
                ClickEvent(
                    event_id=f"{run}-h{n}",
                    user_id=user_id(run, users.sample()),
                    event_type="click",
                    page_url=page_url(pages.sample()),
                    time_stamp=now - timedelta(seconds=span_s * (1 - (n + rng.random()) / events)),
                )
                for n in range(first, min(events, first + LOAD_BATCH))
            ]
            async with conn.transaction():
                await write_bulk(conn, batch)
            written += len(batch)
            if written % 1_000_000 == 0:
                say(f"history: {written:,} events loaded")
    return written, written / (time.perf_counter() - started)


def _ranges(extra: Mapping[str, str]) -> Callable[[], Mapping[str, str]]:
    """30-day ranges, each starting one minute later than the last: never cached before."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    minutes = itertools.count()

    def params() -> Mapping[str, str]:
        start = end - timedelta(days=DAYS) + timedelta(minutes=next(minutes))
        return {"from": _rfc3339(start), "to": _rfc3339(end), **extra}

    return params


async def measure(ctx: Context) -> None:
    plan = ctx.plan
    if plan.history_events <= 0:
        ctx.results.omit("history_30d_p99_ms", "not in this plan (--quick loads no history)")
        ctx.results.omit("history_partitions_ratio", "not in this plan (--quick loads no history)")
        return
    base = ctx.platform.url("gateway")
    present = {name: route for name, route in ROUTES.items() if await route_exists(base + route[0])}
    if not present:
        ctx.results.omit(
            "history_30d_p99_ms",
            "gateway has none of /api/v1/overview, /pages/top, /timeseries yet (404)",
        )
        ctx.results.omit("history_partitions_ratio", "no history read to compare")
        return
    stored, rate = await _load_history(
        ctx.platform.database_url, ctx.run + "hist", plan.history_events, plan.history_budget_s
    )
    say(f"history: {stored:,} events loaded at {rate:,.0f} events/s")
    build_s, built = await settle(ctx.platform.database_url)
    say(f"history: built {built} in {build_s:.1f} s")
    runs, per_route, curve = await _read(ctx, base, present)
    ctx.results.latency_curves["history 30d"] = curve
    missing = sorted(set(ROUTES) - set(present))
    ctx.results.figures.append(
        figure(
            "history_30d_p99_ms",
            "ms",
            runs,
            target="<= 50 uncached",
            note=f"{stored:,} events over {DAYS} days (loaded at {rate:,.0f}/s, then VACUUM"
            f" ANALYZE and {built} built in {build_s:.0f} s"
            + (
                ""
                if stored == plan.history_events
                else f", {plan.history_budget_s:.0f}-s load budget reached"
            )
            + "); p99 "
            + "; ".join(f"{n} " + ", ".join(f"{v:.1f}" for v in vs) for n, vs in per_route.items())
            + (f"; not built yet: {', '.join(missing)}" if missing else ""),
        )
    )
    say("history: the same reads over unpartitioned raw events, the same run's baseline:")
    with unpartitioned(ctx.platform.database_url):
        plain, _, _ = await _read(ctx, base, present)
    ctx.results.figures.append(
        figure(
            "history_partitions_ratio",
            "ratio",
            [run / baseline for run, baseline in zip(runs, plain, strict=True)],
            target="<= 1.1",
            note="each run's 30-day p99 (raw events partitioned by site and time) over the p99 "
            "of the same reads, after them, with the same rows in one plain table (ms "
            "unpartitioned: " + ", ".join(f"{v:.1f}" for v in plain) + ")",
        )
    )


async def _read(
    ctx: Context, base: str, present: Mapping[str, tuple[str, Mapping[str, str]]]
) -> tuple[list[float], dict[str, list[float]], list[tuple[float, float]]]:
    """`repeat` runs of the 30-day reads: each run's p99, each route's, the last curve."""
    runs: list[float] = []
    per_route: dict[str, list[float]] = {}
    model = ClosedModel(CONCURRENCY, ctx.plan.load_s, ctx.plan.ramp_s)
    combined = Latency()
    for _ in range(ctx.plan.repeat):
        combined = Latency()
        async with session() as client:
            for name, (path, extra) in present.items():
                tally = await load(
                    f"30-day {name}", model, rest_get(client, base + path, _ranges(extra))
                )
                combined.merge(tally.latency)
                per_route.setdefault(name, []).append(tally.latency.percentile_ms(99))
        runs.append(combined.percentile_ms(99))
    return runs, per_route, combined.curve()
