"""The pinned platform (`kind/versions.toml`) and where the deployable files live."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = ROOT / "kind" / "versions.toml"
CLUSTER_CONFIG = ROOT / "kind" / "cluster.yaml"
APP_DIR = ROOT / "knative"


@dataclass(frozen=True, slots=True)
class Component:
    """One platform component: release manifests and/or a local kustomization, applied in
    order, then every Deployment of `namespace` awaited."""

    name: str
    version: str
    namespace: str
    manifests: tuple[str, ...] = ()
    kustomization: str | None = None
    release_manifest: str | None = None
    # the KafkaSource data plane's max.poll.records (knative-kafka-source only)
    max_poll_records: int | None = None


@dataclass(frozen=True, slots=True)
class Pins:
    kind_version: str
    node_image: str
    kubernetes: str
    components: tuple[Component, ...]


def load_pins(path: Path = VERSIONS_FILE) -> Pins:
    with path.open("rb") as file:
        data = tomllib.load(file)
    components = tuple(
        Component(
            name=entry["name"],
            version=entry["version"],
            namespace=entry["namespace"],
            manifests=tuple(entry.get("manifests", ())),
            kustomization=entry.get("kustomization"),
            release_manifest=entry.get("release_manifest"),
            max_poll_records=entry.get("max_poll_records"),
        )
        for entry in data["component"]
    )
    kind = data["kind"]
    return Pins(kind["version"], kind["node_image"], kind["kubernetes"], components)
