"""Goals (DESIGN.md "Visits and reports"): `event_type:<name>` or `page:<path>`, each a condition
over an event `e` with its value bound as a parameter. Shared by `query`, which reads them,
and `gateway`, which checks them before a call under its own parameter names (`goal`, `step`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from functions.core.errors import InvalidArgument

# a goal's kind -> the column it tests
_COLUMNS = {"event_type": "e.event_type", "page": "e.page_url"}
MAX_GOALS = 20
MAX_VALUE_LENGTH = 2048
MIN_STEPS, MAX_STEPS = 2, 8


@dataclass(frozen=True, slots=True)
class Goal:
    text: str  # as asked, and as answered
    column: str
    value: str

    def condition(self) -> tuple[str, list[object]]:
        return f"{self.column} = %s", [self.value]


def goal(text: str, field: str) -> Goal:
    kind, colon, value = text.partition(":")
    if not colon or kind not in _COLUMNS:
        raise InvalidArgument(field, f"{text[:64]!r} is not event_type:<name> or page:<path>")
    if not value or len(value) > MAX_VALUE_LENGTH or "\x00" in value:
        raise InvalidArgument(
            field, f"a goal's value must be 1-{MAX_VALUE_LENGTH} characters without NUL"
        )
    return Goal(text, _COLUMNS[kind], value)


def goals(texts: Sequence[str], field: str, fewest: int, most: int) -> tuple[Goal, ...]:
    """Between `fewest` and `most` goals; a bad one fails naming `field`."""
    if not fewest <= len(texts) <= most:
        raise InvalidArgument(field, f"give between {fewest} and {most}")
    return tuple(goal(text, field) for text in texts)
