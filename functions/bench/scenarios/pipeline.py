"""Pipeline: events/s from a pre-filled topic through the dispatcher and `process` into
PostgreSQL, with the stack's dispatcher stopped while the topic fills.

Ceilings, same records: the transport (a dispatcher POSTing to a no-op CloudEvent
function) and the database (COPY of the rows plus the aggregate upserts). After each run, the
same run again with `process` keeping no visits, and again into unpartitioned raw events:
what visits and partitions cost, as same-run ratios."""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import psycopg

from functions.bench import ceilings
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, metric_sum, say, wait_http
from functions.bench.unpartitioned import unpartitioned
from functions.bench.workload import EventStream, Mix
from functions.core.events import ClickEvent
from functions.dev import processes

TRANSPORT_CEILING = "transport_events_per_s"
DATABASE_CEILING = "postgres_copy_upsert_events_per_s"
INSERTED_METRIC = "clickstream_process_events_total"  # by outcome
POLL_S = 1.0  # progress only: the rate comes from the stored rows
MIN_DRAIN_RATE = 200  # events/s below which a drain is called stuck
DRAIN_TARGET_S = 30  # the pre-fill is sized to drain in about this long at the transport rate
MIN_PREFILL = 1_000
WITHOUT_VISITS = "process-without-visits"  # the baselines' labels (their logs' names)
UNPARTITIONED = "process-unpartitioned"


def _drain_timeout(events: int) -> float:
    return 30 + events / MIN_DRAIN_RATE


async def stop_dispatcher(ctx: Context) -> None:
    # a member leaving before its first join completed leaves the group stuck on tansu
    # (functions/dev/broker.py): the restarted dispatcher would never get a partition
    port = ctx.platform.stack.ports.metrics["dispatcher"]
    # it reports lag once it has partitions
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    if not await wait_http(metrics_url, containing="\nclickstream_dispatcher_lag{"):
        say("[yellow]the dispatcher has no partitions after 30 s; stopping it anyway[/]")
    process = ctx.platform.stack.processes.pop("dispatcher")
    ctx.platform.note_rss("dispatcher", process.pid)
    process.terminate()
    process.wait(30)


async def _transport(ctx: Context, repetition: int, records: list[ClickEvent]) -> float | None:
    topic = f"bench-transport-{ctx.run}-{repetition}"
    ceilings.kafka_producer_events_per_s(ctx.platform.bootstrap, topic, records)
    noop_label, dispatcher_label = f"noop-{repetition}", f"dispatcher-{repetition}"
    _, noop_env = ctx.platform.spawn(noop_label, "functions.bench.noop", "process", {})
    noop = f"http://127.0.0.1:{noop_env['PORT']}"
    try:
        if not await wait_http(noop + "/received"):
            return None
        ctx.platform.spawn(
            dispatcher_label,
            "functions.dev.dispatcher",
            "dispatcher",
            {
                "KAFKA_TOPIC": topic,
                "CONSUMER_GROUP": f"bench-transport-{ctx.run}",
                "PROCESS_URL": noop + "/",
            },
        )
        deadline = time.monotonic() + _drain_timeout(len(records))
        async with aiohttp.ClientSession() as client:
            while time.monotonic() < deadline:
                async with client.get(noop + "/received") as answer:
                    got = await answer.json()
                if got["count"] >= len(records):
                    return float(got["count"] / max(1e-3, got["last"] - got["first"]))
                await asyncio.sleep(POLL_S)
        return None
    finally:
        for label in (dispatcher_label, noop_label):
            if label in ctx.platform.extra:
                ctx.platform.stop_extra(label)


async def _inserted(metrics_url: str, baseline: float = 0.0) -> float:
    """Events `process` has newly stored (its own count, exported for Prometheus) beyond
    `baseline`."""
    return (await metric_sum(metrics_url, INSERTED_METRIC, 'outcome="inserted"') or 0.0) - baseline


def _all_stored(database_url: str, prefix: str, events: int) -> bool:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM click_events WHERE event_id LIKE %s", (prefix + "-%",)
        ).fetchone()
    return row is not None and int(row[0]) >= events


