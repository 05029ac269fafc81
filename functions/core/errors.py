"""The one error tree of the platform; each stage maps it to HTTP/gRPC in one place."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass


class ClickstreamError(Exception):
    """Root of every error the platform raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One rule one input broke; `index` is the event's position in a batch."""

    field: str
    rule: str
    index: int | None = None

    def as_json(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "rule": self.rule}


class InvalidEvent(ClickstreamError, ValueError):
    """An event that can never be accepted; carries every problem found, not the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.rule}" for p in problems))


class InvalidArgument(ClickstreamError, ValueError):
    """A bad query argument, named by `field`."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class DependencyUnavailable(ClickstreamError, ConnectionError):
    """A backing service (Kafka, PostgreSQL, Redis, query) cannot serve right now.

    `str()` carries the dependency's own words (a host, a port, a statement) for the log;
    a client is told `PUBLIC` only (docs/security.md)."""

    PUBLIC = "a service this answer needs is unavailable; retry shortly"

    def __init__(self, dependency: str, detail: str) -> None:
        self.dependency = dependency
        super().__init__(f"{dependency} unavailable: {detail}")


_LOG_EVERY_S = 10.0
_last_logged: dict[str, float] = {}


def log_unavailable(log: logging.Logger, error: DependencyUnavailable) -> None:
    """Log `error` in full, at most once per 10 s per dependency: an outage answered at
    hundreds of requests a second would otherwise drown the log in one line."""
    now = time.monotonic()
    if now - _last_logged.get(error.dependency, -_LOG_EVERY_S) >= _LOG_EVERY_S:
        _last_logged[error.dependency] = now
        log.warning("%s", error)


class ConfigError(ClickstreamError, ValueError):
    """A misconfigured environment variable, named so start-up fails in one line."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem}")
