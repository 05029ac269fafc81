"""Export at scale (issue 25): events of 30 days loaded by COPY through `process`'s own
statement on a site of their own, then streamed through the gateway as NDJSON and as CSV
while the RSS of `gateway` and `query` is sampled. A streamed export holds one batch at a
time, so the memory it adds must not grow with its rows: each export is compared with one of
a tenth of the range, in the same run."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import psycopg

from functions.bench.environment import rss_kb
from functions.bench.http import session
from functions.bench.results import figure
from functions.bench.scenarios.common import Context, say
from functions.core.events import ClickEvent
from functions.process.store import write_bulk

DAYS = 30
LOAD_BATCH = 100_000
SAMPLE_EVERY_S = 0.1
CHUNK = 1 << 16
MEASURED = ("gateway", "query")


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _load(database_url: str, run: str, site: str, events: int, end: datetime) -> float:
    """Write `events` over the 30 days before `end`, in time order; returns events/s."""
    span_s = DAYS * 86_400
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        for first in range(0, events, LOAD_BATCH):
            batch = [
                ClickEvent(
                    event_id=f"{run}-x{n}",
                    user_id=f"{run}-u{n % 50_000}",
                    event_type="click",
                    page_url=f"/page/{n % 1_000}",
                    time_stamp=end - timedelta(seconds=span_s * (1 - (n + 0.5) / events)),
                    site=site,
                )
                for n in range(first, min(events, first + LOAD_BATCH))
            ]
            async with conn.transaction():
                await write_bulk(conn, batch)
    return events / (time.perf_counter() - started)


class Export:
    """One export through the gateway: its rows, seconds and the most RSS it added."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.rows = 0
        self.seconds = 0.0
        self.added_mb = 0.0

    async def run(self, url: str, params: dict[str, str]) -> None:
        before = {name: rss_kb(pid) or 0 for name, pid in self.pids.items()}
        peak = dict(before)
        done = asyncio.Event()

        async def sample() -> None:
            while not done.is_set():
                for name, pid in self.pids.items():
                    peak[name] = max(peak[name], rss_kb(pid) or 0)
                await asyncio.sleep(SAMPLE_EVERY_S)

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        try:
            async with session() as client, client.get(url, params=params) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"export answered {answer.status}: {await answer.text()}")
                async for chunk in answer.content.iter_chunked(CHUNK):
                    self.rows += chunk.count(b"\n")
        finally:
            done.set()
            await sampler
        self.seconds = time.perf_counter() - started
        self.added_mb = max(peak[name] - before[name] for name in self.pids) / 1024


async def measure(ctx: Context) -> None:
    events = ctx.plan.export_events
    if events <= 0:
        for name in ("export_rows_per_s", "export_rss_added_mb"):
            ctx.results.omit(name, "not in this plan")
        return
    site = f"export-{ctx.run}.example"
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    rate = await _load(ctx.platform.database_url, ctx.run, site, events, end)
    say(f"export: {events:,} events loaded at {rate:,.0f} events/s")
    pids = {n: p.pid for n, p in ctx.platform.stack.processes.items() if n in MEASURED}
    url = ctx.platform.url("gateway") + "/api/v1/export"
    rates: list[float] = []
    added: list[float] = []
    notes: list[str] = []
    for _ in range(ctx.plan.repeat):
        for form in ("ndjson", "csv"):
            sizes: dict[int, Export] = {}
            for days in (DAYS, DAYS // 10):
                export = Export(pids)
                params = {
                    "site": site,
                    "from": _rfc3339(end - timedelta(days=days)),
                    "to": _rfc3339(end),
                    "format": form,
                }
                await export.run(url, params)
                sizes[days] = export
            whole, tenth = sizes[DAYS], sizes[DAYS // 10]
            say(
                f"export {form}: {whole.rows:,} lines in {whole.seconds:.1f} s,"
                f" +{whole.added_mb:.1f} MB; a tenth of the range: {tenth.rows:,} lines,"
                f" +{tenth.added_mb:.1f} MB"
            )
            if form == "ndjson":
                rates.append(whole.rows / whole.seconds)
            added.append(whole.added_mb)
            notes.append(f"{form} +{whole.added_mb:.1f} (a tenth: +{tenth.added_mb:.1f})")
    ctx.results.figures.append(
        figure(
            "export_rows_per_s",
            "rows/s",
            rates,
            note=f"{events:,} events over {DAYS} days streamed as NDJSON through the gateway"
            f" (loaded at {rate:,.0f}/s)",
        )
    )
    ctx.results.figures.append(
        figure(
            "export_rss_added_mb",
            "MB",
            added,
            note="the most RSS one of gateway and query added during an export of every event"
            " (sampled every 0.1 s), MB, against an export of a tenth of the range in the same"
            " run: " + "; ".join(notes),
        )
    )
