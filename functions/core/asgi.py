"""A whole response sent straight through ASGI, for the paths that answer before Starlette
(a Response object and its header handling cost more than these answers)."""

from __future__ import annotations

from starlette.types import Send


async def send_answer(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """`status`, `headers` (lower-case names) plus the content length, then `body`."""
    start = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})
