"""Plausible's Stats API v2 request (`POST /api/v2/query`) parsed into one typed query over our
report model (DESIGN.md "Plausible compatibility"); no I/O here.

Dimension names map one to one onto ours; filters become our `<dimension>:<op>:<value>`
texts (several ANDed, `not` flipping `is`/`contains`); what has no counterpart (`or`,
several values in one filter, goals, imports, segments, a second dimension) is refused
naming it, as Plausible refuses what it does not know. Sites keep UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from functions.core.errors import ClickstreamError
from functions.core.events import valid_site
from functions.query.dimensions import PROP_PREFIX
from functions.query.validate import EARLIEST, MAX_LIMIT, MAX_RANGE

LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # far from datetime's end: buckets step past it

METRICS = (
    "visitors",
    "visits",
    "pageviews",
    "events",
    "bounce_rate",
    "visit_duration",
    "views_per_visit",
    "percentage",
)
DIMENSIONS = {
    "event:page": "page",
    "event:name": "event_type",
    "visit:entry_page": "entry_page",
    "visit:exit_page": "exit_page",
    "visit:source": "referrer",
    "visit:referrer": "referrer",
    "visit:utm_source": "utm_source",
    "visit:utm_medium": "utm_medium",
    "visit:utm_campaign": "utm_campaign",
    "visit:browser": "browser",
    "visit:os": "os",
    "visit:device": "device",
    "visit:country": "country",
}
PROPS = "event:props:"
VISIT_GOAL = "Visit "
TimeGrain = Literal["hour", "day", "week", "month"]
TIME_DIMENSIONS: dict[str, TimeGrain] = {
    "time": "day",
    "time:hour": "hour",
    "time:day": "day",
    "time:week": "week",
    "time:month": "month",
}
MAX_FILTER_DEPTH = 8
MAX_TIME_BUCKETS = 750  # 31 days of hours
DEFAULT_LIMIT = 10_000  # Plausible's; we answer at most MAX_LIMIT rows of a breakdown
_FLIPPED = {"is": "is_not", "is_not": "is", "contains": "contains_not", "contains_not": "contains"}
_REQUEST_KEYS = frozenset(
    (
        "site_id",
        "metrics",
        "date_range",
        "dimensions",
        "filters",
        "order_by",
        "include",
        "pagination",
    )
)


class Unsupported(ClickstreamError, ValueError):
    """A Stats API request we cannot answer: 400 `{"error": message}`, as Plausible."""


@dataclass(frozen=True, slots=True)
class StatsQuery:
    site: str
    metrics: tuple[str, ...]
    start: datetime
    end: datetime  # exclusive
    dimensions: tuple[str, ...] = ()  # as asked (Plausible's names)
    filters: tuple[str, ...] = ()  # ours
    order_by: tuple[tuple[str, str], ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    include: dict[str, object] = field(default_factory=dict)
    echo: dict[str, object] = field(default_factory=dict)  # the request, for `query`

    @property
    def dimension(self) -> str | None:
        """Ours, for the one non-time dimension asked."""
        asked = self.dimensions[0] if self.dimensions else None
        if asked is None or asked in TIME_DIMENSIONS:
            return None
        return DIMENSIONS.get(asked) or PROP_PREFIX + asked.removeprefix(PROPS)

    @property
    def grain(self) -> TimeGrain | None:
        return TIME_DIMENSIONS.get(self.dimensions[0]) if self.dimensions else None


def _list(document: dict[str, object], name: str) -> list[object]:
    value = document.get(name, [])
    if not isinstance(value, list):
        raise Unsupported(f"Invalid {name}: must be a list")
    return value


def _metrics(document: dict[str, object]) -> tuple[str, ...]:
    asked = _list(document, "metrics")
    if not asked:
        raise Unsupported("#/metrics: Expected a minimum of 1 items")
    for metric in asked:
        if metric not in METRICS:
            raise Unsupported(f"Unsupported metric {metric!r}: use {', '.join(METRICS)}")
    return tuple(str(m) for m in asked)


def _dimension(name: object) -> str:
    if not isinstance(name, str):
        raise Unsupported("Invalid dimensions: each must be a string")
    if name in DIMENSIONS or name in TIME_DIMENSIONS:
        return name
    if name.startswith(PROPS) and name != PROPS:
        return name
    raise Unsupported(f"Unsupported dimension {name!r}")


def _day(text: object) -> datetime:
    if not isinstance(text, str):
        raise Unsupported("Invalid date_range: dates must be strings")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Unsupported(f"Invalid date_range: {text[:40]!r} is not an ISO 8601 date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _months_back(today: date, months: int) -> datetime:
    month = today.year * 12 + today.month - 1 - months
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)


def date_range(value: object, now: datetime) -> tuple[datetime, datetime]:
    """Plausible's `date_range` as [start, end), whole UTC days; at most MAX_RANGE."""
    today = now.astimezone(UTC).date()
    midnight = datetime.combine(today, time(), UTC)
    tomorrow = midnight + timedelta(days=1)
    next_month = _months_back(today, -1)
    if isinstance(value, list) and len(value) == 2:
        start, end = _day(value[0]), _day(value[1])
        if not (start >= EARLIEST and end < LATEST):
            raise Unsupported(f"Invalid date_range: between {EARLIEST.year} and {LATEST.year}")
        if isinstance(value[1], str) and len(value[1]) == 10:  # a date: the whole day
            end += timedelta(days=1)
    elif value == "day":
        start, end = midnight, tomorrow
    elif value == "7d":  # today and the 6 days before, as Plausible counts them
        start, end = midnight - timedelta(days=6), tomorrow
    elif value == "30d":  # today and the 30 days before, as Plausible counts them
        start, end = midnight - timedelta(days=30), tomorrow
    elif value in ("realtime", "30m"):
        start = now - timedelta(minutes=5 if value == "realtime" else 30)
        end = now + timedelta(seconds=5)
    elif value == "month":
        start, end = _months_back(today, 0), next_month
    elif value in ("6mo", "12mo"):
        start, end = _months_back(today, int(str(value)[:-2]) - 1), next_month
    elif value == "year":
        start, end = (
            datetime(today.year, 1, 1, tzinfo=UTC),
            datetime(today.year + 1, 1, 1, tzinfo=UTC),
        )
    elif value == "all":  # our reports span at most MAX_RANGE
        start, end = tomorrow - MAX_RANGE, tomorrow
    else:
        raise Unsupported(f"Invalid date_range {str(value)[:40]!r}")
    if end <= start:
        raise Unsupported("Invalid date_range: the end must be after the start")
    if end - start > MAX_RANGE:
        raise Unsupported(f"Invalid date_range: at most {MAX_RANGE.days} days")
    return start, end


