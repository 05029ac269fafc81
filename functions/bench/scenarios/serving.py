"""The HTTP serving ceiling: a bare answer from the same functions-framework + uvicorn
set-up, driven by the same load generator at the same concurrency (and by wrk, when
installed, for figures wrk measures)."""

from __future__ import annotations

from functions.bench import wrk
from functions.bench.http import rest_get, session
from functions.bench.loadgen import ClosedModel
from functions.bench.scenarios.common import Context, load, say, wait_http

CEILING = "http_bare_requests_per_s"
WRK_CEILING = "http_bare_wrk_requests_per_s"


async def measure(ctx: Context) -> None:
    _, env = ctx.platform.spawn("noop-serving", "functions.bench.noop", "process", {})
    url = f"http://127.0.0.1:{env['PORT']}"
    try:
        if not await wait_http(url + "/hello"):
            say("[yellow]the no-op function did not start: no serving ceiling[/]")
            return
        model = ClosedModel(ctx.plan.concurrency, ctx.plan.load_s, ctx.plan.ramp_s)
        for _ in range(ctx.plan.repeat):
            async with session() as client:
                tally = await load(
                    "ceiling: bare HTTP", model, rest_get(client, url + "/hello", dict)
                )
            ctx.add_ceiling_run(CEILING, tally.rate)
            if wrk.available():
                bare = await wrk.run(
                    url, wrk.cycling(["/hello"]), ctx.plan.concurrency, ctx.plan.load_s
                )
                say(f"ceiling: bare HTTP (wrk)   {bare.requests_per_s:,.0f}/s")
                ctx.add_ceiling_run(WRK_CEILING, bare.requests_per_s)
    finally:
        ctx.platform.stop_extra("noop-serving")
