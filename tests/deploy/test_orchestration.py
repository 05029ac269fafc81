"""`python -m functions.deploy` (what `nox -s deploy`/`undeploy` run) against recording
stand-ins for kind, kubectl and docker. These prove the orchestration logic: the commands,
their order, idempotence and failure handling. They do not prove anything about a cluster.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from functions.deploy.pins import ROOT

STANDIN = Path(__file__).with_name("standin.py")
CTX = ("kubectl", "--context", "kind-clickstream")
APPLY = (*CTX, "apply", "--server-side", "--force-conflicts", "--field-manager=clickstream-deploy")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[dict[str, Any]]

    def commands(self) -> list[tuple[str, ...]]:
        return [tuple(call["argv"]) for call in self.calls]


class StandIns:
    """A PATH holding only the stand-ins, and the state they share across runs."""

    def __init__(self, directory: Path, tools: tuple[str, ...] = ("kind", "kubectl", "docker")):
        self.bin = directory / "bin"
        self.bin.mkdir()
        self.state = directory / "state.json"
        self.state.write_text(json.dumps({"clusters": [], "objects": {}}))
        self.directory = directory
        for tool in tools:
            wrapper = self.bin / tool
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" {tool} "$@"\n')
            wrapper.chmod(0o755)

    def run(self, *args: str, fail: str | None = None) -> Run:
        log = self.directory / "calls.jsonl"
        log.write_text("")
        env = {
            "PATH": str(self.bin),
            "STANDIN_STATE": str(self.state),
            "STANDIN_LOG": str(log),
            "PYTHONPATH": str(ROOT),
        }
        if fail:
            env["STANDIN_FAIL"] = fail
        done = subprocess.run(
            [sys.executable, "-m", "functions.deploy", *args],
            cwd=ROOT,
            env={**env, "HOME": os.environ.get("HOME", "/tmp")},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        return Run(done.returncode, done.stdout, done.stderr, calls)


@pytest.fixture
def standins(tmp_path: Path) -> StandIns:
    return StandIns(tmp_path)


def _starts(commands: list[tuple[str, ...]], *prefix: str) -> list[int]:
    return [i for i, command in enumerate(commands) if command[: len(prefix)] == prefix]


def test_first_deploy_runs_every_step_in_order(standins: StandIns) -> None:
    run = standins.run("up")
    assert run.returncode == 0, run.stderr
    commands = run.commands()
    order = [
        ("docker", "info"),
        ("kind", "get", "clusters"),
        ("kind", "create", "cluster", "--name", "clickstream"),
        ("kind", "export", "kubeconfig"),
        (*APPLY, "-f", "https://github.com/knative/serving/releases/download/knative-v1.23.0/serving-crds.yaml"),
        (*CTX, "wait", "crd", "--all"),
        (*APPLY, "-f", "https://github.com/knative/serving/releases/download/knative-v1.23.0/serving-core.yaml"),
        (*CTX, "wait", "deployment", "-n", "knative-serving"),
        (*APPLY, "-f", "https://github.com/knative-extensions/net-kourier/releases/download/knative-v1.23.0/kourier.yaml"),
        (*APPLY, "-k", str(ROOT / "kind/platform/knative-network")),
        (*APPLY, "-f", "https://github.com/knative/eventing/releases/download/knative-v1.23.0/eventing-core.yaml"),
        (*APPLY, "-f", "https://github.com/knative-extensions/eventing-kafka-broker/releases/download/knative-v1.23.0/eventing-kafka-source.yaml"),
        (*APPLY, "-k", str(ROOT / "kind/platform/strimzi")),
        (*CTX, "wait", "deployment", "-n", "kafka"),
        (*APPLY, "-f", str(ROOT / "knative/namespace.yaml")),
        (*CTX, "get", "secret", "clickstream-db"),
        (*CTX, "create", "-f", "-"),
        ("docker", "build", "--tag"),
        ("kind", "load", "docker-image"),
        (*CTX, "get", "job", "clickstream-migrate"),
        (*APPLY, "-k"),
        (*CTX, "wait", "kafka/clickstream", "-n", "kafka", "--for=condition=Ready"),
        (*CTX, "rollout", "status", "statefulset/postgres"),
        (*CTX, "rollout", "status", "deployment/redis"),
        (*CTX, "wait", "job/clickstream-migrate", "-n", "clickstream", "--for=condition=Complete"),
        (*CTX, "wait", "ksvc/ingest"),
        (*CTX, "wait", "ksvc/process"),
        (*CTX, "wait", "ksvc/query"),
        (*CTX, "wait", "ksvc/gateway"),
        (*CTX, "wait", "kafkasink/clicks-dead-letters"),
        (*CTX, "wait", "kafkasource/clicks-to-process"),
        (*CTX, "wait", "kafkasource/dead-letters-to-process"),
        (*CTX, "get", "ksvc/ingest"),
        (*CTX, "get", "ksvc/gateway"),
    ]  # fmt: skip
    position = -1
    for step in order:  # each step found after the one before it
        later = [i for i in _starts(commands, *step) if i > position]
        assert later, f"{step} missing after {commands[position] if position >= 0 else 'start'}"
        position = later[0]
    # the images built are the images the overlay applies and `kind load` copies to the node
    builds = [c[3] for c in commands if c[:2] == ("docker", "build")]
    loads = [c[3] for c in commands if c[:2] == ("kind", "load")]
    assert builds == loads
    functions, postgres = builds
    assert functions.startswith("dev.local/clickstream:")
    assert postgres.startswith("dev.local/postgres-extensions:")
    (overlay,) = [
        c["kustomization"]
        for c in run.calls
        if "kustomization" in c and "newTag" in c["kustomization"]
    ]
    assert json.loads(overlay)["images"] == [
        {"name": "dev.local/clickstream", "newTag": functions.split(":")[1]},
        {"name": "dev.local/postgres-extensions", "newTag": postgres.split(":")[1]},
    ]
    assert "http://ingest.clickstream.127.0.0.1.sslip.io/ingest" in run.stdout
    assert "nox -s smoke -- http://ingest.clickstream.127.0.0.1.sslip.io" in run.stdout


def test_every_kubectl_call_names_the_kind_context(standins: StandIns) -> None:
    run = standins.run("up")
    kubectl = [c for c in run.commands() if c[0] == "kubectl"]
    assert kubectl
    assert all(c[:3] == CTX for c in kubectl)


def test_secret_password_never_on_a_command_line(standins: StandIns) -> None:
    run = standins.run("up")
    created = [c["created"] for c in run.calls if "created" in c]
    assert created == ["secret/clickstream-db", "secret/clickstream-tokens"]
    assert not any("DATABASE_URL" in " ".join(c) for c in run.commands())


def test_tokens_are_made_and_printed_once_never_on_a_command_line(standins: StandIns) -> None:
    first = standins.run("up")
    printed = re.findall(r"(admin token|read token|write key) \([^)]*\): (\S+)", first.stdout)
    assert [kind for kind, _ in printed] == ["admin token", "read token", "write key"]
    secrets = [secret for _, secret in printed]
    assert [s[:4] for s in secrets] == ["csa_", "csr_", "csw_"]
    assert not any(s in " ".join(c) for c in first.commands() for s in secrets)
    again = standins.run("up")
    assert not any(s in again.stdout for s in secrets)
    assert "admin token" not in again.stdout


def test_alerting_secret_is_made_once_from_the_given_webhook(standins: StandIns) -> None:
    without = standins.run("up")
    assert "Grafana waits for the Secret clickstream-alerting" in without.stdout
    webhook = "https://hooks.slack.invalid/services/T0/B0/secret"
    made = standins.run("up", "--slack-webhook-url", webhook)
    assert [c["created"] for c in made.calls if "created" in c] == ["secret/clickstream-alerting"]
    assert not any(webhook in " ".join(c) for c in made.commands())
    again = standins.run("up", "--slack-webhook-url", webhook)
    assert not [c for c in again.calls if "created" in c]
    assert "port-forward svc/grafana 3000:3000" in again.stdout


def test_second_deploy_changes_nothing(standins: StandIns) -> None:
    first = standins.run("up")
    second = standins.run("up")
    assert second.returncode == 0, second.stderr
    commands = second.commands()
    assert not _starts(commands, "kind", "create")
    assert not _starts(commands, *CTX, "create")
    assert not _starts(commands, *CTX, "delete")

    def applied(run: Run) -> list[tuple[tuple[str, ...], str]]:
        # the overlay's directory is temporary; what it says is what is applied
        return [
            (
                tuple(a for a in c["argv"] if "clickstream-overlay-" not in a),
                c.get("kustomization", ""),
            )
            for c in run.calls
            if "apply" in c["argv"]
        ]

    assert applied(second) == applied(first)


def test_the_data_plane_runs_the_pinned_records_in_flight(standins: StandIns) -> None:
    """The release's own value (50) is left alone; another is set to the pin, the data
    plane restarted once, and a second deploy changes nothing."""
    first = standins.run("up").commands()
    assert not _starts(first, *CTX, "patch", "configmap")
    assert not _starts(first, *CTX, "rollout", "restart")
    state = json.loads(standins.state.read_text())
    state["data_plane"] = "fetch.min.bytes=1\nmax.poll.records=500\nsession.timeout.ms=10000\n"
    standins.state.write_text(json.dumps(state))
    commands = standins.run("up").commands()
    (patch,) = _starts(commands, *CTX, "patch", "configmap", "config-kafka-source-data-plane")
    (restart,) = _starts(
        commands, *CTX, "rollout", "restart", "statefulset/kafka-source-dispatcher"
    )
    (source_install,) = [
        i for i, c in enumerate(commands) if c[-1].endswith("/eventing-kafka-source.yaml")
    ]
    assert source_install < patch < restart
    properties = json.loads(standins.state.read_text())["data_plane"]
    assert properties == "fetch.min.bytes=1\nmax.poll.records=50\nsession.timeout.ms=10000\n"
    again = standins.run("up").commands()
    assert not _starts(again, *CTX, "patch", "configmap")


def test_new_image_replaces_the_finished_migration_job(standins: StandIns) -> None:
    standins.run("up")
    state = json.loads(standins.state.read_text())
    state["objects"]["job/clickstream-migrate"] = "dev.local/clickstream:older"
    standins.state.write_text(json.dumps(state))
    commands = standins.run("up").commands()
    (delete,) = _starts(commands, *CTX, "delete", "job", "clickstream-migrate")
    (apply,) = [
        i
        for i, c in enumerate(commands)
        if c[: len(APPLY)] == APPLY and "clickstream-overlay-" in c[-1]
    ]
    assert delete < apply


def test_a_failing_wait_stops_and_names_the_resource(standins: StandIns) -> None:
    run = standins.run("up", fail="wait ksvc/query")
    assert run.returncode == 1
    assert "ksvc/query in namespace clickstream is not Ready after 300 s" in run.stderr
    assert "told to fail here" in run.stderr  # kubectl's own message
    assert "describe ksvc/query" in run.stderr
    commands = run.commands()
    assert not _starts(commands, *CTX, "wait", "ksvc/gateway")
    assert not _starts(commands, *CTX, "get", "ksvc/ingest")


def test_a_failing_platform_install_stops_before_the_app(standins: StandIns) -> None:
    run = standins.run("up", fail="kourier.yaml")
    assert run.returncode == 1
    assert "platform kourier knative-v1.23.0" in run.stderr
    assert not _starts(run.commands(), "docker", "build")


def test_missing_tools_are_named_before_anything_runs(tmp_path: Path) -> None:
    standins = StandIns(tmp_path, tools=("kubectl",))
    run = standins.run("up")
    assert run.returncode == 1
    assert "missing on PATH: kind (https://kind.sigs.k8s.io" in run.stderr
    assert "docker (https://docs.docker.com" in run.stderr
    assert run.calls == []


def test_docker_without_its_engine_is_reported(standins: StandIns) -> None:
    run = standins.run("up", fail="docker info")
    assert run.returncode == 1
    assert "docker is installed but its engine does not answer" in run.stderr
    assert len(run.calls) == 1


def test_undeploy_removes_the_app_then_the_cluster(standins: StandIns) -> None:
    assert "nothing to remove" in standins.run("down").stdout
    standins.run("up")
    down = standins.run("down")
    assert down.returncode == 0, down.stderr
    assert _starts(down.commands(), *CTX, "delete", "-k", str(ROOT / "knative"))
    gone = standins.run("down", "--cluster")
    assert _starts(gone.commands(), "kind", "delete", "cluster", "--name", "clickstream")
    assert json.loads(standins.state.read_text())["clusters"] == []
