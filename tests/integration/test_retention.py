"""Retention of raw events (docs/lifecycle.md: "Retention") over real PostgreSQL and
pg_partman, process's own write statement, the roller, the admin commands, and a real
`query` and `gateway`: a site's expired weeks go as whole partitions (dropped, not deleted),
another site keeps every raw event, every report over the window answers what it answered
before, a late event into dropped time is stored and counted, and the migration moves the
events stored before it into the partitions."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from psycopg import sql

from functions.core import migrate
from functions.core.db import open_pool
from functions.core.events import ClickEvent
from functions.core.retention import Maintainer
from functions.process.roller import build_pending
from functions.process.store import write_events
from tests.fixtures.query_server import running_read_path
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
KEPT = f"keep-{RUN}.test"
DROPPED = f"drop-{RUN}.test"
NOW = datetime.now(UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
DAYS = 42  # six weeks of events, up to an hour before today: every hour closed
START = TODAY - timedelta(days=DAYS)
RETENTION_DAYS = 14
ADMIN_COMMAND = (sys.executable, "-m", "functions.admin")
PAGES = ["/", "/pricing", "/docs", "/blog/a", "/blog/b"]
# every report the gateway gives over a window, unfiltered: counts, series, top pages,
# breakdowns of event- and visit-level dimensions, the visit figures
REPORTS: list[tuple[str, dict[str, str]]] = [
    ("/api/v1/overview", {}),
    ("/api/v1/timeseries", {"bucket": "hour"}),
    ("/api/v1/pages/top", {"limit": "10"}),
    ("/api/v1/visits", {}),
    *[
        ("/api/v1/breakdown", {"dimension": name})
        for name in ("page", "entry_page", "exit_page", "country", "browser", "referrer")
    ],
]
Conn = psycopg.AsyncConnection[Any]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _events(site: str, seed: int) -> list[list[ClickEvent]]:
    """A day's visits of 1-4 events minutes apart, per day: 40 users, half in sessions,
    countries, browsers and referrers varied."""
    rng = random.Random(seed)
    days: list[list[ClickEvent]] = []
    for day in range(DAYS):
        batch: list[ClickEvent] = []
        for visit in range(6):
            user = f"u{rng.randrange(40)}"
            session = f"s{day}-{visit}" if rng.random() < 0.5 else None
            at = START + timedelta(days=day, minutes=rng.randrange(22 * 60))
            fields: dict[str, Any] = {
                "country": rng.choice(["DE", "US", "FR", None]),
                "browser": rng.choice(["Firefox", "Chrome", None]),
                "referrer_host": rng.choice(["news.example", None]),
            }
            for step in range(rng.randrange(1, 5)):
                batch.append(
                    ClickEvent(
                        event_id=f"{site}-{day}-{visit}-{step}",
                        user_id=user,
                        event_type="pageview",
                        page_url=rng.choice(PAGES),
                        time_stamp=at + timedelta(minutes=3 * step),
                        session_id=session,
                        site=site,
                        **fields,
                    )
                )
        days.append(batch)
    return days


async def _write(database_url: str, groups: list[list[ClickEvent]]) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for group in groups:
            await write_events(conn, group)


async def _build(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await build_pending(conn, NOW)


def admin(database_url: str, *arguments: str) -> Any:
    done = subprocess.run(
        [*ADMIN_COMMAND, *arguments, "--json"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def answers(database_url: str, redis_url: str, logs: Path, site: str) -> dict[str, Any]:
    """Every report over the whole window and over its first (dropped) week, through a
    `query` and a `gateway` started for it, with Redis emptied first: nothing cached."""
    redis.Redis.from_url(redis_url).flushdb()
    logs.mkdir()
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    found: dict[str, Any] = {}
    with (
        running_read_path(env, logs, {}, {}) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        for start, end in ((START, TODAY), (START, START + timedelta(days=7))):
            for path, params in REPORTS:
                window = {"site": site, "from": iso(start), "to": iso(end)}
                answer = client.get(path, params={**window, **params})
                assert answer.status_code == 200, answer.text
                found[f"{path} {params} {iso(start)}/{iso(end)}"] = answer.json()
    return found


def partitions(conn: psycopg.Connection[Any], parent: str) -> dict[str, int]:
    """The partitions of `parent` (its time-DEFAULT one included), with their rows."""
    names = conn.execute(
        "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass ORDER BY 1",
        (parent,),
    ).fetchall()
    counted = {}
    for (name,) in names:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name)))
        counted[name] = row.fetchone()[0]  # type: ignore[index]
    return counted


def raw_count(conn: psycopg.Connection[Any], site: str, since: datetime | None = None) -> int:
    row = conn.execute(
        "SELECT count(*) FROM click_events WHERE site = %s AND time_stamp >= %s",
        (site, since or datetime.min.replace(tzinfo=UTC)),
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of this module's own: retention drops raw events, which the other
    modules' from-scratch comparisons of the session's database would count as missing."""
    with fresh_database() as url:
        asyncio.run(_write(url, _events(KEPT, 1) + _events(DROPPED, 2)))
        asyncio.run(_build(url))
        yield url


