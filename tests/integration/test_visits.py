"""Visits kept by `process`'s write (functions/process/visits.py): always what sessionizing
every stored event from scratch gives, whatever the order, the duplicates and the
concurrency of the writes."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import psycopg
import pytest

from functions.core.events import ClickEvent
from functions.process.store import Stored, write_events
from tests.fixtures.pipeline import VISITS, aggregate_differences
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

T0 = datetime(2025, 6, 1, 10, tzinfo=UTC)
SITE = "shop.example"


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database() as fresh:
        yield fresh


def click(
    event_id: str,
    minutes: float,
    *,
    user: str = "u1",
    page: str = "/",
    session: str | None = None,
    site: str = SITE,
    **enrichment: str,
) -> ClickEvent:
    made = ClickEvent(
        event_id=event_id,
        site=site,
        user_id=user,
        event_type="pageview",
        page_url=page,
        time_stamp=T0 + timedelta(minutes=minutes),
        session_id=session,
    )
    return msgspec.structs.replace(made, **enrichment)


async def _write(url: str, *groups: list[ClickEvent]) -> list[Stored]:
    """Each group in its own transaction, as `process` writes them (autocommit)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return [await write_events(conn, group) for group in groups]


def write(url: str, *groups: list[ClickEvent]) -> list[Stored]:
    return asyncio.run(_write(url, *groups))


def visits(url: str) -> list[tuple[object, ...]]:
    """(visit_key, minutes after T0 of start and end, events, entry page, exit page)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT visit_key, started_at, ended_at, events, entry_page, exit_page FROM visits"
            " ORDER BY 1, 2"
        ).fetchall()
    return [
        (key, (start - T0) / timedelta(minutes=1), (end - T0) / timedelta(minutes=1), n, a, b)
        for key, start, end, n, a, b in rows
    ]


def versions(url: str) -> dict[datetime, int]:
    """The report roll-ups' version of each hour (migration 0013)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT bucket, version FROM rollup_versions").fetchall()
    return {bucket: version for bucket, version in rows}


def as_from_scratch(url: str) -> bool:
    """The visits, and each event's visit start, as sessionized from scratch."""
    differences = aggregate_differences(url)
    return differences["visits"] == differences["event_visits"] == 0


def test_a_late_event_within_30_minutes_of_two_visits_merges_them(url: str) -> None:
    (first,) = write(url, [click("a", 0, page="/a"), click("b", 50, page="/b")])
    assert visits(url) == [("u:u1", 0, 0, 1, "/a", "/a"), ("u:u1", 50, 50, 1, "/b", "/b")]
    assert {start for _, start in first.visit_starts} == {T0, T0 + timedelta(minutes=50)}
    (late,) = write(url, [click("c", 25, page="/c")])
    assert visits(url) == [("u:u1", 0, 50, 3, "/a", "/b")]
    # the surviving visit changed, the other one is gone: both starts' answers are stale
    assert sorted(late.visit_starts) == [(SITE, T0), (SITE, T0 + timedelta(minutes=50))]
    assert as_from_scratch(url)


def test_a_late_earlier_event_moves_the_start_and_entry_page(url: str) -> None:
    write(url, [click("a", 10, page="/a", browser="Firefox"), click("b", 20, page="/b")])
    (late,) = write(url, [click("c", 0, page="/c", browser="Chrome")])
    assert visits(url) == [("u:u1", 0, 20, 3, "/c", "/b")]
    assert sorted(late.visit_starts) == [(SITE, T0), (SITE, T0 + timedelta(minutes=10))]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT browser FROM visits").fetchall() == [("Chrome",)]
    # ties in time are decided by event_id: "b0" before "c", so it becomes the entry
    write(url, [click("b0", 0, page="/tie")])
    assert visits(url) == [("u:u1", 0, 20, 4, "/tie", "/b")]
    assert as_from_scratch(url)


def test_events_of_a_session_are_one_visit_whatever_their_gaps(url: str) -> None:
    write(
        url,
        [click("a", 0, session="s1", page="/a"), click("b", 300, session="s1", page="/b")],
        [click("c", 150, session="s1", user="u2"), click("d", 100)],
    )
    # the session's events stay out of its users' own visits, and the other way round
    assert visits(url) == [("s:s1", 0, 300, 3, "/a", "/b"), ("u:u1", 100, 100, 1, "/", "/")]
    write(url, [click("e", 130)])  # 30 minutes after "d" is no gap over 30 minutes
    write(url, [click("f", 160.5)])  # but 30.5 after "e" is: a visit of its own
    assert visits(url)[1:] == [("u:u1", 100, 130, 2, "/", "/"), ("u:u1", 160.5, 160.5, 1, "/", "/")]
    assert as_from_scratch(url)


def test_redelivery_changes_no_visit_and_reports_none(url: str) -> None:
    group = [click("a", 0), click("b", 10, session="s"), click("c", 100)]
    write(url, group)
    before = visits(url)
    for again in write(url, list(reversed(group)), [group[1], group[1]]):
        assert again.events == []
        assert again.visit_starts == []
    assert visits(url) == before


def test_any_order_of_groups_and_duplicates_leaves_the_from_scratch_visits(url: str) -> None:
    rng = random.Random(7)
    stream = [
        click(
            f"e{n}",
            rng.uniform(0, 600),
            user=f"u{rng.randrange(6)}",
            page=f"/p{rng.randrange(5)}",
            session=rng.choice([None, None, None, f"s{rng.randrange(4)}"]),
            site=rng.choice(["shop.example", "blog.example"]),
            **rng.choice([{}, {"country": "DE", "utm_source": "news"}]),
        )
        for n in range(400)
    ]
    delivered = stream + rng.sample(stream, 100)
    rng.shuffle(delivered)
    cuts = [0, *sorted(rng.sample(range(1, len(delivered)), 30)), len(delivered)]
    write(url, *(delivered[a:b] for a, b in itertools.pairwise(cuts)))
    assert as_from_scratch(url)
    with fresh_database() as in_order:
        write(in_order, *(stream[n : n + 50] for n in range(0, 400, 50)))
        with psycopg.connect(in_order) as a, psycopg.connect(url) as b:
            assert a.execute(VISITS + " ORDER BY 1, 2, 3").fetchall() == (
                b.execute(VISITS + " ORDER BY 1, 2, 3").fetchall()
            )


