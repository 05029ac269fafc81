"""`python -m functions.bench --quick` against the real stack writes a valid results file.

Checks the schema only: no test asserts a speed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.services import ADMIN_URL, missing

pytestmark = pytest.mark.bench

FIGURE_KEYS = {"name", "value", "unit", "ceiling", "ratio", "runs"}
KNOWN = {
    "ingest_batch_events_per_s",
    "ingest_single_requests_per_s",
    "ingest_p99_ms",
    "pipeline_events_per_s",
    "pipeline_visits_ratio",
    "pipeline_partitions_ratio",
    "freshness_p99_s",
    "rest_cached_p99_ms",
    "rest_uncached_p99_ms",
    "rest_requests_per_s",
    "cache_hit_rate",
    "cold_start_query_s",
    "cold_start_gateway_s",
    "history_30d_p99_ms",
    "export_rows_per_s",
    "export_rss_added_mb",
    "history_partitions_ratio",
    "distinct_users_error_pct",
    "peak_rss_mb",
    "stats_v2_live_30d_p99_ms",
}


@pytest.mark.timeout(240)
def test_quick_run_writes_results(tmp_path: Path, redis_url: str) -> None:
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        missing(f"PostgreSQL not reachable at {ADMIN_URL}: {error}")
    command = [
        sys.executable,
        "-m",
        "functions.bench",
        "--quick",
        "--out",
        str(tmp_path / "results"),
        "--log-dir",
        str(tmp_path / "logs"),
        "--admin-database-url",
        ADMIN_URL,
        "--redis-url",
        redis_url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=230)
    assert done.returncode == 0, done.stderr[-3000:]

    [path] = (tmp_path / "results").glob("*.json")
    assert path.with_suffix(".png").stat().st_size > 10_000
    document = json.loads(path.read_text())
    assert document["schema"] == 1
    assert document["mode"] == "quick"
    assert {"cpus", "cpu_model", "python"} <= set(document["machine"])
    assert "clickstream" in document["versions"]
    # the run delivered as the cluster does: the manifests' rules, no override in this test
    assert document["delivery"]["max_poll_records"] == 50
    assert document["delivery"]["source"] == "clicks-to-process"
    assert "share" in document["note"]
    named = {f["name"] for f in document["figures"]} | {o["name"] for o in document["omitted"]}
    assert named >= KNOWN, f"neither measured nor omitted: {KNOWN - named}"
    for figure in document["figures"]:
        assert set(figure) >= FIGURE_KEYS
        assert isinstance(figure["value"], float | int)
        assert figure["runs"]
        assert all(isinstance(run, float | int) for run in figure["runs"])
        assert (figure["ceiling"] is None) == (figure["ratio"] is None)
    # on the site made live, an event arrives before each ask: the answers read PostgreSQL,
    # but for an ask that joined another's read of the same answer under way (`query`'s
    # single flight); the count includes the ramps' requests, which the tally leaves out
    [live] = [f for f in document["figures"] if f["name"] == "stats_v2_live_30d_p99_ms"]
    found = re.search(r"([\d,]+) answered 200.* PostgreSQL ([\d,]+) times", live["note"])
    assert found is not None, live["note"]
    answered, reads = (int(text.replace(",", "")) for text in found.groups())
    assert reads >= 0.9 * answered > 10
    for omitted in document["omitted"]:
        assert omitted["reason"]
    for ceiling in document["ceilings"]:
        assert {"name", "value", "unit", "runs"} <= set(ceiling)
    died = {o["name"].removeprefix("rss:") for o in document["omitted"]}
    assert set(document["rss_mb"]) | died >= {"ingest", "process", "query", "gateway", "dispatcher"}
    # the README table renders from it
    assert "| `peak_rss_mb` |" in done.stdout
