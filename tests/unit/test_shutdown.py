"""The safe stop's order, graces, progress and giving up, over stand-in child processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from functions.dev import shutdown
from functions.dev.shutdown import SafeStop

# A stand-in: on SIGTERM it notes its name, takes `delay` seconds, exits 0; a negative
# delay ignores SIGTERM (a drain that never ends)
CHILD = """
import signal, sys, time
name, delay, notes = sys.argv[1], float(sys.argv[2]), sys.argv[3]
def stop(*_):
    with open(notes, "a") as f:
        f.write(name + "\\n")
    time.sleep(delay)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop if delay >= 0 else signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(1)
"""
FATE = "lost with the in-memory broker"


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[..., dict[str, subprocess.Popen[bytes]]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(**delays: float) -> dict[str, subprocess.Popen[bytes]]:
        running = {}
        for name, delay in delays.items():
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, name, str(delay), str(tmp_path / "stopped")],
                stdout=subprocess.PIPE,
            )
            started.append(child)
            assert child.stdout is not None
            assert child.stdout.readline() == b"ready\n"
            running[name] = child
        return running

    yield start
    for child in started:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def safe_stop(
    running: dict[str, subprocess.Popen[bytes]],
    lines: list[str],
    lag: Callable[[], int | None] = lambda: 0,
    abort: threading.Event | None = None,
) -> SafeStop:
    return SafeStop(running, lag, abort or threading.Event(), lines.append, Path("logs"), FATE)


def test_upstream_first_the_broker_last(
    children: Callable[..., dict[str, subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    running = children(broker=0, process=0, query=0, gateway=0, dispatcher=0, ingest=0)
    lines: list[str] = []
    assert safe_stop(running, lines, lag=lambda: 1200).run()
    assert (tmp_path / "stopped").read_text().split() == list(shutdown.ORDER)
    assert lines == [
        "stopping: closing ingest (it finishes the requests in flight"
        " and flushes its producer) ...",
        "stopping: ingest closed; draining 1,200 records into process ...",
        "stopping: topic drained; stopping gateway, query, process, broker ...",
        "stopped: the dispatcher delivered every record on its topics",
    ]


def test_the_drain_reports_what_is_left(
    children: Callable[..., dict[str, subprocess.Popen[bytes]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutdown, "PROGRESS_EVERY_S", 0.2)
    running = children(dispatcher=1.0, broker=0)
    left = iter(range(5000, 0, -500))
    lines: list[str] = []
    assert safe_stop(running, lines, lag=lambda: next(left)).run()
    assert lines[0] == "stopping: draining 5,000 records into process ..."
    progress = [line for line in lines if line.endswith("records left to deliver ...")]
    assert progress[0] == "stopping: 4,500 records left to deliver ..."
    assert 2 <= len(progress) <= 6


def test_what_outlives_its_grace_is_killed_and_named(
    children: Callable[..., dict[str, subprocess.Popen[bytes]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutdown, "GRACES", {"dispatcher": 1.0})
    monkeypatch.setattr(shutdown, "GRACE_S", 1.0)
    running = children(dispatcher=-1, gateway=-1, broker=0)
    lines: list[str] = []
    assert not safe_stop(running, lines, lag=lambda: 42).run()
    assert (
        f"killed dispatcher: still draining after its 1 s grace; 42 records on the topic {FATE}"
        in lines
    )
    assert "killed gateway: still running after its 1 s grace" in lines
    assert (
        lines[-1]
        == f"stopped: the dispatcher did not finish its drain; 42 records on the topic {FATE}"
    )
    assert all(child.poll() is not None for child in running.values())


def test_a_second_signal_gives_up_at_once(
    children: Callable[..., dict[str, subprocess.Popen[bytes]]],
) -> None:
    running = children(ingest=0, dispatcher=-1, process=-1, broker=-1)
    abort = threading.Event()
    lines: list[str] = []
    threading.Timer(0.5, abort.set).start()
    started = time.monotonic()
    assert not safe_stop(running, lines, lag=lambda: 1234, abort=abort).run()
    assert time.monotonic() - started < 3
    assert lines[-1] == (
        f"gave up: 1,234 records still on the topic, {FATE}; killed dispatcher, process, broker"
    )
    assert all(child.poll() is not None for child in running.values())


def test_a_dispatcher_that_fails_is_not_taken_for_drained(
    children: Callable[..., dict[str, subprocess.Popen[bytes]]],
) -> None:
    running = children(dispatcher=0, broker=0)
    running["dispatcher"].kill()  # dies by a signal: not the drain's exit 0
    lines: list[str] = []
    assert not safe_stop(running, lines, lag=lambda: 7).run()
    assert "stopping: dispatcher exited with -9; see logs/dispatcher.log" in lines
    assert (
        lines[-1]
        == f"stopped: the dispatcher did not finish its drain; 7 records on the topic {FATE}"
    )
