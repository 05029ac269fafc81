"""The dashboard's static files: content types, caching, no escape from dist, clear 503."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.core.errors import DependencyUnavailable
from functions.gateway.dashboard import IMMUTABLE, REVALIDATE, file_response
from functions.gateway.errors import RouteNotFound


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text("<!doctype html>")
    (tmp_path / "dist" / "assets" / "main-3f2a.js").write_text("export {}")
    (tmp_path / "secret.txt").write_text("no")
    return tmp_path / "dist"


def test_index_at_root_revalidated(dist: Path) -> None:
    response = file_response("/", dist)
    assert response.media_type == "text/html"
    assert response.headers["cache-control"] == REVALIDATE


def test_hashed_assets_are_immutable(dist: Path) -> None:
    response = file_response("/assets/main-3f2a.js", dist)
    assert response.media_type in ("text/javascript", "application/javascript")
    assert response.headers["cache-control"] == IMMUTABLE


@pytest.mark.parametrize("path", ["/../secret.txt", "/assets/../../secret.txt", "/missing.js"])
def test_nothing_outside_dist_or_missing(dist: Path, path: str) -> None:
    with pytest.raises(RouteNotFound):
        file_response(path, dist)


def test_unbuilt_dashboard_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(DependencyUnavailable, match="npm run build"):
        file_response("/", tmp_path / "dist")
