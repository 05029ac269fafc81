"""The results file: machine, versions, figures (medians with every run), ceilings, omissions.

`figures` entries: {"name", "value", "unit", "ceiling", "ratio", "runs"} plus context
(`ceiling_name`, `min`, `max`, `target`, `original`, `note`). `ratio` is value / ceiling:
a fraction of the ceiling for rates, a multiple of the floor for latencies.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import msgspec

from functions.bench.stats import Spread
from functions.core.config import load_settings
from functions.dev.sources import load_sources, localized

SCHEMA_VERSION = 1
SHARED_CORES_NOTE = (
    "The load generator, the broker, PostgreSQL, Redis and every function share this "
    "machine's cores; figures are medians of repeated runs on a noisy shared machine."
)
PACKAGES = (
    "clickstream",
    "functions-framework",
    "cloudevents",
    "confluent-kafka",
    "psycopg",
    "redis",
    "grpcio",
    "uvicorn",
    "msgspec",
    "aiohttp",
    "hdrhistogram",
)


@dataclass(frozen=True, slots=True)
class Ceiling:
    name: str
    value: float
    unit: str
    runs: list[float]


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    ceiling: float | None
    ratio: float | None
    runs: list[float]
    ceiling_name: str | None = None
    min: float | None = None
    max: float | None = None
    target: str | None = None
    original: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Omitted:
    name: str
    reason: str


def figure(
    name: str,
    unit: str,
    runs: list[float],
    ceiling: Ceiling | None = None,
    *,
    target: str | None = None,
    original: str | None = None,
    note: str | None = None,
) -> Figure:
    """The median of `runs` and its ratio to the ceiling's median."""
    spread = Spread.of(runs)
    ratio = spread.median / ceiling.value if ceiling and ceiling.value else None
    return Figure(
        name=name,
        value=spread.median,
        unit=unit,
        ceiling=ceiling.value if ceiling else None,
        ratio=ratio,
        runs=runs,
        ceiling_name=ceiling.name if ceiling else None,
        min=spread.low,
        max=spread.high,
        target=target,
        original=original,
        note=note,
    )


def ceiling(name: str, unit: str, runs: list[float]) -> Ceiling:
    return Ceiling(name, Spread.of(runs).median, unit, runs)


@dataclass
class Results:
    mode: str
    repeat: int
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    figures: list[Figure] = field(default_factory=list)
    ceilings: list[Ceiling] = field(default_factory=list)
    omitted: list[Omitted] = field(default_factory=list)
    latency_curves: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    soak: list[dict[str, float]] = field(default_factory=list)

    def omit(self, name: str, reason: str) -> None:
        self.omitted.append(Omitted(name, reason))

    def document(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "mode": self.mode,
            "repeat": self.repeat,
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(),
            "machine": machine(),
            "versions": versions(),
            "delivery": delivery(),
            "note": SHARED_CORES_NOTE,
            "figures": [asdict(f) for f in self.figures],
            "ceilings": [asdict(c) for c in self.ceilings],
            "omitted": [asdict(o) for o in self.omitted],
            "latency_curves": self.latency_curves,
            "rss_mb": self.rss_mb,
            "soak": self.soak,
        }


def machine() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_average": list(os.getloadavg()),
    }


def delivery() -> dict[str, Any]:
    """The rules the run's dispatcher delivered with: the manifests' and `kind/versions.toml`'s,
    with any `DELIVERY_*` override of this environment (a run made with one says so here)."""
    source = localized(load_sources()[0], load_settings("dispatcher"))
    return {
        "source": source.name,
        "max_poll_records": source.max_poll_records,
        "ordered": source.ordered,
        "retry": source.policy.retry,
        "timeout_s": source.policy.timeout_s,
    }


def versions() -> dict[str, str]:
    found = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def write(results: Results, directory: Path) -> Path:
    """`directory/<timestamp>.json`; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(results.document()), indent=2))
    return path
