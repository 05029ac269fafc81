"""A live progress line per load run: elapsed, current rate, errors and p99 (rich)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from functions.bench.loadgen import Tally

REFRESH_S = 0.5
console = Console(stderr=True)


@asynccontextmanager
async def shown(label: str, total_s: float, tally: Tally) -> AsyncIterator[None]:
    """Show `tally` while the body runs; the bar fills over `total_s` (ramp included)."""
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = progress.add_task(label, total=total_s, status="")

    async def refresh() -> None:
        started = time.perf_counter()
        last_ok, last_at = 0, started
        while True:
            await asyncio.sleep(REFRESH_S)
            now = time.perf_counter()
            current = (tally.ok - last_ok) / (now - last_at)
            last_ok, last_at = tally.ok, now
            status = (
                f"{current:>9,.0f}/s  err {tally.errors:<6,} "
                f"p99 {tally.latency.percentile_ms(99):7.2f} ms  in flight {tally.in_flight}"
            )
            progress.update(task, completed=min(total_s, now - started), status=status)

    with progress:
        ticker = asyncio.create_task(refresh())
        try:
            yield
        finally:
            ticker.cancel()
    p50, p99 = tally.latency.percentile_ms(50), tally.latency.percentile_ms(99)
    console.print(
        f"{label:<28} {tally.rate:>10,.0f}/s  errors {tally.errors:,}  "
        f"p50 {p50:.2f} ms  p99 {p99:.2f} ms"
    )
