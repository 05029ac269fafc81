"""OpenTelemetry metrics, exported for Prometheus on `METRICS_PORT` (`/metrics`)."""

from __future__ import annotations

from importlib.metadata import version

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import start_http_server

# 0.5 ms .. 5 s: the latency range a click pipeline lives in, in seconds
LATENCY_BUCKETS_S = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
FRESHNESS_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)


_serving: set[int] = set()


def init_metrics(service: str, metrics_port: int) -> metrics.Meter:
    """Install the meter provider once per process and serve `/metrics` on `metrics_port`
    (once; port 0 serves nothing, for tests); returns the meter `clickstream.<service>`.

    A later call (a test building a second app) reuses the provider and the server, so the
    SDK is initialised exactly once.
    """
    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        _install_provider(service)
    if metrics_port and metrics_port not in _serving:
        start_http_server(metrics_port, addr="0.0.0.0")
        _serving.add(metrics_port)
    return metrics.get_meter(f"clickstream.{service}")


def _install_provider(service: str) -> None:
    reader = PrometheusMetricReader()
    views = [
        View(
            instrument_name="*duration",
            aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS_S),
        ),
        View(
            instrument_name="*latency",
            aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS_S),
        ),
        View(
            instrument_name="*freshness",
            aggregation=ExplicitBucketHistogramAggregation(FRESHNESS_BUCKETS_S),
        ),
        View(instrument_name="*size", aggregation=ExplicitBucketHistogramAggregation(SIZE_BUCKETS)),
    ]
    resource = Resource.create(
        {"service.name": f"clickstream-{service}", "service.version": version("clickstream")}
    )
    metrics.set_meter_provider(
        MeterProvider(resource=resource, metric_readers=[reader], views=views)
    )
