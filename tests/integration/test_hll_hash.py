"""`process` hashes users in Python, the bulk path and `query` in SQL: both must give the
same register and rank for every user id, or a register set would hold two hashings."""

from __future__ import annotations

import psycopg
import pytest

from functions.core.hll_hash import register_rank
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

USER_IDS = [f"user-{n}" for n in range(3_000)] + [
    "é",
    "用户-42",
    "emoji-🙂",
    "with space",
    "x" * 256,
    "'; quoted",
]


def test_python_and_postgresql_hash_users_alike() -> None:
    with fresh_database() as url, psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT u, hll_register(u), hll_rank(u) FROM unnest(%s::text[]) AS u", [USER_IDS]
        ).fetchall()
    assert len(rows) == len(USER_IDS)
    assert {u: (register, rank) for u, register, rank in rows} == {
        u: register_rank(u) for u in USER_IDS
    }
    # the sample reaches past the common ranks, so rank arithmetic is checked, not only 1-3
    assert max(rank for _, _, rank in rows) >= 9
