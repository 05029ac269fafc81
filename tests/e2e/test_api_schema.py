"""schemathesis against the live gateway's `/openapi.json`: whatever it generates, valid or
not, gets no 5xx, and every answer matches the document (status, content type, schema)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from functions.dev.stack import Stack

pytestmark = pytest.mark.e2e

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


def test_openapi_document_matches_behaviour(stack: Stack, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    run = subprocess.run(
        [
            str(st),
            "run",
            stack.url("gateway") + "/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            "40",
            "--seed",
            "8",
            "--generation-database",
            "none",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout
