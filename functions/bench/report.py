"""The PNG report of a results document: rates against ceilings, latencies against floors,
latency percentile curves, and memory (RSS per function, or the soak's drift)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes


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
    soak = document["soak"]
    if soak:
        keys = sorted({k for point in soak for k in point if k.startswith("rss_")})
        for key in keys:
            axes.plot([p["t_s"] for p in soak], [p.get(key) for p in soak], label=key)
        twin = axes.twinx()
        twin.plot(
            [p["t_s"] for p in soak], [p["read_p99_ms"] for p in soak], "k--", label="read p99"
        )
        twin.set_ylabel("read p99 (ms)")
        axes.set_xlabel("seconds")
        axes.set_ylabel("RSS (MB)")
        axes.set_title("soak: RSS and read p99 per 10 s")
        axes.legend(fontsize=7, loc="upper left")
        return
    rss = document["rss_mb"]
    axes.bar(list(rss), list(rss.values()))
    axes.set_ylabel("MB")
    axes.set_title("peak RSS per process")
    axes.tick_params(axis="x", labelsize=8)


def render(document: dict[str, Any], path: Path) -> Path:
    """Write the report of `document` to `path` (PNG)."""
    figures = document["figures"]
    rates = [f for f in figures if f["unit"].endswith("/s")]
    latencies = [f for f in figures if f["unit"] in ("ms", "s") and f["ceiling"]]
    fig, grid = plt.subplots(2, 2, figsize=(15, 10))
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
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
