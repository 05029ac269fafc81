"""Report filters (`<dimension>:<op>:<value>`, ANDed) and the one typed query every report reads.

A filter becomes a condition over its dimension's expression with the value bound as a
parameter, never written into the SQL. Where a report counts events, an event-level filter
tests the event and a visit-level one the event's visit; where it counts visits, a
visit-level filter tests the visit and event-level ones ask for an event of the visit in the
window that passes them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast, get_args

import msgspec
from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.errors import InvalidArgument
from functions.core.events import site_argument
from functions.core.goals import MAX_VALUE_LENGTH
from functions.core.spans import Grain
from functions.query import validate
from functions.query.dimensions import PROP_PREFIX, Dimension, dimension
from functions.query.validate import Window

Op = Literal["is", "is_not", "contains", "contains_not"]
OPS: tuple[str, ...] = get_args(Op)
MAX_FILTERS = 20
# DESIGN.md "Visits and reports": a visit ends after 30 minutes without an event
VISIT_GAP = timedelta(minutes=30)
# realtime: the last 5 minutes, and up to 5 minutes ahead, which ingest accepts from a clock
# running fast: a visitor whose clock is ahead is on the site now too
REALTIME = timedelta(minutes=5)
FIELD = "filter"

# the visit key of an event `e` (migration 0012): its session, else its user
VISIT_KEY = "coalesce('s:' || e.session_id, 'u:' || e.user_id)"
# The visit of an event `e`, as the event names it (migration 0020: the start of its visit,
# NULL for an event stored before visits were kept, which is in none): a visit's id in text,
# its start as epoch seconds, not as timestamptz text, which would follow the session's
# TimeZone and DateStyle (the roll-ups' sketches hash it: builder and reader must agree)...
VISIT_ID = f"{VISIT_KEY} || '@' || extract(epoch FROM e.visit_started_at)::text"
# ... and the visit `v` itself, by its primary key
VISIT_OF_EVENT = (
    f"v.site = e.site AND v.visit_key = {VISIT_KEY} AND v.started_at = e.visit_started_at"
)


@dataclass(frozen=True, slots=True)
class Filter:
    dimension: Dimension
    op: Op
    value: str

    @property
    def text(self) -> str:
        return f"{self.dimension.name}:{self.op}:{self.value}"

    def condition(self) -> tuple[str, list[object]]:
        expression, params = self.dimension.sql, list(self.dimension.params)
        if self.op == "is":
            return f"{expression} = %s", [*params, self.value]
        if self.op == "is_not":
            return f"{expression} <> %s", [*params, self.value]
        pattern = f"%{_escape_like(self.value)}%"
        if self.op == "contains_not":
            return f"{expression} NOT LIKE %s", [*params, pattern]
        return f"{expression} LIKE %s", [*params, pattern]


def _escape_like(value: str) -> str:
    """`value` matched literally by LIKE (whose default escape character is `\\`)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse_filter(text: str) -> Filter:
    """`<dimension>:<op>:<value>`; `prop:<key>` is a dimension, and the value may hold `:`."""
    name, _, rest = text.partition(":")
    if name == PROP_PREFIX.rstrip(":"):
        key, _, rest = rest.partition(":")
        name = f"{PROP_PREFIX}{key}"
    op, colon, value = rest.partition(":")
    if not colon:
        raise InvalidArgument(FIELD, f"{text[:64]!r} is not <dimension>:<op>:<value>")
    found = dimension(name, FIELD)
    if op not in OPS:
        raise InvalidArgument(FIELD, f"unknown op {op[:32]!r}: use one of {', '.join(OPS)}")
    if not value or len(value) > MAX_VALUE_LENGTH or "\x00" in value:
        raise InvalidArgument(
            FIELD, f"a filter's value must be 1-{MAX_VALUE_LENGTH} characters without NUL"
        )
    return Filter(found, cast(Op, op), value)


def parse_filters(texts: Sequence[str]) -> tuple[Filter, ...]:
    if len(texts) > MAX_FILTERS:
        raise InvalidArgument(FIELD, f"at most {MAX_FILTERS} filters")
    return tuple(parse_filter(text) for text in texts)


def _all(filters: Sequence[Filter]) -> tuple[str, list[object]]:
    sql: list[str] = []
    params: list[object] = []
    for each in filters:
        condition, bound = each.condition()
        sql.append(condition)
        params += bound
    return " AND ".join(sql) or "true", params


@dataclass(frozen=True, slots=True)
class Query:
    """What every report reads: one site's window, under filters."""

    window: Window
    filters: tuple[Filter, ...] = ()

    def _level(self, level: str) -> list[Filter]:
        return [f for f in self.filters if f.dimension.level == level]

    @property
    def reads_visits(self) -> bool:
        """Whether a filter tests visits, whose rows depend on events outside the window."""
        return bool(self._level("visit"))

    def key(self) -> str:
        """The filters in a cache key: JSON, so no two lists of filters share one."""
        return msgspec.json.encode([f.text for f in self.filters]).decode()

    def events_where(self) -> tuple[str, list[object]]:
        """The filters as a condition over an event `e`."""
        sql, params = _all(self._level("event"))
        visit_level = self._level("visit")
        if visit_level:
            on_visit, bound = _all(visit_level)
            sql += f" AND EXISTS (SELECT 1 FROM visits v WHERE {VISIT_OF_EVENT} AND {on_visit})"
            params += bound
        return sql, params

    def visits_where(self) -> tuple[str, list[object]]:
        """The filters as a condition over a visit `v` started in the window: it passes them,
        and holds an event of the window that passes every event-level one (as Plausible
        reads sessions under event filters). The passing events name their visits
        (migration 0020), so the visits are looked up from them, not each visit's events
        searched for one."""
        sql, params = _all(self._level("visit"))
        event_level = self._level("event")
        if event_level:
            on_event, bound = _all(event_level)
            window = self.window
            sql += f""" AND (v.visit_key, v.started_at) IN (
                SELECT {VISIT_KEY}, e.visit_started_at FROM click_events e
                WHERE e.site = %s AND e.time_stamp >= %s AND e.time_stamp < %s
                  AND e.visit_started_at >= %s AND {on_event})"""
            params += [window.site, window.start, window.end, window.start, *bound]
        return sql, params


def query(range_: pb.TimeRange, site: str, texts: Sequence[str], grain: Grain = "minute") -> Query:
    """A report's request, parsed once."""
    return Query(validate.window(range_, site, grain), parse_filters(texts))


def realtime_query(site: str, texts: Sequence[str], now: datetime | None = None) -> Query:
    moment = now or datetime.now(UTC)
    window = Window(site_argument(site), moment - REALTIME, moment + REALTIME)
    return Query(window, parse_filters(texts))
