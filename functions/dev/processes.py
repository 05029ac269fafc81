"""Stopping a child process the one way every local tool does: SIGTERM, a grace, SIGKILL."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

# how often `wait` looks whether the process exited (and whether to give up)
POLL_S = 0.1
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A child's `preexec_fn`: SIGTERM when its supervisor dies, even by SIGKILL, so nothing
    is orphaned (Linux; elsewhere nothing)."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """Ask `process` to stop; kill it if it outlives `grace_s`; always reap it."""
    if process.poll() is None:
        process.terminate()
    if not wait(process, grace_s):
        kill(process)


def wait(
    process: subprocess.Popen[bytes],
    timeout_s: float,
    abort: threading.Event | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> bool:
    """Whether `process` exited within `timeout_s`. Looks every `POLL_S`, calling `meanwhile`
    between looks, and returns early once `abort` is set (a flag, so a signal handler can set
    it: the look is a short `Popen.wait`, during which the handler runs)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            process.wait(max(0.0, min(POLL_S, deadline - time.monotonic())))
            return True
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline or (abort is not None and abort.is_set()):
            return False
        if meanwhile is not None:
            meanwhile()


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL `process` (unless it already exited) and reap it."""
    process.kill()
    process.wait()
