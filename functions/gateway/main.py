"""gateway: the REST API and dashboard (functions-framework HTTP function `gateway`)."""

from __future__ import annotations

import logging

import grpc
import msgspec
from functions_framework import aio
from starlette.requests import Request
from starlette.responses import Response

from functions.core.errors import DependencyUnavailable, InvalidArgument
from functions.gateway import api, dashboard
from functions.gateway.errors import MethodNotAllowed, RouteNotFound, Unauthorized
from functions.gateway.openapi import DOCUMENT

log = logging.getLogger("clickstream.gateway")
_encode = msgspec.json.Encoder().encode
_OPENAPI = _encode(DOCUMENT)
# gRPC status -> HTTP status, per DESIGN.md ("REST")
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}


def _json(body: object, status: int = 200, cache_control: str = "no-store") -> Response:
    return Response(
        _encode(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": cache_control},
    )


def _error(
    status: int, code: str, message: str, field: str | None = None, **headers: str
) -> Response:
    response = _json({"error": {"code": code, "message": message, "field": field}}, status)
    response.headers.update(headers)
    return response


def _authorize(request: Request) -> None:
    tokens: frozenset[str] = request.app.state.read_tokens
    if not tokens or not api.protected(request.scope["path"]):
        return
    if not api.bearer_matches(tokens, request.headers.get("authorization", "")):
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
    _authorize(request)
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
    return _json(answer, cache_control=route.cache_control)


@aio.http
async def gateway(request: Request) -> Response:
    """Route a REST call; the one place errors become HTTP statuses."""
    # the scope's path, not request.url: building a URL object costs more than the answer
    path = request.scope["path"]
    found = api.match(path, request.scope.get("raw_path") or b"")
    try:
        response = await _serve(request, found)
    except InvalidArgument as error:
        response = _error(400, "INVALID_ARGUMENT", error.message, error.field)
    except Unauthorized as error:
        response = _error(
            401, "UNAUTHENTICATED", str(error), None, **{"WWW-Authenticate": "Bearer"}
        )
    except RouteNotFound as error:
        response = _error(404, "NOT_FOUND", str(error))
    except MethodNotAllowed as error:
        response = _error(
            405, "METHOD_NOT_ALLOWED", str(error), None, Allow=", ".join(error.allowed)
        )
    except DependencyUnavailable as error:
        response = _error(503, "UNAVAILABLE", str(error), None, **{"Retry-After": "1"})
    except grpc.aio.AioRpcError as error:
        field = dict(error.trailing_metadata() or ()).get("field")
        status = _HTTP_STATUS.get(error.code(), 502)
        if status >= 500:
            log.warning("query answered %s: %s", error.code().name, error.details())
        response = _error(status, error.code().name, error.details() or "", field)
    except Exception:
        log.exception("%s %s failed", request.method, path)
        response = _error(500, "INTERNAL", "internal error")
    # the route's duration is measured by the shared middleware (functions/core/serving.py)
    request.state.route = _template(path, found)
    return response
