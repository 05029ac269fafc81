"""The Dockerfile, .dockerignore and the content tag describe the same build."""

from __future__ import annotations

import re
from pathlib import Path

from functions.deploy.image import (
    BUILD_INPUTS,
    EXCLUDED,
    POSTGRES_DOCKERFILE,
    content_tag,
    postgres_tag,
)
from functions.deploy.pins import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_every_copied_source_is_hashed_into_the_tag() -> None:
    copied = {
        source.rstrip("/")
        for line in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE, re.MULTILINE)
        for source in line.split()[:-1]
    }
    assert copied
    assert copied <= set(BUILD_INPUTS)


def test_dockerignore_keeps_exactly_the_dev_tools_out() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = {line.rstrip("/") for line in lines if line.startswith("functions/")}
    assert ignored == set(EXCLUDED)
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == set(BUILD_INPUTS) - {"Dockerfile", ".dockerignore"}


def test_runtime_image_has_runtime_deps_only_and_a_non_root_user() -> None:
    installs = re.findall(r"pip install (.+)$", DOCKERFILE, re.MULTILINE)
    assert installs == ["."]  # the pins of pyproject.toml, without the dev extras
    (user,) = re.findall(r"^USER (\d+):(\d+)$", DOCKERFILE, re.MULTILINE)
    assert int(user[0]) != 0


def _tree(root: Path) -> Path:
    for name, text in {
        "Dockerfile": "FROM scratch\n",
        "pyproject.toml": "[project]\n",
        "functions/ingest/main.py": "x = 1\n",
        "functions/dev/stack.py": "dev = 1\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_tag_changes_exactly_when_the_image_would(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    first = content_tag(root)
    assert content_tag(root) == first
    (root / "functions" / "dev" / "stack.py").write_text("dev = 2\n")
    (root / "functions" / "ingest" / "__pycache__").mkdir()
    (root / "functions" / "ingest" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"x")
    assert content_tag(root) == first
    (root / "functions" / "ingest" / "main.py").write_text("x = 2\n")
    assert content_tag(root) != first


def test_postgres_image_adds_hll_of_its_own_major_version() -> None:
    dockerfile = (ROOT / POSTGRES_DOCKERFILE).read_text()
    (base,) = re.findall(r"^FROM (postgres:(\d+)\.\S+)$", dockerfile, re.MULTILINE)
    assert f"postgresql-{base[1]}-hll" in dockerfile
    # the migration Job waits for PostgreSQL with the same base image's pg_isready
    assert f"image: {base[0]}" in (ROOT / "knative/data/migrate-job.yaml").read_text()


def test_postgres_tag_follows_its_dockerfile(tmp_path: Path) -> None:
    dockerfile = tmp_path / POSTGRES_DOCKERFILE
    dockerfile.parent.mkdir()
    dockerfile.write_text("FROM postgres:17\n")
    first = postgres_tag(tmp_path)
    assert postgres_tag(_tree(tmp_path)) == first  # the functions' sources are not in it
    dockerfile.write_text("FROM postgres:18\n")
    assert postgres_tag(tmp_path) != first
