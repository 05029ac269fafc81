"""The coalescing transport under uvicorn's protocol, over a real socket pair: writes made in
one loop turn reach the socket as one, in order, and nothing is held past that turn."""

from __future__ import annotations

import asyncio
import socket

from functions.core.coalesced_writes import CoalescingTransport


class _Recorder:
    """Counts what reaches the real transport (the test's probe, not a stand-in for it)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.transport.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self.transport, name)


async def _pair() -> tuple[_Recorder, CoalescingTransport, socket.socket]:
    ours, peer = socket.socketpair()
    peer.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    recorder = _Recorder(transport)
    return recorder, CoalescingTransport(recorder, loop), peer  # type: ignore[arg-type]


async def _read(peer: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    received = b""
    while len(received) < size:
        chunk = await asyncio.wait_for(loop.sock_recv(peer, 4096), 5)
        if not chunk:
            break
        received += chunk
    return received


def test_a_head_and_body_written_in_one_turn_leave_in_one_write() -> None:
    async def scenario() -> None:
        recorder, coalescing, peer = await _pair()
        coalescing.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        coalescing.write(b"OK")
        assert recorder.writes == []  # held until the turn ends
        received = await _read(peer, 40)
        assert recorder.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK"]
        assert received == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK"
        coalescing.close()
        peer.close()

    asyncio.run(scenario())


def test_writes_of_separate_turns_are_not_held_back() -> None:
    async def scenario() -> None:
        recorder, coalescing, peer = await _pair()
        coalescing.write(b"first")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert recorder.writes == [b"first"]
        coalescing.write(b"second")
        assert await _read(peer, 11) == b"firstsecond"
        assert recorder.writes == [b"first", b"second"]
        coalescing.close()
        peer.close()

    asyncio.run(scenario())


def test_closing_sends_what_was_written_first() -> None:
    async def scenario() -> None:
        recorder, coalescing, peer = await _pair()
        coalescing.write(b"last words")
        coalescing.close()
        assert await _read(peer, 100) == b"last words"  # then end of stream
        assert recorder.writes == [b"last words"]
        assert coalescing.is_closing()
        peer.close()

    asyncio.run(scenario())


def test_a_write_after_the_transport_closed_is_dropped() -> None:
    async def scenario() -> None:
        recorder, coalescing, peer = await _pair()
        coalescing.write(b"too late")
        recorder.transport.close()  # the connection went away within the turn
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert recorder.writes == []
        peer.close()

    asyncio.run(scenario())


def test_writelines_and_write_eof_keep_to_the_buffer() -> None:
    async def scenario() -> None:
        recorder, coalescing, peer = await _pair()
        coalescing.write(b"head ")
        coalescing.writelines([b"body ", b"more "])
        assert recorder.writes == []  # held with the rest, not sent ahead of it
        coalescing.write(b"last")
        coalescing.write_eof()  # what was written goes first, then the end of stream
        assert recorder.writes == [b"head body more last"]
        assert await _read(peer, 100) == b"head body more last"
        coalescing.close()
        peer.close()

    asyncio.run(scenario())
