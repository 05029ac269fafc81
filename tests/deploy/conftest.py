"""What the deploy tests need from the machine: kubectl (kustomize v5) and the CRD schemas
in ../shared/schemas/. Missing, a local run skips with the reason; under CI it fails."""

from __future__ import annotations

import shutil

import pytest

from functions.deploy.pins import APP_DIR, ROOT, Pins, load_pins
from tests.deploy.manifests import CrdSchemas, Manifest, render
from tests.fixtures.services import missing

SCHEMAS = ROOT.parent / "shared" / "schemas"


@pytest.fixture(scope="session")
def pins() -> Pins:
    return load_pins()


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        missing("kubectl (with kustomize v5) is not on PATH; it renders the manifests")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def rendered(kubectl: str) -> list[Manifest]:
    """Every object `kubectl apply -k knative/` would apply."""
    return render(APP_DIR)


@pytest.fixture(scope="session")
def crds() -> CrdSchemas:
    files = sorted(SCHEMAS.glob("*.crd.yaml"))
    if not files:
        missing(f"no CRD schemas in {SCHEMAS}")
    return CrdSchemas(files)
