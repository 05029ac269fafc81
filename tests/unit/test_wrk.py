"""Reading wrk's --latency output."""

from __future__ import annotations

import pytest

from functions.bench import wrk

OUTPUT = """Running 10s test @ http://127.0.0.1:8081/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.27ms  512.00us  48.92ms   89.43%
    Req/Sec     4.87k   186.22     5.63k    91.50%
  Latency Distribution
     50%  850.00us
     75%    3.50ms
     90%    1.20s
     99%    4.46ms
  96968 requests in 10.01s, 19.33MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   9690.91
Transfer/sec:      1.93MB
"""


def test_figures_in_milliseconds() -> None:
    result = wrk.parse(OUTPUT)
    assert result.requests_per_s == pytest.approx(9690.91)
    assert result.percentiles_ms == {
        50.0: pytest.approx(0.85),
        75.0: pytest.approx(3.5),
        90.0: pytest.approx(1200.0),
        99.0: pytest.approx(4.46),
    }
    assert result.errors == 7


def test_output_without_a_rate_is_an_error() -> None:
    with pytest.raises(ValueError, match="Requests/sec"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")
