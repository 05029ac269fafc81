"""Builds the dashboard (`dashboard/dist/`) with npm when it is missing or stale.

Stale means the sources changed since the last build: a digest of them is kept in
`dist/.source-digest`, so a checkout that only touches file times rebuilds nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from functions.core.errors import DependencyUnavailable

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
# everything `npm run build` reads (node_modules follows from package-lock.json)
SOURCES = (
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "public",
    "src",
)
DIGEST_FILE = ".source-digest"
BUILD_TIMEOUT_S = 600


def source_digest(root: Path = DASHBOARD) -> str:
    """SHA-256 over the build's source files: their paths and contents."""
    digest = hashlib.sha256()
    for name in SOURCES:
        top = root / name
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for path in files:
            if path.is_file():
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def is_stale(root: Path = DASHBOARD) -> bool:
    dist = root / "dist"
    stamp = dist / DIGEST_FILE
    if not (dist / "index.html").is_file() or not stamp.is_file():
        return True
    return stamp.read_text().strip() != source_digest(root)


def _npm(npm: str, args: list[str], root: Path) -> None:
    command = f"npm {' '.join(args)}"
    try:
        result = subprocess.run(
            [npm, *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DependencyUnavailable(
            "dashboard", f"`{command}` took over {BUILD_TIMEOUT_S} s"
        ) from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-3000:]
        raise DependencyUnavailable(
            "dashboard", f"`{command}` in {root} failed ({result.returncode}):\n{output}"
        )


def ensure_built(root: Path = DASHBOARD) -> Path:
    """`dist/`, after `npm ci && npm run build` if it is missing or stale.

    Concurrent callers (a test run beside `nox -s dev`) build once, one after the other.
    """
    lock_name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"clickstream-dashboard-{lock_name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_stale(root):
            npm = shutil.which("npm")
            if npm is None:
                raise DependencyUnavailable(
                    "dashboard", "npm not found: install Node.js 20.19+ and npm to build it"
                )
            digest = source_digest(root)
            _npm(npm, ["ci", "--no-audit", "--no-fund"], root)
            _npm(npm, ["run", "build"], root)
            (root / "dist" / DIGEST_FILE).write_text(digest + "\n")
    return root / "dist"
