"""`python -m functions.bench.noop`: serve the no-op function on `PORT`, plus
`GET /received` (count, first, last) and `GET /hello` (a bare JSON answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from functions.bench.noop.counter import Received
from functions.bench.noop.main import noop
from functions.core.config import load_settings
from functions.core.serving import function_app, serve


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    yield


async def received(_: Request) -> Response:
    return JSONResponse({"count": Received.count, "first": Received.first, "last": Received.last})


async def hello(_: Request) -> Response:
    return JSONResponse({"user_id": "u", "page_url": "/", "count": 0})


def main() -> None:
    routes: list[BaseRoute] = [Route("/received", received), Route("/hello", hello)]
    # deliveries take the same path as `process`'s, so the ceiling compares like with like
    app = function_app(
        Path(__file__).with_name("main.py"), "noop", lifespan, routes, binary_events=noop
    )
    serve(app, load_settings("noop").port)


if __name__ == "__main__":
    main()
