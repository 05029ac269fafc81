"""The gateway's in-process copy of (user, page) counts, kept exact by `process`'s publications.

A count answered from here costs no gRPC call and no Redis round trip. `process` publishes
every commit's new counts (`functions.core.cache.COUNTS_CHANNEL`). Counts only grow, so an
entry keeps the highest value it has seen: a value fetched from `query` while a newer one was
being published cannot overwrite it, whichever arrives first. A publication missed while the
subscription was down could leave an entry behind, so nothing is served from here until the
subscription is confirmed, and every (re)subscription starts from an empty copy. The two
ways a count goes down, an erasure and a restored database, are published on
`FORGET_CHANNEL` and empty the copy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import msgspec
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from functions.core.cache import COUNTS_CHANNEL
from functions.core.cache_reset import FORGET_CHANNEL

log = logging.getLogger("clickstream.gateway.counts")
_decode = msgspec.json.Decoder(dict[str, int]).decode
# count reads by result, tallied in plain integers and read at export: a hit is too short
# for an instrument call per request
LOOKUPS = {"hit": 0, "miss": 0, "bypass": 0}
RESUBSCRIBE_MAX_DELAY_S = 5.0
# how often an idle subscription is PINGed, so a dead connection shows as an error
HEALTH_CHECK_S = 10


def _observe_lookups(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(n, {"result": result}) for result, n in LOOKUPS.items()]


metrics.get_meter("clickstream.gateway").create_observable_counter(
    "clickstream.gateway.cache.lookups",
    [_observe_lookups],
    unit="{lookup}",
    description="Counts answered from the gateway's own copy (hit), fetched from query (miss), "
    "or fetched while the copy is not live (bypass)",
)


@dataclass(slots=True)
class _Fetch:
    """Fetches of one key under way, and the highest count published meanwhile."""

    callers: int = 1
    published: int = 0


class LocalCounts:
    """A bounded, least-recently-used map of count key -> count, each entry living at most
    `ttl_s` after its last confirmation (the bound if a publication is ever lost unseen)."""

    def __init__(
        self, capacity: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._fetches: dict[str, _Fetch] = {}
        self._generation = 0
        self.live = False

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> int | None:
        """The count under `key`, if held, current and the copy is live."""
        if not self.live:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] < self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[0]

    async def fetch(self, key: str, load: Callable[[], Awaitable[int]]) -> int:
        """`load` the count under `key` and keep it, unless a higher one was published
        while it loaded (then that one is kept and returned)."""
        generation = self._generation
        under_way = self._fetches.get(key)
        if under_way is None:
            under_way = self._fetches[key] = _Fetch()
        else:
            under_way.callers += 1
        try:
            loaded = await load()
        finally:
            under_way.callers -= 1
            if under_way.callers == 0 and self._fetches.get(key) is under_way:
                del self._fetches[key]
        count = max(loaded, under_way.published)
        if self.live and generation == self._generation:
            self._keep(key, count)
        return count

    def publish(self, counts: Mapping[str, int]) -> None:
        """New counts committed by `process`: raise what is held and what is being fetched.

        A key neither held nor being fetched is left out: the copy holds what is read, so
        its size follows the reads, not the writes. Keeping every published count filled it
        to its capacity with counts nobody asked for (docs/performance.md, the soak)."""
        for key, count in counts.items():
            under_way = self._fetches.get(key)
            if under_way is not None:
                under_way.published = max(under_way.published, count)
            if key in self._entries:
                self._keep(key, count)

    def forget(self) -> None:
        """A count went down (an erasure, a restore): drop every count held or being fetched, and
        keep serving what is published from now on."""
        self._restart(live=self.live)

    def start(self) -> None:
        """The subscription is confirmed: every later commit will be published to us."""
        self._restart(live=True)

    def stop(self) -> None:
        """The subscription is gone: forget everything, serve nothing."""
        self._restart(live=False)

    def _restart(self, live: bool) -> None:
        self._entries.clear()
        self._fetches.clear()
        self._generation += 1
        self.live = live

    def _keep(self, key: str, count: int) -> None:
        held = self._entries.pop(key, None)
        if held is not None:
            count = max(count, held[0])
        self._entries[key] = (count, self._clock() + self._ttl_s)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


async def follow(counts: LocalCounts, redis_url: str) -> None:
    """Keep `counts` current from `process`'s publications until cancelled; after any
    failure, forget everything and subscribe again (backing off up to 5 s)."""
    delay = 0.1
    while True:
        # no silent reconnects: a reconnect may have missed publications, so it must show
        client = Redis.from_url(
            redis_url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=1.0,
            health_check_interval=HEALTH_CHECK_S,
        )
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(COUNTS_CHANNEL, FORGET_CHANNEL)
                subscribed = 0
                while True:
                    message = await pubsub.get_message(timeout=HEALTH_CHECK_S)
                    if message is None:
                        continue
                    if message["type"] != "message":
                        # live once both subscriptions are confirmed
                        subscribed += message["type"] == "subscribe"
                        if subscribed == 2:
                            counts.start()
                            log.info("following %s and %s", COUNTS_CHANNEL, FORGET_CHANNEL)
                            delay = 0.1
                    elif message["channel"] == FORGET_CHANNEL.encode():
                        counts.forget()
                    else:
                        counts.publish(_decode(message["data"]))
        except (RedisError, OSError, msgspec.DecodeError) as error:
            log.warning("count publications lost (%s); resubscribing in %.1f s", error, delay)
        finally:
            counts.stop()
            await client.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, RESUBSCRIBE_MAX_DELAY_S)
