"""Plausible's Stats API on the gateway: `POST /api/v2/query` and the v1 routes common tools
still call, each a thin view of one Stats API v2 query (functions/gateway/plausible_query.py).

The site is named in the body (`site_id`) or the query string, so these routes check the
caller's token against it themselves; errors keep Plausible's shape, `{"error": message}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import grpc
import msgspec
from clickstream.analytics.v1 import analytics_pb2 as pb
from starlette.requests import Request
from starlette.responses import Response

from functions.core.errors import InvalidArgument
from functions.core.events import valid_site
from functions.core.sites import Grant
from functions.gateway.answers import json_response
from functions.gateway.client import DEADLINE_S, QueryClient
from functions.gateway.plausible_query import PROPS, StatsQuery, Unsupported, parse
from functions.gateway.plausible_stats import Row, run

Json = dict[str, object]
Call = Callable[[QueryClient, Request, Mapping[str, str]], Awaitable[Json | Response]]
NO_ACCESS = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access"
    " to the site you've requested."
)
_V1_FILTER_OPS = (("!=", "is_not"), ("==", "is"), ("!~", "contains_not"), ("~", "contains"))


def _refusal(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def _refused(request: Request, site: str) -> Response | None:
    """None when the caller may read `site`; else Plausible's refusal."""
    grant: Grant | None = request.state.grant  # None: every route is open
    if grant is not None and not grant.reads(site):
        return _refusal(401, NO_ACCESS)
    return None


async def _run(
    client: QueryClient, request: Request, document: object
) -> tuple[StatsQuery, list[Row], int] | Response:
    """The rows of a v2 query document, or Plausible's refusal of it."""
    try:
        query = parse(document)
        refused = _refused(request, query.site)
        if refused is not None:
            return refused
        rows, total = await run(client, query)
    except Unsupported as error:
        return _refusal(400, str(error))
    except InvalidArgument as error:
        return _refusal(400, error.message)
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        return _refusal(400, error.details() or "invalid query")
    return query, rows, total


async def _query_v2(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json | Response:
    try:
        document = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return _refusal(400, "Invalid request body: a JSON object is expected")
    found = await _run(client, request, document)
    if isinstance(found, Response):
        return found
    query, rows, total = found
    meta: Json = {}
    if query.include.get("total_rows"):
        meta["total_rows"] = total
    if query.include.get("time_labels") and query.grain is not None:
        meta["time_labels"] = [values[0] for values, _ in rows]
    if query.include.get("imports"):
        meta["imports_included"] = False
    return {
        "results": [
            {"metrics": [metrics[name] for name in query.metrics], "dimensions": values}
            for values, metrics in rows
        ],
        "meta": meta,
        "query": query.echo,
    }


def _v1_date_range(params: Mapping[str, str]) -> object:
    period, day = params.get("period", "30d"), params.get("date")
    if period == "custom":
        return (day or "").split(",")
    if period == "day" and day:
        return [day, day]
    return period


def _v1_filters(text: str) -> list[object]:
    found: list[object] = []
    for part in filter(None, text.split(";")):
        for sign, op in _V1_FILTER_OPS:
            name, found_sign, value = part.partition(sign)
            if found_sign:
                if "|" in value:
                    raise Unsupported("Unsupported filter: `|` (or) is not supported")
                found.append([op, name.strip(), [value.strip()]])
                break
        else:
            raise Unsupported(f"Invalid filter {part[:80]!r}: use ==, !=, ~ or !~")
    return found


def _v1_document(params: Mapping[str, str], dimensions: list[str], limit: int) -> object:
    metrics = params.get("metrics", "visitors").split(",")
    return {
        "site_id": params.get("site_id", ""),
        "metrics": [m.strip() for m in metrics],
        "date_range": _v1_date_range(params),
        "dimensions": dimensions,
        "filters": _v1_filters(params.get("filters", "")),
        "pagination": {"limit": limit, "offset": 0},
    }


async def _v1(
    client: QueryClient, request: Request, dimensions: list[str], limit: int = 1000
) -> tuple[StatsQuery, list[Row]] | Response:
    params = request.query_params
    if "compare" in params:
        return _refusal(400, "Unsupported parameter: compare")
    try:
        document = _v1_document(params, dimensions, limit)
    except Unsupported as error:
        return _refusal(400, str(error))
    found = await _run(client, request, document)
    return found if isinstance(found, Response) else found[:2]


async def _aggregate(
    client: QueryClient, request: Request, _: Mapping[str, str]
) -> Json | Response:
    found = await _v1(client, request, [])
    if isinstance(found, Response):
        return found
    query, ((__, metrics),) = found
    return {"results": {name: {"value": metrics[name]} for name in query.metrics}}


async def _timeseries(
    client: QueryClient, request: Request, _: Mapping[str, str]
) -> Json | Response:
    default = "hour" if request.query_params.get("period") == "day" else "date"
    interval = request.query_params.get("interval", default)
    if interval not in ("hour", "date", "week", "month"):
        return _refusal(400, f"Invalid interval {interval[:20]!r}: hour, date, week or month")
    found = await _v1(client, request, ["time:day" if interval == "date" else f"time:{interval}"])
    if isinstance(found, Response):
        return found
    query, rows = found
    return {
        "results": [
            {"date": values[0], **{name: metrics[name] for name in query.metrics}}
            for values, metrics in rows
        ]
    }


async def _breakdown(
    client: QueryClient, request: Request, _: Mapping[str, str]
) -> Json | Response:
    params = request.query_params
    prop = params.get("property", "")
    limit, page = params.get("limit", "100"), params.get("page", "1")
    if not (limit.isdigit() and page.isdigit() and int(limit) >= 1 and int(page) >= 1):
        return _refusal(400, "Invalid limit or page: positive integers")
    found = await _v1(client, request, [prop], int(limit) * int(page))
    if isinstance(found, Response):
        return found
    query, rows = found
    # the row's key: the property's last part (`visit:source` -> `source`)
    key = prop.removeprefix(PROPS) if prop.startswith(PROPS) else prop.rpartition(":")[2]
    shown = rows[(int(page) - 1) * int(limit) :]
    return {
        "results": [
            {key: values[0], **{name: metrics[name] for name in query.metrics}}
            for values, metrics in shown
        ]
    }


async def _realtime_visitors(
    client: QueryClient, request: Request, _: Mapping[str, str]
) -> Json | Response:
    site = request.query_params.get("site_id", "")
    if not valid_site(site):
        return _refusal(400, "Invalid site_id: a site's name (a-z, 0-9, '.' and '-')")
    refused = _refused(request, site)
    if refused is not None:
        return refused
    answer = await client.stub.GetRealtime(pb.GetRealtimeRequest(site=site), timeout=DEADLINE_S)
    return json_response(answer.visitors, cache_control="no-store")


# (template, methods, call); functions/gateway/api.py makes them routes
ROUTES: tuple[tuple[str, tuple[str, ...], Call], ...] = (
    ("/api/v2/query", ("POST",), _query_v2),
    ("/api/v1/stats/aggregate", ("GET",), _aggregate),
    ("/api/v1/stats/timeseries", ("GET",), _timeseries),
    ("/api/v1/stats/breakdown", ("GET",), _breakdown),
    ("/api/v1/stats/realtime/visitors", ("GET",), _realtime_visitors),
)