async def drained(
    stored_so_far: Callable[[], Awaitable[float]],
    all_stored: Callable[[], bool],
    events: int,
) -> bool | None:
    """Wait for a drain: True once all `events` are stored, False when the timeout came
    first with some stored, None when nothing was.

    Progress comes from `stored_so_far` (`process`'s count of inserted events since the
    drain began), once a second: each look is a scrape of the process under measurement
    (its exporter's thread takes the GIL from the event loop: 3% of `process`'s samples at
    four a second). Counting the run's rows in `click_events` instead would be a sequential
    scan of a table holding every earlier scenario's events (18 ms at 240,000 rows); only
    `all_stored` does that, to confirm the end."""
    deadline = time.monotonic() + _drain_timeout(events)
    while True:
        moved = await stored_so_far()
        if moved >= events and all_stored():
            return True
        if time.monotonic() > deadline:
            return False if moved else None
        await asyncio.sleep(POLL_S)


# `received_at` is the inserting transaction's start (`now()`): the run's first and last
# transactions bound the drain, timed by PostgreSQL to the group instead of to a poll
_COMMIT_SPAN = """
WITH run AS (SELECT received_at FROM click_events WHERE event_id LIKE %(pattern)s)
SELECT count(*) FILTER (WHERE received_at > (SELECT min(received_at) FROM run)),
       extract(epoch FROM max(received_at) - min(received_at))::float8
FROM run
"""


