"""`query`'s side of the data lifecycle (docs/lifecycle.md): erasing a person, exporting raw
events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from clickstream.analytics.v1 import analytics_pb2 as pb
from psycopg_pool import AsyncConnectionPool

from functions.core import erasure
from functions.core.cache import Cache
from functions.core.db import TRANSIENT, unavailable
from functions.core.events import ENRICHMENT_FIELDS
from functions.query.filters import Query
from functions.query.loads import timestamp

# rows per streamed message and per fetch from the server-side cursor: memory is bounded by
# one batch here and by gRPC's flow-control window in between, however long the range
EXPORT_BATCH = 1_000
# the columns exported, in ExportedEvent's order; the optional ones after the fifth
EXPORTED = (
    "event_id",
    "user_id",
    "event_type",
    "page_url",
    "time_stamp",
    "referrer",
    "session_id",
    "properties_json",
    *ENRICHMENT_FIELDS,
)
_OPTIONAL = EXPORTED[5:]
# oldest first: the (site, time_stamp, user_id) index gives the order, the event id breaks
# ties by an incremental sort of equal times only, so nothing is sorted whole
_EXPORT = """
SELECT e.event_id, e.user_id, e.event_type, e.page_url, e.time_stamp, e.referrer, e.session_id,
       e.properties::text, e.browser, e.os, e.device, e.country, e.referrer_host,
       e.utm_source, e.utm_medium, e.utm_campaign
FROM click_events e
WHERE e.site = %s AND e.time_stamp >= %s AND e.time_stamp < %s AND {where}
ORDER BY e.time_stamp, e.event_id
"""


def _exported(row: tuple[Any, ...]) -> pb.ExportedEvent:
    event_id, user_id, event_type, page_url, moment = row[:5]
    optional = {name: value for name, value in zip(_OPTIONAL, row[5:], strict=True) if value}
    return pb.ExportedEvent(
        event_id=event_id,
        user_id=user_id,
        event_type=event_type,
        page_url=page_url,
        time_stamp=timestamp(moment),
        **optional,
    )


class Lifecycle:
    def __init__(self, pool: AsyncConnectionPool, cache: Cache, erasure_key: bytes | None) -> None:
        self._pool = pool
        self._cache = cache
        self._erasure_key = erasure_key

    async def erase(self, site: str, user_id: str, actor: str) -> pb.EraseUserResponse:
        try:
            async with self._pool.connection() as conn:
                erased = await erasure.erase(
                    conn, self._cache, site, user_id, actor, self._erasure_key
                )
        except TRANSIENT as error:
            raise unavailable(error) from error
        return pb.EraseUserResponse(
            erasure_id=erased.id, erased_at=timestamp(erased.erased_at), rows=erased.removed
        )

    async def export(self, query: Query) -> AsyncIterator[pb.ExportEventsBatch]:
        """The raw events of `query`, a batch at a time, from one server-side cursor (one
        snapshot, one pooled connection held until the last batch is sent)."""
        where, params = query.events_where()
        window = query.window
        bounds: list[object] = [window.site, window.start, window.end]
        try:
            async with (
                self._pool.connection() as conn,
                conn.transaction(),
                conn.cursor(name="export") as cursor,
            ):
                cursor.itersize = EXPORT_BATCH
                await cursor.execute(_EXPORT.format(where=where), [*bounds, *params])
                while rows := await cursor.fetchmany(EXPORT_BATCH):
                    yield pb.ExportEventsBatch(events=[_exported(row) for row in rows])
        except TRANSIENT as error:
            raise unavailable(error) from error
