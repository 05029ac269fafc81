"""The gateway's JSON answers, and the one mapping of every error to its HTTP answer."""

from __future__ import annotations

import logging

import grpc
import msgspec
from starlette.responses import Response

from functions.core.errors import DependencyUnavailable, InvalidArgument, log_unavailable
from functions.gateway.errors import Forbidden, MethodNotAllowed, RouteNotFound, Unauthorized

log = logging.getLogger("clickstream.gateway")
_encode = msgspec.json.Encoder().encode
# gRPC status -> HTTP status, per DESIGN.md ("REST")
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
    # `query` lacks the configuration the call needs (a replay without Kafka)
    grpc.StatusCode.FAILED_PRECONDITION: 503,
}


def json_response(body: object, status: int = 200, cache_control: str = "no-store") -> Response:
    return Response(
        _encode(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": cache_control},
    )


def _error(
    status: int, code: str, message: str, field: str | None = None, **headers: str
) -> Response:
    response = json_response({"error": {"code": code, "message": message, "field": field}}, status)
    response.headers.update(headers)
    return response


def error_response(error: Exception, request: str) -> Response:
    """What `request` answers after `error`. `request` is for the log: a method and a route
    template ("GET /api/v1/users/{user_id}/activity"), never a path, which may hold a user
    id. A 5xx answer says what a client can act on, never what a dependency said (a host,
    a port, a statement: docs/security.md); the log keeps that."""
    if isinstance(error, InvalidArgument):
        return _error(400, "INVALID_ARGUMENT", error.message, error.field)
    if isinstance(error, Unauthorized):
        return _error(401, "UNAUTHENTICATED", str(error), None, **{"WWW-Authenticate": "Bearer"})
    if isinstance(error, Forbidden):
        return _error(403, "PERMISSION_DENIED", str(error), error.field)
    if isinstance(error, RouteNotFound):
        return _error(404, "NOT_FOUND", str(error))
    if isinstance(error, MethodNotAllowed):
        return _error(405, "METHOD_NOT_ALLOWED", str(error), None, Allow=", ".join(error.allowed))
    if isinstance(error, DependencyUnavailable):
        log_unavailable(log, error)
        return _error(
            503, "UNAVAILABLE", DependencyUnavailable.PUBLIC, None, **{"Retry-After": "1"}
        )
    if isinstance(error, grpc.aio.AioRpcError):
        field = dict(error.trailing_metadata() or ()).get("field")
        status = _HTTP_STATUS.get(error.code(), 502)
        if status < 500:
            # our own words from `query`'s validation, naming the argument
            return _error(status, error.code().name, error.details() or "", field)
        log.warning("%s: query answered %s: %s", request, error.code().name, error.details())
        if status == 503:
            return _error(
                503, "UNAVAILABLE", DependencyUnavailable.PUBLIC, None, **{"Retry-After": "1"}
            )
        return _error(502, "INTERNAL", "internal error")
    log.error("%s failed", request, exc_info=error)
    return _error(500, "INTERNAL", "internal error")
