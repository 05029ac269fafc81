"""The soak's report and drift: each of the four charts draws the soak's series (none is
left empty), and drift is measured from the end of warm-up, medians at each end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy
import pytest

from functions.bench.drift import WARMUP_S, drifts, settled
from functions.bench.report import draw, render


def soak_points(minutes: int = 5) -> list[dict[str, float]]:
    """RSS climbing during warm-up then flat; p99 flat but for one noisy window."""
    points = []
    for n in range(1, minutes * 6 + 1):
        t = n * 10.0
        points.append(
            {
                "t_s": t,
                "read_p99_ms": 9.0 if n == 7 else 2.0,
                "write_p99_ms": 5.0,
                "rss_gateway_mb": 40 + min(t, WARMUP_S) / 2,
                "rss_query_mb": 80.0,
            }
        )
    return points


def document(soak: list[dict[str, float]]) -> dict[str, Any]:
    return {
        "mode": "soak",
        "repeat": 1,
        "started_at": "2026-12-06T12:00:00+00:00",
        "machine": {"cpus": 2, "cpu_model": "test"},
        "note": "",
        "figures": [],
        "latency_curves": {},
        "rss_mb": {},
        "soak": soak,
    }


def test_every_chart_of_a_soak_draws_its_series(tmp_path: Path) -> None:
    figure = draw(document(soak_points()))
    assert len(figure.axes) == 4
    for axes in figure.axes:
        drawn = [line for line in axes.get_lines() if numpy.asarray(line.get_xydata()).size > 4]
        assert drawn, axes.get_title()
        assert "none measured" not in axes.get_title()
    assert render(document(soak_points()), tmp_path / "soak.png").stat().st_size > 10_000


def test_drift_starts_after_warm_up() -> None:
    moved = drifts(soak_points())
    # RSS grew 30 MB during warm-up and not after it: no drift
    assert moved["rss_gateway_mb"] == pytest.approx(0.0)
    assert moved["rss_query_mb"] == pytest.approx(0.0)
    # one slow window is outvoted by the median
    assert moved["read_p99_ms"] == pytest.approx(0.0)


def test_a_leak_after_warm_up_shows() -> None:
    points = soak_points(10)
    for point in points:
        point["rss_gateway_mb"] += max(point["t_s"] - WARMUP_S, 0) / 60  # +1 MB a minute
    assert settled(points)["rss_gateway_mb"] == pytest.approx(70 + 1 / 6)
    assert drifts(points)["rss_gateway_mb"] == pytest.approx((70 + 9 - 1 / 6) / (70 + 1 / 6) - 1)
