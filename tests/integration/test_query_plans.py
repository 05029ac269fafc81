"""query's reads keep using their indexes after a table grows from empty, with no ANALYZE in
between (autovacuum off, or not yet run): a plan made for the empty table must not outlive it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import grpc
import psycopg
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb

from tests.fixtures.query_server import running_query
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

READS = 20  # psycopg prepares after 5 executions, PostgreSQL may go generic 5 after that
GROWN_ROWS = 20_000


def page_clicks_scans(database_url: str) -> tuple[int, int]:
    """(sequential, index) scans of `page_clicks` so far, as the statistics report them."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables"
            " WHERE relname = 'page_clicks'"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def scans_once_reported(database_url: str, at_least: int) -> tuple[int, int]:
    """`page_clicks_scans` once they add up to `at_least`: a backend reports its statistics
    only a second or so after going idle, and late counts must not land in the next phase."""
    deadline = time.monotonic() + 15
    scans = page_clicks_scans(database_url)
    while sum(scans) < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
        scans = page_clicks_scans(database_url)
    return scans


def test_count_reads_use_the_index_once_the_table_has_grown(redis_url: str, tmp_path: Path) -> None:
    with fresh_database() as database_url:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE page_clicks SET (autovacuum_enabled = false)")
        # one connection: every read runs where the empty table's reads were planned
        env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "DB_POOL_MAX": "1"}
        with (
            running_query(env, tmp_path / "query.log") as server,
            grpc.insecure_channel(server.address) as channel,
        ):
            stub = server.stub(channel)

            def read_new_users() -> None:
                for _ in range(READS):  # a never-seen user: a cache miss, one database read
                    request = pb.GetEventCountRequest(user_id=f"plan-{uuid.uuid4()}", page_url="/")
                    assert stub.GetEventCount(request, timeout=5).count == 0

            read_new_users()
            scans_once_reported(database_url, READS)  # each read scans the table once
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO page_clicks (user_id, page_url, click_count)"
                    " SELECT 'grown-' || n, '/', 1 FROM generate_series(1, %s) AS n",
                    (GROWN_ROWS,),
                )
            before = page_clicks_scans(database_url)
            read_new_users()
            after = scans_once_reported(database_url, sum(before) + READS)
    assert after[1] - before[1] >= READS, (before, after)
    assert after[0] == before[0], f"sequential scans of a grown table: {before} -> {after}"
