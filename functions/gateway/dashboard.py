"""The built dashboard (`dashboard/dist/`), served at `/` with content types and caching."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse

from functions.core.errors import DependencyUnavailable
from functions.gateway.errors import RouteNotFound

# Vite content-hashes everything under assets/: a name never changes meaning
IMMUTABLE = "public, max-age=31536000, immutable"
# index.html names the current assets: revalidate every time (ETag makes that cheap)
REVALIDATE = "no-cache"


def file_response(path: str, dist: Path) -> FileResponse:
    """The file at `path` under `dist` (`/` is index.html); never a file outside it."""
    if not (dist / "index.html").is_file():
        raise DependencyUnavailable(
            "dashboard", f"not built: run `npm ci && npm run build` in dashboard/ ({dist})"
        )
    relative = path.lstrip("/") or "index.html"
    target = (dist / relative).resolve()
    if not target.is_relative_to(dist.resolve()) or not target.is_file():
        raise RouteNotFound(f"no route or dashboard file {path}")
    cache = IMMUTABLE if relative.startswith("assets/") else REVALIDATE
    return FileResponse(target, headers={"Cache-Control": cache})
