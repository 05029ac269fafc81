"""gateway: the REST API and dashboard (functions-framework HTTP function `gateway`)."""

from __future__ import annotations

import msgspec
from functions_framework import aio
from starlette.requests import Request
from starlette.responses import Response

from functions.core.sites import Grant, KeyRing
from functions.gateway import api, dashboard, routes
from functions.gateway.answers import error_response, json_response
from functions.gateway.errors import Forbidden, MethodNotAllowed, RouteNotFound, Unauthorized
from functions.gateway.openapi import DOCUMENT

_OPENAPI = msgspec.json.encode(DOCUMENT)


def _authorize(request: Request, found: api.Found | None) -> None:
    """With no read or admin token anywhere every route is open; else reports take a token
    that reads their site, admin routes an admin token of their site or of every site
    (DESIGN.md "Sites and enrichment").
    GATEWAY_PUBLIC=true opens the reports, never admin routes nor one person's rows. The
    grant found is kept in `request.state.grant` (None: open)."""
    keys: KeyRing = request.app.state.keys
    request.state.grant = None
    if not api.protected(request.scope["path"]):
        return
    route = None if found is None else found[0]
    if api.open_to_all(keys) and not (request.app.state.public and route and route.admin):
        return
    if request.app.state.public and route is not None and not route.admin and not route.personal:
        return
    grant = api.grant_of(keys, request.headers.get("authorization", ""))
    if grant is None:
        raise Unauthorized("a valid token is required: Authorization: Bearer <token>")
    request.state.grant = grant
    if route is None or route.template == api.SITES.template or route.own_site:
        return  # no site to check: a 404, the list the grant filters, or the route checks
    if route.admin:
        named = routes.letters_site if route.every_site else routes.site
        _administers(grant, named(request.query_params))
        return
    site = routes.site(request.query_params)
    if not grant.reads(site):
        raise Forbidden(f"this token cannot read the site {site!r}", "site")
    if route.personal and not grant.reads_people(site):
        raise Forbidden("a shared link reads a site's reports, not one person's activity")


def _administers(grant: Grant, site: str | None) -> None:
    """An admin route of `site` takes an admin token of that site or of every site; of every
    site's data (`site` None: dead letters without a `site`), an admin token of every site."""
    if grant.scope != "admin":
        raise Forbidden("this route needs an admin token")
    if site is None and grant.site is not None:
        raise Forbidden(
            f"this token administers the site {grant.site!r} only: name it (site=)", "site"
        )
    if site is not None and not grant.administers(site):
        raise Forbidden(f"this token cannot administer the site {site!r}", "site")


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
    if isinstance(answer, Response):
        return answer
    return json_response(answer, cache_control=route.cache_control)


@aio.http
async def gateway(request: Request) -> Response:
    """Route a REST call; every error is answered by `answers.error_response`."""
    # the scope's path, not request.url: building a URL object costs more than the answer
    path = request.scope["path"]
    found = api.match(path, request.scope.get("raw_path") or b"")
    # the route's template, not its path, for the metrics (functions/core/serving.py) and
    # the log: a path may hold a user id
    template = request.state.route = _template(path, found)
    try:
        return await _serve(request, found)
    except Exception as error:
        return error_response(error, f"{request.method} {template}")
