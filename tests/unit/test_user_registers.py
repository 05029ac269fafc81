"""`KnownRegisters`: a group sends only pairs that may raise a stored register, learning
only from committed groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from functions.core.events import ClickEvent
from functions.core.hll_hash import register_rank
from functions.process.user_registers import KnownRegisters, RegisterUpdate

NOON = datetime(2026, 3, 4, 12, 30, tzinfo=UTC)


def click(user: str, at: datetime = NOON, n: int = 0) -> ClickEvent:
    return ClickEvent(
        event_id=f"{user}-{at.isoformat()}-{n}",
        user_id=user,
        event_type="click",
        page_url="/p",
        time_stamp=at,
    )


def pairs(updates: list[RegisterUpdate]) -> dict[tuple[str, datetime], dict[int, int]]:
    return {(u.grain, u.bucket): dict(zip(u.registers, u.ranks, strict=True)) for u in updates}


def expected_pairs(users: list[str]) -> dict[int, int]:
    best: dict[int, int] = {}
    for user in users:
        register, rank = register_rank(user)
        best[register] = max(best.get(register, 0), rank)
    return best


def test_knowing_nothing_it_sends_every_users_pair_per_grain_highest_rank_once() -> None:
    users = [f"u{n}" for n in range(500)]
    got = pairs(KnownRegisters().updates([click(u) for u in users + users]))
    hour, day = NOON.replace(minute=0), NOON.replace(hour=0, minute=0)
    assert got == {("hour", hour): expected_pairs(users), ("day", day): expected_pairs(users)}
    # 500 users over 4,096 registers: some share one, and the higher rank is the one kept
    assert len(got["hour", hour]) < 500


def test_pairs_committed_are_not_sent_again_but_higher_ranks_are() -> None:
    known = KnownRegisters()
    first = known.updates([click(f"u{n}") for n in range(200)])
    known.committed(first)
    assert known.updates([click(f"u{n}", n=1) for n in range(200)]) == []
    # a newcomer's pair is news only where its rank beats what its register already holds
    stored = expected_pairs([f"u{n}" for n in range(200)])
    newcomers = [f"v{n}" for n in range(2_000)]
    expected = {r: k for r, k in expected_pairs(newcomers).items() if k > stored.get(r, 0)}
    got = pairs(known.updates([click(u) for u in newcomers]))
    assert got[("hour", NOON.replace(minute=0))] == expected
    assert 0 < len(expected) < len(expected_pairs(newcomers))


def test_a_group_that_did_not_commit_teaches_nothing() -> None:
    known = KnownRegisters()
    group = [click(f"u{n}") for n in range(50)]
    lost = known.updates(group)  # its transaction failed: committed() is never called
    assert known.updates(group) == lost


def test_buckets_are_utc_hours_and_days_and_each_is_learned_apart() -> None:
    known = KnownRegisters()
    before, after = datetime(2026, 3, 4, 23, 59, 59, 999_000, UTC), datetime(2026, 3, 5, tzinfo=UTC)
    known.committed(known.updates([click("u1", before)]))
    got = pairs(known.updates([click("u1", after)]))
    assert set(got) == {("hour", after), ("day", after)}
    # a time in another zone lands in its UTC bucket
    elsewhere = before.astimezone(timezone(timedelta(hours=2)))
    assert known.updates([click("u1", elsewhere)]) == []


def test_forgotten_buckets_send_their_pairs_again() -> None:
    known = KnownRegisters(kept_buckets=2)  # one hour and its day
    known.committed(known.updates([click("u1")]))
    known.committed(known.updates([click("u1", NOON + timedelta(days=1))]))
    again = pairs(known.updates([click("u1")]))
    assert set(again) == {("hour", NOON.replace(minute=0)), ("day", NOON.replace(hour=0, minute=0))}
