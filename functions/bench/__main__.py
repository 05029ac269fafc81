"""`python -m functions.bench [--quick | --soak 10m]` (`nox -s bench`): start the platform on
free ports over a fresh database, run the scenarios, write `bench-results/<time>.json` and
its PNG report, print the README table. `python -m functions.bench load ...`: one ad-hoc
load run against any URL. `python -m functions.bench report FILE.json`: redraw a report."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

import uvloop

from functions.bench import adhoc, markdown, report, results
from functions.bench.environment import BENCH_REDIS_DB, Backends
from functions.bench.scenarios.common import FULL, QUICK
from functions.bench.suite import SCENARIO_NAMES, Options, run_suite
from functions.core.config import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smh]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}


def duration(text: str) -> float:
    """`90`, `90s`, `10m`, `1h` -> seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 600, 10m, 1h)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m functions.bench", description=__doc__)
    cli.add_argument("--quick", action="store_true", help="a reduced set, under 2 minutes")
    cli.add_argument("--soak", type=duration, default=0.0, metavar="DURATION", help="e.g. 10m")
    cli.add_argument("--repeat", type=int, help="runs per scenario (default 3; --quick 1)")
    cli.add_argument("--history-events", type=int, help="events stored for the 30-day reads")
    cli.add_argument("--report-events", type=int, help="events of visits for the reports")
    cli.add_argument(
        "--only",
        action="append",
        choices=SCENARIO_NAMES,
        default=[],
        help="run this scenario only (repeatable); its ceilings come with it",
    )
    cli.add_argument("--out", type=Path, default=Path("bench-results"))
    cli.add_argument("--log-dir", type=Path, default=Path(".bench-logs"))
    cli.add_argument("--admin-database-url", default=DEFAULT_DATABASE_URL)
    cli.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL.rsplit("/", 1)[0] + f"/{BENCH_REDIS_DB}"
    )
    return cli


async def suite(argv: list[str]) -> Path:
    args = parser().parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.repeat is not None:
        plan = dataclasses.replace(plan, repeat=args.repeat)
    if args.history_events is not None:
        plan = dataclasses.replace(plan, history_events=args.history_events)
    if args.report_events is not None:
        plan = dataclasses.replace(plan, report_events=args.report_events)
    mode = "soak" if args.soak else "quick" if args.quick else "partial" if args.only else "full"
    options = Options(
        plan=plan,
        mode=mode,
        backends=Backends(args.admin_database_url, args.redis_url),
        log_dir=args.log_dir,
        soak_s=args.soak,
        only=frozenset(args.only),
    )
    found = await run_suite(options)
    path = results.write(found, args.out)
    document = found.document()
    report.render(document, path.with_suffix(".png"))
    print(markdown.table(document))
    print(f"\nresults: {path}\nreport:  {path.with_suffix('.png')}")
    return path


def rerender(path: Path) -> None:
    """Redraw the PNG of an existing results file and print its README table."""
    document = json.loads(path.read_text())
    report.render(document, path.with_suffix(".png"))
    print(markdown.table(document))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["load"]:
        uvloop.run(adhoc.main(argv[1:]))
    elif argv[:1] == ["report"] and len(argv) == 2:
        rerender(Path(argv[1]))
    else:
        uvloop.run(suite(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
