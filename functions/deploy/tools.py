"""Running the external tools (`kind`, `kubectl`, `docker`): every call echoed, every failure
raised as a `DeployError` that names the step and carries the tool's own message."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from functions.core.errors import ClickstreamError

# what to install when a tool is missing (kind's version is pinned in kind/versions.toml)
INSTALL_HINTS = {
    "kind": "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "kubectl": "https://kubernetes.io/docs/tasks/tools/",
    "docker": "https://docs.docker.com/engine/install/",
}
# tool output kept in an error message: the end, where tools put the reason
_ERROR_TAIL_LINES = 20


class DeployError(ClickstreamError, RuntimeError):
    """A deploy step that failed; `step` names it, the message says why."""

    def __init__(self, step: str, message: str) -> None:
        self.step = step
        super().__init__(f"{step}: {message}")


def missing_tools(names: tuple[str, ...]) -> list[str]:
    """The tools of `names` not on PATH, each with where to get it."""
    return [f"{name} ({INSTALL_HINTS[name]})" for name in names if shutil.which(name) is None]


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-_ERROR_TAIL_LINES:])


@dataclass(frozen=True, slots=True)
class Runner:
    """Runs commands in `cwd`; `echo` shows each one before it runs."""

    cwd: Path
    echo: Callable[[str], None] = print

    def run(self, step: str, *argv: str, stdin: str | None = None, timeout_s: float = 900) -> str:
        """Run `argv`; its stdout, or a `DeployError` for `step` with the tool's message."""
        command = shlex.join(argv)
        self.echo(f"$ {command}")
        try:
            done = subprocess.run(
                argv,
                cwd=self.cwd,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except FileNotFoundError:
            raise DeployError(step, f"{argv[0]} is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise DeployError(
                step, f"`{command}` did not finish within {timeout_s:.0f} s"
            ) from None
        if done.returncode != 0:
            detail = _tail(done.stderr) or _tail(done.stdout) or "no output"
            raise DeployError(step, f"`{command}` failed (exit {done.returncode}):\n{detail}")
        return done.stdout