async def _concurrently(url: str) -> None:
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as first,
        await psycopg.AsyncConnection.connect(url, autocommit=True) as second,
    ):
        async with first.transaction():
            await write_events(first, [click("a", 0)])
            # the second writer's statement would not see "a" (uncommitted): it must wait
            blocked = asyncio.create_task(write_events(second, [click("b", 20)]))
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watch:
                for _ in range(200):
                    waiting = await (
                        await watch.execute(
                            "SELECT count(*) FROM pg_locks"
                            " WHERE locktype = 'advisory' AND NOT granted"
                        )
                    ).fetchone()
                    if waiting == (1,):
                        break
                    await asyncio.sleep(0.05)
                else:
                    pytest.fail("the second writer never waited for the first")
            assert not blocked.done()
        await blocked


def test_concurrent_writers_of_one_users_visit_make_one_visit(url: str) -> None:
    asyncio.run(_concurrently(url))
    assert visits(url) == [("u:u1", 0, 20, 2, "/", "/")]
    assert as_from_scratch(url)


def test_a_users_new_events_days_apart_recompute_the_hours_around_them_only(url: str) -> None:
    write(url, [click("a", 0), click("m", 2 * 1440), click("z", 4 * 1440)])
    with psycopg.connect(url, autocommit=True) as conn:
        # a probe: the middle visit's row removed behind process's back stays removed
        # unless a write recomputes the days between its new events
        conn.execute("DELETE FROM visits WHERE started_at = %s", [T0 + timedelta(days=2)])
    write(url, [click("b", 10), click("y", 4 * 1440 - 10)])
    assert visits(url) == [("u:u1", 0, 10, 2, "/", "/"), ("u:u1", 5750, 5760, 2, "/", "/")]


def test_a_long_visit_reached_by_two_clusters_is_sessionized_once(url: str) -> None:
    # a visit of 200 minutes, an event every 20: new events at both ends are two clusters
    # (over an hour apart), whose spans both widen to the whole visit
    write(url, [click(f"v{n:02}", 20 * n) for n in range(11)])
    write(url, [click("first", -5, page="/in"), click("last", 205, page="/out")])
    assert visits(url) == [("u:u1", -5, 205, 13, "/in", "/out")]
    assert as_from_scratch(url)


def test_events_after_a_visit_extend_it_from_its_row_not_its_events(url: str) -> None:
    # a visit of 200 minutes, an event every 20, then an event 20 minutes after its end
    write(url, [click(f"v{n:02}", 20 * n, page=f"/{n}") for n in range(11)])
    with psycopg.connect(url, autocommit=True) as conn:
        # a probe: an event removed behind process's back stays counted unless a write
        # reads the visit's events again
        conn.execute("DELETE FROM click_events WHERE event_id = 'v05'")
    write(url, [click("next", 220, page="/next")])
    assert visits(url) == [("u:u1", 0, 220, 12, "/0", "/next")]
    # a late event inside the visit joins it the same way, however far from its neighbours
    # the removed event leaves it
    write(url, [click("late", 105, page="/late")])
    assert visits(url) == [("u:u1", 0, 220, 13, "/0", "/next")]


def test_a_visit_longer_than_the_gap_stays_one_when_extended_in_order(url: str) -> None:
    write(url, [click(f"v{n:02}", 20 * n) for n in range(11)])
    write(url, [click("w1", 225, page="/w1"), click("w2", 240, page="/w2")])
    assert visits(url) == [("u:u1", 0, 240, 13, "/", "/w2")]
    write(url, [click("x", 270.5, page="/x")])  # 30.5 minutes after the end: a new visit
    assert visits(url)[1:] == [("u:u1", 270.5, 270.5, 1, "/x", "/x")]
    # two events at one time: the visit's entry is decided by event_id, before any later one
    write(url, [click("t2", 400, page="/t2"), click("t1", 400, page="/t1")])
    write(url, [click("t0", 401, page="/after"), click("s", 401, session="s1", page="/s")])
    write(url, [click("s2", 1000, session="s1", page="/s2")])
    assert visits(url) == [
        ("s:s1", 401, 1000, 2, "/s", "/s2"),
        ("u:u1", 0, 240, 13, "/", "/w2"),
        ("u:u1", 270.5, 270.5, 1, "/x", "/x"),
        ("u:u1", 400, 401, 3, "/t1", "/after"),
    ]
    assert as_from_scratch(url)


def test_a_visit_extended_in_place_makes_only_its_start_and_new_hours_stale(url: str) -> None:
    write(url, [click(f"v{n:02}", 20 * n) for n in range(11)])  # 10:00 to 13:20
    before = versions(url)
    write(url, [click("next", 215)])  # 13:35
    after = versions(url)
    hour = timedelta(hours=1)
    moved = sorted((bucket - T0) / hour for bucket in after if after[bucket] != before[bucket])
    assert moved == [0, 3]
    # an earlier event moves the start: every hour of the visit holds events of another
    # visit id now
    write(url, [click("early", -10)])
    latest = versions(url)
    assert sorted((b - T0) / hour for b in latest if latest[b] != after.get(b)) == [-1, 0, 1, 2, 3]
