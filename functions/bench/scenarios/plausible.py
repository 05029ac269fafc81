"""Plausible's Events API (`POST /api/event`): single-request rate against the same run's
native single events, on one dedicated `ingest` whose topic nobody consumes, with a
browser's headers (enrichment and the cookieless visitor id included).

Each repetition loads the two forms back to back with the same client and events' shape; its
Plausible / native rate is one run of `plausible_event_ratio`."""

from __future__ import annotations

from functions.bench.http import ingest_events, plausible_events, session
from functions.bench.loadgen import ClosedModel
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, load, wait_http
from functions.bench.scenarios.ingest import BROWSER
from functions.bench.workload import EventStream

TOPIC = "bench-plausible"
DOMAIN = "bench.example"
RATIO = "plausible_event_ratio"


async def measure(ctx: Context) -> None:
    plan = ctx.plan
    _, env = ctx.platform.spawn(
        "ingest-plausible", "functions.ingest", "ingest", {"KAFKA_TOPIC": TOPIC}
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    if not await wait_http(base + "/readyz"):
        ctx.results.omit(RATIO, "the benchmark's ingest never became ready")
        ctx.platform.stop_extra("ingest-plausible")
        return
    runs: dict[str, list[float]] = {}
    try:
        for repetition in range(plan.repeat):
            stream = EventStream(ctx.prefix("plausible", repetition))
            closed = ClosedModel(plan.concurrency, plan.load_s, plan.ramp_s)
            async with session() as client:
                client.headers.update(BROWSER)
                native = await load(
                    "ingest single (native)",
                    closed,
                    ingest_events(client, base + "/ingest", stream, 1, beacon=False),
                )
                plausible = await load(
                    "ingest single (Plausible)",
                    closed,
                    plausible_events(client, base + "/api/event", stream, DOMAIN),
                )
            runs.setdefault("plausible_event_requests_per_s", []).append(plausible.rate)
            runs.setdefault(RATIO, []).append(plausible.rate / native.rate if native.rate else 0)
    finally:
        ctx.platform.stop_extra("ingest-plausible")
    ctx.results.figures.append(
        figure(
            "plausible_event_requests_per_s",
            "requests/s",
            runs["plausible_event_requests_per_s"],
            note="POST /api/event, one event a request, text/plain as the tracker sends",
        )
    )
    ctx.results.figures.append(
        figure(
            RATIO,
            "ratio",
            runs[RATIO],
            note="Plausible's Events API rate over native single events, the same run",
        )
    )
