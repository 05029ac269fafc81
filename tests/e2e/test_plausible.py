"""Plausible's documented curl examples, run as written with only the host changed: Events API
requests into ingest, then Stats API v2 (and v1) queries of the gateway over what they sent,
through Kafka, process and query like every other event."""

# ruff: noqa: E501 (the documented commands are kept verbatim, long lines included)

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from functions.dev.stack import Stack

pytestmark = pytest.mark.e2e

# the Events API page's examples (a pageview; a custom event with props; revenue)
EVENTS = [
    """curl -i -X POST {host}/api/event \\
  -H 'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36 OPR/71.0.3770.284' \\
  -H 'X-Forwarded-For: 127.0.0.1' \\
  -H 'Content-Type: application/json' \\
  --data '{{"name":"pageview","url":"http://dummy.site","domain":"dummy.site"}}'""",
    """curl -i -X POST {host}/api/event \\
  -H 'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36 OPR/71.0.3770.284' \\
  -H 'X-Forwarded-For: 127.0.0.1' \\
  -H 'Content-Type: application/json' \\
  --data '{{"name":"signup","url":"http://dummy.site","domain":"dummy.site","props":{{"author":"John Doe","logged_in":"false"}}}}'""",
    """curl -i -X POST {host}/api/event \\
  -H 'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36 OPR/71.0.3770.284' \\
  -H 'X-Forwarded-For: 127.0.0.1' \\
  -H 'Content-Type: application/json' \\
  --data '{{"name":"Purchase","url":"http://dummy.site/checkout","domain":"dummy.site","revenue":{{"currency":"USD","amount":1322.22}}}}'""",
]
QUERY = """curl \\
--request POST \\
--header 'Authorization: Bearer YOUR-TOKEN' \\
--header 'Content-Type: application/json' \\
--url '{host}/api/v2/query' \\
--data '{body}'"""


def curl(command: str) -> str:
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


