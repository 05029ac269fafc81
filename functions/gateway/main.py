"""gateway: the REST API and dashboard (functions-framework HTTP function `gateway`)."""

from __future__ import annotations

import msgspec
from functions_framework import aio
from starlette.requests import Request
from starlette.responses import Response

from functions.gateway import api, dashboard
from functions.gateway.answers import error_response, json_response
from functions.gateway.errors import Forbidden, MethodNotAllowed, RouteNotFound, Unauthorized
from functions.gateway.openapi import DOCUMENT

_OPENAPI = msgspec.json.encode(DOCUMENT)


def _authorize(request: Request, found: api.Found | None) -> None:
    """With no token configured every route is open; else reports take a read or admin
    token, admin routes an admin token (DESIGN.md "Sites and enrichment")."""
    # every token that may read: the read tokens and the admin ones
    readers: frozenset[str] = request.app.state.read_tokens
    if not readers or not api.protected(request.scope["path"]):
        return
    authorization = request.headers.get("authorization", "")
    if found is not None and found[0].admin:
        if api.bearer_matches(request.app.state.admin_tokens, authorization):
            return
        if api.bearer_matches(readers, authorization):
            raise Forbidden("this route needs an admin token; a read token is not enough")
        raise Unauthorized("an admin token is required: Authorization: Bearer <token>")
    if not api.bearer_matches(readers, authorization):
        raise Unauthorized("a read token is required: Authorization: Bearer <token>")


def _template(path: str, found: api.Found | None) -> str:
    """The route template for metrics: bounded, whatever the path."""
    if found is not None:
        return found[0].template
    if path == "/openapi.json":
        return path
    return "unmatched" if api.protected(path) else "/{dashboard}"


async def _serve(request: Request, found: api.Found | None) -> Response:
    path = request.scope["path"]
    if path == "/openapi.json":
        return Response(
            _OPENAPI,
            media_type="application/json",
            headers={"Cache-Control": "public, max-age=300"},
        )
    _authorize(request, found)
    if found is None:
        if api.protected(path):
            raise RouteNotFound(f"no route {path}")
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(("GET", "HEAD"))
        return dashboard.file_response(path, request.app.state.dashboard_dir)
    route, params = found
    if request.method not in route.methods:
        raise MethodNotAllowed(route.methods)
    answer = await route.call(request.app.state.query, request, params)
    return json_response(answer, cache_control=route.cache_control)


@aio.http
async def gateway(request: Request) -> Response:
    """Route a REST call; every error is answered by `answers.error_response`."""
    # the scope's path, not request.url: building a URL object costs more than the answer
    path = request.scope["path"]
    found = api.match(path, request.scope.get("raw_path") or b"")
    try:
        response = await _serve(request, found)
    except Exception as error:
        response = error_response(error, f"{request.method} {path}")
    # the route's duration is measured by the shared middleware (functions/core/serving.py)
    request.state.route = _template(path, found)
    return response
