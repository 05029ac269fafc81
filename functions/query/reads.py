"""Cache-aside reads: Redis first, PostgreSQL on a miss, one database read per key at a time.

A range answer is stored with a stamp of the versions of the span tags it covers
(`functions.core.cache.range_tags`); `process` deletes the tags of the spans it wrote to, so
the answer stops matching exactly when an event landed inside its range. Redis checks the
stamp itself (`Cache.get_stamped`), in one script call whatever the number of tags.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import psycopg
from clickstream.analytics.v1 import analytics_pb2 as pb
from google.protobuf.message import Message
from opentelemetry.metrics import Meter
from psycopg_pool import AsyncConnectionPool

from functions.core.cache import (
    Cache,
    CountKey,
    page_scope,
    range_key,
    range_tags,
    site_scope,
    user_scope,
)
from functions.core.db import unavailable
from functions.core.goals import Goal
from functions.core.spans import Grain
from functions.query import funnel, loads, report_rollups, reports
from functions.query.counts import Counts
from functions.query.dimensions import Dimension
from functions.query.filters import VISIT_GAP, Query
from functions.query.parts import Connection
from functions.query.single_flight import SingleFlight
from functions.query.validate import Window

Answer = TypeVar("Answer", bound=Message)
Loaded = TypeVar("Loaded")
# a tag outlives the answers stamped with it, so answers expire by their own TTL
_TAG_GRACE_S = 60


def _spanning(answer: Answer, window: Window) -> Answer:
    """`answer` with the range it covers."""
    # getattr: `from` is a keyword, and `to` is not declared on the Message bound
    getattr(answer, "from").CopyFrom(loads.timestamp(window.start))
    getattr(answer, "to").CopyFrom(loads.timestamp(window.end))  # noqa: B009
    return answer


def _params(window: Window) -> tuple[str, str, str]:
    """What names a window in a cache key."""
    return window.site, window.start.isoformat(), window.end.isoformat()


def _report_tags(query: Query, reads_visits: bool) -> tuple[str, ...]:
    """The tags of a report's window. A visit's rows (its start, end, pages) change with
    events up to a visit gap outside the window, so an answer that reads visits is tagged
    with that much more on each side; a session longer than that is out of sight of its
    tags and is caught up with by the TTL."""
    window = query.window
    if reads_visits or query.reads_visits:
        start, end = window.start - VISIT_GAP, window.end + VISIT_GAP
    else:
        start, end = window.start, window.end
    return range_tags(site_scope(window.site), start, end)


class Reads:
    def __init__(self, pool: AsyncConnectionPool, cache: Cache, ttl_s: int, meter: Meter) -> None:
        self._pool = pool
        self._cache = cache
        self._ttl_s = ttl_s
        self._flight: SingleFlight[bytes] = SingleFlight()
        self._parts = loads.Parts(pool.connection)
        self._lookups = meter.create_counter(
            "clickstream.cache.lookups", unit="{lookup}", description="Cache hits and misses"
        )
        self._db_reads = meter.create_counter(
            "clickstream.query.db.reads", unit="{read}", description="Reads that hit PostgreSQL"
        )
        self._counts = Counts(pool, cache, ttl_s, self._query, self._lookups)

    def forget_parts(self) -> None:
        """The database was restored or wiped: no part kept may be trusted."""
        self._parts.clear()

    async def close(self) -> None:
        """Before the pool closes: nothing started here may still hold a connection."""
        await self._parts.minutes.close()
        await self._parts.spans.close()

    async def ranged(
        self, key: str, tags: Sequence[str], kind: str, load: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """Like `count`, for an answer that stays valid while none of `tags` changes."""
        hit, _ = await self._cache.get_stamped(key, tags)
        if hit is not None:
            self._lookups.add(1, {"result": "hit", "kind": kind})
            return hit
        self._lookups.add(1, {"result": "miss", "kind": kind})

        async def load_and_store() -> bytes:
            # a miss that reached here after another caller's load finished finds its answer
            stored, reachable = await self._cache.get_stamped(key, tags)
            if stored is not None:
                return stored
            # versions are taken before the read: a write after it deletes one of them
            stamp = None
            if reachable:
                stamp = await self._cache.claim_stamp(tags, self._ttl_s + _TAG_GRACE_S)
            value = await self._query(kind, load)
            if stamp is not None:
                await self._cache.put(key, stamp + value, self._ttl_s)
            return value

        return await self._flight.run(key, load_and_store)

    async def _query(self, kind: str, load: Callable[[], Awaitable[Loaded]]) -> Loaded:
        self._db_reads.add(1, {"kind": kind})
        try:
            return await load()
        except psycopg.OperationalError as error:
            raise unavailable(error) from error

    async def _answer(
        self,
        kind: str,
        key: str,
        tags: Sequence[str],
        answer_type: type[Answer],
        build: Callable[[Connection], Awaitable[Answer]],
    ) -> Answer:
        async def load() -> bytes:
            async with self._pool.connection() as conn:
                return (await build(conn)).SerializeToString()

        return answer_type.FromString(await self.ranged(key, tags, kind, load))

    async def event_counts(self, keys: Sequence[CountKey]) -> list[int]:
        return await self._counts.event_counts(keys)

    async def overview(self, query: Query) -> pb.GetOverviewResponse:
        window = query.window
        if query.filters:
            return await self._report(
                "overview", query, (), pb.GetOverviewResponse, lambda c: reports.overview(c, query)
            )

        async def load() -> bytes:
            return (
                await loads.overview(self._pool.connection, window, self._parts)
            ).SerializeToString()

        return pb.GetOverviewResponse.FromString(
            await self.ranged(
                range_key("overview", *_params(window)),
                range_tags(site_scope(window.site), window.start, window.end),
                "overview",
                load,
            )
        )

    async def top_pages(self, query: Query, limit: int) -> pb.GetTopPagesResponse:
        window = query.window
        if query.filters:

            async def filtered(conn: Connection) -> pb.GetTopPagesResponse:
                return pb.GetTopPagesResponse(pages=await reports.top_pages(conn, query, limit))

            return await self._report(
                "top_pages", query, (str(limit),), pb.GetTopPagesResponse, filtered
            )

        async def build(conn: Connection) -> pb.GetTopPagesResponse:
            answer = pb.GetTopPagesResponse(
                pages=await loads.top_pages(conn, window, limit, self._parts)
            )
            return _spanning(answer, window)

        return await self._answer(
            "top_pages",
            range_key("top_pages", *_params(window), str(limit)),
            range_tags(site_scope(window.site), window.start, window.end),
            pb.GetTopPagesResponse,
            build,
        )

    async def event_types(self, window: Window, limit: int) -> pb.GetEventTypesResponse:
        async def build(conn: Connection) -> pb.GetEventTypesResponse:
            answer = pb.GetEventTypesResponse(types=await loads.event_types(conn, window, limit))
            return _spanning(answer, window)

        return await self._answer(
            "event_types",
            range_key("event_types", *_params(window), str(limit)),
            range_tags(site_scope(window.site), window.start, window.end),
            pb.GetEventTypesResponse,
            build,
        )

    async def time_series(
        self, query: Query, grain: Grain, bucket: pb.Bucket, page_url: str | None
    ) -> pb.GetTimeSeriesResponse:
        window = query.window
        if query.filters:

            async def filtered(conn: Connection) -> pb.GetTimeSeriesResponse:
                points = await reports.time_series(conn, query, grain, page_url)
                return pb.GetTimeSeriesResponse(bucket=bucket, points=points)

            return await self._report(
                "time_series", query, (grain, page_url or ""), pb.GetTimeSeriesResponse, filtered
            )

        async def build(conn: Connection) -> pb.GetTimeSeriesResponse:
            points = await loads.time_series(conn, window, grain, page_url)
            answer = pb.GetTimeSeriesResponse(bucket=bucket, points=points)
            return _spanning(answer, window)

        scope = site_scope(window.site) if page_url is None else page_scope(window.site, page_url)
        params = (*_params(window), grain, page_url or "")
        return await self._answer(
            "time_series",
            range_key("time_series", scope, *params),
            range_tags(scope, window.start, window.end),
            pb.GetTimeSeriesResponse,
            build,
        )

    async def user_activity(
        self, user_id: str, window: Window, limit: int
    ) -> pb.GetUserActivityResponse:
        async def build(conn: Connection) -> pb.GetUserActivityResponse:
            total, pages = await loads.user_activity(conn, user_id, window, limit)
            answer = pb.GetUserActivityResponse(user_id=user_id, total=total, pages=pages)
            return _spanning(answer, window)

        params = (user_id, *_params(window), str(limit))
        return await self._answer(
            "user_activity",
            range_key("user_activity", *params),
            range_tags(user_scope(window.site, user_id), window.start, window.end),
            pb.GetUserActivityResponse,
            build,
        )

    async def _report(
        self,
        kind: str,
        query: Query,
        params: Sequence[str],
        answer_type: type[Answer],
        build: Callable[[Connection], Awaitable[Answer]],
        reads_visits: bool = False,
    ) -> Answer:
        """A report under `query`: cached like the range reads, its key naming the filters
        and `params`, its answer spanning the window."""

        async def spanning(conn: Connection) -> Answer:
            return _spanning(await build(conn), query.window)

        return await self._answer(
            f"{kind}_report",
            range_key(f"{kind}_report", *_params(query.window), query.key(), *params),
            _report_tags(query, reads_visits),
            answer_type,
            spanning,
        )

    async def breakdown(
        self, query: Query, dimension: Dimension, limit: int
    ) -> pb.GetBreakdownResponse:
        async def build(conn: Connection) -> pb.GetBreakdownResponse:
            # filtered reads scan raw events: the roll-ups hold no combinations of values
            if query.filters or not report_rollups.rolled_up(dimension):
                rows = await reports.breakdown(conn, query, dimension, limit)
            else:
                rows = await report_rollups.breakdown(conn, query.window, dimension, limit)
                self._parts.spans.ask(query.window)
            return pb.GetBreakdownResponse(dimension=dimension.name, rows=rows)

        params = (dimension.name, str(limit))
        # every breakdown counts visits
        return await self._report(
            "breakdown", query, params, pb.GetBreakdownResponse, build, reads_visits=True
        )

    async def visits(self, query: Query) -> pb.GetVisitsResponse:
        async def build(conn: Connection) -> pb.GetVisitsResponse:
            if query.filters:
                return await reports.visits(conn, query)
            answer = await report_rollups.visits(conn, query.window)
            self._parts.spans.ask(query.window)
            return answer

        return await self._report(
            "visits", query, (), pb.GetVisitsResponse, build, reads_visits=True
        )

    async def goals(self, query: Query, asked: tuple[Goal, ...]) -> pb.GetGoalsResponse:
        async def build(conn: Connection) -> pb.GetGoalsResponse:
            return pb.GetGoalsResponse(goals=await reports.goals(conn, query, asked))

        params = [goal.text for goal in asked]
        return await self._report("goals", query, params, pb.GetGoalsResponse, build)

    async def funnel(self, query: Query, steps: tuple[Goal, ...]) -> pb.GetFunnelResponse:
        async def build(conn: Connection) -> pb.GetFunnelResponse:
            return pb.GetFunnelResponse(steps=await funnel.funnel(conn, query, steps))

        params = [step.text for step in steps]
        return await self._report(
            "funnel", query, params, pb.GetFunnelResponse, build, reads_visits=True
        )

    async def realtime(self, query: Query, limit: int) -> pb.GetRealtimeResponse:
        """Not cached: its window slides every second, so a stored answer would be another
        window's, and its read is a 5-minute index range; identical calls in flight together
        share one read."""

        async def load() -> bytes:
            async with self._pool.connection() as conn:
                return (await reports.realtime(conn, query, limit)).SerializeToString()

        key = f"realtime\x1f{query.window.site}\x1f{query.key()}\x1f{limit}"
        return pb.GetRealtimeResponse.FromString(
            await self._flight.run(key, lambda: self._query("realtime", load))
        )

    async def sites(self) -> pb.ListSitesResponse:
        """Not cached: a handful of rows, and a site just added should show at once."""
        self._db_reads.add(1, {"kind": "sites"})
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute("SELECT name, created_at FROM sites ORDER BY name")
                rows = await cursor.fetchall()
        except psycopg.OperationalError as error:
            raise unavailable(error) from error
        return pb.ListSitesResponse(
            sites=[pb.Site(name=name, created=loads.timestamp(created)) for name, created in rows]
        )

    async def dead_letters(
        self, limit: int, before_id: int | None, site: str | None
    ) -> pb.ListDeadLettersResponse:
        """Not cached: nothing invalidates it, and operators want what is there now."""
        self._db_reads.add(1, {"kind": "dead_letters"})
        try:
            async with self._pool.connection() as conn:
                items, last = await loads.dead_letters(conn, limit, before_id, site)
        except psycopg.OperationalError as error:
            raise unavailable(error) from error
        answer = pb.ListDeadLettersResponse(items=items)
        if last is not None:
            answer.next_cursor = str(last)
        return answer
