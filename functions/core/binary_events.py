"""Binary-mode CloudEvent deliveries handed to the function before functions-framework's
layers.

KafkaSource delivers each record as one binary-mode POST. functions-framework takes it
through Starlette's middleware, routing and request and the CloudEvents SDK's `from_http`,
which together cost about a third of the CPU `process` spends per event (py-spy during a
60,000-event drain). This middleware answers such a POST to `/` as functions-framework
does: the function gets the SDK's `CloudEvent` with the same attributes and data (the body
decoded as the SDK decodes it), success is `200 OK`, an `HTTPException` the function raises
becomes its status, text and headers, and any other exception propagates (a 500). Anything
else (structured mode, another path or method, an incomplete set of `ce-` headers, another
spec version) goes on to functions-framework unchanged.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping

from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from functions.core.asgi import send_answer

# as functions_framework.aio types it; only coroutine functions are taken here
CloudEventFunction = Callable[[CloudEvent], Awaitable[None] | None]
# the attributes a binary-mode request must carry as headers (the SDK's `is_binary`)
_REQUIRED = frozenset({"specversion", "id", "source", "type"})
PATH = "/"
# the route label functions-framework's own path gets: its catch-all, listed before "/",
# is what matches a delivery
ROUTE = "/{path:path}"


class BinaryEvents:
    def __init__(self, app: ASGIApp, function: CloudEventFunction) -> None:
        # functions-framework runs a plain function in a thread; this path has none
        if not inspect.iscoroutinefunction(function):
            raise TypeError(f"{function!r} is not a coroutine function")
        self.app = app
        self._function = function

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        attributes = _binary_attributes(scope) if scope["type"] == "http" else None
        if attributes is None:
            await self.app(scope, receive, send)
            return
        # the route functions-framework's own path would be measured under
        scope.setdefault("state", {})["route"] = ROUTE
        body = await _body(receive)
        if body is None:  # the client went away: nobody to answer, as functions-framework
            return
        try:
            event = CloudEvent(attributes, _data(body))
        except GenericException as error:
            await _answer(send, 400, f"Bad Request: Got CloudEvent exception: {error!r}")
            return
        try:
            running = self._function(event)
            if running is not None:
                await running
        except HTTPException as error:
            await _answer(send, error.status_code, error.detail, error.headers)
            return
        await _answer(send, 200, "OK", content_type=None)


def _binary_attributes(scope: Scope) -> dict[str, str] | None:
    """The CloudEvent attributes of a binary-mode 1.0 POST to `/`, else None."""
    if scope["method"] != "POST" or scope["path"] != PATH:
        return None
    attributes: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name.startswith(b"ce-"):
            attributes[name[3:].decode("latin-1")] = value.decode("latin-1")
        elif name == b"content-type":
            attributes["datacontenttype"] = value.decode("latin-1")
    if attributes.get("specversion") != "1.0" or not attributes.keys() >= _REQUIRED:
        return None
    return attributes


async def _body(receive: Receive) -> bytes | None:
    """The request's body; None if the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _data(body: bytes) -> object:
    """The event's data as the SDK's `from_http` gives it: JSON if it parses, else the bytes
    as they came, None for no body."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return body


async def _answer(
    send: Send,
    status: int,
    text: str,
    headers: Mapping[str, str] | None = None,
    content_type: bytes | None = b"text/plain; charset=utf-8",
) -> None:
    raw = [] if content_type is None else [(b"content-type", content_type)]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send_answer(send, status, text.encode(), raw)
