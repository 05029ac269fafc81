"""One benchmark run: the platform up, every scenario (or the soak), RSS, the results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from functions.bench.environment import Backends, Platform, platform
from functions.bench.results import Results, figure
from functions.bench.scenarios import (
    coldstart,
    distinct,
    export,
    freshness,
    history,
    ingest,
    pipeline,
    plausible,
    query,
    reports,
    serving,
    soak,
)
from functions.bench.scenarios.common import Context, Plan, say

FUNCTIONS = ("ingest", "process", "query", "gateway", "dispatcher")
SCENARIOS = (
    serving,
    ingest,
    plausible,
    pipeline,
    freshness,
    query,
    coldstart,
    history,
    export,
    distinct,
    reports,
)


@dataclass(frozen=True, slots=True)
class Options:
    plan: Plan
    mode: str
    backends: Backends
    log_dir: Path
    soak_s: float = 0.0
    only: frozenset[str] = frozenset()  # scenario names; empty: every scenario


def scenario_name(scenario: ModuleType) -> str:
    return scenario.__name__.rsplit(".", 1)[-1]


SCENARIO_NAMES = tuple(scenario_name(s) for s in SCENARIOS)


async def run_suite(options: Options) -> Results:
    results = Results(options.mode, options.plan.repeat)
    with platform(options.backends, options.log_dir, {}) as running:
        say(f"platform up: ingest {running.url('ingest')}, gateway {running.url('gateway')}")
        ctx = Context(running, options.plan, results)
        if options.soak_s:
            await soak.measure(ctx, options.soak_s)
        else:
            for scenario in SCENARIOS:
                if not options.only or scenario_name(scenario) in options.only:
                    await scenario.measure(ctx)
    _rss(results, running)
    return results


def _rss(results: Results, running: Platform) -> None:
    for name, code in running.exited.items():
        results.omit(f"rss:{name}", f"{name} exited with {code} during the run (see its log)")
    results.rss_mb = {n: round(kb / 1024, 1) for n, kb in sorted(running.peak_rss_kb.items())}
    functions = {n: mb for n, mb in results.rss_mb.items() if n in FUNCTIONS}
    if not functions:
        results.omit("peak_rss_mb", "no function's /proc status was readable")
        return
    results.figures.append(
        figure(
            "peak_rss_mb",
            "MB",
            [max(functions.values())],
            note="largest peak RSS (VmHWM) of one function over the run: "
            + ", ".join(f"{n} {mb:.0f}" for n, mb in functions.items()),
        )
    )
