"""Request size limits every function applies before its own code runs: the request line
and headers (`LimitedHeadersProtocol`, uvicorn's httptools protocol, which has no limit of
its own) and the body (`BodyLimit`, ASGI). Both answer JSON errors in the platform's shape
naming the part that was too large (docs/security.md)."""

from __future__ import annotations

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from functions.core.asgi import send_answer

# as uvicorn's h11 protocol allows by default (h11_max_incomplete_event_size), and Node
HEAD_MAX_BYTES = 16 * 1024
_encode = msgspec.json.Encoder().encode


def error_body(code: str, message: str, field: str) -> bytes:
    return _encode({"error": {"code": code, "message": message, "field": field}})


class HeadTooLarge(Exception):
    """Raised inside a parser callback: httptools stops parsing and uvicorn answers through
    `send_400_response`, which answers 431 instead."""


class LimitedHeadersProtocol(HttpToolsProtocol):
    """uvicorn's protocol refusing a request line plus headers over `HEAD_MAX_BYTES` with
    431. Counted two ways, either one refusing: exactly, by the parser's callbacks (the URL
    and each whole header); and by the chunks received while one head stays unfinished,
    since httptools buffers a header until it is whole (a header that never ends would
    otherwise grow without bound). A chunk in which a message began or a head ended is not
    counted the second way: most of it may belong to other requests (pipelining)."""

    _head_bytes = 0  # exactly, since the message began
    _unfinished_bytes = 0  # chunks that went wholly to this head
    _in_head = True
    _progressed = False  # a message began or a head ended while the last chunk was parsed
    _head_refused = False

    def data_received(self, data: bytes) -> None:
        self._progressed = False
        super().data_received(data)
        if not self._in_head or self._progressed or self._head_refused:
            return
        self._unfinished_bytes += len(data)
        if self._unfinished_bytes > HEAD_MAX_BYTES:
            self.send_400_response("")  # answered as 431: the head goes on past the limit

    def on_message_begin(self) -> None:
        self._head_bytes = self._unfinished_bytes = 0
        self._in_head = self._progressed = True
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.head_parsed()
        super().on_headers_complete()

    def head_parsed(self) -> None:
        """The head is whole: what follows is a body or the next request."""
        self._in_head = False
        self._progressed = True

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > HEAD_MAX_BYTES:
            raise HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        if max(self._head_bytes, self._unfinished_bytes) <= HEAD_MAX_BYTES:
            super().send_400_response(msg)
            return
        self._head_refused = True
        body = error_body(
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
            f"the request line and headers must be at most {HEAD_MAX_BYTES} bytes",
            "headers",
        )
        head = [STATUS_LINE[431]]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.transport.close()


class BodyLimit:
    """ASGI middleware answering 413 to a body over `max_bytes`: at once when its
    `Content-Length` says so, else (a chunked body) once it has read one byte too many,
    before the app sees any of it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._refusal = error_body(
            "PAYLOAD_TOO_LARGE", f"the body must be at most {max_bytes} bytes", "body"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None or b"transfer-encoding" not in headers:
            # the server delivers exactly the declared length (a bad one never gets here)
            if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(send)
                return
            more = message.get("more_body", False)
        replayed = False

        async def whole_body() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, whole_body, send)

    async def _refuse(self, send: Send) -> None:
        await send_answer(send, 413, self._refusal, [(b"content-type", b"application/json")])
