"""The load generator's models: arrival schedules, measured rates, coordinated omission."""

from __future__ import annotations

import asyncio

import pytest

from functions.bench.loadgen import (
    ClosedModel,
    OpenModel,
    Tally,
    arrival_offsets,
    run_closed,
    run_open,
)


def test_arrivals_at_a_fixed_rate() -> None:
    offsets = list(arrival_offsets(1_000, 2.0))
    assert len(offsets) == 2_000
    assert offsets[1] - offsets[0] == pytest.approx(0.001)
    assert offsets[-1] < 2.0


def test_ramp_grows_linearly_then_holds() -> None:
    offsets = list(arrival_offsets(1_000, 1.0, ramp_s=2.0))
    during_ramp = [t for t in offsets if t < 2.0]
    assert len(during_ramp) == pytest.approx(1_000, abs=1)  # rate * ramp / 2
    first_half = sum(t < 1.0 for t in during_ramp)
    assert first_half == pytest.approx(250, abs=1)  # a quarter of the ramp's arrivals
    assert len(offsets) - len(during_ramp) == pytest.approx(1_000, abs=1)
    assert offsets == sorted(offsets)


def test_rejects_a_zero_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        list(arrival_offsets(0, 1.0))


def test_open_model_sends_at_the_rate() -> None:
    async def instant() -> bool:
        return True

    tally = asyncio.run(run_open(OpenModel(400, 1.0, ramp_s=0.25), instant, Tally()))
    assert tally.ok == 400  # only arrivals after the ramp are measured
    assert tally.rate == pytest.approx(400)
    assert tally.errors == 0


def test_open_model_charges_a_stall_to_the_requests_it_delayed() -> None:
    """One slow answer with one slot: the requests queued behind it are late by the stall,
    and their latency says so (no coordinated omission)."""
    calls = 0

    async def stalls_once() -> bool:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.3 if calls == 1 else 0)
        return True

    model = OpenModel(100, 0.5, max_in_flight=1)
    tally = asyncio.run(run_open(model, stalls_once, Tally()))
    assert tally.ok == 50
    # sent at 0.00 .. 0.29 s by the schedule, all waited for the stall to end at ~0.3 s
    assert tally.latency.percentile_ms(50) >= 50
    assert tally.latency.percentile_ms(100) >= 290


def test_closed_model_keeps_its_concurrency() -> None:
    in_flight = peak = 0

    async def slow() -> bool:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return in_flight % 2 == 0

    tally = asyncio.run(run_closed(ClosedModel(4, 0.5), slow, Tally()))
    assert peak == 4
    assert tally.ok + tally.errors == tally.latency.count
    assert tally.errors > 0
    assert tally.latency.percentile_ms(50) >= 10
    # four clients at ~10 ms each: at most 400 requests/s
    assert 0 < (tally.ok + tally.errors) / tally.window_s <= 400


def test_closed_model_records_requests_answered_after_its_window() -> None:
    async def slower_than_the_window() -> bool:
        await asyncio.sleep(0.3)
        return True

    tally = asyncio.run(run_closed(ClosedModel(2, 0.1), slower_than_the_window, Tally()))
    assert tally.ok == tally.latency.count == 2
    assert tally.latency.percentile_ms(50) >= 300
    assert tally.window_s >= 0.3
