"""Ingest: single events, batches of 100, beacons, and p99 at half the maximum load, against
one dedicated `ingest` whose topic nobody consumes (so only ingest and the broker work).
Every request carries what a browser's does through the cluster's ingress (`BROWSER`), so
enrichment (User-Agent, country) is part of what is measured.

Ceiling: the raw confluent-kafka producer with ingest's settings, for the same records.
Enrichment's cost: single events and batches also go, interleaved in the same repetition, to a
second `ingest` with `INGEST_ENRICHMENT=off`; each repetition's enriched / plain rate is a run
of `ingest_enrichment_single_ratio` and `ingest_enrichment_batch_ratio`."""

from __future__ import annotations

from functions.bench import ceilings
from functions.bench.http import ingest_events, session
from functions.bench.loadgen import ClosedModel, OpenModel
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, load, say, wait_http
from functions.bench.scenarios.serving import CEILING as HTTP_CEILING
from functions.bench.workload import EventStream, Mix

TOPIC = "bench-ingest"
# a desktop Chrome reaching ingest through a proxy on loopback (trusted by default): the
# first X-Forwarded-For hop is a public address with a known country
BROWSER = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
    " (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "X-Forwarded-For": "81.2.69.142, 10.0.0.3",
    "Accept-Language": "en-GB,en;q=0.9",
    "Origin": "https://shop.example",
}
PRODUCER_CEILING = "kafka_producer_events_per_s"
BEACON_SIZE = 20
ENRICHMENT_TARGET = ">= 0.85 of the same load without enrichment"


async def _single_and_batch(
    ctx: Context, url: str, stream: EventStream, label: str
) -> tuple[float, float]:
    """Single-event requests/s and batch events/s against `url`, as a browser sends them."""
    plan = ctx.plan
    closed = ClosedModel(plan.concurrency, plan.load_s, plan.ramp_s)
    batched = ClosedModel(plan.batch_concurrency, plan.load_s, plan.ramp_s)
    async with session() as client:
        client.headers.update(BROWSER)
        single = await load(
            f"ingest single{label}", closed, ingest_events(client, url, stream, 1, beacon=False)
        )
        batch = await load(
            f"ingest batch x{plan.batch_size}{label}",
            batched,
            ingest_events(client, url, stream, plan.batch_size, beacon=False),
        )
    return single.rate, batch.rate * plan.batch_size


async def measure(ctx: Context) -> None:
    plan = ctx.plan
    _, env = ctx.platform.spawn(
        "ingest-bench", "functions.ingest", "ingest", {"KAFKA_TOPIC": TOPIC}
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    if not await wait_http(base + "/readyz"):
        ctx.results.omit("ingest_batch_events_per_s", "the benchmark's ingest never became ready")
        ctx.platform.stop_extra("ingest-bench")
        return
    url = base + "/ingest"
    _, plain_env = ctx.platform.spawn(
        "ingest-plain",
        "functions.ingest",
        "ingest",
        {"KAFKA_TOPIC": TOPIC, "INGEST_ENRICHMENT": "off"},
    )
    plain_url = f"http://127.0.0.1:{plain_env['PORT']}/ingest"
    plain_ready = await wait_http(plain_url.removesuffix("/ingest") + "/readyz")
    runs: dict[str, list[float]] = {}
    try:
        for repetition in range(plan.repeat):
            stream = EventStream(ctx.prefix("ingest", repetition), Mix(duplicate_ratio=0.01))
            closed = ClosedModel(plan.concurrency, plan.load_s, plan.ramp_s)
            batched = ClosedModel(plan.batch_concurrency, plan.load_s, plan.ramp_s)
            async with session() as client:
                client.headers.update(BROWSER)
                single = await load(
                    "ingest single", closed, ingest_events(client, url, stream, 1, beacon=False)
                )
                batch = await load(
                    "ingest batch x100",
                    batched,
                    ingest_events(client, url, stream, plan.batch_size, beacon=False),
                )
                beacon = await load(
                    "ingest beacon x20",
                    batched,
                    ingest_events(client, url, stream, BEACON_SIZE, beacon=True),
                )
                half = OpenModel(max(1.0, single.rate / 2), plan.load_s, plan.ramp_s)
                steady = await load(
                    "ingest single @ half max",
                    half,
                    ingest_events(client, url, stream, 1, beacon=False),
                )
            for name, value in (
                ("ingest_single_requests_per_s", single.rate),
                ("ingest_batch_events_per_s", batch.rate * plan.batch_size),
                ("ingest_beacon_events_per_s", beacon.rate * BEACON_SIZE),
                ("ingest_p99_ms", steady.latency.percentile_ms(99)),
                ("ingest_p50_ms", steady.latency.percentile_ms(50)),
            ):
                runs.setdefault(name, []).append(value)
            ctx.results.latency_curves["ingest single @ half max"] = steady.latency.curve()
            if plain_ready:
                # right after the enriched loads, same events' shape, same client headers
                plain = await _single_and_batch(ctx, plain_url, stream, " (no enrichment)")
                runs.setdefault("ingest_enrichment_single_ratio", []).append(single.rate / plain[0])
                runs.setdefault("ingest_enrichment_batch_ratio", []).append(
                    batch.rate * plan.batch_size / plain[1]
                )
            records = ceilings.click_events(stream.batch(plan.ceiling_events)[0])
            rate = ceilings.kafka_producer_events_per_s(ctx.platform.bootstrap, TOPIC, records)
            ctx.add_ceiling_run(PRODUCER_CEILING, rate)
            say(f"ceiling: raw producer {rate:,.0f} events/s")
    finally:
        ctx.platform.stop_extra("ingest-bench")
        ctx.platform.stop_extra("ingest-plain")
    producer = ctx.ceiling(PRODUCER_CEILING, "events/s")
    bare_http = ctx.ceiling(HTTP_CEILING, "requests/s")
    figures = ctx.results.figures
    figures.append(
        figure(
            "ingest_batch_events_per_s",
            "events/s",
            runs["ingest_batch_events_per_s"],
            producer,
            target=">= 50,000",
            original="1,000 events/s",
        )
    )
    figures.append(
        figure(
            "ingest_single_requests_per_s",
            "requests/s",
            runs["ingest_single_requests_per_s"],
            bare_http,
            target=">= 5,000",
            original="1,000 events/s",
        )
    )
    figures.append(
        figure(
            "ingest_beacon_events_per_s",
            "events/s",
            runs["ingest_beacon_events_per_s"],
            producer,
            note=f"text/plain beacons of {BEACON_SIZE} events",
        )
    )
    figures.append(
        figure(
            "ingest_p99_ms",
            "ms",
            runs["ingest_p99_ms"],
            target="<= 20 at half the maximum load",
            note="open model at half the single-event maximum; p50 "
            + ", ".join(f"{v:.2f}" for v in runs["ingest_p50_ms"])
            + " ms",
        )
    )
    for name in ("ingest_enrichment_single_ratio", "ingest_enrichment_batch_ratio"):
        if name not in runs:
            ctx.results.omit(name, "the ingest without enrichment never became ready")
            continue
        figures.append(
            figure(
                name,
                "ratio",
                runs[name],
                target=ENRICHMENT_TARGET,
                note="enriched rate over the same load against ingest with INGEST_ENRICHMENT=off,"
                " interleaved in each repetition",
            )
        )
