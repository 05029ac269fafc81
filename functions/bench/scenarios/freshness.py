"""Freshness: from ingest's 202 to the count being visible through `gateway`, while a
steady background load flows through the whole pipeline."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from functions.bench.http import TRANSPORT_ERRORS, ingest_events, session
from functions.bench.loadgen import OpenModel, Tally, run
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, say
from functions.bench.stats import Latency
from functions.bench.workload import EventStream, Mix, json_body

BACKGROUND_BATCH = 20
PROBES_PER_S = 10
PROBE_POLL_S = 0.02


async def _probe(client: aiohttp.ClientSession, ctx: Context, user: str, latency: Latency) -> bool:
    give_up_s = ctx.plan.freshness_give_up_s
    event = {"event_id": user, "user_id": user, "event_type": "click", "page_url": "/fresh"}
    count_url = ctx.platform.url("gateway") + "/analytics/events"
    try:
        async with client.post(
            ctx.platform.url("ingest") + "/ingest",
            data=json_body(event),
            headers={"Content-Type": "application/json"},
        ) as answer:
            if answer.status != 202:
                return False
        accepted = time.perf_counter()
        while time.perf_counter() - accepted < give_up_s:
            params = {"user_id": user, "page_url": "/fresh"}
            async with client.get(count_url, params=params) as answer:
                if answer.status == 200 and (await answer.json())["count"] >= 1:
                    latency.record(time.perf_counter() - accepted)
                    return True
            await asyncio.sleep(PROBE_POLL_S)
    except TRANSPORT_ERRORS:
        return False
    latency.record(give_up_s)
    return False


async def measure(ctx: Context) -> None:
    plan = ctx.plan
    runs: list[float] = []
    p50s: list[float] = []
    rate = ctx.sustainable(plan.freshness_rate)
    for repetition in range(plan.repeat):
        prefix = ctx.prefix("fresh", repetition)
        stream = EventStream(prefix, Mix())
        background = OpenModel(rate / BACKGROUND_BATCH, plan.load_s + 2, plan.ramp_s)
        latency = Latency()
        async with session() as client:
            send = ingest_events(
                client,
                ctx.platform.url("ingest") + "/ingest",
                stream,
                BACKGROUND_BATCH,
                beacon=False,
            )
            load = asyncio.create_task(run(background, send, Tally()))
            await asyncio.sleep(plan.ramp_s + 1)
            probes = []
            for n in range(int(plan.load_s * PROBES_PER_S)):
                user = f"{prefix}-probe-{n}"
                probes.append(asyncio.create_task(_probe(client, ctx, user, latency)))
                await asyncio.sleep(1 / PROBES_PER_S)
            lost = sum(not ok for ok in await asyncio.gather(*probes))
            await load
        p50, p99 = latency.percentile_ms(50), latency.percentile_ms(99)
        say(
            f"freshness @ {rate:,.0f} events/s: p50 {p50:.0f} ms  p99 {p99:.0f} ms"
            f"  ({latency.count} probes, {lost} lost)"
        )
        ctx.results.latency_curves["freshness"] = latency.curve()
        runs.append(latency.percentile_ms(99) / 1000)
        p50s.append(latency.percentile_ms(50) / 1000)
    ctx.results.figures.append(
        figure(
            "freshness_p99_s",
            "s",
            runs,
            target="<= 1",
            original="5 s",
            note=f"ingest 202 -> visible via gateway at {rate:,.0f} events/s"
            + ("" if rate == plan.freshness_rate else " (80% of the measured pipeline rate)")
            + f"; unseen after {plan.freshness_give_up_s:.0f} s counts as that; p50 "
            + ", ".join(f"{v:.3f}" for v in p50s)
            + " s",
        )
    )
