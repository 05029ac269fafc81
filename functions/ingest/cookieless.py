"""Cookieless visitors: the user id of an event that brings none, counted as Plausible counts.

The id is a keyed hash (BLAKE2b, keyed by the day's salt) of the site, the client address and
the User-Agent. Salts are random, one per UTC day, kept in PostgreSQL (migration
0015_cookieless_salts.sql) so that every ingest replica derives the same id, and deleted
after two days: ids of two days cannot be linked, and once a salt is gone nobody can
recompute an id from an address. The address is hashed here and goes nowhere else.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from functions.core.db import unavailable
from functions.core.errors import DependencyUnavailable
from functions.core.events import SenderHints
from functions.ingest.decode import VisitorIds
from functions.ingest.enrich import Network, Trusted, client_address, trusted_networks

log = logging.getLogger("clickstream.ingest.cookieless")
Conn = psycopg.AsyncConnection[Any]
Connect = Callable[[], Awaitable[Conn]]
Clock = Callable[[], datetime]

SALT_BYTES = 32
KEPT_DAYS = 2  # today's and yesterday's: a replica whose clock lags still finds its salt
RETRY_AFTER_S = 1.0  # after a failed load, requests fail fast instead of each waiting 5 s
SWEEP_INTERVAL_S = 3600.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def visitor_id(salt: bytes, site: str, address: str, user_agent: str) -> str:
    """The keyed hash of (site, address, User-Agent) under `salt`, as 32 hex digits."""
    # surrogatepass: whatever text a sender's JSON held hashes, none raises
    parts = "\x00".join((site, address, user_agent)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(parts, key=salt, digest_size=16).hexdigest()


class Salts:
    """Today's salt (UTC, by `clock`), created in PostgreSQL by whichever replica asks first;
    every load also deletes the salts older than `KEPT_DAYS`."""

    def __init__(self, connect: Connect, clock: Clock = utc_now) -> None:
        self._connect = connect
        self._clock = clock
        self._day: date | None = None
        self._salt = b""
        self._lock = asyncio.Lock()
        self._failed_at = -RETRY_AFTER_S
        self._task: asyncio.Task[None] | None = None

    async def current(self) -> bytes:
        """Today's salt; raises `DependencyUnavailable` when PostgreSQL cannot give it."""
        day = self._clock().astimezone(UTC).date()
        if day == self._day:
            return self._salt
        async with self._lock:
            if day != self._day:
                if time.monotonic() - self._failed_at < RETRY_AFTER_S:
                    raise DependencyUnavailable("postgresql", "the day's salt is not loaded")
                self._salt = await self._load(day)
                self._day = day
        return self._salt

    async def _load(self, day: date) -> bytes:
        try:
            async with (
                asyncio.timeout(5),
                await self._connect() as conn,
                conn.transaction(),
            ):
                await conn.execute(
                    "DELETE FROM cookieless_salts WHERE day <= %s",
                    (day - timedelta(days=KEPT_DAYS),),
                )
                await conn.execute(
                    "INSERT INTO cookieless_salts (day, salt) VALUES (%s, %s)"
                    " ON CONFLICT (day) DO NOTHING",
                    (day, secrets.token_bytes(SALT_BYTES)),
                )
                cursor = await conn.execute(
                    "SELECT salt FROM cookieless_salts WHERE day = %s", (day,)
                )
                row = await cursor.fetchone()
        except (psycopg.Error, OSError, TimeoutError) as error:
            self._failed_at = time.monotonic()
            raise unavailable(error) from None
        assert row is not None  # inserted or found in the same transaction
        return bytes(row[0])

    def start(self) -> None:
        """Load (and so sweep) every `SWEEP_INTERVAL_S`: old salts go even on a quiet day."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sweep())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sweep(self) -> None:
        while True:
            self._day = None  # the next `current` loads, and with it deletes
            try:
                await self.current()
            except DependencyUnavailable as error:
                log.warning("salts not swept: %s", error)
            await asyncio.sleep(SWEEP_INTERVAL_S)


class Visitors:
    """Where clients are (as enrichment finds them) and the day's salt: the ids of a request."""

    def __init__(self, salts: Salts, trusted_proxies: Sequence[Network]) -> None:
        self.salts = salts
        self._trusted: Trusted = trusted_networks(trusted_proxies)

    async def for_request(
        self, headers: Mapping[str, str], peer: str | None, forwarded: Sequence[str]
    ) -> VisitorIds:
        """The ids of one request's clients; when the salt cannot be had, the ids raise
        `DependencyUnavailable` (503, retried), so events that bring their own id still go."""
        try:
            salt: bytes | None = await self.salts.current()
        except DependencyUnavailable:
            salt = None
        found = client_address(peer, forwarded, self._trusted)
        address = "" if found is None else str(found)
        agent = headers.get("user-agent", "")

        def ids(site: str, hints: SenderHints) -> str:
            if salt is None:
                raise DependencyUnavailable("postgresql", "the day's salt is not loaded; retry")
            client = address if hints.client_ip is None else str(hints.client_ip)
            return visitor_id(salt, site, client, hints.user_agent or agent)

        return ids
