"""Rendering what `kubectl apply -k` would apply, and validating it as the API server would:
core kinds against the Kubernetes OpenAPI schemas, custom resources against their CRDs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

Manifest = dict[str, Any]
ROOT_FIELDS = {"apiVersion": "string", "kind": "string", "metadata": "object"}


def render(directory: Path) -> list[Manifest]:
    """`kubectl kustomize directory`: exactly the objects `kubectl apply -k` sends."""
    output = subprocess.run(
        ["kubectl", "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def _structural(node: Any) -> Any:
    """An openAPIV3Schema as JSON Schema with the API server's rules: unknown fields are
    errors (kubectl's strict field validation) unless the schema preserves them, `nullable`
    admits null, int-or-string admits both."""
    if isinstance(node, list):
        return [_structural(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _structural(value) for key, value in node.items()}
    if schema.pop("x-kubernetes-int-or-string", False):
        schema.pop("type", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.pop("nullable", False) and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    preserve = schema.pop("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in schema and "additionalProperties" not in schema and not preserve:
        schema["additionalProperties"] = False
    return schema


class CrdSchemas:
    """Validators for every (apiVersion, kind) that the CRD files serve."""

    def __init__(self, crd_files: list[Path]) -> None:
        self.validators: dict[tuple[str, str], jsonschema.Draft7Validator] = {}
        for path in crd_files:
            crd = yaml.safe_load(path.read_text())
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served"):
                    schema = _structural(version["schema"]["openAPIV3Schema"])
                    # the API server takes these on every object, whether or not a CRD's
                    # schema lists them (KafkaSink's does not)
                    schema.setdefault("properties", {})
                    for field, json_type in ROOT_FIELDS.items():
                        schema["properties"].setdefault(field, {"type": json_type})
                    key = (f"{group}/{version['name']}", kind)
                    self.validators[key] = jsonschema.Draft7Validator(schema)

    def covers(self, manifest: Manifest) -> bool:
        return (manifest["apiVersion"], manifest["kind"]) in self.validators

    def errors(self, manifest: Manifest) -> list[str]:
        validator = self.validators[(manifest["apiVersion"], manifest["kind"])]
        return [
            f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
            for error in validator.iter_errors(manifest)
        ]


def core_errors(manifest: Manifest, kubernetes: str) -> list[str]:
    """Strict validation against the Kubernetes `kubernetes` schemas (unknown fields fail)."""
    try:
        kubernetes_validate.validate(manifest, kubernetes, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path)) or '<root>'}: {error.message}"]
    return []


def name_of(manifest: Manifest) -> str:
    meta = manifest["metadata"]
    return f"{manifest['kind']} {meta.get('namespace', '')}/{meta['name']}"


def find(manifests: list[Manifest], api_version: str, kind: str, name: str) -> Manifest:
    for manifest in manifests:
        if (manifest["apiVersion"], manifest["kind"], manifest["metadata"]["name"]) == (
            api_version,
            kind,
            name,
        ):
            return manifest
    raise LookupError(f"no {kind} {name} ({api_version}) in the rendered manifests")


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """(owner, pod spec) of every workload: Knative Services, Deployments, StatefulSets, Jobs."""
    for manifest in manifests:
        template = manifest.get("spec", {}).get("template")
        if manifest["kind"] in ("Service", "Deployment", "StatefulSet", "Job") and template:
            yield manifest, template["spec"]


def containers(spec: Manifest) -> list[Manifest]:
    return [*spec.get("initContainers", []), *spec["containers"]]
