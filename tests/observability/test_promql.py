"""The metric-name reader the exported-metrics test relies on."""

from __future__ import annotations

import pytest

from tests.observability.promql import every_expression, metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'histogram_quantile(0.99, sum by (rpc, le) (rate(a_seconds_bucket{x="y"}[5m])))',
            {"a_seconds_bucket"},
        ),
        (
            '(sum(rate(c_total{result="hit"}[$__rate_interval])) or vector(0))'
            " / sum(rate(c_total[5m]))",
            {"c_total"},
        ),
        ('count(up{job="j", service="$service"} == 1) or vector(0)', {"up"}),
        (
            "rec:ratio:rate5m > 0.01 and on (service) other_gauge",
            {"rec:ratio:rate5m", "other_gauge"},
        ),
        ('deriv(x:lag:sum[5m]) > 1e3 unless y{a=~"b|c"} offset 5m', {"x:lag:sum", "y"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_every_expression_selects_something() -> None:
    expressions = every_expression()
    assert len(expressions) > 30
    for where, expr in expressions.items():
        assert metric_names(expr), where
