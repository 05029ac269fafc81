"""The PNG report of a results document: rates against ceilings, latencies against floors,
latency percentile curves and memory; for a soak, RSS and p99 over time and their drift
after warm-up (a soak measures nothing else, so the run's charts would be empty)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from functions.bench.drift import WARMUP_S, settled


def _bars(axes: Axes, figures: list[dict[str, Any]], title: str, log: bool) -> None:
    if not figures:
        axes.set_axis_off()
        axes.set_title(f"{title}: none measured")
        return
    names = [f"{f['name']} [{f['unit']}]" for f in figures]
    rows = range(len(figures))
    axes.barh([r + 0.2 for r in rows], [f["value"] for f in figures], 0.4, label="measured")
    axes.barh(
        [r - 0.2 for r in rows],
        [f["ceiling"] or 0 for f in figures],
        0.4,
        label="ceiling / floor (same run)",
        color="lightgray",
    )
    for row, item in zip(rows, figures, strict=True):
        axes.errorbar(
            item["value"],
            row + 0.2,
            xerr=[[item["value"] - item["min"]], [item["max"] - item["value"]]],
            color="black",
            capsize=3,
        )
    axes.set_yticks(list(rows), names, fontsize=8)
    if log:
        axes.set_xscale("log")
    axes.set_title(title)
    axes.legend(fontsize=7, loc="lower right")


def _curves(axes: Axes, curves: dict[str, list[list[float]]]) -> None:
    for name, points in curves.items():
        axes.plot([p for p, _ in points], [ms for _, ms in points], marker="o", label=name)
    axes.set_yscale("log")
    axes.set_xlabel("percentile")
    axes.set_ylabel("ms")
    axes.set_title("latency by percentile (last repetition)")
    axes.legend(fontsize=7)


def _memory(axes: Axes, document: dict[str, Any]) -> None:
    rss = document["rss_mb"]
    axes.bar(list(rss), list(rss.values()))
    axes.set_ylabel("MB")
    axes.set_title("peak RSS per process")
    axes.tick_params(axis="x", labelsize=8)


def _over_time(axes: Axes, soak: list[dict[str, float]], keys: list[str], title: str) -> None:
    for key in keys:
        # a function missing from a sample (not running yet) is a gap in its line
        values = [p.get(key, float("nan")) for p in soak]
        axes.plot([p["t_s"] for p in soak], values, label=key)
    axes.axvline(WARMUP_S, color="gray", linestyle=":", label=f"warm-up ends ({WARMUP_S:.0f} s)")
    axes.set_xlabel("seconds")
    axes.set_title(title)
    axes.legend(fontsize=7, loc="upper left")


def _soak(grid: Any, soak: list[dict[str, float]]) -> None:
    """The soak's four charts: RSS, p99s, and each one's drift from the end of warm-up."""
    rss = sorted({k for point in soak for k in point if k.startswith("rss_")})
    p99 = ["read_p99_ms", "write_p99_ms"]
    _over_time(grid[0][0], soak, rss, "RSS per function (MB), per 10 s")
    _over_time(grid[0][1], soak, p99, "p99 per 10-s window (ms)")
    for axes, keys, what in ((grid[1][0], rss, "RSS"), (grid[1][1], p99, "p99")):
        relative = [
            {"t_s": point["t_s"], **{k: v for k, v in point.items() if k in keys}} for point in soak
        ]
        base = settled(soak)
        for point in relative:
            for key in keys:
                if key in point and base.get(key):
                    point[key] = 100 * (point[key] / base[key] - 1)
        _over_time(axes, relative, keys, f"{what} drift from the end of warm-up (%)")
        axes.axhline(0, color="black", linewidth=0.5)


def render(document: dict[str, Any], path: Path) -> Path:
    """Write the report of `document` to `path` (PNG)."""
    fig = draw(document)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def draw(document: dict[str, Any]) -> Figure:
    """The report's figure: a soak's four time charts, or a run's rates, latencies,
    percentile curves and memory."""
    figures = document["figures"]
    fig, grid = plt.subplots(2, 2, figsize=(15, 10))
    if document["soak"]:
        _soak(grid, document["soak"])
    else:
        rates = [f for f in figures if f["unit"].endswith("/s")]
        latencies = [f for f in figures if f["unit"] in ("ms", "s") and f["ceiling"]]
        _bars(grid[0][0], rates, "throughput (median of runs, min-max)", log=True)
        _bars(grid[0][1], latencies, "latency p99 vs floor (median, min-max)", log=True)
        _curves(grid[1][0], document["latency_curves"])
        _memory(grid[1][1], document)
    machine = document["machine"]
    fig.suptitle(
        f"clickstream benchmark {document['started_at'][:19]}Z, mode {document['mode']}, "
        f"{document['repeat']} runs; {machine['cpus']} cores {machine['cpu_model']}\n"
        f"{document['note']}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
