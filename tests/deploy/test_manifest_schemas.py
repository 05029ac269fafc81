"""Every manifest `kubectl apply -k knative/` would apply, validated as the API server would."""

from __future__ import annotations

import json

from functions.deploy.pins import ROOT, Pins
from functions.deploy.secrets import db_secret_manifest
from tests.deploy.manifests import CrdSchemas, Manifest, core_errors, name_of, render


def _errors(manifest: Manifest, crds: CrdSchemas, pins: Pins) -> list[str]:
    if crds.covers(manifest):
        return crds.errors(manifest)
    return core_errors(manifest, pins.kubernetes)


def test_every_rendered_manifest_is_valid(
    rendered: list[Manifest], crds: CrdSchemas, pins: Pins
) -> None:
    problems = {name_of(m): _errors(m, crds, pins) for m in rendered}
    assert {name: errors for name, errors in problems.items() if errors} == {}


def test_every_custom_kind_has_its_crd_schema(rendered: list[Manifest], crds: CrdSchemas) -> None:
    custom = {
        (m["apiVersion"], m["kind"])
        for m in rendered
        if "." in m["apiVersion"].split("/")[0] and not m["apiVersion"].endswith(".k8s.io/v1")
    }
    assert custom == {
        ("serving.knative.dev/v1", "Service"),
        ("sources.knative.dev/v1", "KafkaSource"),
        ("eventing.knative.dev/v1alpha1", "KafkaSink"),
        ("kafka.strimzi.io/v1", "Kafka"),
        ("kafka.strimzi.io/v1", "KafkaNodePool"),
        ("kafka.strimzi.io/v1", "KafkaTopic"),
    }
    assert all(crds.covers({"apiVersion": v, "kind": k}) for v, k in custom)


def test_the_validator_rejects_what_the_api_server_would(
    rendered: list[Manifest], crds: CrdSchemas, pins: Pins
) -> None:
    """The checks above can fail: an unknown field and a wrong type are both caught."""
    service = next(m for m in rendered if m["kind"] == "Service" and "template" in m["spec"])
    broken = json.loads(json.dumps(service))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullSecret"] = "typo"
    assert any("imagePullSecret" in e for e in _errors(broken, crds, pins))
    statefulset = json.loads(json.dumps(next(m for m in rendered if m["kind"] == "StatefulSet")))
    statefulset["spec"]["replicas"] = "one"
    assert _errors(statefulset, crds, pins)


def test_the_secret_deploy_creates_is_valid(pins: Pins) -> None:
    assert core_errors(json.loads(db_secret_manifest("clickstream", "pw")), pins.kubernetes) == []


def test_kind_platform_configuration_is_valid(kubectl: str, pins: Pins) -> None:
    """kind/platform/knative-network is applied as is (Strimzi's kustomization pulls the
    release, which needs the network, so it is checked in test_platform_pins)."""
    manifests = render(ROOT / "kind" / "platform" / "knative-network")
    assert manifests
    assert {name_of(m): core_errors(m, pins.kubernetes) for m in manifests} == {
        name_of(m): [] for m in manifests
    }
