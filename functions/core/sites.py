"""Sites (the tenants) and their keys in PostgreSQL (migrations/0009_sites.sql), and the
in-memory key ring that checks a secret on every request without a database round trip.

A key is a random secret shown once and stored only as its SHA-256 hash; its scope grants
`write` (events of one site), `read` (reports of one site), `link` (a shared link: the
reports of one site, never one person's) or `admin` (admin routes of one site, or of every
site when it names none). DESIGN.md: "Sites and enrichment"; migrations 0009 and 0016.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import psycopg
from psycopg_pool import AsyncConnectionPool

from functions.core.db import unavailable
from functions.core.errors import InvalidArgument
from functions.core.events import DEFAULT_SITE, SITE_PATTERN, valid_site

Scope = Literal["write", "read", "admin", "link"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
# a secret says what it is when it turns up in a config file or a leaked log
_PREFIXES: dict[Scope, str] = {"write": "csw_", "read": "csr_", "admin": "csa_", "link": "csl_"}
LABEL_MAX = 200

log = logging.getLogger("clickstream.sites")
Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid secret allows: `scope` on `site`, or on every site when `site` is None
    (admin keys only: the table refuses any other key without a site)."""

    scope: Scope
    site: str | None

    def reads(self, site: str) -> bool:
        """Reports of `site`: a read token or shared link of that site, or an admin key of
        it or of all."""
        return (self.site == site and self.scope in ("read", "link")) or self.administers(site)

    def reads_people(self, site: str) -> bool:
        """One person's rows of `site` (a user's activity, a user's count): what `reads`
        allows except to a shared link, which is handed to people outside the team."""
        return self.scope != "link" and self.reads(site)

    def writes(self, site: str) -> bool:
        """Events of `site`: a write key of that site (an admin key sends nothing)."""
        return self.scope == "write" and self.site == site

    def administers(self, site: str) -> bool:
        """Admin routes of `site`: an admin key of that site or of every site."""
        return self.scope == "admin" and self.site in (site, None)


@dataclass(frozen=True, slots=True)
class NewKey:
    id: int
    site: str | None
    scope: Scope
    secret: str  # in clear: the only time it exists so


@dataclass(frozen=True, slots=True)
class NewSite:
    name: str
    write: NewKey
    read: NewKey


@dataclass(frozen=True, slots=True)
class SiteRow:
    name: str
    created_at: datetime
    write_keys: int  # active ones only, as every count here
    read_keys: int
    admin_keys: int


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: int
    site: str | None
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None
    label: str | None = None  # shared links only: whom it was given to


def new_secret(scope: Scope) -> str:
    """256 random bits, URL-safe (`?key=` on beacons), prefixed by scope."""
    return _PREFIXES[scope] + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> bytes:
    # the secrets are 256-bit random, not passwords: nobody can guess one from its hash, so
    # a fast hash is enough, and a slow one (bcrypt, argon2) would cost every request
    return hashlib.sha256(secret.encode()).digest()


def _site_name(name: str, field: str) -> str:
    if not valid_site(name):
        raise InvalidArgument(field, f"{name!r} must match {SITE_PATTERN} (lower-case)")
    return name


async def _insert_key(
    conn: Conn, site: str | None, scope: Scope, label: str | None = None
) -> NewKey:
    secret = new_secret(scope)
    cursor = await conn.execute(
        "INSERT INTO site_keys (site, scope, secret_hash, label) VALUES (%s, %s, %s, %s)"
        " RETURNING id",
        (site, scope, secret_hash(secret), label),
    )
    row = await cursor.fetchone()
    assert row is not None
    return NewKey(row[0], site, scope, secret)


async def add_site(conn: Conn, name: str) -> NewSite:
    """A new site with one write key and one read token, all or nothing."""
    _site_name(name, "name")
    async with conn.transaction():
        cursor = await conn.execute(
            "INSERT INTO sites (name) VALUES (%s) ON CONFLICT DO NOTHING RETURNING name", (name,)
        )
        if await cursor.fetchone() is None:
            raise InvalidArgument("name", f"site {name!r} exists already")
        return NewSite(
            name, await _insert_key(conn, name, "write"), await _insert_key(conn, name, "read")
        )