def v2(stack: Stack, body: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(curl(QUERY.format(host=stack.url("gateway"), body=body)))
    return answer


@pytest.fixture(scope="module")
def sent(stack: Stack) -> Stack:
    """The three documented events, once each (each sent twice: a retry counts once)."""
    for command in EVENTS:
        for _ in range(2):
            head = curl(command.format(host=stack.url("ingest"))).splitlines()[0]
            assert head.split()[1] == "202", head
    body = '{"site_id": "dummy.site", "metrics": ["events"], "date_range": "day"}'
    deadline = time.monotonic() + 60
    while v2(stack, body).get("results") != [{"metrics": [3], "dimensions": []}]:
        assert time.monotonic() < deadline, v2(stack, body)
        time.sleep(0.5)
    return stack


def test_aggregate_metrics(sent: Stack) -> None:
    body = (
        '{ "site_id": "dummy.site", "metrics": ["visitors", "visits", "pageviews", "events",'
        ' "views_per_visit", "bounce_rate", "visit_duration"], "date_range": "7d" }'
    )
    answer = v2(sent, body)
    # one visitor (one address and User-Agent), one visit of three events
    assert answer["results"] == [{"metrics": [1, 1, 1, 3, 3.0, 0, 0], "dimensions": []}]
    query = answer["query"]
    assert query["site_id"] == "dummy.site"
    assert query["metrics"][:2] == ["visitors", "visits"]
    today = datetime.now(UTC).date().isoformat()
    assert query["date_range"][1] == f"{today}T23:59:59+00:00"


def test_breakdowns_of_names_props_and_pages(sent: Stack) -> None:
    names = v2(
        sent,
        '{"site_id": "dummy.site", "metrics": ["visitors", "events", "percentage"],'
        ' "date_range": "7d", "dimensions": ["event:name"]}',
    )
    assert sorted(names["results"], key=str) == sorted(
        [
            {"metrics": [1, 1, 100.0], "dimensions": ["Purchase"]},
            {"metrics": [1, 1, 100.0], "dimensions": ["pageview"]},
            {"metrics": [1, 1, 100.0], "dimensions": ["signup"]},
        ],
        key=str,
    )
    props = v2(
        sent,
        '{"site_id": "dummy.site", "metrics": ["visitors", "events"], "date_range": "7d",'
        ' "dimensions": ["event:props:author"], "filters": [["is", "event:goal", ["signup"]]]}',
    )
    assert props["results"] == [{"metrics": [1, 1], "dimensions": ["John Doe"]}]
    pages = v2(
        sent,
        '{"site_id": "dummy.site", "metrics": ["pageviews", "events"], "date_range": "30d",'
        ' "dimensions": ["event:page"], "order_by": [["events", "desc"]]}',
    )
    assert pages["results"] == [
        {"metrics": [1, 2], "dimensions": ["/"]},
        {"metrics": [0, 1], "dimensions": ["/checkout"]},
    ]


def test_time_series_by_day(sent: Stack) -> None:
    answer = v2(
        sent,
        '{"site_id": "dummy.site", "metrics": ["visitors", "pageviews"], "date_range": "7d",'
        ' "dimensions": ["time:day"], "include": {"time_labels": true}}',
    )
    results = answer["results"]
    assert len(results) == 7
    today = datetime.now(UTC).date().isoformat()
    assert results[-1] == {"metrics": [1, 1], "dimensions": [today]}
    assert all(row["metrics"] == [0, 0] for row in results[:-1])
    assert answer["meta"] == {"time_labels": [row["dimensions"][0] for row in results]}


def test_what_is_not_supported_is_refused_by_name(sent: Stack) -> None:
    body = '{"site_id": "dummy.site", "metrics": ["visitors"], "date_range": "7d",'
    for extra, named in (
        (' "dimensions": ["visit:city"]}', "visit:city"),
        (' "filters": [["or", [["is", "event:page", ["/"]]]]]}', "'or'"),
    ):
        answer = httpx.post(sent.url("gateway") + "/api/v2/query", content=body + extra)
        assert answer.status_code == 400
        assert named in answer.json()["error"]


def test_v1_endpoints_are_views_of_the_same_query(sent: Stack) -> None:
    base = sent.url("gateway") + "/api/v1/stats"
    common = {"site_id": "dummy.site", "period": "7d"}
    aggregate = httpx.get(base + "/aggregate", params={**common, "metrics": "visitors,events"})
    assert aggregate.json() == {"results": {"visitors": {"value": 1}, "events": {"value": 3}}}
    breakdown = httpx.get(
        base + "/breakdown",
        params={
            **common,
            "property": "event:page",
            "metrics": "events",
            "filters": "event:name!=Purchase",
        },
    )
    assert breakdown.json() == {"results": [{"page": "/", "events": 2}]}
    series = httpx.get(base + "/timeseries", params={**common, "metrics": "events"}).json()
    assert len(series["results"]) == 7
    assert series["results"][-1]["events"] == 3
    realtime = httpx.get(base + "/realtime/visitors", params={"site_id": "dummy.site"})
    assert realtime.json() == 1


CLIENT = """
import json
from plausible_mcp import server

answers = {
    "aggregate": server.get_aggregate_stats("dummy.site", "7d"),
    "breakdown": server.get_breakdown("dummy.site", "event:page", "7d"),
    "timeseries": server.get_timeseries("dummy.site", "7d"),
    "realtime": server.get_realtime_visitors("dummy.site"),
}
print(json.dumps(answers))
"""


def test_a_published_stats_api_client_reads_our_answers(sent: Stack, tmp_path: Path) -> None:
    """plausible-mcp (PyPI), an agent tool over Plausible's Stats API v1, pointed here; its
    own telemetry off. It answers errors as text starting with `[`, results as JSON."""
    env = {
        **os.environ,
        "PLAUSIBLE_BASE_URL": sent.url("gateway"),
        "PLAUSIBLE_API_KEY": "any: every route is open on this stack",
        "DO_NOT_TRACK": "1",
        "MCP_TELEMETRY_OPT_OUT": "1",
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", CLIENT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout)
    for name, text in answers.items():
        assert not text.startswith("["), f"{name}: {text}"
    aggregate = json.loads(answers["aggregate"])
    assert aggregate["totals"] == {
        "visitors": 1,
        "pageviews": 1,
        "bounce_rate": 0,
        "visit_duration": 0,
    }
    breakdown = json.loads(answers["breakdown"])
    assert breakdown["results"] == [
        {"page": "/", "visitors": 1},
        {"page": "/checkout", "visitors": 1},
    ]
    assert json.loads(answers["timeseries"])["data_points"] == 7
    assert json.loads(answers["realtime"])["realtime_visitors"] == 1
