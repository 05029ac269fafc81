"""`python -m functions.dev.screenshots`: the pictures of each report in docs/reports.md.

Starts the platform over a fresh database (as `nox -s bench` does), stores two weeks of
generated visits (the week shown and the one it is compared with) on the site
`demo.example` through `process`'s own statement, builds the report roll-ups, then
photographs each panel of the dashboard in headless Chromium, light and dark. Run it again
after changing the dashboard's look.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis
from playwright.sync_api import Page, expect, sync_playwright

from functions.bench.environment import Backends, platform
from functions.bench.report_workload import ReportMix, visits
from functions.dev.dashboard import ensure_built
from functions.process.roller import build_pending
from functions.process.store import write_bulk

SITE = "demo.example"
EVENTS = 120_000
DAYS = 14
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# the dashboard's address: a week, and a funnel of the workload's first pages to a signup
QUERY = f"/?site={SITE}&range=7d&step=page:/page/0&step=page:/page/1&step=event_type:signup"
# each picture's file name (reports-<name>-<scheme>.png) and the element it shows
PANELS = {
    "kpis": "#visit-kpis",
    "sources": "#report-sources",
    "pages": "#report-pages",
    "locations": "#report-locations",
    "devices": "#report-devices",
    "goals": "#goals-card",
    "funnel": "#funnel-card",
}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


async def _store(database_url: str) -> None:
    end = datetime.now(UTC)
    stream = visits("demo", SITE, EVENTS, end - timedelta(days=DAYS), timedelta(days=DAYS),
                    ReportMix(users=5_000, pages=40), 1)  # fmt: skip
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while batch := list(itertools.islice(stream, 10_000)):
            async with conn.transaction():
                await write_bulk(conn, batch)
        await build_pending(conn, end)


def _photograph(page: Page, out: Path) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(300)  # charts and bars redraw in the new colours
        for name, selector in PANELS.items():
            panel = page.locator(selector)
            expect(panel).to_have_attribute("aria-busy", "false", timeout=20_000)
            panel.screenshot(path=out / f"reports-{name}-{scheme}.png")


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--out", type=Path, default=IMAGES)
    cli.add_argument(
        "--admin-database-url", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    # a database of its own, flushed first (tests use 15, the benchmark 14, `nox -s dev` 0)
    cli.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = cli.parse_args()
    ensure_built()
    # the answers cached by an earlier run would be shown instead of this run's
    redis.Redis.from_url(args.redis_url).flushdb()
    backends = Backends(args.admin_database_url, args.redis_url)
    with tempfile.TemporaryDirectory() as logs, platform(backends, Path(logs), {}) as running:
        asyncio.run(_store(running.database_url))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
            page.goto(running.url("gateway") + QUERY)
            expect(page.locator("body")).to_have_attribute("data-state", "ok", timeout=20_000)
            _photograph(page, args.out)
            browser.close()
    print(f"pictures in {args.out}")


if __name__ == "__main__":
    main()
