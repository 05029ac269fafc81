"""Retention of raw events (docs/lifecycle.md: "Retention") over real PostgreSQL and
pg_partman, process's own write statement, the roller, the admin commands, and a real
`query` and `gateway`: a site's expired weeks go as whole partitions (dropped, not deleted),
another site keeps every raw event, every report over the window answers what it answered
before; (site, event_id) stays the idempotency key across partitions, a retry older than the
dropped raw events is not stored, and the migration moves the events stored before it into
the partitions with their keys."""

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
from typing import Any, cast

import httpx
import msgspec
import psycopg
import pytest
import redis
from psycopg import sql

from functions.core import migrate, retention
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


async def _write(database_url: str, groups: list[list[ClickEvent]]) -> list[str]:
    """Each group in one write; the ids of the events stored new."""
    stored: list[str] = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for group in groups:
            stored += [event.event_id for event in (await write_events(conn, group)).events]
    return stored


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


def raw_count(
    conn: psycopg.Connection[Any],
    site: str,
    since: datetime | None = None,
    table: str = "click_events",
) -> int:
    """The rows of `site` in `table` (raw events, or their keys) at or after `since`."""
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE site = %s AND time_stamp >= %s").format(
            sql.Identifier(table)
        ),
        (site, since or datetime.min.replace(tzinfo=UTC)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def dropped_before(conn: psycopg.Connection[Any], site: str) -> datetime:
    row = conn.execute("SELECT raw_dropped_before FROM sites WHERE name = %s", (site,)).fetchone()
    assert row is not None
    assert row[0] is not None, "runs after a retention run"
    return cast(datetime, row[0])


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
        assert raw_count(conn, DROPPED, table="event_keys") == stored

    retention = timedelta(days=RETENTION_DAYS)
    run_started = datetime.now(UTC)
    done = admin(database_url, "retention", "run")
    run_ended = datetime.now(UTC)
    assert done["ran"]
    cutoff = NOW - retention
    with psycopg.connect(database_url) as conn:
        # the keys go up to the recorded cutoff (the run's own clock, less the retention;
        # the session may have run long since this module was imported): the events after
        # it keep theirs, those before have none left
        horizon = dropped_before(conn, DROPPED)
        assert run_started - retention <= horizon <= run_ended - retention
        keys_left = raw_count(conn, DROPPED, table="event_keys")
        assert keys_left == raw_count(conn, DROPPED, horizon) > 0
        assert done["keys_deleted"] == {DROPPED: stored - keys_left}
        assert raw_count(conn, KEPT, table="event_keys") == kept
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


def test_an_event_older_than_the_dropped_raw_events_is_not_stored(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # after the test above: DROPPED's first weeks are dropped, and their keys deleted
    with psycopg.connect(database_url) as conn:
        horizon = dropped_before(conn, DROPPED)
    before = answers(database_url, redis_url, tmp_path / "before", DROPPED)
    first = _events(DROPPED, 2)[1][0]  # a retry of an event of a dropped week
    late = ClickEvent(
        event_id=f"late-{RUN}",
        user_id=f"late-user-{RUN}",
        event_type="pageview",
        page_url="/late",
        time_stamp=horizon - timedelta(minutes=1),
        site=DROPPED,
    )
    # no key left to tell a retry from a new event: neither is stored, nor counted
    assert asyncio.run(_write(database_url, [[first], [late]])) == []
    with psycopg.connect(database_url) as conn:
        assert raw_count(conn, DROPPED, START) == raw_count(conn, DROPPED, horizon - timedelta(7))
        assert raw_count(conn, DROPPED, table="event_keys") == raw_count(conn, DROPPED, horizon)
    assert answers(database_url, redis_url, tmp_path / "after", DROPPED) == before


def test_a_retry_with_another_time_is_stored_once_across_partitions(database_url: str) -> None:
    site = f"retry-{RUN}.test"
    first = ClickEvent(
        event_id="first",
        user_id="u",
        event_type="click",
        page_url="/",
        time_stamp=NOW - timedelta(days=20),
        site=site,
    )
    asyncio.run(_write(database_url, [[first]]))
    # weekly partitions of its own, from the first event's week
    admin(database_url, "sites", "retention", site, "30d")
    sent = ClickEvent(
        event_id=f"retry-{RUN}",
        user_id="retry-user",
        event_type="click",
        page_url="/retried",
        time_stamp=NOW - timedelta(days=10),
        site=site,
    )
    # a client's retries without a time_stamp of their own: ingest stamps each anew, in
    # another week's partition, alone or twice in one group
    retries = [
        msgspec.structs.replace(sent, time_stamp=NOW - timedelta(days=days)) for days in (3, 0)
    ]
    # and a new event arriving twice in its first group, with two times
    twice = msgspec.structs.replace(sent, event_id=f"twice-{RUN}", page_url="/twice")
    twins = [twice, msgspec.structs.replace(twice, time_stamp=NOW)]
    groups = [[sent], [retries[0]], retries, [sent], twins]
    assert asyncio.run(_write(database_url, groups)) == [sent.event_id, twice.event_id]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_id, time_stamp FROM click_events WHERE site = %s AND user_id = %s",
            (site, sent.user_id),
        ).fetchall()
        assert len(rows) == 2
        assert (sent.event_id, sent.time_stamp) in rows
        assert raw_count(conn, site, table="event_keys") == 3
        counts = conn.execute(
            "SELECT (SELECT click_count FROM page_clicks WHERE site = %(site)s"
            "        AND page_url = '/retried'),"
            " (SELECT sum(count) FROM total_rollups WHERE site = %(site)s AND grain = 'day')",
            {"site": site},
        ).fetchone()
        assert counts == (1, 3)


def test_process_maintains_in_the_background_and_holds_back_for_unbuilt_hours(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # batches of one key: the three old events' keys still all go
    monkeypatch.setattr(retention, "KEY_BATCH", 1)
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
    # older than the site's first week: into its time-DEFAULT partition, deleted from there
    before = msgspec.structs.replace(old[0], event_id="bg50", time_stamp=NOW - timedelta(days=50))
    asyncio.run(_write(database_url, [[before]]))
    # no roll-up built yet: the drop waits for the oldest unbuilt hour
    assert admin(database_url, "retention", "run")["dropped"][site] == 0

    def counted() -> int:
        with psycopg.connect(database_url) as conn:
            return raw_count(conn, site)

    async def maintained() -> int:
        pool = await open_pool(database_url, 2)
        maintainer = Maintainer(pool, interval_s=0.05)
        maintainer.start()
        try:
            for _ in range(300):
                # in a thread: a count waiting for the maintainer's lock must not stop the
                # event loop the maintainer runs in
                left = await asyncio.to_thread(counted)
                if left == 1:
                    return left
                await asyncio.sleep(0.05)
            return left
        finally:
            await asyncio.wait_for(maintainer.stop(), 10)
            await pool.close()

    asyncio.run(_build(database_url))
    assert asyncio.run(maintained()) == 1  # the two old events' weeks went, the late one too
    with psycopg.connect(database_url) as conn:
        # after the drop's transaction, within the same run, which `stop` waited for
        assert raw_count(conn, site, table="event_keys") == 1


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
        migrate, "migration_files", lambda: [m for m in every if m[0] < "0018_retention"]
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
        assert migrate.apply_migrations(url) == [v for v, _ in every if v >= "0018_retention"]
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
            # every stored event's idempotency key, unpartitioned
            keys = conn.execute("SELECT site, event_id, time_stamp FROM event_keys ORDER BY 2")
            assert keys.fetchall() == [(r[0], r[1], r[5]) for r in sorted(rows, key=lambda r: r[1])]
