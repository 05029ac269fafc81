"""Redis as a cache only: namespaced keys, TTL on every entry, failures never fatal."""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from functions.core.spans import spans

PREFIX = "clickstream:"
# process publishes each commit's new counts here ({count key: count}, JSON) for the
# gateways' in-process caches (functions/gateway/local_counts.py)
COUNTS_CHANNEL = f"{PREFIX}counts"
# A count only grows (an erasure deletes its keys instead: functions/core/cache_reset.py), so
# the highest committed value seen is the current one: keeping the maximum makes a slow reader's
# older value unable to overwrite a newer one, whichever order writers and readers reach Redis.
# KEYS: count keys, then stale tags to delete; ARGV: ttl, channel ("" = none), message, then
# one count per count key. Returns the count each count key holds afterwards.
_RAISE_COUNTS = """
local counted = #ARGV - 3
local held = {}
for i = 1, counted do
  local new = tonumber(ARGV[i + 3])
  local current = tonumber(redis.call('GET', KEYS[i]))
  if current == nil or current < new then
    redis.call('SET', KEYS[i], ARGV[i + 3], 'EX', ARGV[1])
    current = new
  else
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
  held[i] = current
end
-- in slices: unpack() is bounded by Lua's stack
for first = counted + 1, #KEYS, 1000 do
  redis.call('UNLINK', unpack(KEYS, first, math.min(first + 999, #KEYS)))
end
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return held
"""
# A user's counts on every page they visited, as one hash (field: page digest) with a marker
# field "" saying whether it is COMPLETE (then a page missing from it has a count of 0) or the
# user is WIDE (too many pages to hold; their counts are cached one by one). A count key that
# `process` raised after the map was read from PostgreSQL outlives the map (see
# `Cache.store_user_counts`), so a read takes the higher of the two.
# KEYS: each (user, page)'s count key and its user's map; ARGV: each page's field. Returns
# each one's count key, marker and mapped count, in turn.
_READ_COUNTS = """
local held = {}
for i, field in ipairs(ARGV) do
  local mapped = redis.call('HMGET', KEYS[2 * i], '', field)
  held[3 * i - 2] = redis.call('GET', KEYS[2 * i - 1])
  held[3 * i - 1] = mapped[1]
  held[3 * i] = mapped[2]
end
return held
"""
# KEYS: users' maps; ARGV: milliseconds to live, then for each map: how many pages, the
# marker, that many field, count pairs.
# The first map stored wins: it holds the oldest snapshot and expires first, which is what
# keeps every later commit's count key alive for as long as the map.
_STORE_USER_COUNTS = """
local at = 2
for _, key in ipairs(KEYS) do
  local last = at + 1 + 2 * tonumber(ARGV[at])
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, '', unpack(ARGV, at + 1, last))
    redis.call('PEXPIRE', key, ARGV[1])
  end
  at = last + 1
end
return 1
"""
COMPLETE, WIDE = b"complete", b"wide"
# A range answer is stored behind a stamp of the versions of the span tags it covers:
# sha1 (hex, 40 bytes) of the versions, in the tags' order, computed by Redis itself so that
# a 30-day answer's ~200 tags cost one command each way, not hundreds.
# KEYS: the answer, then its tags. Returns the answer without its stamp if every tag is
# there and the stamp matches, else false.
_READ_STAMPED = """
local answer = redis.call('GET', KEYS[1])
if not answer then return false end
local versions = {}
for i = 2, #KEYS do
  local version = redis.call('GET', KEYS[i])
  if not version then return false end
  versions[i - 1] = version
end
if string.sub(answer, 1, 40) ~= redis.sha1hex(table.concat(versions)) then return false end
return string.sub(answer, 41)
"""
# KEYS: tags; ARGV: ttl, a fresh random version. Gives each missing tag that version (first
# writer wins), keeps every tag alive at least `ttl`, and returns the stamp of the versions
# they hold now (one script: no tag can vanish between claiming and reading).
_CLAIM_STAMP = """
local versions = {}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[2], 'NX', 'EX', ARGV[1])
  redis.call('EXPIRE', key, ARGV[1], 'GT')
  versions[i] = redis.call('GET', key)
end
return redis.sha1hex(table.concat(versions))
"""
_encode = msgspec.json.Encoder().encode
log = logging.getLogger("clickstream.cache")


# remembered: the same users and pages come back in every group `process` commits; bounded
# so that untrusted 2-KB URLs can hold at most ~17 MB
@functools.lru_cache(maxsize=8_192)
def _digest(*parts: str) -> str:
    # user ids and URLs are unbounded and untrusted: hash them into a fixed-size key
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


CountKey = tuple[str, str, str]  # (site, user_id, page_url)


