"""The gateway's own refusals, beside the platform's `InvalidArgument`/`DependencyUnavailable`."""

from __future__ import annotations

from functions.core.errors import ClickstreamError


class RouteNotFound(ClickstreamError, LookupError):
    """No route, or no file of the dashboard, at this path."""


class MethodNotAllowed(ClickstreamError, ValueError):
    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        super().__init__(f"use {' or '.join(allowed)}")


class Unauthorized(ClickstreamError, PermissionError):
    """Tokens are configured and the request carried none that the route accepts."""


class Forbidden(ClickstreamError, PermissionError):
    """The request carried a valid token whose scope does not cover the route (a read
    token on an admin route), or the site it names (`field`: `site`)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)
