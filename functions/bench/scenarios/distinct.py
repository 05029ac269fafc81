"""Distinct users at scale: a site of its own per repetition, each user sending one event over
the last six hours (loaded by COPY through `process`'s own statement, `write_bulk`), then the
gateway's overview of that site over whole hours, whose `distinct_users` comes from the
hourly HyperLogLog sketches; the figure is its error against the exact count."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import psycopg

from functions.bench.http import session
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, say
from functions.core.events import ClickEvent
from functions.process.store import write_bulk

LOAD_BATCH = 100_000
SPAN = timedelta(hours=6)  # past two hours: the estimate, not the exact count, answers
TARGET_PCT = 2.0


async def _load(database_url: str, site: str, users: int, seed: int) -> None:
    """`users` events of as many distinct users (random ids: every set is a new sample of
    the hash) spread over the last `SPAN`."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        for first in range(0, users, LOAD_BATCH):
            batch = [
                ClickEvent(
                    event_id=f"{site}-{n}",
                    site=site,
                    user_id=f"{rng.getrandbits(64):016x}-{n}",
                    event_type="pageview",
                    page_url="/",
                    time_stamp=now - SPAN * rng.random(),
                )
                for n in range(first, min(users, first + LOAD_BATCH))
            ]
            async with conn.transaction():
                await write_bulk(conn, batch)


async def _estimate(gateway: str, site: str) -> int:
    # whole hours, the current one included: the hours' sketches answer, not loose minutes
    # built from raw events (what they cost is the history scenario's to measure)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    params = {
        "site": site,
        "from": (hour - SPAN - timedelta(hours=1)).isoformat(),
        "to": (hour + timedelta(hours=1)).isoformat(),
    }
    async with (
        session() as client,
        client.get(gateway + "/api/v1/overview", params=params) as answer,
    ):
        answer.raise_for_status()
        overview = await answer.json()
    return int(overview["distinct_users"])


async def measure(ctx: Context) -> None:
    users = ctx.plan.distinct_users
    errors: list[float] = []
    for repetition in range(ctx.plan.repeat):
        site = f"{ctx.prefix('distinct', repetition)}.bench"
        await _load(ctx.platform.database_url, site, users, seed=repetition)
        estimate = await _estimate(ctx.platform.url("gateway"), site)
        errors.append(abs(estimate - users) / users * 100)
        say(f"distinct users: {estimate:,} estimated for {users:,} ({errors[-1]:.2f}% off)")
    ctx.results.figures.append(
        figure(
            "distinct_users_error_pct",
            "%",
            errors,
            target=f"<= {TARGET_PCT:g} at 1,000,000 users",
            note=f"|estimate - exact| / exact over {users:,} distinct users, one new set and"
            f" site per repetition, {SPAN.seconds // 3600} h of events read over"
            f" {SPAN.seconds // 3600 + 2} whole hours; worst {max(errors):.2f}%",
        )
    )
