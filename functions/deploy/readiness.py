"""Bounded waits for what a deploy must leave Ready; a timeout names the resource, shows
its conditions and the command to look further."""

from __future__ import annotations

from dataclasses import dataclass

from functions.deploy.cluster import CONTEXT, Kubectl
from functions.deploy.tools import DeployError

_CONDITIONS = (
    "jsonpath={range .status.conditions[*]}{.type}={.status} {.reason} {.message}{'\\n'}{end}"
)


@dataclass(frozen=True, slots=True)
class Wait:
    """`kubectl wait` (or `rollout status`) for `resource` in `namespace`."""

    resource: str
    namespace: str
    timeout_s: int
    condition: str | None = "Ready"

    def command(self) -> tuple[str, ...]:
        bound = f"--timeout={self.timeout_s}s"
        if self.condition is None:
            return ("rollout", "status", self.resource, "-n", self.namespace, bound)
        return (
            "wait",
            self.resource,
            "-n",
            self.namespace,
            f"--for=condition={self.condition}",
            bound,
        )


def wait_for(kubectl: Kubectl, wait: Wait) -> None:
    try:
        kubectl("wait", *wait.command(), timeout_s=wait.timeout_s + 30)
    except DeployError as error:
        state = "ready" if wait.condition is None else wait.condition
        raise DeployError(
            "wait",
            f"{wait.resource} in namespace {wait.namespace} is not {state} after "
            f"{wait.timeout_s} s.\n{_conditions(kubectl, wait)}{error}\n"
            f"Look further: kubectl --context {CONTEXT} -n {wait.namespace} "
            f"describe {wait.resource}",
        ) from None


def _conditions(kubectl: Kubectl, wait: Wait) -> str:
    """The resource's status conditions, when it can still be read."""
    try:
        text = kubectl("wait", "get", wait.resource, "-n", wait.namespace, "-o", _CONDITIONS)
    except DeployError:
        return ""
    return f"Conditions:\n{text.rstrip()}\n" if text.strip() else ""
