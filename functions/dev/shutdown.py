"""The safe stop of the local platform: nothing `ingest` answered 202 is lost with the broker.

The local broker keeps records in memory only (DESIGN.md), so the order is what makes a stop
safe. `ingest` first: uvicorn stops accepting, finishes the requests in flight, and its
lifespan flushes the producer (logging what the broker never acknowledged, which was never
answered 202). Then the dispatcher: on SIGTERM it delivers or dead-letters every record left
on its topics, commits and exits 0; that takes as long as the backlog, so it has a long grace
and the stop says every few seconds how many records are left (the dispatcher's lag metric).
Then gateway, query and process; the broker last. Whatever outlives its grace is killed, in
one line naming it. A second signal gives up: everything left is killed at once, broker
included, and one line says what that loses.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from functions.dev import processes

ORDER = ("ingest", "dispatcher", "gateway", "query", "process", "broker")
# uvicorn's graceful shutdown (20 s, functions.core.serving), then the producer's flush (10 s)
INGEST_GRACE_S = 35.0
# the dispatcher's drain: minutes of backlog at the pipeline's pace
DRAIN_GRACE_S = 300.0
GRACE_S = 15.0
GRACES = {"ingest": INGEST_GRACE_S, "dispatcher": DRAIN_GRACE_S}
PROGRESS_EVERY_S = 5.0
# uvicorn re-raises the SIGTERM it handled once it has shut down; the dispatcher exits 0
# only once its topics are drained, so dying by the signal means it was not
CLEAN_EXITS = {"dispatcher": frozenset({0})}
DEFAULT_CLEAN_EXITS = frozenset({0, -signal.SIGTERM})


def print_line(line: str) -> None:
    print(line, flush=True)


def _records(count: int | None) -> str:
    if count is None:
        return "an unknown number of records"  # the dispatcher reported no lag (yet)
    return f"{count:,} record{'' if count == 1 else 's'}"


@dataclass
class SafeStop:
    """One stop of `children` (name → process) in `ORDER`; `run()` says what it does."""

    children: Mapping[str, subprocess.Popen[bytes]]
    # records the dispatcher has yet to deliver, None when it does not say
    lag: Callable[[], int | None]
    # set by a second signal: give up at once
    abort: threading.Event
    say: Callable[[str], None]
    log_dir: Path
    # what becomes of records the dispatcher leaves on the topic
    fate: str
    _left: int | None = field(default=None, init=False)
    _drained: bool = field(default=False, init=False)
    _progress_due: float = field(default=0.0, init=False)
    _rest_announced: bool = field(default=False, init=False)

    def run(self) -> bool:
        """Stop every child; whether each exited by itself within its grace."""
        names = [name for name in ORDER if name in self.children]
        clean = True
        for index, name in enumerate(names):
            if self.abort.is_set():
                self._give_up(names[index:])
                return False
            self._announce(name, names[index:])
            process = self.children[name]
            if process.poll() is None:
                process.terminate()
            meanwhile = self._progress if name == "dispatcher" else None
            if processes.wait(process, GRACES.get(name, GRACE_S), self.abort, meanwhile):
                clean = self._exited(name) and clean
            elif self.abort.is_set():
                self._give_up(names[index:])
                return False
            else:
                self._kill(name)
                clean = False
        if "dispatcher" in names:
            self.say(
                "stopped: the dispatcher delivered every record on its topics"
                if self._drained
                else f"stopped: the dispatcher did not finish its drain; "
                f"{_records(self._left)} on the topic {self.fate}"
            )
        elif names:
            self.say("stopped")
        return clean

    def _announce(self, name: str, rest: list[str]) -> None:
        if name == "ingest":
            self.say(
                "stopping: closing ingest (it finishes the requests in flight"
                " and flushes its producer) ..."
            )
        elif name == "dispatcher":
            self._left = self.lag()
            closed = "ingest closed; " if "ingest" in self.children else ""
            what = "the topic" if self._left is None else _records(self._left)
            self.say(f"stopping: {closed}draining {what} into process ...")
            self._progress_due = time.monotonic() + PROGRESS_EVERY_S
        elif not self._rest_announced:  # the others stop quickly: one line for them all
            self._rest_announced = True
            drained = "topic drained; " if self._drained else ""
            self.say(f"stopping: {drained}stopping {', '.join(rest)} ...")

    def _progress(self) -> None:
        if time.monotonic() < self._progress_due:
            return
        self._progress_due = time.monotonic() + PROGRESS_EVERY_S
        left = self.lag()
        if left is not None:
            self._left = left
            self.say(f"stopping: {_records(left)} left to deliver ...")

    def _exited(self, name: str) -> bool:
        code = self.children[name].returncode
        if name == "dispatcher":
            self._drained = code == 0
            self._left = 0 if self._drained else self._left
        if code in CLEAN_EXITS.get(name, DEFAULT_CLEAN_EXITS):
            return True
        self.say(f"stopping: {name} exited with {code}; see {self.log_dir / name}.log")
        return False

    def _kill(self, name: str) -> None:
        grace = GRACES.get(name, GRACE_S)
        if name == "dispatcher":
            self._left = self.lag()  # while it still answers
            processes.kill(self.children[name])
            self.say(
                f"killed dispatcher: still draining after its {grace:.0f} s grace;"
                f" {_records(self._left)} on the topic {self.fate}"
            )
            return
        processes.kill(self.children[name])
        self.say(f"killed {name}: still running after its {grace:.0f} s grace")

    def _give_up(self, names: list[str]) -> None:
        """Kill `names` at once; say what is lost."""
        running = [name for name in names if self.children[name].poll() is None]
        if "dispatcher" in running:
            self._left = self.lag()  # before it is gone
        for name in running:
            processes.kill(self.children[name])
        lost = (
            "nothing was left on the topic"
            if self._drained or self._left == 0
            else f"{_records(self._left)} still on the topic, {self.fate}"
        )
        self.say(f"gave up: {lost}; killed {', '.join(running) or 'nothing'}")


class StopSignals:
    """SIGINT and SIGTERM for a supervisor. The first raises KeyboardInterrupt, leaving
    whatever it waited on, so the safe stop begins; any later one, and any once `stopping()`
    was called, sets `abort` instead: stop at once. The handler only sets flags (a print
    from it could re-enter the print it interrupted)."""

    def __init__(self, abort: threading.Event) -> None:
        self._abort = abort
        self._stopping = False

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def stopping(self) -> None:
        """The stop has begun: from now on a signal aborts it, never interrupts it."""
        self._stopping = True

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        if self._stopping:
            self._abort.set()
            return
        self._stopping = True
        raise KeyboardInterrupt
