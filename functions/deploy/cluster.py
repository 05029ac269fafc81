"""The names of what `nox -s deploy` creates, and `kubectl` pinned to that cluster.

Every kubectl call names the Kind cluster's context, so a deploy can never touch whatever
cluster the user's current context points at.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.deploy.tools import Runner

CLUSTER = "clickstream"
CONTEXT = f"kind-{CLUSTER}"
NAMESPACE = "clickstream"
KAFKA_NAMESPACE = "kafka"
SERVICES = ("ingest", "process", "query", "gateway")
KAFKA_CLUSTER = "kafka/clickstream"
# in this order: a source is Ready only once its dead-letter sink is
KAFKA_EVENTING = (
    "kafkasink/clicks-dead-letters",
    "kafkasource/clicks-to-process",
    "kafkasource/dead-letters-to-process",
)
MIGRATION_JOB = "clickstream-migrate"
# server-side apply: re-applying unchanged manifests changes nothing, and configuration we
# add to Knative's own objects (kind/platform/knative-network) is owned by this manager
FIELD_MANAGER = "clickstream-deploy"
APPLY = ("apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}")


@dataclass(frozen=True, slots=True)
class Kubectl:
    runner: Runner

    def __call__(
        self, step: str, *args: str, stdin: str | None = None, timeout_s: float = 900
    ) -> str:
        return self.runner.run(
            step, "kubectl", "--context", CONTEXT, *args, stdin=stdin, timeout_s=timeout_s
        )
