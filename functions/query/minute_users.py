"""HyperLogLog registers of single minutes, for the loose minutes at the edges of a long
range (migration 0005): stored the first time a read needs a minute, valid while that
minute's event total is unchanged, so a range's distinct users never read raw events twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

_STORED = """
SELECT w.bucket, s.pairs, s.total = t.count AS valid
FROM unnest(%s::timestamptz[]) AS w(bucket)
JOIN total_rollups AS t ON t.grain = 'minute' AND t.bucket = w.bucket
LEFT JOIN minute_user_registers AS s ON s.bucket = w.bucket
"""

# One snapshot of the events and their totals, so each minute's pairs and total agree;
# closed minutes are stored, a newer total winning over an older one.
_BUILD = """
WITH wanted AS (
    SELECT bucket, count AS total FROM total_rollups
    WHERE grain = 'minute' AND bucket = ANY(%(buckets)s::timestamptz[])
), registers AS (
    SELECT w.bucket, w.total,
           hll_register(e.user_id) AS register, max(hll_rank(e.user_id)) AS rank
    FROM wanted AS w
    JOIN click_events AS e
      ON e.time_stamp >= w.bucket AND e.time_stamp < w.bucket + interval '1 minute'
    GROUP BY 1, 2, 3
), built AS (
    SELECT bucket, total,
           string_agg(int2send(register) || substring(int2send(rank) FROM 2), ''::bytea)
             AS pairs
    FROM registers GROUP BY bucket, total
), stored AS (
    INSERT INTO minute_user_registers AS s (bucket, total, pairs)
    SELECT bucket, total, pairs FROM built WHERE bucket + interval '1 minute' <= %(now)s
    ON CONFLICT (bucket) DO UPDATE SET total = EXCLUDED.total, pairs = EXCLUDED.pairs
    WHERE s.total < EXCLUDED.total
)
SELECT pairs FROM built
"""


def unpack(pairs: bytes) -> list[tuple[int, int]]:
    """(register, rank) pairs from their packed form."""
    return [((pairs[i] << 8) | pairs[i + 1], pairs[i + 2]) for i in range(0, len(pairs) - 2, 3)]


async def register_pairs(
    conn: AsyncConnection[Any], minutes: Sequence[datetime], now: datetime
) -> list[tuple[int, int]]:
    """The (register, rank) pairs of every user seen in `minutes` (a register may repeat)."""
    cursor = await conn.execute(_STORED, (list(minutes),))
    packed: list[bytes] = []
    missing: list[datetime] = []
    for bucket, pairs, valid in await cursor.fetchall():
        if valid:
            packed.append(pairs)
        else:
            missing.append(bucket)
    if missing:
        cursor = await conn.execute(_BUILD, {"buckets": missing, "now": now})
        packed += [pairs for (pairs,) in await cursor.fetchall()]
    return [pair for pairs in packed for pair in unpack(bytes(pairs))]
