"""Stopping a child process the one way every local tool does: SIGTERM, a grace, SIGKILL."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """Ask `process` to stop; kill it if it outlives `grace_s`; always reap it."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