async def list_sites(conn: Conn) -> list[SiteRow]:
    """Every site by name, with its active keys counted by scope."""
    cursor = await conn.execute(
        "SELECT s.name, s.created_at,"
        " count(k.id) FILTER (WHERE k.scope = 'write'),"
        " count(k.id) FILTER (WHERE k.scope = 'read'),"
        " count(k.id) FILTER (WHERE k.scope = 'admin')"
        " FROM sites s LEFT JOIN site_keys k ON k.site = s.name AND k.revoked_at IS NULL"
        " GROUP BY s.name ORDER BY s.name"
    )
    return [SiteRow(*row) for row in await cursor.fetchall()]


async def remove_site(conn: Conn, name: str) -> bool:
    """Delete a site and so its keys; False when there was none. Its events stay."""
    if name == DEFAULT_SITE:
        raise InvalidArgument("name", f"the {DEFAULT_SITE!r} site cannot be removed")
    cursor = await conn.execute("DELETE FROM sites WHERE name = %s RETURNING name", (name,))
    return await cursor.fetchone() is not None


async def add_key(conn: Conn, site: str | None, scope: Scope, label: str | None = None) -> NewKey:
    """A new key of `scope` on `site` (None: every site, admin keys only); `label` says
    whom a shared link was given to."""
    if scope not in SCOPES:
        raise InvalidArgument("scope", f"must be one of {', '.join(SCOPES)}, got {scope!r}")
    if site is None and scope != "admin":
        raise InvalidArgument("site", "only admin keys may be valid on every site")
    if label is not None and not 1 <= len(label) <= LABEL_MAX:
        raise InvalidArgument("label", f"must be 1 to {LABEL_MAX} characters")
    chosen = None if site is None else _site_name(site, "site")
    try:
        return await _insert_key(conn, chosen, scope, label)
    except psycopg.errors.ForeignKeyViolation:
        raise InvalidArgument("site", f"no site {site!r}") from None


async def list_keys(conn: Conn) -> list[KeyRow]:
    """Every key, revoked ones included, oldest first (never a secret: none is stored)."""
    cursor = await conn.execute(
        "SELECT id, site, scope, created_at, revoked_at, label FROM site_keys ORDER BY id"
    )
    return [KeyRow(*row) for row in await cursor.fetchall()]


async def revoke_key(conn: Conn, key_id: int, scope: Scope | None = None) -> bool:
    """Revoke a key (of `scope` only, when given: `links revoke` must not end a write key
    by a mistyped id); False when it was revoked already. The key ring drops it at its
    next reload (`KeyRingRefresher`)."""
    cursor = await conn.execute(
        "UPDATE site_keys SET revoked_at = now()"
        " WHERE id = %s AND revoked_at IS NULL AND scope = coalesce(%s, scope) RETURNING id",
        (key_id, scope),
    )
    if await cursor.fetchone() is not None:
        return True
    cursor = await conn.execute(
        "SELECT 1 FROM site_keys WHERE id = %s AND scope = coalesce(%s, scope)", (key_id, scope)
    )
    if await cursor.fetchone() is None:
        raise InvalidArgument("key_id", f"no {scope or 'key'} {key_id}")
    return False


async def register_sites(conn: Conn, names: Iterable[str]) -> None:
    """Register sites that events named, those registered already left as they are."""
    # sorted: two writers inserting the same new names in opposite orders could deadlock
    chosen = sorted({_site_name(name, "site") for name in names})
    if chosen:
        await conn.execute(
            "INSERT INTO sites (name) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", (chosen,)
        )


def env_grants(
    write_keys: Mapping[str, str], read_tokens: Iterable[str], admin_tokens: Iterable[str]
) -> dict[str, Grant]:
    """The grants the environment configures (INGEST_WRITE_KEYS: key → its site;
    GATEWAY_READ_TOKENS: the `default` site; GATEWAY_ADMIN_TOKENS: every site, so that they
    can bootstrap the others), for `KeyRing(static=...)`."""
    grants = {key: Grant("write", site) for key, site in write_keys.items()}
    grants |= {token: Grant("read", DEFAULT_SITE) for token in read_tokens}
    return grants | {token: Grant("admin", None) for token in admin_tokens}