def _filter(item: object, negated: bool = False, depth: int = 0) -> list[str]:
    """One Plausible filter as our ANDed filter texts."""
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise Unsupported(f"Invalid filter {str(item)[:80]}")
    if depth > MAX_FILTER_DEPTH:
        raise Unsupported(f"Unsupported filter: nested deeper than {MAX_FILTER_DEPTH}")
    op = item[0]
    if op == "and" and not negated and len(item) == 2 and isinstance(item[1], list):
        return [text for each in item[1] for text in _filter(each, False, depth + 1)]
    if op == "not" and len(item) == 2:
        return _filter(item[1], not negated, depth + 1)
    if op not in _FLIPPED:
        raise Unsupported(
            f"Unsupported filter operator {op!r}: use is, is_not, contains, contains_not, and, not"
        )
    if len(item) == 4 and item[3] not in ({}, {"case_sensitive": True}):
        raise Unsupported("Unsupported filter modifiers: only case_sensitive: true")
    if len(item) not in (3, 4):
        raise Unsupported(f"Invalid filter {str(item)[:80]}")
    name, values = item[1], item[2]
    if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str | int):
        raise Unsupported("Unsupported filter values: exactly one string per filter")
    value = str(values[0])
    if name == "event:goal":  # Plausible's goals: a custom event's name, or "Visit <page>"
        name = "event:page" if value.startswith(VISIT_GOAL) else "event:name"
        value = value.removeprefix(VISIT_GOAL)
    ours = DIMENSIONS.get(name) if isinstance(name, str) else None
    if ours is None and isinstance(name, str) and name.startswith(PROPS):
        ours = PROP_PREFIX + name.removeprefix(PROPS)
    if ours is None:
        raise Unsupported(f"Unsupported filter dimension {str(name)[:64]!r}")
    return [f"{ours}:{_FLIPPED[op] if negated else op}:{value}"]


