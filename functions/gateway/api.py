"""The REST routes: each a path template and a call to `query` (DESIGN.md "REST")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import grpc
from clickstream.analytics.v1 import analytics_pb2 as pb
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from functions.core.cache import count_key
from functions.core.sites import Grant, KeyRing
from functions.gateway import export, plausible_routes, report_routes, routes
from functions.gateway.client import (
    DEADLINE_S,
    ERASE_DEADLINE_S,
    EXPORT_DEADLINE_S,
    REPLAY_DEADLINE_S,
    REPORT_DEADLINE_S,
    QueryClient,
)
from functions.gateway.local_counts import LOOKUPS, LocalCounts

Json = dict[str, object]
# a JSON object to answer, or a whole response (a streamed export, a Plausible answer)
Call = Callable[[QueryClient, Request, Mapping[str, str]], Awaitable[Json | Response]]


@dataclass(frozen=True, slots=True)
class Route:
    template: str  # as in the OpenAPI document and the `route` metric attribute
    methods: tuple[str, ...]
    call: Call
    cache_control: str = "private, max-age=5"
    # needs an admin token of the site it names, or of every site, once any token is
    # configured
    admin: bool = False
    # an admin route that, without a `site` parameter, covers every site's data (dead
    # letters): then it needs an admin token of every site
    every_site: bool = False
    # checks the caller's token against the site it names itself (in its body: Plausible's)
    own_site: bool = False
    # answers with one person's rows (a user's counts or activity): refused to shared links
    personal: bool = False


def held_count(counts: LocalCounts | None, key: str) -> int | None:
    """The count under `key` (`count_key`), if the gateway's own copy holds it."""
    held = None if counts is None else counts.get(key)
    if held is not None:
        LOOKUPS["hit"] += 1
    return held


async def fetch_count(
    counts: LocalCounts | None, client: QueryClient, call: pb.GetEventCountRequest, key: str
) -> int:
    """The count of `call`'s (user, page) from `query`, kept in the copy under `key` (its
    `count_key`) while the copy is live."""
    if counts is None or not counts.live:
        LOOKUPS["bypass"] += 1
        return await client.event_count(call)
    LOOKUPS["miss"] += 1
    return await counts.fetch(key, lambda: client.event_count(call))