class KeyRing:
    """The active keys and registered sites, held in memory for checks on every request.

    `static` grants (secret → Grant, from the environment) are kept across reloads. Until
    the first `load`, the ring knows only those and `default`, and says it is not empty:
    a function that has not reached PostgreSQL yet refuses rather than opens every route.
    """

    def __init__(self, static: Mapping[str, Grant] | None = None) -> None:
        # hash → (hash, grant): the stored hash again, for the constant-time confirmation
        self._static = {
            digest: (digest, grant)
            for digest, grant in ((secret_hash(s), g) for s, g in (static or {}).items())
        }
        self._grants = dict(self._static)
        self._scopes: frozenset[str] = frozenset()  # of the grants, once loaded
        self._sites = frozenset({DEFAULT_SITE})
        self.loaded = False

    async def load(self, conn: Conn) -> None:
        """Replace the keys and sites with PostgreSQL's, one query each (a site made between
        the two shows up at the next load)."""
        cursor = await conn.execute(
            "SELECT secret_hash, scope, site FROM site_keys WHERE revoked_at IS NULL"
        )
        rows = await cursor.fetchall()
        grants = {bytes(h): (bytes(h), Grant(scope, site)) for h, scope, site in rows}
        cursor = await conn.execute("SELECT name FROM sites")
        sites = frozenset(name for (name,) in await cursor.fetchall())
        grants |= self._static
        scopes = frozenset(grant.scope for _, grant in grants.values())
        # swapped with no await in between: a request sees the old ring or the new one whole
        self._grants, self._scopes, self._sites, self.loaded = grants, scopes, sites, True

    def grant(self, secret: str) -> Grant | None:
        """What `secret` grants, or None for a secret that is not (or no longer) valid."""
        digest = secret_hash(secret)
        # The dict compares hashes, not secrets: its timing can only tell how much of a
        # guess's SHA-256 matches a stored one, which brings nobody nearer to a secret with
        # that hash. compare_digest then confirms the match in constant time all the same.
        found = self._grants.get(digest)
        if found is None or not hmac.compare_digest(found[0], digest):
            return None
        return found[1]

    def registered(self, site: str) -> bool:
        return site in self._sites

    def any_keys(self, *scopes: Scope) -> bool:
        """Whether an active key of one of `scopes` (of any, when none given) exists; True
        before the first load (fail closed). Ingest asks for `write`, the gateway for
        `read` and `admin`."""
        return not self.loaded or not self._scopes.isdisjoint(scopes or SCOPES)

    @property
    def empty(self) -> bool:
        """No key at all: the local default, where every route is open."""
        return not self.any_keys()


# e.g. `lambda: psycopg.AsyncConnection.connect(url, autocommit=True)`
Connect = Callable[[], Awaitable[Conn]]
_LOAD_TIMEOUT_S = 5.0  # a load that hangs (a stalled server) is an outage too


class KeyRingRefresher:
    """Reloads a `KeyRing` every `interval_s` in an asyncio task, from a pool or from a
    `Connect`ed connection (kept between loads, opened again after a failure).

    The promise: while PostgreSQL is reachable, a revoked key stops working (and a new one
    starts) within `interval_s` plus one load of a few milliseconds. While it is not, the
    ring keeps what it last loaded, so a database outage stops neither ingest nor the
    gateway, and one warning is logged per outage, not per attempt.
    """

    def __init__(
        self, ring: KeyRing, source: AsyncConnectionPool | Connect, interval_s: float = 5.0
    ) -> None:
        self.ring = ring
        self.interval_s = interval_s
        self._source = source
        self._conn: Conn | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def refresh(self) -> bool:
        """One reload now; False (the ring unchanged) when PostgreSQL could not answer."""
        try:
            async with asyncio.timeout(_LOAD_TIMEOUT_S):
                if isinstance(self._source, AsyncConnectionPool):
                    async with self._source.connection(timeout=_LOAD_TIMEOUT_S) as conn:
                        await self.ring.load(conn)
                else:
                    if self._conn is None or self._conn.closed:
                        self._conn = await self._source()
                    await self.ring.load(self._conn)
        except (psycopg.Error, OSError, TimeoutError) as error:
            await self._drop_connection()
            if not self._failing:
                self._failing = True
                log.warning("keys not reloaded, keeping the last loaded: %s", unavailable(error))
            return False
        if self._failing:
            self._failing = False
            log.info("keys reloaded again")
        return True

    def start(self) -> None:
        """Start reloading (the first load at once), in the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop_connection()

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # a bug must not end the reloads: the ring would go stale
                log.exception("keys not reloaded")
            await asyncio.sleep(self.interval_s)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(psycopg.Error, OSError):
                await conn.close()
