"""Report filters (`<dimension>:<op>:<value>`, ANDed) and the one typed query every report reads.

A filter becomes a condition over its dimension's expression with the value bound as a
parameter, never written into the SQL. Where a report counts events, an event-level filter
tests the event and a visit-level one the event's visit; where it counts visits, a
visit-level filter tests the visit and event-level ones ask for an event of the visit that
passes them all.
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
# the visit `v` an event `e` belongs to
VISIT_OF_EVENT = (
    f"v.site = e.site AND v.visit_key = {VISIT_KEY}"
    " AND v.started_at <= e.time_stamp AND e.time_stamp <= v.ended_at"
)
# The visit `v` of an event `e` as a subquery to join LATERAL, one probe of the visits'
# primary key per event: a key's visits never overlap, so it is the last one starting by the
# event's time, if that one lasts until it. A nested-loop join on VISIT_OF_EVENT reads every
# earlier visit of the key for each event (measured over 300,000 events: a filtered
# breakdown read 1.9M buffers that way, 0.4M this way). Where the planner can filter the
# visits first (EXISTS, the funnel's step events), a plain join on VISIT_OF_EVENT is cheaper.
VISIT_OF_EACH_EVENT = f"""
SELECT v.* FROM (
    SELECT * FROM visits AS v
    WHERE v.site = e.site AND v.visit_key = {VISIT_KEY}
      AND v.started_at <= e.time_stamp
    ORDER BY v.started_at DESC LIMIT 1
) AS v WHERE {VISIT_OF_EVENT}"""
# the events `e` of a visit `v`, one branch per kind of key, each a range of its own index
# (click_events_site_session_time, click_events_site_user_time)
_EVENTS_OF_VISIT = (
    "e.site = v.site AND e.time_stamp >= v.started_at AND e.time_stamp <= v.ended_at AND ",
    (
        "starts_with(v.visit_key, 's:') AND e.session_id = substr(v.visit_key, 3)",
        "starts_with(v.visit_key, 'u:') AND e.session_id IS NULL"
        " AND e.user_id = substr(v.visit_key, 3)",
    ),
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
        """The filters as a condition over a visit `v`: it passes them, and holds an event
        that passes every event-level one."""
        sql, params = _all(self._level("visit"))
        event_level = self._level("event")
        if event_level:
            on_event, bound = _all(event_level)
            common, branches = _EVENTS_OF_VISIT
            held = " OR ".join(
                f"EXISTS (SELECT 1 FROM click_events e WHERE {common}{branch} AND {on_event})"
                for branch in branches
            )
            sql += f" AND ({held})"
            params += bound * len(branches)
        return sql, params


def query(range_: pb.TimeRange, site: str, texts: Sequence[str], grain: Grain = "minute") -> Query:
    """A report's request, parsed once."""
    return Query(validate.window(range_, site, grain), parse_filters(texts))


def realtime_query(site: str, texts: Sequence[str], now: datetime | None = None) -> Query:
    moment = now or datetime.now(UTC)
    window = Window(site_argument(site), moment - REALTIME, moment + REALTIME)
    return Query(window, parse_filters(texts))
