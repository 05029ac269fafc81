"""The images the deploy builds, each tagged by the content of its build inputs: the one image
of the functions, and PostgreSQL with the hll and pg_partman extensions.

A content tag makes a re-deploy of unchanged code a no-op (same tag, same Knative revision)
and a changed one a new revision, without a registry: Knative skips tag resolution for
`dev.local/` images and `kind load` puts them on the node.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

REPOSITORY = "dev.local/clickstream"
# the Dockerfile's COPY sources, plus the two files that shape the build
BUILD_INPUTS = (
    "Dockerfile",
    ".dockerignore",
    "pyproject.toml",
    "README.md",
    "proto",
    "functions",
    "dashboard",
)
# dev-only packages that .dockerignore keeps out of the image
EXCLUDED = ("functions/dev", "functions/deploy", "functions/bench")
# build outputs and installed packages: made inside the image, never copied in
_SKIPPED_PARTS = frozenset({"__pycache__", "node_modules", "dist"})
_TAG_HEX_DIGITS = 16
# PostgreSQL with the hll and pg_partman extensions (migrations 0011, 0018); its Dockerfile
# copies nothing, so the Dockerfile is all its tag depends on (a repository not under
# `clickstream`: no project code)
POSTGRES_REPOSITORY = "dev.local/postgres-extensions"
POSTGRES_DOCKERFILE = "kind/postgres.Dockerfile"


def _context_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in BUILD_INPUTS:
        path = root / name
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in candidates:
            relative = file.relative_to(root)
            if (
                file.is_file()
                and not _SKIPPED_PARTS.intersection(relative.parts)
                and file.suffix != ".pyc"
                and not any(relative.is_relative_to(excluded) for excluded in EXCLUDED)
            ):
                files.append(file)
    return files


def content_tag(root: Path) -> str:
    """A tag that changes exactly when a file the functions' image is built from changes."""
    return _digest(root, _context_files(root))


def postgres_tag(root: Path) -> str:
    """A tag that changes exactly when the PostgreSQL image's Dockerfile changes."""
    return _digest(root, [root / POSTGRES_DOCKERFILE])


def _digest(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:_TAG_HEX_DIGITS]
