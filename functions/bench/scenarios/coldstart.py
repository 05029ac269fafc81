"""Cold start of `query` and `gateway` (scale to zero): from process start to the first
answered request. Floor: starting the interpreter and importing nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import aiohttp
import grpc
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc

from functions.bench.results import figure
from functions.bench.scenarios.common import Context, say

GIVE_UP_S = 30.0
POLL_S = 0.005
FLOOR = "python_start_s"


def _python_start_s() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def _first_grpc_answer(address: str, started: float) -> float | None:
    """Blocking: grpc's asyncio client does not run on every event loop (uvloop)."""
    request = pb.GetEventCountRequest(user_id="cold", page_url="/cold")
    while time.perf_counter() - started < GIVE_UP_S:
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.AnalyticsServiceStub(channel)  # type: ignore[no-untyped-call]
            try:
                stub.GetEventCount(request, timeout=0.5)
                return time.perf_counter() - started
            except grpc.RpcError:
                time.sleep(POLL_S)
    return None


async def _first_http_answer(url: str, started: float) -> float | None:
    params = {"user_id": "cold", "page_url": "/cold"}
    async with aiohttp.ClientSession() as client:
        while time.perf_counter() - started < GIVE_UP_S:
            try:
                async with client.get(url, params=params) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(POLL_S)
    return None


async def _cold_start(ctx: Context, name: str, repetition: int) -> float | None:
    label = f"{name}-cold-{repetition}"
    started = time.perf_counter()
    _, env = ctx.platform.spawn(label, f"functions.{name}", name, {})
    try:
        if name == "query":
            address = f"127.0.0.1:{env['PORT']}"
            return await asyncio.to_thread(_first_grpc_answer, address, started)
        return await _first_http_answer(f"http://127.0.0.1:{env['PORT']}/analytics/events", started)
    finally:
        ctx.platform.stop_extra(label)


async def measure(ctx: Context) -> None:
    for name in ("query", "gateway"):
        runs: list[float] = []
        for repetition in range(ctx.plan.repeat):
            ctx.add_ceiling_run(FLOOR, _python_start_s())
            seconds = await _cold_start(ctx, name, repetition)
            if seconds is not None:
                say(f"cold start {name}: {seconds:.2f} s")
                runs.append(seconds)
        figure_name = f"cold_start_{name}_s"
        if not runs:
            ctx.results.omit(figure_name, f"{name} never answered within {GIVE_UP_S:.0f} s")
            continue
        ctx.results.figures.append(
            figure(
                figure_name,
                "s",
                runs,
                ctx.ceiling(FLOOR, "s"),
                target="<= 1.0",
                note="process start -> first answered request (GetEventCount)",
            )
        )
