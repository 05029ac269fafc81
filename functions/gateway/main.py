"""gateway: the REST API and dashboard (functions-framework HTTP function `gateway`)."""

from __future__ import annotations

import grpc
from functions_framework import aio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.core.errors import InvalidArgument
from functions.gateway import routes
from functions.gateway.client import DEADLINE_S, QueryClient

# gRPC status -> HTTP status, per DESIGN.md ("REST")
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}}, status_code=status
    )


async def _event_count(request: Request, client: QueryClient) -> Response:
    call = routes.event_count_request(request.query_params, await request.body())
    answer = await client.stub.GetEventCount(call, timeout=DEADLINE_S)
    return JSONResponse(routes.event_count_json(answer))


@aio.http
async def gateway(request: Request) -> Response:
    """Route a REST call to `query`; the one place gRPC errors become HTTP statuses."""
    client: QueryClient = request.app.state.query
    if request.url.path != "/analytics/events":
        return _error(404, "NOT_FOUND", f"no route {request.url.path}")
    if request.method not in ("GET", "POST"):
        return _error(405, "METHOD_NOT_ALLOWED", "use GET")
    try:
        return await _event_count(request, client)
    except InvalidArgument as error:
        return _error(400, "INVALID_ARGUMENT", error.message, error.field)
    except grpc.aio.AioRpcError as error:
        field = dict(error.trailing_metadata() or ()).get("field")
        status = _HTTP_STATUS.get(error.code(), 502)
        return _error(status, error.code().name, error.details() or "", field)
