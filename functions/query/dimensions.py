"""The reports' dimensions (DESIGN.md "Visits and reports"), as data: each name's SQL expression
and the level it lives at. A new dimension is one entry of DIMENSIONS.

An event-level expression reads click_events as `e`, a visit-level one visits as `v`. Every
expression is non-null (a missing value reads as a named placeholder), so `is_not` keeps the
rows that lack the value and an answer row always has a value to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from functions.core.errors import InvalidArgument

Level = Literal["event", "visit"]
PROP_PREFIX = "prop:"
MAX_PROP_KEY_LENGTH = 256


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    level: Level
    sql: str  # an expression over `e` (event level) or `v` (visit level)
    params: tuple[object, ...] = ()  # bound to the expression's placeholders, in order


def _missing(column: str, placeholder: str) -> str:
    return f"coalesce({column}, '{placeholder}')"


DIMENSIONS: dict[str, Dimension] = {
    dimension.name: dimension
    for dimension in (
        Dimension("page", "event", "e.page_url"),
        Dimension("entry_page", "visit", "v.entry_page"),
        Dimension("exit_page", "visit", "v.exit_page"),
        Dimension("event_type", "event", "e.event_type"),
        Dimension("referrer", "event", _missing("e.referrer_host", "(direct)")),
        Dimension("utm_source", "event", _missing("e.utm_source", "(none)")),
        Dimension("utm_medium", "event", _missing("e.utm_medium", "(none)")),
        Dimension("utm_campaign", "event", _missing("e.utm_campaign", "(none)")),
        Dimension("browser", "event", _missing("e.browser", "(unknown)")),
        Dimension("os", "event", _missing("e.os", "(unknown)")),
        Dimension("device", "event", _missing("e.device", "(unknown)")),
        Dimension("country", "event", _missing("e.country", "(unknown)")),
    )
}
NAMES = (*DIMENSIONS, f"{PROP_PREFIX}<key>")


def _property(key: str, field: str) -> Dimension:
    """`prop:<key>`: a top-level key of the event's properties, its value as text; the key
    travels as a bound parameter, never in the SQL."""
    if not key or len(key) > MAX_PROP_KEY_LENGTH or not key.isprintable() or ":" in key:
        raise InvalidArgument(
            field,
            f"a property key must be 1-{MAX_PROP_KEY_LENGTH} printable characters without ':'",
        )
    return Dimension(
        f"{PROP_PREFIX}{key}", "event", _missing("e.properties ->> %s", "(none)"), (key,)
    )


def dimension(name: str, field: str = "dimension") -> Dimension:
    """The dimension called `name`; an unknown one fails naming `field`."""
    if not name:
        raise InvalidArgument(field, "is required")
    if name.startswith(PROP_PREFIX):
        return _property(name.removeprefix(PROP_PREFIX), field)
    found = DIMENSIONS.get(name)
    if found is None:
        raise InvalidArgument(
            field, f"unknown dimension {name[:64]!r}: use one of {', '.join(NAMES)}"
        )
    return found
