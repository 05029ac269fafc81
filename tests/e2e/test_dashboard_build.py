"""`functions/dev/dashboard.py`: builds only when dist is missing or its sources changed.

A stand-in `npm` on PATH records its calls, so these run in milliseconds without Node.js.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from functions.core.errors import DependencyUnavailable
from functions.dev.dashboard import ensure_built, is_stale

FAKE_NPM = """#!/bin/sh
echo "$*" >> "{calls}"
if [ "$1" = run ]; then
  [ -f fail ] && {{ echo "src/main.ts: error TS2322" >&2; exit 2; }}
  mkdir -p dist && echo '<!doctype html>' > dist/index.html
fi
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "dashboard"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.ts").write_text("export {};\n")
    (root / "package.json").write_text("{}\n")
    (root / "package-lock.json").write_text("{}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(calls=tmp_path / "calls"))
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]))
    return root


def calls(root: Path) -> list[str]:
    log = root.parent / "calls"
    return log.read_text().splitlines() if log.exists() else []


def test_builds_when_missing_then_only_when_sources_change(project: Path) -> None:
    assert is_stale(project)
    assert ensure_built(project) == project / "dist"
    assert calls(project) == ["ci --no-audit --no-fund", "run build"]
    assert not is_stale(project)

    ensure_built(project)
    assert len(calls(project)) == 2, "an unchanged dashboard was rebuilt"

    (project / "src" / "main.ts").touch()  # a new time, the same content: still fresh
    assert not is_stale(project)

    (project / "src" / "main.ts").write_text("export const changed = 1;\n")
    assert is_stale(project)
    ensure_built(project)
    assert len(calls(project)) == 4


def test_a_failed_build_names_the_command_and_shows_its_output(project: Path) -> None:
    (project / "fail").touch()
    with pytest.raises(DependencyUnavailable, match=r"`npm run build`.*failed \(2\)") as error:
        ensure_built(project)
    assert "error TS2322" in str(error.value)
    assert is_stale(project)


def test_without_npm_says_what_to_install(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(DependencyUnavailable, match="npm not found"):
        ensure_built(project)