async def _event_count(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = routes.event_count_request(request.query_params, await request.body())
    counts: LocalCounts | None = request.app.state.counts
    key = count_key(call.site, call.user_id, call.page_url)
    count = held_count(counts, key)
    if count is None:
        count = await fetch_count(counts, client, call, key)
    return routes.count_json(call.user_id, call.page_url, count)


async def _overview(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = routes.overview_request(request.query_params)
    return routes.overview_json(await client.stub.GetOverview(call, timeout=REPORT_DEADLINE_S))


async def _top_pages(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = routes.top_pages_request(request.query_params)
    return routes.top_pages_json(await client.stub.GetTopPages(call, timeout=REPORT_DEADLINE_S))


async def _event_types(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = routes.event_types_request(request.query_params)
    return routes.event_types_json(await client.stub.GetEventTypes(call, timeout=DEADLINE_S))


async def _time_series(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = routes.time_series_request(request.query_params)
    return routes.time_series_json(await client.stub.GetTimeSeries(call, timeout=REPORT_DEADLINE_S))


async def _user_activity(client: QueryClient, request: Request, path: Mapping[str, str]) -> Json:
    call = routes.user_activity_request(path["user_id"], request.query_params)
    return routes.user_activity_json(await client.stub.GetUserActivity(call, timeout=DEADLINE_S))


async def _breakdown(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = report_routes.breakdown_request(request.query_params)
    answer = await client.stub.GetBreakdown(call, timeout=REPORT_DEADLINE_S)
    return report_routes.breakdown_json(answer)


async def _visits(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = report_routes.visits_request(request.query_params)
    return report_routes.visits_json(await client.stub.GetVisits(call, timeout=REPORT_DEADLINE_S))


async def _goals(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = report_routes.goals_request(request.query_params)
    return report_routes.goals_json(await client.stub.GetGoals(call, timeout=REPORT_DEADLINE_S))


async def _funnel(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = report_routes.funnel_request(request.query_params)
    return report_routes.funnel_json(await client.stub.GetFunnel(call, timeout=REPORT_DEADLINE_S))


async def _realtime(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = report_routes.realtime_request(request.query_params)
    return report_routes.realtime_json(await client.stub.GetRealtime(call, timeout=DEADLINE_S))


async def _sites(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    """The sites the caller may read (all of them when every route is open)."""
    answer = await client.stub.ListSites(pb.ListSitesRequest(), timeout=DEADLINE_S)
    grant: Grant | None = request.state.grant
    readable = [site for site in answer.sites if grant is None or grant.reads(site.name)]
    return routes.sites_json(readable)


async def _dead_letters(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = routes.dead_letters_request(request.query_params)
    return routes.dead_letters_json(await client.stub.ListDeadLetters(call, timeout=DEADLINE_S))


async def _replay_dead_letters(client: QueryClient, request: Request, _: Mapping[str, str]) -> Json:
    call = routes.replay_request(await request.body(), routes.letters_site(request.query_params))
    answer = await client.stub.ReplayDeadLetters(call, timeout=REPLAY_DEADLINE_S)
    return {"replayed": answer.replayed}


async def _erase_user(client: QueryClient, request: Request, path: Mapping[str, str]) -> Json:
    actor = export.actor(request.headers.get("authorization", ""))
    call = export.erase_request(path["user_id"], request.query_params, actor)
    answer = await client.stub.EraseUser(call, timeout=ERASE_DEADLINE_S)
    return {
        "erasure_id": answer.erasure_id,
        "erased_at": answer.erased_at.ToJsonString(),
        "removed": dict(answer.rows),
    }


async def _export(client: QueryClient, request: Request, _: Mapping[str, str]) -> Response:
    kind = export.export_format(request.query_params)
    stream = client.stub.ExportEvents(
        export.export_request(request.query_params), timeout=EXPORT_DEADLINE_S
    )
    # the first batch before answering: a bad argument is then still a 400, not a cut stream
    first = await stream.read()

    async def body() -> AsyncIterator[bytes]:
        try:
            yield export.header(kind)
            batch = first
            while batch is not grpc.aio.EOF:
                yield export.rows(kind, batch.events)
                batch = await stream.read()
        finally:  # the client went away: stop query's cursor too
            stream.cancel()

    return StreamingResponse(
        body(), media_type=export.MEDIA_TYPES[kind], headers={"Cache-Control": "no-store"}
    )


EVENT_COUNT = Route("/analytics/events", ("GET", "POST"), _event_count, personal=True)
SITES = Route("/api/v1/sites", ("GET",), _sites, cache_control="no-store")
EXACT = {
    EVENT_COUNT.template: EVENT_COUNT,
    "/api/v1/overview": Route("/api/v1/overview", ("GET",), _overview),
    "/api/v1/pages/top": Route("/api/v1/pages/top", ("GET",), _top_pages),
    "/api/v1/timeseries": Route("/api/v1/timeseries", ("GET",), _time_series),
    "/api/v1/event-types": Route("/api/v1/event-types", ("GET",), _event_types),
    "/api/v1/breakdown": Route("/api/v1/breakdown", ("GET",), _breakdown),
    "/api/v1/visits": Route("/api/v1/visits", ("GET",), _visits),
    "/api/v1/goals": Route("/api/v1/goals", ("GET",), _goals),
    "/api/v1/funnel": Route("/api/v1/funnel", ("GET",), _funnel),
    "/api/v1/realtime": Route("/api/v1/realtime", ("GET",), _realtime),
    SITES.template: SITES,
    "/api/v1/export": Route(
        "/api/v1/export", ("GET",), _export, cache_control="no-store", admin=True
    ),
    "/api/v1/dead-letters": Route(
        "/api/v1/dead-letters",
        ("GET",),
        _dead_letters,
        cache_control="no-store",
        admin=True,
        every_site=True,
    ),
    "/api/v1/dead-letters/replay": Route(
        "/api/v1/dead-letters/replay",
        ("POST",),
        _replay_dead_letters,
        cache_control="no-store",
        admin=True,
        every_site=True,
    ),
}
EXACT |= {
    template: Route(template, methods, call, cache_control="no-store", own_site=True)
    for template, methods, call in plausible_routes.ROUTES
}
USER_ACTIVITY = Route("/api/v1/users/{user_id}/activity", ("GET",), _user_activity, personal=True)
USER = Route("/api/v1/users/{user_id}", ("DELETE",), _erase_user, "no-store", admin=True)
# matched on the raw path, so a user id may hold an encoded `/`
_USER_PATHS = (
    (re.compile(r"/api/v1/users/([^/]+)/activity"), USER_ACTIVITY),
    (re.compile(r"/api/v1/users/([^/]+)"), USER),
)


Found = tuple[Route, dict[str, str]]


def match(path: str, raw_path: bytes) -> Found | None:
    """The route for `path` and its path parameters, or None."""
    route = EXACT.get(path)
    if route is not None:
        return route, {}
    for pattern, user_route in _USER_PATHS:
        found = pattern.fullmatch(raw_path.decode("latin-1"))
        if found is not None:
            return user_route, {"user_id": unquote(found[1])}
    return None


def grant_of(keys: KeyRing, authorization: str) -> Grant | None:
    """What the `Authorization: Bearer` token grants, if it is valid."""
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return keys.grant(given.strip())


def open_to_all(keys: KeyRing) -> bool:
    """No read or admin token nor shared link exists (the local default): every route is
    open. Until the keys first loaded, only the environment's are known, and nothing is
    open."""
    return keys.loaded and not keys.any_keys("read", "admin", "link")


def may_count(keys: KeyRing, authorization: str, site: str) -> bool:
    """Whether a request with `authorization` may read one person's counts on `site` (the
    fast count paths: count_reads.py, count_protocol.py)."""
    if open_to_all(keys):
        return True
    grant = grant_of(keys, authorization)
    return grant is not None and grant.reads_people(site)


def protected(path: str) -> bool:
    """Paths that need a token when tokens are configured."""
    return path.startswith(("/api/", "/analytics/"))
