"""kind/: one file pins the platform, and everything else agrees with it."""

from __future__ import annotations

import yaml

from functions.deploy.cluster import CLUSTER
from functions.deploy.pins import CLUSTER_CONFIG, ROOT, Pins
from tests.deploy.conftest import SCHEMAS


def _component(pins: Pins, name: str) -> tuple[str, tuple[str, ...]]:
    component = next(c for c in pins.components if c.name == name)
    return component.version, component.manifests


def test_the_pinned_releases_are_those_of_the_schemas(pins: Pins) -> None:
    readme = (SCHEMAS / "README.md").read_text() if SCHEMAS.exists() else ""
    for name in ("knative-serving", "kourier", "knative-eventing", "knative-kafka-source"):
        version, manifests = _component(pins, name)
        assert version == "knative-v1.23.0", name
        assert manifests
        assert all(f"/download/{version}/" in url for url in manifests), name
    assert _component(pins, "strimzi")[0] == "1.2.0"
    if readme:
        assert "knative-v1.23.0" in readme
        assert "1.2.0" in readme


def test_platform_install_order(pins: Pins) -> None:
    """Serving before its ingress and network settings; eventing before the Kafka source."""
    assert [c.name for c in pins.components] == [
        "knative-serving",
        "kourier",
        "knative-network",
        "knative-eventing",
        "knative-kafka-source",
        "strimzi",
    ]


def test_strimzi_kustomization_installs_the_pinned_release(pins: Pins) -> None:
    strimzi = next(c for c in pins.components if c.name == "strimzi")
    assert strimzi.kustomization is not None
    kustomization = yaml.safe_load(
        (ROOT / strimzi.kustomization / "kustomization.yaml").read_text()
    )
    assert strimzi.release_manifest in kustomization["resources"]
    (transformer,) = kustomization["transformers"]
    moved = yaml.safe_load((ROOT / strimzi.kustomization / transformer).read_text())
    assert moved["metadata"]["namespace"] == strimzi.namespace
    assert moved["setRoleBindingSubjects"] == "allServiceAccounts"


def test_cluster_config_matches_the_pins(pins: Pins) -> None:
    config = yaml.safe_load(CLUSTER_CONFIG.read_text())
    assert config["name"] == CLUSTER
    (node,) = config["nodes"]
    assert node["image"] == pins.node_image
    assert pins.node_image.startswith(f"kindest/node:v{pins.kubernetes}@sha256:")
    mapped = {m["containerPort"]: m["hostPort"] for m in node["extraPortMappings"]}
    # the node ports kind/platform/knative-network gives Kourier's gateway
    service = yaml.safe_load(
        (ROOT / "kind" / "platform" / "knative-network" / "kourier-nodeport.yaml").read_text()
    )
    node_ports = {p["name"]: p["nodePort"] for p in service["spec"]["ports"]}
    assert mapped[node_ports["http2"]] == 80
    assert mapped[node_ports["https"]] == 443
