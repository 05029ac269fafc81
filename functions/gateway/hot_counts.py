"""ASGI middleware answering `GET /analytics/events` from the gateway's own copy of counts
before functions-framework's layers, where a cached answer would spend most of its time.

It answers only what it holds; anything else (a count not held, the copy not live, a body,
a missing or wrong token, a missing parameter) goes on to the `gateway` function unchanged,
which fetches, validates and answers errors as for every route."""

from __future__ import annotations

from urllib.parse import parse_qsl

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from functions.core.asgi import send_answer
from functions.core.cache import count_key
from functions.gateway import api, routes
from functions.gateway.local_counts import LOOKUPS, LocalCounts

_encode = msgspec.json.Encoder().encode
_PATH = api.EVENT_COUNT.template
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", api.EVENT_COUNT.cache_control.encode()),
]


class HotCounts:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self._held(scope) if scope["type"] == "http" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        LOOKUPS["hit"] += 1
        # the route names itself for the shared HTTP metrics middleware around this one
        scope.setdefault("state", {})["route"] = _PATH
        await send_answer(send, 200, answer, _HEADERS)

    @staticmethod
    def _held(scope: Scope) -> bytes | None:
        """The encoded answer, if this is a count read the copy can answer on its own."""
        if scope["path"] != _PATH or scope["method"] != "GET":
            return None
        state = scope["app"].state
        counts: LocalCounts | None = state.counts
        if counts is None or not counts.live:
            return None
        authorization = ""
        for name, value in scope["headers"]:
            # parameters may come in a JSON body (the original contract): the function reads it
            if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
                return None
            if name == b"authorization":
                authorization = value.decode("latin-1")
        if state.read_tokens and not api.bearer_matches(state.read_tokens, authorization):
            return None
        # as Starlette parses it: the last of repeated parameters wins
        params = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        user_id, page_url = params.get("user_id"), params.get("page_url")
        if not user_id or not page_url:
            return None
        count = counts.get(count_key(user_id, page_url))
        if count is None:
            return None
        return _encode(routes.count_json(user_id, page_url, count))
