"""`python -m functions.dev` stopped by a signal loses nothing it answered 202 for, even with
records still waiting on its in-memory broker's topic; a second signal stops it at once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from functions.dev.scrape import scrape_total
from functions.dev.shutdown import DRAIN_GRACE_S, INGEST_GRACE_S
from tests.fixtures.pipeline import stored

# the first start may build the dashboard (npm ci + build) before the stack starts
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

EVENTS = 30_000
BATCH = 500
# Deliveries in flight between the topic and PostgreSQL are bounded by the dispatcher's
# max.poll.records (50-99 in flight, DESIGN.md); more events than this still unstored when
# the signal came means records were still waiting on the topic
WAITING_AT_LEAST = 1_000
START_TIMEOUT_S = 900.0
# what a second signal must take at most: kill everything, say what it gave up
AT_ONCE_S = 10.0


class DevCommand:
    """`python -m functions.dev --free-ports` in a subprocess, its output read as it comes."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "functions.dev", "--free-ports", "--log-dir", str(log_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:  # end of output: whoever waits for a line stops waiting
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match[str]:
        """The first output line matching `pattern`, waiting up to `timeout_s` for it."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self._lines:
                    if found := re.search(pattern, line):
                        return found
                left = deadline - time.monotonic()
                assert left > 0, f"no line matching {pattern!r} in:\n{self.output}"
                assert self._reader.is_alive(), f"exited without {pattern!r}:\n{self.output}"
                self._changed.wait(min(left, 1.0))

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def exit_code(self, timeout_s: float) -> int:
        code = self.process.wait(timeout_s)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        """The test's own cleanup: its children follow it (they die with their parent)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


class Running:
    """A started command with its stack ready, and the run's events."""

    def __init__(self, command: DevCommand, run: str) -> None:
        self.command = command
        self.run = run
        command.wait_for(r"^Clickstream is running\.$", START_TIMEOUT_S)
        self.ingest = command.wait_for(r"^\s+ingest\s+(http://\S+)/ingest\b", 1)[1]
        port = command.wait_for(r"^\s+metrics\s.*\bdispatcher:(\d+)", 1)[1]
        self.dispatcher_metrics = f"http://127.0.0.1:{port}/metrics"
        # records sent before the dispatcher joined its group wait as well, but a drain
        # under way needs a dispatcher with partitions: wait until it reports its lag
        deadline = time.monotonic() + 60
        while scrape_total(self.dispatcher_metrics, "clickstream_dispatcher_lag") is None:
            assert time.monotonic() < deadline, "the dispatcher got no partitions in 60 s"
            time.sleep(0.2)

    def send(self, count: int) -> int:
        """POST `count` events in batches; returns how many were answered 202."""
        accepted = 0
        with httpx.Client(base_url=self.ingest, timeout=30) as client:
            for start in range(0, count, BATCH):
                batch = [
                    {
                        "event_id": f"{self.run}-{n}",
                        "user_id": f"{self.run}-user-{n % 97}",
                        "event_type": "click",
                        "page_url": f"/safe-stop/{n % 13}",
                    }
                    for n in range(start, min(start + BATCH, count))
                ]
                answer = client.post("/ingest", json=batch)
                assert answer.status_code == 202, answer.text
                accepted += int(answer.json()["accepted"])
        return accepted


@pytest.fixture
def dev_command(
    database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[Callable[[], Running]]:
    started: list[DevCommand] = []

    def start() -> Running:
        run = f"stop-{uuid.uuid4().hex[:8]}"
        # no KAFKA_BOOTSTRAP_SERVERS: the command starts its own in-memory broker
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BROKER")
        }
        env |= {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "KAFKA_TOPIC": run,
            "PYTHONUNBUFFERED": "1",
        }
        command = DevCommand(tmp_path / run, env)
        started.append(command)
        return Running(command, run)

    yield start
    for command in started:
        command.kill()


def page_clicks(database_url: str, run: str) -> int:
    """Events counted in the run's users' aggregates: each event once, or it is off."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(click_count), 0) FROM page_clicks WHERE user_id LIKE %s",
            (f"{run}-%",),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_stop_delivers_every_acknowledged_event_first(
    dev_command: Callable[[], Running], database_url: str
) -> None:
    running = dev_command()
    accepted = running.send(EVENTS)
    running.command.signal(signal.SIGTERM)
    # an upper bound of what was stored when the signal came
    waiting = accepted - stored(database_url, running.run)
    assert accepted == EVENTS
    assert waiting >= WAITING_AT_LEAST, (
        f"only {waiting} events were still waiting at the signal: the stop proves nothing"
    )

    code = running.command.exit_code(INGEST_GRACE_S + DRAIN_GRACE_S + 60)
    output = running.command.output
    assert code == 0, output
    assert "stopping: ingest closed; draining " in output
    assert "stopped: the dispatcher delivered every record on its topics" in output
    # click_events' key is event_id: each stored once; the aggregates counted each once
    assert stored(database_url, running.run) == accepted, output
    assert page_clicks(database_url, running.run) == accepted


def test_a_second_signal_stops_at_once_and_says_what_it_gives_up(
    dev_command: Callable[[], Running], database_url: str
) -> None:
    running = dev_command()
    accepted = running.send(EVENTS)
    running.command.signal(signal.SIGTERM)
    running.command.wait_for(r"^stopping: ingest closed; draining ", INGEST_GRACE_S)
    running.command.signal(signal.SIGTERM)
    signalled = time.monotonic()

    code = running.command.exit_code(AT_ONCE_S + 5)
    took_s = time.monotonic() - signalled
    output = running.command.output
    assert took_s < AT_ONCE_S, output
    assert code == 1, output
    gave_up = running.command.wait_for(
        r"^gave up: ([\d,]+) records? still on the topic, lost with the in-memory broker;"
        r" killed (.*)$",
        0,
    )
    assert int(gave_up[1].replace(",", "")) > 0, output
    assert gave_up[2].split(", ")[0] == "dispatcher", output
    assert gave_up[2].endswith("broker"), output
    assert stored(database_url, running.run) < accepted, output