def test_retention_drops_whole_weeks_and_every_report_stays(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    before = answers(database_url, redis_url, tmp_path / "before", DROPPED)
    kept_before = answers(database_url, redis_url, tmp_path / "kept-before", KEPT)
    with psycopg.connect(database_url) as conn:
        stored = raw_count(conn, DROPPED)
        kept = raw_count(conn, KEPT)
        assert partitions(conn, "click_events") == {"click_events_kept": stored + kept}

    set_to = admin(database_url, "sites", "retention", DROPPED, f"{RETENTION_DAYS}d")
    assert set_to["retention_days"] == RETENTION_DAYS
    assert set_to["moved"] == stored  # out of the shared partition, into the site's own
    partition = set_to["partition"]
    with psycopg.connect(database_url) as conn:
        weeks = partitions(conn, partition)
        assert raw_count(conn, DROPPED) == stored
        assert partitions(conn, "click_events") == {"click_events_kept": kept, partition: stored}
        # every moved event is in a week of its own, none in the time-DEFAULT partition
        assert weeks[f"{partition}_default"] == 0
        assert sum(weeks.values()) == stored
        recent = raw_count(conn, DROPPED, NOW - timedelta(days=RETENTION_DAYS))

    done = admin(database_url, "retention", "run")
    assert done["ran"]
    cutoff = NOW - timedelta(days=RETENTION_DAYS)
    with psycopg.connect(database_url) as conn:
        after = partitions(conn, partition)
        gone = set(weeks) - set(after)
        assert done["dropped"] == {DROPPED: len(gone)}
        assert len(gone) >= 3  # six weeks of events, two kept
        # dropped, not deleted from: the weeks left hold every row they held (and the
        # maintenance made weeks ahead, empty)
        assert {name: after[name] for name in weeks if name in after} == {
            name: weeks[name] for name in weeks if name not in gone
        }
        assert all(after[name] == 0 for name in set(after) - set(weeks))
        for name in gone:
            assert conn.execute("SELECT to_regclass(%s)", (name,)).fetchone() == (None,)
        # a week goes once it ended before the cutoff: every raw event since is left, none
        # a week older
        assert raw_count(conn, DROPPED) == sum(after.values()) < stored
        assert raw_count(conn, DROPPED, cutoff) == recent > 0
        assert raw_count(conn, DROPPED) == raw_count(conn, DROPPED, cutoff - timedelta(days=7))
        # the site without a retention keeps every raw event
        assert raw_count(conn, KEPT) == kept

    assert answers(database_url, redis_url, tmp_path / "after", DROPPED) == before
    assert answers(database_url, redis_url, tmp_path / "kept-after", KEPT) == kept_before


def test_a_late_event_into_dropped_time_is_stored_and_counted(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # after the test above: DROPPED's first weeks are dropped
    with psycopg.connect(database_url) as conn:
        sealed = conn.execute(
            "SELECT raw_dropped_before FROM sites WHERE name = %s", (DROPPED,)
        ).fetchone()
    assert sealed is not None
    assert sealed[0] is not None, "runs after the retention test"
    before = answers(database_url, redis_url, tmp_path / "before", DROPPED)
    at = START + timedelta(days=1, minutes=30)
    late = ClickEvent(
        event_id=f"late-{RUN}",
        user_id=f"late-user-{RUN}",
        event_type="pageview",
        page_url="/late",
        time_stamp=at,
        site=DROPPED,
    )
    asyncio.run(_write(database_url, [[late], [late]]))  # and redelivered: stored once
    with psycopg.connect(database_url) as conn:
        assert raw_count(conn, DROPPED, at) - raw_count(conn, DROPPED, at + timedelta(1)) == 1
    after = answers(database_url, redis_url, tmp_path / "after", DROPPED)
    for start, end in ((START, TODAY), (START, START + timedelta(days=7))):
        key = f"/api/v1/overview {{}} {iso(start)}/{iso(end)}"
        assert after[key]["total_events"] == before[key]["total_events"] + 1
        pages = f"/api/v1/pages/top {{'limit': '10'}} {iso(start)}/{iso(end)}"
        assert {"page_url": "/late", "count": 1} in after[pages]["pages"]
        # the sealed hours' breakdowns stay as they were built
        page = f"/api/v1/breakdown {{'dimension': 'page'}} {iso(start)}/{iso(end)}"
        assert after[page] == before[page]

    done = admin(database_url, "retention", "run")
    assert done["deleted"] == {DROPPED: 1}  # from the time-DEFAULT partition
    with psycopg.connect(database_url) as conn:
        assert raw_count(conn, DROPPED, at) == raw_count(conn, DROPPED, at + timedelta(1))
    assert answers(database_url, redis_url, tmp_path / "again", DROPPED) == after


def test_process_maintains_in_the_background_and_holds_back_for_unbuilt_hours(
    database_url: str,
) -> None:
    site = f"bg-{RUN}.test"
    old = [
        ClickEvent(
            event_id=f"bg{day}",
            user_id="bg-user",
            event_type="click",
            page_url="/",
            time_stamp=NOW - timedelta(days=day),
            site=site,
        )
        for day in (40, 30, 1)
    ]
    asyncio.run(_write(database_url, [old]))
    admin(database_url, "sites", "retention", site, "7d")
    # no roll-up built yet: the drop waits for the oldest unbuilt hour
    assert admin(database_url, "retention", "run")["dropped"][site] == 0

    async def maintained() -> int:
        pool = await open_pool(database_url, 2)
        maintainer = Maintainer(pool, interval_s=0.05)
        maintainer.start()
        try:
            for _ in range(300):
                with psycopg.connect(database_url) as conn:
                    left = raw_count(conn, site)
                if left == 1:
                    return left
                await asyncio.sleep(0.05)
            return left
        finally:
            await asyncio.wait_for(maintainer.stop(), 10)
            await pool.close()

    asyncio.run(_build(database_url))
    assert asyncio.run(maintained()) == 1  # the two old events' weeks went


def test_keep_and_bad_arguments(database_url: str) -> None:
    done = admin(database_url, "sites", "retention", KEPT, "keep")
    assert done == {"site": KEPT, "retention_days": None, "partition": None, "moved": 0}
    for arguments, field in (
        ((KEPT, "90"), "RETENTION"),
        ((KEPT, "0d"), "RETENTION"),
        ((f"nowhere-{RUN}.test", "30d"), "NAME"),
    ):
        failed = subprocess.run(
            [*ADMIN_COMMAND, "sites", "retention", *arguments],
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert failed.returncode == 2, failed.stderr
        assert f"error: {field}:" in failed.stderr


def test_the_migration_moves_the_stored_events(monkeypatch: pytest.MonkeyPatch) -> None:
    every = migrate.migration_files()
    monkeypatch.setattr(
        migrate, "migration_files", lambda: [m for m in every if m[0] < "0017_retention"]
    )
    columns = "site, event_id, user_id, event_type, page_url, time_stamp, session_id, country"
    rows = [
        (f"s{n % 3}.test", f"e{n}", f"u{n % 7}", "click", f"/p{n % 5}", moment, None, "DE")
        for n, moment in enumerate(
            [datetime(2025, 1, 3, tzinfo=UTC) + timedelta(days=9 * k) for k in range(60)]
            + [NOW - timedelta(minutes=k) for k in range(5)]
        )
    ]
    with fresh_database() as url:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('click_events_kept')").fetchone() == (None,)
            conn.cursor().executemany(
                f"INSERT INTO click_events ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        monkeypatch.undo()
        assert migrate.apply_migrations(url) == ["0017_retention"]
        with psycopg.connect(url) as conn:
            stored = conn.execute(f"SELECT {columns} FROM click_events ORDER BY event_id")
            assert stored.fetchall() == sorted(rows, key=lambda row: row[1])
            kept = partitions(conn, "click_events_kept")
            # monthly from the oldest event's month: none waits in the DEFAULT
            assert kept["click_events_kept_default"] == 0
            assert sum(kept.values()) == len(rows)
            assert len(kept) > 24
            key = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'click_events'::regclass AND contype = 'p'"
            ).fetchone()
            assert key == ("PRIMARY KEY (site, event_id, time_stamp)",)
