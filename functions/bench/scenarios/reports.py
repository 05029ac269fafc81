"""Reports at scale (issue 24): 30 days of visits (functions/bench/report_workload.py) loaded
by COPY through `process`'s own statement (`write_bulk`, so visits and versions are kept as
delivery keeps them) on a site of their own, the report roll-ups built (timed), then uncached
30-day reads through the gateway: unfiltered breakdowns and visit KPIs, filtered ones, a
4-step funnel, realtime, and Plausible's Stats API v2 breakdowns over the same data; last,
Plausible's own "30d" on the site made live (functions/bench/live_site.py)."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import aiohttp
import psycopg
from multidict import MultiDict

from functions.bench import live_site
from functions.bench.http import TRANSPORT_ERRORS, session
from functions.bench.loadgen import ClosedModel, Request
from functions.bench.report_workload import ReportMix, visits
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, load, metric_sum, say, settle
from functions.bench.scenarios.query import DB_READS_METRIC
from functions.core.cache import Cache
from functions.process.store import write_bulk

DAYS = 30
LOAD_BATCH = 50_000
CONCURRENCY = 4
DIMENSIONS = (
    "page", "entry_page", "exit_page", "event_type", "referrer", "utm_source", "utm_medium",
    "utm_campaign", "browser", "os", "device", "country",
)  # fmt: skip
FILTERS = (
    ("country:is:US",),
    ("device:is:mobile", "referrer:is:ref1.example"),
    ("page:is:/page/3",),
    ("utm_campaign:is:campaign2", "browser:is:Chrome"),
    ("entry_page:is:/page/0",),
)
# Stats API v2 breakdowns: as long as the native ones (their default limit, 10 rows), and
# without pagination, as a client that asks every row does (Plausible's default limit,
# 10,000; we answer at most 1,000)
V2_FIGURES = {"stats_v2_breakdown_30d_p99_ms": 10, "stats_v2_all_rows_30d_p99_ms": None}
# ... and of Plausible's own date range, "30d", on a live site (functions/bench/live_site.py)
V2_LIVE_FIGURE = "stats_v2_live_30d_p99_ms"
V2_DIMENSIONS = ("event:page", "visit:source", "visit:country", "visit:entry_page", "event:name")
FUNNEL = ("page:/page/0", "page:/page/1", "page:/page/2", "event_type:signup")
# (path, its parameters) asked in turn
Ask = tuple[str, Sequence[tuple[str, str]]]
GROUPS: dict[str, tuple[str, Sequence[Ask]]] = {
    "breakdown_30d_p99_ms": (
        "<= 50 uncached",
        [("/api/v1/breakdown", [("dimension", d)]) for d in DIMENSIONS] + [("/api/v1/visits", [])],
    ),
    "filtered_30d_p99_ms": (
        "<= 500 uncached",
        [
            ("/api/v1/breakdown", [("dimension", "page"), *(("filter", f) for f in fs)])
            for fs in FILTERS
        ]
        + [("/api/v1/visits", [("filter", f) for f in fs]) for fs in FILTERS],
    ),
    "funnel_30d_p99_ms": ("<= 2000 uncached", [("/api/v1/funnel", [("step", s) for s in FUNNEL])]),
    "realtime_p99_ms": ("<= 20", [("/api/v1/realtime", [])]),
}


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _load(
    database_url: str, run: str, site: str, events: int, end: datetime, budget_s: float
) -> int:
    """Write up to `events` over the 30 days before `end`, stopping after `budget_s`."""
    stream = visits(
        run, site, events, end - timedelta(days=DAYS), timedelta(days=DAYS), ReportMix(), 24
    )
    started = time.perf_counter()
    written = 0
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        while time.perf_counter() - started <= budget_s:
            batch = list(itertools.islice(stream, LOAD_BATCH))
            if not batch:
                break
            async with conn.transaction():
                await write_bulk(conn, batch)
            written += len(batch)
            if written % 1_000_000 < LOAD_BATCH:
                say(f"reports: {written:,} events loaded")
    return written


def _asking(
    client: aiohttp.ClientSession,
    base: str,
    site: str,
    asks: Sequence[Ask],
    turn: Iterator[int],
) -> Request:
    """Each request the next of `asks` over a 30-day range one minute later than the last
    (`turn` counts on over a figure's repetitions): never cached before."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)

    async def request() -> bool:
        n = next(turn)
        path, extra = asks[n % len(asks)]
        start = end - timedelta(days=DAYS) + timedelta(minutes=n)
        params = MultiDict(
            [("site", site), ("from", _rfc3339(start)), ("to", _rfc3339(end)), *extra]
        )
        try:
            async with client.get(base + path, params=params) as answer:
                await answer.read()
                return answer.status == 200
        except TRANSPORT_ERRORS:
            return False

    return request


def v2_breakdown(
    site: str, date_range: str | list[str], dimension: str, limit: int | None
) -> dict[str, object]:
    """A Stats API v2 breakdown of `date_range` with the native breakdown's metrics, of
    `limit` rows (None: no pagination asked)."""
    query: dict[str, object] = {
        "site_id": site,
        "metrics": ["visitors", "visits", "events"],
        "date_range": date_range,
        "dimensions": [dimension],
    }
    if limit is not None:
        query["pagination"] = {"limit": limit}
    return query


def datetimes(start: datetime, end: datetime) -> list[str]:
    """[start, end) as a Stats API v2 `date_range` of two datetimes."""
    return [_rfc3339(start), _rfc3339(end)]


async def _post(client: aiohttp.ClientSession, url: str, body: dict[str, object]) -> bool:
    try:
        async with client.post(url, json=body) as answer:
            await answer.read()
            return answer.status == 200
    except TRANSPORT_ERRORS:
        return False


def _asking_v2(
    client: aiohttp.ClientSession, base: str, site: str, limit: int | None, turn: Iterator[int]
) -> Request:
    """Stats API v2 breakdowns of the same 30 days, each range a minute later than the last."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)

    async def request() -> bool:
        n = next(turn)
        start = end - timedelta(days=DAYS) + timedelta(minutes=n)
        dimension = V2_DIMENSIONS[n % len(V2_DIMENSIONS)]
        body = v2_breakdown(site, datetimes(start, end), dimension, limit)
        return await _post(client, base + "/api/v2/query", body)

    return request


def _asking_v2_days(
    client: aiohttp.ClientSession, base: str, site: str, cache: Cache, turn: Iterator[int]
) -> Request:
    """Stats API v2 breakdowns of "30d", each dimension in turn, each after an event arrived
    (functions/bench/live_site.py: its cache invalidation, a Redis round trip, is timed with
    the request)."""

    async def request() -> bool:
        dimension = V2_DIMENSIONS[next(turn) % len(V2_DIMENSIONS)]
        if not await live_site.arrived(cache, site):  # Redis unreachable: it could be cached
            return False
        return await _post(client, base + "/api/v2/query", v2_breakdown(site, "30d", dimension, 10))

    return request


async def measure(ctx: Context) -> None:
    plan = ctx.plan
    if plan.report_events <= 0:
        for name in (*GROUPS, *V2_FIGURES, V2_LIVE_FIGURE):
            ctx.results.omit(name, "not in this plan")
        return
    site = f"{ctx.prefix('reports', 0)}.bench"
    started = time.perf_counter()
    loaded_to = datetime.now(UTC)
    stored = await _load(
        ctx.platform.database_url, ctx.run, site, plan.report_events, loaded_to,
        plan.report_budget_s,
    )  # fmt: skip
    rate = stored / (time.perf_counter() - started)
    say(f"reports: {stored:,} events loaded at {rate:,.0f} events/s")
    build_s, built = await settle(ctx.platform.database_url)
    say(f"reports: built {built} in {build_s:.1f} s")
    ctx.results.figures.append(
        figure("report_rollup_build_s", "s", [build_s], note=f"{built} over {stored:,} events")
    )
    base = ctx.platform.url("gateway")
    scale = f"{stored:,} events over {DAYS} days on one site, loaded at {rate:,.0f}/s"
    for name, (target, asks) in GROUPS.items():
        asking = functools.partial(_asking, base=base, site=site, asks=asks, turn=itertools.count())
        await _group(ctx, name, target, len(asks), asking, scale)
    for name, limit in V2_FIGURES.items():
        await _group(
            ctx,
            name,
            "<= 50 uncached, as the native breakdowns",
            len(V2_DIMENSIONS),
            functools.partial(
                _asking_v2, base=base, site=site, limit=limit, turn=itertools.count()
            ),
            scale
            + "; Plausible's POST /api/v2/query, "
            + ("without pagination" if limit is None else f"{limit} rows"),
        )
    await _live_days(ctx, site, base, stored, loaded_to, scale)


async def _live_days(
    ctx: Context, site: str, base: str, stored: int, loaded_to: datetime, scale: str
) -> None:
    """Stats API v2 breakdowns of Plausible's own "30d" (today and the 30 days before, as its
    clients ask) on a live site: its events topped up to now, an event arriving before each
    read."""
    database_url, redis_url = ctx.platform.database_url, ctx.platform.redis_url
    topped = await live_site.top_up(
        database_url, ctx.run, site, stored, timedelta(days=DAYS), loaded_to
    )
    say(f"reports: {topped:,} events topped up to now")
    cache = Cache(redis_url)
    try:
        await _group(
            ctx,
            V2_LIVE_FIGURE,
            "<= 50 uncached, as the native breakdowns",
            len(V2_DIMENSIONS),
            functools.partial(
                _asking_v2_days, base=base, site=site, cache=cache, turn=itertools.count()
            ),
            f"{scale}, topped up to now at that rate; Plausible's POST /api/v2/query,"
            " date_range 30d, 10 rows, each after an event arrived",
        )
    finally:
        await cache.close()


async def _group(
    ctx: Context,
    name: str,
    target: str,
    kinds: int,
    requests: Callable[[aiohttp.ClientSession], Request],
    scale: str,
) -> None:
    """One figure: the p99 of each repetition's closed-model load of `requests`."""
    model = ClosedModel(CONCURRENCY, ctx.plan.load_s, ctx.plan.ramp_s)
    metrics = f"http://127.0.0.1:{ctx.platform.stack.ports.metrics['query']}/metrics"
    reads_before = await _database_reads(metrics)
    runs: list[float] = []
    answered = failed = 0
    for _ in range(ctx.plan.repeat):
        async with session() as client:
            tally = await load(f"reports {name}", model, requests(client))
        runs.append(tally.latency.percentile_ms(99))
        answered, failed = answered + tally.ok, failed + tally.errors
    # the ramps' requests included: they are not in the tallies
    reads = await _database_reads(metrics) - reads_before
    ctx.results.figures.append(
        figure(
            name,
            "ms",
            runs,
            target=target,
            note=f"{scale}; {kinds} kinds of request in turn, {CONCURRENCY} clients;"
            f" {answered:,} answered 200, {failed:,} not; `query` read PostgreSQL"
            f" {reads:,.0f} times, ramps included",
        )
    )


async def _database_reads(metrics_url: str) -> float:
    """The reads `query` has sent PostgreSQL so far (cache misses), every kind."""
    return await metric_sum(metrics_url, DB_READS_METRIC, "kind=") or 0.0
