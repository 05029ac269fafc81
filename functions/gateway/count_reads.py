"""ASGI middleware answering `GET /analytics/events?user_id=…&page_url=…` before
functions-framework's layers, where a count read would spend most of its time (profiled
under `wrk`: Starlette and functions-framework took a third of the gateway's CPU on reads
it had to fetch from `query`, more on those it held).

A held count is answered at once; any other is fetched from `query` (batched with the reads
under way, `count_batches.py`) and kept, exactly as the `gateway` function does, errors
answered by the same `answers.error_response`. Anything else (a body, a missing or wrong
token, a missing parameter, another path or method) goes on to the `gateway` function
unchanged, which validates and answers errors as for every route."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import parse_qsl

import msgspec
from clickstream.analytics.v1 import analytics_pb2 as pb
from starlette.types import ASGIApp, Receive, Scope, Send

from functions.core.asgi import send_answer
from functions.core.cache import CountKey, count_key
from functions.core.errors import InvalidArgument
from functions.core.events import site_argument
from functions.core.sites import KeyRing
from functions.gateway import api, routes
from functions.gateway.answers import error_response

Header = tuple[bytes, bytes]
_encode = msgspec.json.Encoder().encode
_PATH = api.EVENT_COUNT.template
# a count answer's headers (the protocol's held answers send them too)
HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", api.EVENT_COUNT.cache_control.encode()),
]


class CountReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = _count_read(scope) if scope["type"] == "http" else None
        if read is None:
            await self.app(scope, receive, send)
            return
        # the route names itself for the shared HTTP metrics middleware around this one
        scope.setdefault("state", {})["route"] = _PATH
        state = scope["app"].state
        site, user_id, page_url = read
        key = count_key(site, user_id, page_url)
        count = api.held_count(state.counts, key)
        if count is None:
            call = pb.GetEventCountRequest(user_id=user_id, page_url=page_url, site=site)
            try:
                count = await api.fetch_count(state.counts, state.query, call, key)
            except Exception as error:
                await error_response(error, f"GET {_PATH}")(scope, receive, send)
                return
        await send_answer(send, 200, answer_body(read, count), HEADERS)


def _count_read(scope: Scope) -> CountKey | None:
    """The (user, page) this request reads, if it is a plain, authorized query-string read."""
    if scope["path"] != _PATH or scope["method"] != "GET":
        return None
    read = query_read(scope["query_string"])
    if read is None or not bodiless_and_authorized(
        scope["headers"], scope["app"].state.keys, read[0]
    ):
        return None
    return read


def bodiless_and_authorized(headers: Iterable[Header], keys: KeyRing, site: str) -> bool:
    """Whether a request with `headers` has no body and may read `site`."""
    authorization = ""
    for name, value in headers:
        # parameters may come in a JSON body (the original contract): the function reads it
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return False
        if name == b"authorization":
            authorization = value.decode("latin-1")
    return api.may_count(keys, authorization, site)


def answer_body(read: CountKey, count: int) -> bytes:
    """The JSON body answering a read of `read`'s (user, page) with `count`."""
    return _encode(routes.count_json(read[1], read[2], count))


@functools.lru_cache(maxsize=4096)
def query_read(query_string: bytes) -> CountKey | None:
    """The (site, user, page) a count read's query string names, if it names user and page
    and no site, or a valid one (the function answers the errors)."""
    # as Starlette parses it: the last of repeated parameters wins
    params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    user_id, page_url = params.get("user_id"), params.get("page_url")
    if not user_id or not page_url:
        return None
    try:
        site = site_argument(params.get("site"))
    except InvalidArgument:
        return None
    return site, user_id, page_url