def count_key(site: str, user_id: str, page_url: str) -> str:
    """The all-time count of one user on one page of one site (GetEventCount)."""
    return f"{PREFIX}count:{_digest(site, user_id, page_url)}"


def user_counts_key(site: str, user_id: str) -> str:
    """The map of one user's counts on every page of one site (`_READ_COUNTS`)."""
    return f"{PREFIX}user-counts:{_digest(site, user_id)}"


def page_field(page_url: str) -> str:
    """A page's field in a user's map of counts."""
    return _digest(page_url)


def range_key(kind: str, *params: str) -> str:
    """One range answer (overview, top pages, series, activity) with its parameters."""
    return f"{PREFIX}range:{kind}:{_digest(kind, *params)}"


# every range answer is tagged with the scope of the events it counts: a site's, or one
# user's or page's within a site
def site_scope(site: str) -> str:
    return f"s.{_digest(site)}"


def user_scope(site: str, user_id: str) -> str:
    return f"u.{_digest(site, user_id)}"


def page_scope(site: str, page_url: str) -> str:
    return f"p.{_digest(site, page_url)}"


# each grain's width in minutes: UTC days and hours start at multiples of it since the epoch
_GRAIN_MINUTES = (("minute", 1), ("hour", 60), ("day", 1440))


def tag_key(scope: str, grain: str, bucket: datetime) -> str:
    """The version of one aligned span of one scope; deleting it makes every answer
    counting that span stale."""
    return _tag(scope, grain, int(bucket.timestamp()) // 60)


def _tag(scope: str, grain: str, minute: int) -> str:
    """`tag_key` of the bucket starting `minute` whole minutes after the epoch."""
    return f"{PREFIX}tag:{scope}:{grain}:{minute}"


# remembered: the same ranges are read again and again, each cut into ~200 spans (~25 KB of
# tags, so at most a few MB)
@functools.lru_cache(maxsize=256)
def range_tags(scope: str, start: datetime, end: datetime) -> tuple[str, ...]:
    """The tags of [start, end): one per aligned day, hour and minute span it is cut into."""
    return tuple(tag_key(scope, grain, bucket) for grain, bucket in spans(start, end))


class Written(Protocol):
    """What a committed event tells the cache: which site, who, where, when, and the
    (user, page) count after its commit."""

    @property
    def site(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def page_url(self) -> str: ...
    @property
    def time_stamp(self) -> datetime: ...
    @property
    def click_count(self) -> int: ...


def stale_tags(written: Iterable[Written]) -> set[str]:
    """Exactly the tags that newly committed events made stale: those of the minute, hour
    and day holding each event, for its site, its user and its page (a range answer is
    stale iff it covers one of them)."""
    # in whole minutes since the epoch, as tag_key numbers every grain's buckets: each
    # distinct (scope, minute) once, with integer arithmetic, not datetime arithmetic per event
    touched: set[tuple[str, int]] = set()
    for row in written:
        minute = int(row.time_stamp.timestamp() // 60)
        touched.update(
            (scope, minute)
            for scope in (
                site_scope(row.site),
                user_scope(row.site, row.user_id),
                page_scope(row.site, row.page_url),
            )
        )
    return _grain_tags(touched)


def visit_start_tags(starts: Iterable[tuple[str, datetime]]) -> set[str]:
    """The tags of the minute, hour and day holding each (site, visit start), in the site's
    scope: a report counts a visit in the range holding its start, so a visit that changed
    makes stale the answers covering its old and its new start."""
    return _grain_tags({(site_scope(site), int(start.timestamp() // 60)) for site, start in starts})


def _grain_tags(touched: Iterable[tuple[str, int]]) -> set[str]:
    """The tags of every grain's span holding each (scope, minute since the epoch)."""
    keys: set[str] = set()
    for scope, minute in touched:
        keys.update(_tag(scope, grain, minute - minute % width) for grain, width in _GRAIN_MINUTES)
    return keys


def new_counts(written: Iterable[Written]) -> dict[str, int]:
    """The count of each (user, page) that newly committed events moved, by its key."""
    counts: dict[str, int] = {}
    for row in written:
        key = count_key(row.site, row.user_id, row.page_url)
        counts[key] = max(counts.get(key, 0), row.click_count)
    return counts


@dataclass(frozen=True, slots=True)
class HeldCount:
    """What Redis holds for one (user, page): its own count key, and the user's map."""

    direct: int | None
    marker: bytes | None  # the map's: COMPLETE, WIDE, or None when there is no map
    mapped: int | None

    @property
    def wide(self) -> bool:
        return self.marker == WIDE

    def count(self) -> int | None:
        """The count, if Redis can answer it."""
        if self.marker == COMPLETE:
            return max(self.direct or 0, self.mapped or 0)
        return self.direct


class Cache:
    """A Redis cache that degrades to misses when Redis is down."""

    def __init__(self, redis_url: str) -> None:
        self._redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        # for the rare writers that empty entries (functions/core/cache_reset.py)
        self.redis = self._redis
        self._raise_counts = self._redis.register_script(_RAISE_COUNTS)
        self._read_stamped = self._redis.register_script(_READ_STAMPED)
        self._claim_stamp = self._redis.register_script(_CLAIM_STAMP)
        self._read_counts = self._redis.register_script(_READ_COUNTS)
        self._store_user_counts = self._redis.register_script(_STORE_USER_COUNTS)

    async def read_counts(self, keys: Sequence[CountKey]) -> list[HeldCount] | None:
        """What Redis holds for each (user, page) count, in one round trip; None when Redis
        could not be reached."""
        names: list[str] = []
        for site, user_id, page_url in keys:
            names += [count_key(site, user_id, page_url), user_counts_key(site, user_id)]
        try:
            held = await self._read_counts(keys=names, args=[page_field(p) for _, _, p in keys])
        except (RedisError, OSError) as error:
            log.warning("cache read failed: %s", error)
            return None
        return [
            HeldCount(
                None if direct is None else int(direct),
                marker,
                None if mapped is None else int(mapped),
            )
            for direct, marker, mapped in zip(held[::3], held[1::3], held[2::3], strict=True)
        ]

    async def store_user_counts(
        self, counts: Mapping[str, Mapping[str, int] | None], ttl_ms: int
    ) -> None:
        """Keep each user's map of counts by page URL (None: the user is too wide to map)
        under its `user_counts_key`,
        read from PostgreSQL in a snapshot taken less than `ttl_ms` ago, for the rest of
        those `ttl_ms`: counted from before the read, so that a count key any later commit
        raised (for a whole TTL from its commit) expires after the map, never before it."""
        if ttl_ms <= 0 or not counts:
            return
        args: list[str | int | bytes] = [ttl_ms]
        for pages in counts.values():
            args += [len(pages or ()), WIDE if pages is None else COMPLETE]
            for page_url, count in (pages or {}).items():
                args += [page_field(page_url), count]
        try:
            await self._store_user_counts(keys=list(counts), args=args)
        except (RedisError, OSError) as error:
            log.warning("cache write failed: %s", error)

    async def get_stamped(self, key: str, tags: Sequence[str]) -> tuple[bytes | None, bool]:
        """(the answer under `key` if its stamp matches the versions of `tags` now, whether
        Redis could be reached)."""
        try:
            answer = await self._read_stamped(keys=[key, *tags])
        except (RedisError, OSError) as error:
            log.warning("cache read failed: %s", error)
            return None, False
        return (answer.encode() if isinstance(answer, str) else answer), True

    async def claim_stamp(self, tags: Sequence[str], ttl_s: int) -> bytes | None:
        """The stamp to store an answer read from now on behind; None when Redis could not
        be reached."""
        try:
            stamp = await self._claim_stamp(keys=list(tags), args=[ttl_s, secrets.token_hex(8)])
        except (RedisError, OSError) as error:
            log.warning("cache tag write failed: %s", error)
            return None
        return stamp.encode() if isinstance(stamp, str) else bytes(stamp)

    async def put(self, key: str, value: bytes, ttl_s: int) -> None:
        try:
            await self._redis.set(key, value, ex=ttl_s)
        except (RedisError, OSError) as error:
            log.warning("cache write failed: %s", error)

    async def raise_counts(self, counts: Mapping[str, int], ttl_s: int) -> dict[str, int]:
        """Cache counts read from PostgreSQL, each unless a higher one is there; the counts
        held afterwards (`counts` themselves when Redis could not be reached)."""
        try:
            held = await self._raise_counts(
                keys=list(counts), args=[ttl_s, "", "", *counts.values()]
            )
        except (RedisError, OSError) as error:
            log.warning("cache write failed: %s", error)
            return dict(counts)
        return {key: int(count) for key, count in zip(counts, held, strict=True)}

    async def committed(self, tags: Iterable[str], counts: Mapping[str, int], ttl_s: int) -> bool:
        """After a commit, in one round trip: delete the stale `tags`, raise the cached
        `counts` to their new values and publish them to the gateways. False when Redis
        could not be reached (entries then expire by TTL)."""
        stale = list(tags)
        if not stale and not counts:
            return True
        channel, message = (COUNTS_CHANNEL, _encode(counts)) if counts else ("", b"")
        try:
            await self._raise_counts(
                keys=[*counts, *stale], args=[ttl_s, channel, message, *counts.values()]
            )
        except (RedisError, OSError) as error:
            log.warning("cache invalidation failed: %s", error)
            return False
        return True

    async def ready(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()