def commit_rate(database_url: str, prefix: str) -> float | None:
    """Events/s of the run `prefix` between its first and its last storing transaction
    (the first one's events mark the start, so they are not counted); None when one
    transaction stored them all (nothing to time)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(_COMMIT_SPAN, {"pattern": prefix + "-%"}).fetchone()
    if row is None or not row[1]:
        return None
    after_first, span_s = row
    return float(after_first) / float(span_s)


async def _drain_run(
    ctx: Context, prefix: str, repetition: int, size: int | None = None
) -> tuple[float, bool, int] | None:
    """One run: fill the topic with the dispatcher stopped, restart it, time the drain.
    Without `size`, the ceilings are measured first and size the pre-fill; with it, the run
    pre-fills that many events (a baseline the same size as the run it is compared with).
    Returns the rate, whether every event was stored and how many were pre-filled, or None
    when nothing was timed."""
    plan = ctx.plan
    metrics_url = f"http://127.0.0.1:{ctx.platform.stack.ports.metrics['process']}/metrics"
    stream = EventStream(prefix, Mix())
    records = ceilings.click_events(stream.batch(size or plan.prefill_events)[0])
    await stop_dispatcher(ctx)
    try:
        if size is None:
            records = await _measure_ceilings(ctx, prefix, repetition, records)
        topic = ctx.platform.stack.settings.kafka_topic
        ceilings.kafka_producer_events_per_s(ctx.platform.bootstrap, topic, records)
        baseline = await _inserted(metrics_url)
    finally:
        ctx.platform.stack.spawn("dispatcher")
    complete = await drained(
        functools.partial(_inserted, metrics_url, baseline),
        functools.partial(_all_stored, ctx.platform.database_url, prefix, len(records)),
        len(records),
    )
    if complete is None:
        say("[yellow]pipeline stored nothing[/]")
        return None
    rate = commit_rate(ctx.platform.database_url, prefix)
    if rate is None:
        say("[yellow]pipeline stored the run in one transaction: nothing to time[/]")
        return None
    say(f"pipeline {rate:,.0f} events/s ({len(records):,} pre-filled)")
    return rate, complete, len(records)


async def _measure_ceilings(
    ctx: Context, prefix: str, repetition: int, records: list[ClickEvent]
) -> list[ClickEvent]:
    """The transport and database ceilings of this run; returns the pre-fill cut to drain
    in about `DRAIN_TARGET_S` at the transport rate."""
    transport = await _transport(ctx, repetition, records)
    if transport is not None:
        ctx.add_ceiling_run(TRANSPORT_CEILING, transport)
        say(f"ceiling: transport {transport:,.0f} events/s")
    database = ceilings.postgres_copy_upsert_events_per_s(
        ctx.platform.database_url,
        ceilings.click_events(EventStream(prefix + "db", Mix()).batch(ctx.plan.ceiling_events)[0]),
    )
    ctx.add_ceiling_run(DATABASE_CEILING, database)
    say(f"ceiling: COPY + upserts {database:,.0f} events/s")
    if transport is None:
        return records
    # a pre-fill far beyond the pipeline's pace is backlog
    wanted = int(transport * DRAIN_TARGET_S)
    return records[: max(MIN_PREFILL, min(len(records), wanted))]


async def _with_process(
    ctx: Context, label: str, module: str, prefix: str, repetition: int, size: int
) -> float | None:
    """The same run, as many events, with `process` run from `module` on its ports (a
    baseline's statement), then the stack's `process` back."""
    stack = ctx.platform.stack
    process = stack.processes.pop("process")
    ctx.platform.note_rss("process", process.pid)
    processes.stop(process, 15.0)
    ports = {"PORT": str(stack.ports.http["process"])}
    ports["METRICS_PORT"] = str(stack.ports.metrics["process"])
    ctx.platform.spawn(label, module, "process", ports)
    try:
        if not await wait_http(stack.url("process") + "/readyz"):
            say(f"[yellow]{label} never got ready[/]")
            return None
        run = await _drain_run(ctx, prefix, repetition, size)
    finally:
        ctx.platform.stop_extra(label)
        stack.spawn("process")
        await wait_http(stack.url("process") + "/readyz")
    return None if run is None else run[0]


async def _without_visits(ctx: Context, prefix: str, repetition: int, size: int) -> float | None:
    """The same run with `process` storing events without keeping visits
    (functions/bench/without_visits.py)."""
    module = "functions.bench.without_visits"
    return await _with_process(ctx, WITHOUT_VISITS, module, prefix, repetition, size)


async def _unpartitioned(ctx: Context, prefix: str, repetition: int, size: int) -> float | None:
    """The same run into a `click_events` without partitions keyed by (site, event_id),
    stored as before partitioning, without `event_keys` (functions/bench/unpartitioned.py,
    unkeyed.py), then the partitioned table back."""
    with unpartitioned(ctx.platform.database_url):
        module = "functions.bench.unkeyed"
        return await _with_process(ctx, UNPARTITIONED, module, prefix, repetition, size)


async def measure(ctx: Context) -> None:
    plan = ctx.plan
    runs: list[float] = []
    without: list[float] = []
    ratios: list[float] = []
    plain: list[float] = []
    partition_ratios: list[float] = []
    partial = 0
    for repetition in range(plan.repeat):
        run = await _drain_run(ctx, ctx.prefix("pipe", repetition), repetition)
        if run is None:
            continue
        rate, complete, size = run
        runs.append(rate)
        partial += not complete
        say("pipeline without visits, the same run's baseline:")
        baseline = await _without_visits(ctx, ctx.prefix("pipenv", repetition), repetition, size)
        if baseline:
            without.append(baseline)
            ratios.append(rate / baseline)
        say("pipeline into unpartitioned raw events, the same run's baseline:")
        baseline = await _unpartitioned(ctx, ctx.prefix("pipeunp", repetition), repetition, size)
        if baseline:
            plain.append(baseline)
            partition_ratios.append(rate / baseline)
    if runs:
        ctx.pipeline_rate = statistics.median(runs)
    database_ceiling = ctx.ceiling(DATABASE_CEILING, "events/s")
    transport_ceiling = ctx.ceiling(TRANSPORT_CEILING, "events/s")
    if not runs:
        ctx.results.omit("pipeline_events_per_s", "no pre-filled event was ever stored")
        return
    ctx.results.figures.append(
        figure(
            "pipeline_events_per_s",
            "events/s",
            runs,
            transport_ceiling or database_ceiling,
            target=">= 5,000 and >= 70% of the transport ceiling",
            original="1,000 events/s",
            note=f"up to {plan.prefill_events:,} events pre-filled per run (sized to drain in "
            f"~{DRAIN_TARGET_S} s at the transport rate); "
            + (f"{partial} run(s) timed out: rate over the window; " if partial else "")
            + "database ceiling "
            + (f"{database_ceiling.value:,.0f} events/s" if database_ceiling else "not measured"),
        )
    )
    if ratios:
        ctx.results.figures.append(
            figure(
                "pipeline_visits_ratio",
                "ratio",
                ratios,
                target=">= 0.8",
                note="each run's pipeline rate over the rate of a run right after it with "
                "`process` keeping no visits (events/s without: "
                + ", ".join(f"{rate:,.0f}" for rate in without)
                + ")",
            )
        )
    if partition_ratios:
        ctx.results.figures.append(
            figure(
                "pipeline_partitions_ratio",
                "ratio",
                partition_ratios,
                target=">= 0.9",
                note="each run's pipeline rate (raw events partitioned by site and time, their "
                "keys in event_keys) over the rate of a run right after it into one plain table "
                "of the same rows, columns and indexes keyed by (site, event_id), without "
                "event_keys (events/s unpartitioned: "
                + ", ".join(f"{rate:,.0f}" for rate in plain)
                + ")",
            )
        )
    else:
        ctx.results.omit("pipeline_partitions_ratio", "no unpartitioned run stored its events")
