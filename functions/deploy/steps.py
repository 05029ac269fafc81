"""`up` and `down`: the deploy as a sequence of idempotent steps.

Each step either finds its work done (cluster present, Secret present, manifests unchanged
under server-side apply) or does it, so re-running `up` on a deployed cluster changes
nothing and succeeds.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from functions.deploy import data_plane
from functions.deploy.cluster import (
    APPLY,
    CLUSTER,
    CONTEXT,
    KAFKA_CLUSTER,
    KAFKA_EVENTING,
    KAFKA_NAMESPACE,
    MIGRATION_JOB,
    NAMESPACE,
    SERVICES,
    Kubectl,
)
from functions.deploy.image import (
    POSTGRES_DOCKERFILE,
    POSTGRES_REPOSITORY,
    REPOSITORY,
    content_tag,
    postgres_tag,
)
from functions.deploy.overlay import write_overlay
from functions.deploy.pins import APP_DIR, CLUSTER_CONFIG, Component, Pins
from functions.deploy.readiness import Wait, wait_for
from functions.deploy.secrets import (
    ALERTING_NAMESPACE,
    ALERTING_SECRET,
    DB_SECRET,
    TOKENS_SECRET,
    Tokens,
    alerting_secret_manifest,
    db_secret_manifest,
    tokens_secret_manifest,
)
from functions.deploy.tools import DeployError, Runner, missing_tools

TOOLS = ("kind", "kubectl", "docker")
# Grafana is a ClusterIP Service of knative/observability: reached through a port-forward
GRAFANA = (
    f"http://127.0.0.1:3000/ after: kubectl --context {CONTEXT} -n {ALERTING_NAMESPACE} "
    "port-forward svc/grafana 3000:3000"
)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds each wait may take; a first deploy pulls every image, so they are generous."""

    platform: int = 300
    kafka: int = 600
    data: int = 300
    services: int = 300


@dataclass(frozen=True, slots=True)
class Urls:
    ingest: str
    gateway: str
    grafana: str | None


