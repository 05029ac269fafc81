"""The database's epoch: noticing, without a restart, that the database was restored or wiped
(docs/lifecycle.md "Backup and restore").

Counts and aggregates only grow while the database lives, and the caches rely on it: Redis
and the gateways keep the highest count seen, and `query` keeps per-bucket parts while their
bucket's total is unchanged. A restore or a wipe takes them back, so every cached value is
suspect afterwards. What changes then, and otherwise never, is the identity of the tables:
`pg_restore --clean` and a wipe drop and create them (new OIDs), a new database has a new
OID, and TRUNCATE gives a table new storage (a new filenode). The epoch is these numbers, read
from the catalog in one cheap statement. VACUUM FULL or CLUSTER of `page_clicks` also moves
the epoch: the caches are then emptied once for nothing, which costs only cache misses.

`query` checks it every `CHECK_INTERVAL_S`; the replica that first finds another one recorded
in Redis for the database (by name, which a restore keeps) empties the cache namespace and
tells the gateways to drop their counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from functions.core.cache import Cache
from functions.core.cache_reset import follow_epoch

CHECK_INTERVAL_S = 1.0
# to_regclass: null while the tables do not exist (a wiped database before its restore)
_EPOCH = """
SELECT d.datname, concat_ws(':', d.oid, to_regclass('click_events')::oid,
                            pg_relation_filenode(to_regclass('page_clicks')))
FROM pg_database AS d WHERE d.datname = current_database()
"""
log = logging.getLogger("clickstream.epoch")


async def read_epoch(conn: AsyncConnection[Any]) -> tuple[str, str]:
    """(the database's name, its epoch)."""
    cursor = await conn.execute(_EPOCH)
    return cast(tuple[str, str], await cursor.fetchone())


class EpochWatch:
    """Follows the epoch for one `query` process: `forget` empties what the process keeps
    itself; the shared caches are emptied by whichever process first records the new epoch
    in Redis."""

    def __init__(self, pool: AsyncConnectionPool, cache: Cache, forget: Callable[[], None]) -> None:
        self._pool = pool
        self._cache = cache
        self._forget = forget
        self._seen: str | None = None

    async def check(self) -> None:
        try:
            async with self._pool.connection() as conn:
                database, epoch = await read_epoch(conn)
        except psycopg.Error:
            return  # PostgreSQL away, or mid-restore: checked again next time
        if self._seen is not None and epoch != self._seen:
            log.warning("the database changed (epoch %s -> %s): forgetting", self._seen, epoch)
            self._forget()
        self._seen = epoch
        await follow_epoch(self._cache, database, epoch)

    async def run(self) -> None:
        """Check until cancelled."""
        while True:
            await self.check()
            await asyncio.sleep(CHECK_INTERVAL_S)
