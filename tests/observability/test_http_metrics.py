"""The golden-signal middleware: one duration per request, labelled by template, never URL."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from functions.core.serving import HttpMetrics


async def catch_all(request: Request) -> Response:
    if request.url.path == "/boom":
        raise RuntimeError("boom")
    if request.url.path.startswith("/api/v1/users/"):
        request.state.route = "/api/v1/users/{user_id}/activity"
    return PlainTextResponse("ok", status_code=404 if request.url.path == "/gone" else 200)


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def app(reader: InMemoryMetricReader) -> Starlette:
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    app = Starlette(routes=[Route("/{path:path}", catch_all, methods=["GET", "POST"])])
    app.add_middleware(HttpMetrics, meter=meter)
    return app


def send(app: Starlette, requests: list[tuple[str, str]]) -> list[int]:
    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [(await client.request(m, url)).status_code for m, url in requests]

    return asyncio.run(run())


def counts(reader: InMemoryMetricReader) -> dict[tuple[str, str, str], int]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[tuple[str, str, str], int] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                assert metric.name == "clickstream.http.server.request.duration"
                assert metric.unit == "s"
                for point in metric.data.data_points:
                    assert isinstance(point, HistogramDataPoint)
                    labels = point.attributes or {}
                    key = (str(labels["route"]), str(labels["method"]), str(labels["status_class"]))
                    found[key] = point.count
    return found


def test_labels_are_templates_methods_and_status_classes(
    app: Starlette, reader: InMemoryMetricReader
) -> None:
    statuses = send(
        app,
        [
            ("GET", "/home?user=1"),
            ("GET", "/other/page"),
            ("POST", "/gone"),
            ("GET", "/boom"),
            ("GET", "/api/v1/users/alice/activity"),
            ("GET", "/api/v1/users/bob/activity"),
            ("BREW", "/home"),
        ],
    )
    assert statuses == [200, 200, 404, 500, 200, 200, 405]
    assert counts(reader) == {
        ("/{path:path}", "GET", "2xx"): 2,
        ("/{path:path}", "POST", "4xx"): 1,
        ("/{path:path}", "GET", "5xx"): 1,
        ("/api/v1/users/{user_id}/activity", "GET", "2xx"): 2,
        ("/{path:path}", "other", "4xx"): 1,
    }