def _order_by(document: dict[str, object], allowed: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found = []
    for item in _list(document, "order_by"):
        if (
            not isinstance(item, list)
            or len(item) != 2
            or item[0] not in allowed
            or item[1] not in ("asc", "desc")
        ):
            raise Unsupported(f"Invalid order_by {str(item)[:80]}: [metric or dimension, asc|desc]")
        found.append((str(item[0]), str(item[1])))
    return tuple(found)


def _pagination(document: dict[str, object]) -> tuple[int, int]:
    given = document.get("pagination", {})
    if not isinstance(given, dict):
        raise Unsupported("Invalid pagination: {limit, offset}")
    limit, offset = given.get("limit", DEFAULT_LIMIT), given.get("offset", 0)
    if not isinstance(limit, int) or not isinstance(offset, int) or limit < 1 or offset < 0:
        raise Unsupported("Invalid pagination: limit >= 1 and offset >= 0, integers")
    if offset >= MAX_LIMIT:
        raise Unsupported(f"Unsupported pagination: at most the first {MAX_LIMIT} rows")
    return limit, offset


def parse(document: object, now: datetime | None = None) -> StatsQuery:
    """A Stats API v2 request body (decoded JSON) as one query."""
    if not isinstance(document, dict):
        raise Unsupported("Invalid request body: a JSON object is expected")
    unknown = set(document) - _REQUEST_KEYS
    if unknown:
        raise Unsupported(f"Unsupported request keys: {', '.join(sorted(map(str, unknown)))}")
    site = document.get("site_id")
    if not isinstance(site, str) or not valid_site(site):
        raise Unsupported("Invalid site_id: a site's name (a-z, 0-9, '.' and '-')")
    metrics = _metrics(document)
    dimensions = tuple(_dimension(d) for d in _list(document, "dimensions"))
    if len(dimensions) > 1:
        raise Unsupported("Unsupported dimensions: at most one dimension per query")
    if "percentage" in metrics and not dimensions:
        raise Unsupported("Metric `percentage` can only be queried with a dimension")
    start, end = date_range(document.get("date_range"), now or datetime.now(UTC))
    filters = [text for item in _list(document, "filters") for text in _filter(item)]
    limit, offset = _pagination(document)
    include = document.get("include", {})
    if not isinstance(include, dict):
        raise Unsupported("Invalid include: an object")
    order_by = _order_by(document, (*metrics, *dimensions))
    return StatsQuery(
        site=site,
        metrics=metrics,
        start=start,
        end=end,
        dimensions=dimensions,
        filters=tuple(filters),
        order_by=order_by,
        limit=limit,
        offset=offset,
        include=include,
        echo={
            **document,
            "date_range": [start.isoformat(), (end - timedelta(seconds=1)).isoformat()],
            "filters": document.get("filters", []),
            "dimensions": list(dimensions),
            "order_by": [list(item) for item in order_by],
            "include": include,
            "pagination": {"limit": limit, "offset": offset},
        },
    )


def time_buckets(start: datetime, end: datetime, grain: TimeGrain) -> list[datetime]:
    """The starts of the `grain` buckets over [start, end) (weeks start on Monday)."""
    if grain == "hour":
        first, step = start.replace(minute=0, second=0, microsecond=0), timedelta(hours=1)
    else:
        first, step = datetime.combine(start.date(), time(), UTC), timedelta(days=1)
        if grain == "week":
            first, step = first - timedelta(days=first.weekday()), timedelta(weeks=1)
    found: list[datetime] = []
    moment = first.replace(day=1) if grain == "month" else first
    while moment < end:
        found.append(moment)
        if len(found) > MAX_TIME_BUCKETS:
            raise Unsupported(f"Unsupported: more than {MAX_TIME_BUCKETS} time buckets")
        moment = _months_back(moment.date(), -1) if grain == "month" else moment + step
    return found


def time_label(moment: datetime, grain: TimeGrain) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if grain == "hour" else moment.date().isoformat()
