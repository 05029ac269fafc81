"""`python -m functions.bench load ...`: one load run against any running ingest or gateway
(the k6 script's replacement), printing rate, errors and latency percentiles."""

from __future__ import annotations

import argparse
import uuid

from functions.bench.http import ingest_events, rest_get, session
from functions.bench.loadgen import ClosedModel, OpenModel
from functions.bench.scenarios.common import load, say
from functions.bench.workload import EventStream, Mix, page_url, user_id
from functions.bench.zipf import Zipf

TARGETS = ("single", "batch", "beacon", "count")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m functions.bench load", description=__doc__)
    cli.add_argument("target", choices=TARGETS, help="ingest form, or the REST count read")
    cli.add_argument("--url", required=True, help="ingest's /ingest or gateway's /analytics/events")
    cli.add_argument("--model", choices=("open", "closed"), default="closed")
    cli.add_argument("--rate", type=float, default=1_000, help="open model: requests/s")
    cli.add_argument("--concurrency", type=int, default=32, help="closed model: clients")
    cli.add_argument("--duration", type=float, default=10, help="seconds measured")
    cli.add_argument("--ramp", type=float, default=2, help="seconds of ramp-up (not measured)")
    cli.add_argument("--batch-size", type=int, default=100)
    cli.add_argument("--users", type=int, default=10_000)
    cli.add_argument("--pages", type=int, default=1_000)
    cli.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent over users and pages")
    cli.add_argument("--duplicates", type=float, default=0.0, help="ratio of resent events")
    cli.add_argument("--invalid", type=float, default=0.0, help="ratio of invalid events")
    return cli


async def main(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    mix = Mix(args.users, args.pages, args.zipf, args.duplicates, args.invalid)
    stream = EventStream(uuid.uuid4().hex[:8], mix)
    model: OpenModel | ClosedModel = (
        OpenModel(args.rate, args.duration, args.ramp)
        if args.model == "open"
        else ClosedModel(args.concurrency, args.duration, args.ramp)
    )
    users = Zipf(args.users, args.zipf, stream._rng)
    pages = Zipf(args.pages, args.zipf, stream._rng)
    async with session() as client:
        if args.target == "count":
            request = rest_get(
                client,
                args.url,
                lambda: {
                    "user_id": user_id(stream.run, users.sample()),
                    "page_url": page_url(pages.sample()),
                },
            )
        else:
            size = 1 if args.target == "single" else args.batch_size
            request = ingest_events(client, args.url, stream, size, beacon=args.target == "beacon")
        tally = await load(f"{args.target} ({args.model})", model, request)
    percentiles = "  ".join(f"p{p:g} {ms:.2f} ms" for p, ms in tally.latency.curve())
    say(f"{tally.rate:,.1f} requests/s, {tally.errors:,} errors; {percentiles}")
