"""PostgreSQL access: one async pool per process, errors mapped to the platform's tree."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from functions.core.errors import DependencyUnavailable

# errors that a retry can cure: connection loss, server shutdown, deadlock, serialization
TRANSIENT = (
    psycopg.OperationalError,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
)


async def connect(database_url: str) -> psycopg.AsyncConnection[Any]:
    """One autocommit connection, given up after 5 s: for what needs no pool (a key ring's
    reloads, an operator command)."""
    return await psycopg.AsyncConnection.connect(database_url, autocommit=True, connect_timeout=5)


async def open_pool(
    database_url: str, max_size: int, *, plan_each_execution: bool = False
) -> AsyncConnectionPool:
    """An open pool; start-up does not wait for the database (readiness reports it).

    `plan_each_execution`: psycopg prepares a statement run five times, and PostgreSQL may
    then keep one generic plan for the connection's life. A plan made while a table was
    empty (a new deployment) scans it sequentially, and only an ANALYZE replaces it, which
    autovacuum may run late or never (it is off on some servers, this machine's included).
    Measured here: once `page_clicks` held 16,000 rows, never-seen count reads through the
    gateway fell from 5,100 to 1,500 per second, PostgreSQL spending 630 µs of CPU on each
    instead of 20. Reads whose best plan follows the data pay for planning each time instead.
    """
    options = "-c max_parallel_workers_per_gather=0 -c jit=off"
    if plan_each_execution:
        options += " -c plan_cache_mode=force_custom_plan"
    pool = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        open=False,
        timeout=5,
        # reads need no transaction: BEGIN and COMMIT would be two more round trips per read;
        # writers open theirs explicitly (`conn.transaction()`)
        kwargs={
            "autocommit": True,
            # our statements take milliseconds: starting parallel workers or JIT-compiling
            # (which misestimated unnest() row counts can trigger) costs more than it saves
            "options": options,
        },
    )
    await pool.open(wait=False)
    return pool


async def database_ready(pool: AsyncConnectionPool) -> bool:
    try:
        async with pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except (psycopg.Error, TimeoutError, OSError):
        return False
    return True


def unavailable(error: Exception) -> DependencyUnavailable:
    return DependencyUnavailable(
        "postgresql", str(error).splitlines()[0] if str(error) else type(error).__name__
    )
