"""Click events with realistic shape: Zipf over users and pages, duplicates, invalid ones.

Pure generation, no I/O: the same seed gives the same stream.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from functions.bench.zipf import Zipf

Event = dict[str, str]
_encode = msgspec.json.Encoder().encode
RECENT_EVENTS = 10_000  # duplicates are drawn from this many latest events


@dataclass(frozen=True, slots=True)
class Mix:
    """The shape of a stream: how many users and pages, how skewed, how dirty."""

    users: int = 10_000
    pages: int = 1_000
    zipf_s: float = 1.1
    duplicate_ratio: float = 0.0
    invalid_ratio: float = 0.0

    def __post_init__(self) -> None:
        for name in ("duplicate_ratio", "invalid_ratio"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")


def user_id(run: str, rank: int) -> str:
    return f"{run}-u{rank}"


def page_url(rank: int) -> str:
    return f"/page/{rank}"


@dataclass
class EventStream:
    """Events of one run; every `event_id` starts with `run`, so runs never collide."""

    run: str
    mix: Mix = field(default_factory=Mix)
    seed: int = 1
    emitted: int = 0
    duplicates: int = 0
    invalid: int = 0
    _recent: deque[Event] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._users = Zipf(self.mix.users, self.mix.zipf_s, self._rng)
        self._pages = Zipf(self.mix.pages, self.mix.zipf_s, self._rng)

    def next_event(self, at: datetime | None = None) -> tuple[Event, bool]:
        """The next event and whether it is valid (an invalid one breaks three rules)."""
        self.emitted += 1
        roll = self._rng.random()
        if roll < self.mix.invalid_ratio:
            self.invalid += 1
            bad = {"event_id": f"{self.run}-bad-{self.emitted}", "user_id": ""}
            return bad | {"event_type": "", "page_url": "nowhere"}, False
        if self._recent and roll < self.mix.invalid_ratio + self.mix.duplicate_ratio:
            self.duplicates += 1
            return self._rng.choice(self._recent), True
        event = {
            "event_id": f"{self.run}-{self.emitted}",
            "user_id": user_id(self.run, self._users.sample()),
            "event_type": "click" if self._rng.random() < 0.7 else "pageview",
            "page_url": page_url(self._pages.sample()),
            "time_stamp": (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        }
        self._recent.append(event)
        return event, True

    def batch(self, size: int) -> tuple[list[Event], int]:
        """`size` events and how many of them are valid."""
        events, valid = [], 0
        for _ in range(size):
            event, ok = self.next_event()
            events.append(event)
            valid += ok
        return events, valid


def json_body(document: object) -> bytes:
    return _encode(document)
