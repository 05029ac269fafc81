"""The two ways cached counts go down, rare and explicit: an erasure deletes one person's
entries, a restored or wiped database (functions/core/epoch.py) empties the namespace. Both
tell the gateways, whose copies of counts only ever keep the highest value seen, to drop
them (functions/gateway/local_counts.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.exceptions import RedisError

from functions.core.cache import PREFIX, Cache

# a count went down: the gateways drop every count they hold
FORGET_CHANNEL = f"{PREFIX}forget"
# the epoch of a database (by name) the cache's entries were computed in; kept a week past
# the last check, so that a restore while every `query` is scaled to zero is still seen
EPOCH_KEY = f"{PREFIX}epoch:{{}}"
EPOCH_TTL_S = 7 * 86_400
_UNLINKED_AT_ONCE = 1000
log = logging.getLogger("clickstream.cache")


async def forget(cache: Cache, keys: Sequence[str]) -> bool:
    """Delete `keys` (tags, counts, users' maps) and tell the gateways to drop the counts
    they hold; False when Redis could not be reached (entries then expire by TTL)."""
    try:
        async with cache.redis.pipeline(transaction=True) as pipe:
            for first in range(0, len(keys), _UNLINKED_AT_ONCE):
                pipe.unlink(*keys[first : first + _UNLINKED_AT_ONCE])
            pipe.publish(FORGET_CHANNEL, b"")
            await pipe.execute()
    except (RedisError, OSError) as error:
        log.warning("cache invalidation failed: %s", error)
        return False
    return True


async def follow_epoch(cache: Cache, database: str, epoch: str) -> None:
    """Record the `epoch` of `database`; when Redis holds another one, first empty the whole
    namespace (every entry may describe a database that is gone) and tell the gateways.
    Recorded only once emptied, so that a failure midway is retried at the next check."""
    redis = cache.redis
    key = EPOCH_KEY.format(database)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.expire(key, EPOCH_TTL_S)
            previous, _ = await pipe.execute()
        if previous is not None and previous != epoch.encode():
            log.warning("emptying the cache: it describes another database epoch")
            epochs = EPOCH_KEY.format("").encode()  # every database's, kept
            batch: list[bytes] = []
            async for entry in redis.scan_iter(match=f"{PREFIX}*", count=_UNLINKED_AT_ONCE):
                if not entry.startswith(epochs):
                    batch.append(entry)
                if len(batch) == _UNLINKED_AT_ONCE:
                    await redis.unlink(*batch)
                    batch.clear()
            if batch:
                await redis.unlink(*batch)
            await redis.publish(FORGET_CHANNEL, b"")
        if previous != epoch.encode():
            await redis.set(key, epoch, ex=EPOCH_TTL_S)
    except (RedisError, OSError) as error:
        log.warning("cache epoch check failed: %s", error)