class Deployer:
    def __init__(
        self,
        runner: Runner,
        pins: Pins,
        root: Path,
        timeouts: Timeouts,
        slack_webhook_url: str | None = None,
    ) -> None:
        self.runner = runner
        self.slack_webhook_url = slack_webhook_url
        self.kubectl = Kubectl(runner)
        self.pins = pins
        self.root = root
        self.timeouts = timeouts

    def up(self) -> Urls:
        self.check_tools()
        self.ensure_cluster()
        for component in self.pins.components:
            self.install(component)
        self.ensure_secret()
        image = self.build_image()
        postgres = self.build_postgres_image()
        self.retire_stale_migration(image)
        self.apply_app(image, postgres)
        if observability_included():
            self.ensure_alerting_secret()
        self.wait_ready()
        return self.urls()

    def down(self, delete_cluster: bool) -> None:
        self.check_tools()
        if not self.cluster_exists():
            self.runner.echo(f"no Kind cluster named {CLUSTER}: nothing to remove")
            return
        if delete_cluster:
            self.runner.run("undeploy", "kind", "delete", "cluster", "--name", CLUSTER)
            return
        self.kubectl(
            "undeploy", "delete", "-k", str(APP_DIR), "--ignore-not-found", "--timeout=300s"
        )

    def check_tools(self) -> None:
        missing = missing_tools(TOOLS)
        if missing:
            raise DeployError("prerequisites", "missing on PATH: " + ", ".join(missing))
        try:
            self.runner.run("prerequisites", "docker", "info", "--format", "{{.ServerVersion}}")
        except DeployError as error:
            raise DeployError(
                "prerequisites", f"docker is installed but its engine does not answer\n{error}"
            ) from None

    def cluster_exists(self) -> bool:
        clusters = self.runner.run("cluster", "kind", "get", "clusters")
        return CLUSTER in clusters.split()

    def ensure_cluster(self) -> None:
        if not self.cluster_exists():
            self.runner.run(
                "cluster",
                "kind", "create", "cluster", "--name", CLUSTER,
                "--config", str(CLUSTER_CONFIG), "--wait", "180s",
            )  # fmt: skip
        # writes the context kubectl needs even when the cluster was made elsewhere
        self.runner.run("cluster", "kind", "export", "kubeconfig", "--name", CLUSTER)

    def install(self, component: Component) -> None:
        step = f"platform {component.name} {component.version}"
        for url in component.manifests:
            self.kubectl(step, *APPLY, "-f", url)
            # the next manifest may hold resources of the kinds this one defined
            self.kubectl(
                step, "wait", "crd", "--all", "--for=condition=Established", "--timeout=120s"
            )
        if component.kustomization:
            self.kubectl(step, *APPLY, "-k", str(self.root / component.kustomization))
        wait_for(
            self.kubectl,
            Wait("deployment", component.namespace, self.timeouts.platform, "Available"),
        )
        if component.max_poll_records is not None:
            self.set_max_poll_records(step, component.namespace, component.max_poll_records)

    def set_max_poll_records(self, step: str, namespace: str, records: int) -> None:
        """The data plane's records in flight as pinned (the local dispatcher runs the same)."""
        current = self.kubectl(
            step, "get", "configmap", data_plane.CONFIG_MAP, "-n", namespace,
            "-o", data_plane.PROPERTIES_PATH,
        )  # fmt: skip
        wanted = data_plane.with_max_poll_records(current, records)
        if wanted == current:
            return
        self.kubectl(
            step, "patch", "configmap", data_plane.CONFIG_MAP, "-n", namespace,
            "--type", "merge", "-p", data_plane.patch(wanted),
        )  # fmt: skip
        self.kubectl(step, "rollout", "restart", data_plane.DISPATCHER, "-n", namespace)

    def ensure_secret(self) -> None:
        self.kubectl("secrets", *APPLY, "-f", str(APP_DIR / "namespace.yaml"))
        found = self.kubectl(
            "secrets",
            "get",
            "secret",
            DB_SECRET,
            "-n",
            NAMESPACE,
            "--ignore-not-found",
            "-o",
            "name",
        )
        if not found.strip():
            self.kubectl("secrets", "create", "-f", "-", stdin=db_secret_manifest(NAMESPACE))
        self.ensure_tokens_secret()

    def ensure_tokens_secret(self) -> None:
        """The tokens' Secret, made and printed once; an existing one is kept, so that
        re-deploying never changes a token in use."""
        found = self.kubectl(
            "secrets",
            "get", "secret", TOKENS_SECRET, "-n", NAMESPACE, "--ignore-not-found", "-o", "name",
        )  # fmt: skip
        if found.strip():
            return
        tokens = Tokens.new()
        manifest = tokens_secret_manifest(NAMESPACE, tokens)
        self.kubectl("secrets", "create", "-f", "-", stdin=manifest)
        for line in tokens.lines():
            self.runner.echo(line)

    def ensure_alerting_secret(self) -> None:
        """Grafana starts once this Secret exists; without a webhook URL it is left to the
        user (the deploy does not wait for Grafana)."""
        found = self.kubectl(
            "secrets",
            "get", "secret", ALERTING_SECRET, "-n", ALERTING_NAMESPACE, "--ignore-not-found",
            "-o", "name",
        )  # fmt: skip
        if found.strip():
            return
        if self.slack_webhook_url:
            manifest = alerting_secret_manifest(self.slack_webhook_url)
            self.kubectl("secrets", "create", "-f", "-", stdin=manifest)
            return
        self.runner.echo(
            f"note: Grafana waits for the Secret {ALERTING_SECRET} in {ALERTING_NAMESPACE}; "
            "re-run with `nox -s deploy -- --slack-webhook-url URL` to create it"
        )

    def build_image(self) -> str:
        image = f"{REPOSITORY}:{content_tag(self.root)}"
        self.runner.run("image", "docker", "build", "--tag", image, str(self.root), timeout_s=1800)
        # kind skips the copy when the node already has this image
        self.runner.run("image", "kind", "load", "docker-image", image, "--name", CLUSTER)
        return image

    def build_postgres_image(self) -> str:
        """PostgreSQL with the hll and pg_partman extensions (the stock image has neither;
        migrations 0011 and 0018 create them)."""
        image = f"{POSTGRES_REPOSITORY}:{postgres_tag(self.root)}"
        dockerfile = self.root / POSTGRES_DOCKERFILE
        self.runner.run(
            "image",
            "docker", "build", "--tag", image, "--file", str(dockerfile), str(dockerfile.parent),
            timeout_s=1800,
        )  # fmt: skip
        self.runner.run("image", "kind", "load", "docker-image", image, "--name", CLUSTER)
        return image

    def retire_stale_migration(self, image: str) -> None:
        """A Job's pod template is immutable: delete the last migration Job when its image
        is not `image`, so the apply creates one that runs the new migrations."""
        current = self.kubectl(
            "migrations",
            "get", "job", MIGRATION_JOB, "-n", NAMESPACE, "--ignore-not-found",
            "-o", "jsonpath={.spec.template.spec.containers[0].image}",
        )  # fmt: skip
        if current.strip() and current.strip() != image:
            self.kubectl(
                "migrations", "delete", "job", MIGRATION_JOB, "-n", NAMESPACE, "--wait=true"
            )

    def apply_app(self, image: str, postgres: str) -> None:
        with tempfile.TemporaryDirectory(prefix="clickstream-overlay-") as directory:
            overlay = write_overlay(
                Path(directory), APP_DIR, image.rsplit(":", 1)[1], postgres.rsplit(":", 1)[1]
            )
            self.kubectl("apply", *APPLY, "-k", str(overlay))

    def wait_ready(self) -> None:
        t = self.timeouts
        waits = [
            Wait(KAFKA_CLUSTER, KAFKA_NAMESPACE, t.kafka),
            Wait("statefulset/postgres", NAMESPACE, t.data, None),
            Wait("deployment/redis", NAMESPACE, t.data, None),
            Wait(f"job/{MIGRATION_JOB}", NAMESPACE, t.data, "Complete"),
            *(Wait(f"ksvc/{name}", NAMESPACE, t.services) for name in SERVICES),
            *(Wait(name, NAMESPACE, t.services) for name in KAFKA_EVENTING),
        ]
        for wait in waits:
            wait_for(self.kubectl, wait)

    def urls(self) -> Urls:
        def url(service: str) -> str:
            return self.kubectl(
                "urls", "get", f"ksvc/{service}", "-n", NAMESPACE, "-o", "jsonpath={.status.url}"
            ).strip()

        return Urls(url("ingest"), url("gateway"), GRAFANA if observability_included() else None)


def observability_included(app_dir: Path = APP_DIR) -> bool:
    """Whether knative/kustomization.yaml applies the observability stack (Grafana)."""
    kustomization = yaml.safe_load((app_dir / "kustomization.yaml").read_text())
    return "observability" in kustomization.get("resources", [])
