"""A throw-away kustomize overlay that sets the built images' tags on `knative/`.

The committed manifests stay unchanged (no `kustomize edit` on tracked files); kustomize
only accepts a relative path to a base, hence `relpath`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from functions.deploy.image import POSTGRES_REPOSITORY, REPOSITORY


def write_overlay(directory: Path, base: Path, tag: str, postgres_tag: str) -> Path:
    """Write `directory/kustomization.yaml` over `base` with the functions' image tag `tag`
    and PostgreSQL's `postgres_tag`."""
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(base, directory)],
        "images": [
            {"name": REPOSITORY, "newTag": tag},
            {"name": POSTGRES_REPOSITORY, "newTag": postgres_tag},
        ],
    }
    # JSON is YAML, and needs no YAML writer
    (directory / "kustomization.yaml").write_text(json.dumps(kustomization, indent=2) + "\n")
    return directory
