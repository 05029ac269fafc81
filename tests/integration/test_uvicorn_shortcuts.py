"""The protocols that reach into uvicorn (functions/core/coalesced_writes.py,
functions/core/limits.py, functions/gateway/count_protocol.py) under the uvicorn pinned in
pyproject.toml, serving over real sockets: answers whole and in order through the
coalescing transport, one write per answer, and every uvicorn internal they rely on still
where they expect it. A uvicorn upgrade that moves one fails here, not in production."""

from __future__ import annotations

import asyncio
import re
import socket
import tomllib
from collections import deque
from pathlib import Path
from typing import ClassVar

import httptools
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.flow_control import FlowControl

from functions.core.coalesced_writes import CoalescedWritesProtocol, CoalescingTransport
from functions.dev.ports import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


class Probe(CoalescedWritesProtocol):
    """CoalescedWritesProtocol recording what reaches the socket (the test's probe)."""

    raw_writes: ClassVar[list[bytes]] = []

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        recorded = transport.write

        def write(data: bytes | bytearray | memoryview) -> None:
            Probe.raw_writes.append(bytes(data))
            recorded(data)

        transport.write = write  # type: ignore[method-assign]
        super().connection_made(transport)
        assert isinstance(self.transport, CoalescingTransport)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = scope["path"].encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def serving(raw: bytes, answers: int) -> bytes:
    """Serve `app` under uvicorn with `Probe`, send `raw` on one connection, return what
    came back once `answers` answers did."""
    port = free_port()
    config = uvicorn.Config(app, port=port, http=Probe, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        return await asyncio.to_thread(exchange, port, raw, answers)
    finally:
        running.should_exit = True
        await task


def exchange(port: int, raw: bytes, answers: int) -> bytes:
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        while received.count(b"HTTP/1.1 200 OK") < answers or not received.endswith(b"/"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def test_the_pinned_uvicorn_is_the_one_installed() -> None:
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = {name: version for name, _, version in (p.partition("==") for p in pins)}
    assert uvicorn.__version__ == pinned["uvicorn"]
    assert httptools.__version__ == pinned["httptools"]


def test_answers_leave_whole_in_order_one_write_each() -> None:
    Probe.raw_writes.clear()
    pipelined = b"".join(f"GET /{n}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(20))
    received = asyncio.run(serving(pipelined, 20))
    bodies = re.findall(rb"\r\n\r\n(/\d+/)", received)
    assert bodies == [f"/{n}/".encode() for n in range(20)]
    # each answer's head and body reached the socket together
    assert len(Probe.raw_writes) <= 20
    assert all(write.startswith(b"HTTP/1.1 200 OK") for write in Probe.raw_writes)


def test_the_internals_the_shortcuts_use_are_where_they_expect() -> None:
    """Each name the protocols read or override, checked on a protocol that parsed a
    request over a real socket."""

    async def scenario() -> None:
        config = uvicorn.Config(app, http=Probe, lifespan="off")
        config.load()
        server_state = uvicorn.server.ServerState()
        protocol = httptools_impl.HttpToolsProtocol(config, server_state, {})
        ours, peer = socket.socketpair()
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: protocol, sock=ours)
        protocol.data_received(b"GET /x?y=1 HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n")
        assert isinstance(protocol.flow, FlowControl)
        assert protocol.flow.write_paused is False
        assert isinstance(protocol.pipeline, deque)
        assert protocol.expect_100_continue is True
        assert protocol.url == b"/x?y=1"
        assert (b"host", b"h") in protocol.headers
        assert protocol.cycle is not None
        assert protocol.cycle.response_complete is False
        assert protocol.parser.get_method() == b"GET"
        assert protocol.parser.get_http_version() == "1.1"
        assert protocol.parser.should_keep_alive() is True
        assert protocol.parser.should_upgrade() is False
        assert isinstance(server_state.default_headers, list)
        assert httptools_impl.STATUS_LINE[431].startswith(b"HTTP/1.1 431 ")
        for name in (
            "connection_made",
            "data_received",
            "send_400_response",
            "on_message_begin",
            "on_url",
            "on_header",
            "on_headers_complete",
            "on_body",
            "on_message_complete",
            "on_response_complete",
        ):
            assert callable(getattr(httptools_impl.HttpToolsProtocol, name)), name
        # a callback's exception stops the parser as a parse error: what the head limit uses
        assert issubclass(httptools.HttpParserCallbackError, httptools.HttpParserError)
        protocol.transport.close()
        peer.close()
        await asyncio.sleep(0)

    asyncio.run(scenario())
