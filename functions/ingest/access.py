"""Who may send: write keys (compared in constant time) and CORS for browser senders."""

from __future__ import annotations

from collections.abc import Mapping

from functions.core.errors import ClickstreamError, DependencyUnavailable
from functions.core.sites import KeyRing

CORS_METHODS = "POST, OPTIONS"
CORS_HEADERS = (
    "content-type, authorization, ce-specversion, ce-id, ce-source, ce-type, ce-time, "
    "ce-subject, ce-dataschema"
)
CORS_MAX_AGE_S = "86400"


class Unauthorized(ClickstreamError, PermissionError):
    """Write keys are configured and the request carried none that is valid."""


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """`Authorization: Bearer <key>`, or `?key=` for beacons (which cannot set headers)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return query.get("key") or None


def site_for(ring: KeyRing, presented: str | None) -> str | None:
    """The site of the write key presented; None when none is presented and no write key
    exists (the events name their own site). A key that is not a valid write key is refused
    even then: its events belong to some site, and not to whichever one they name. Until the
    ring first loaded from PostgreSQL only the environment's keys are known: anything else
    is answered 503 (retried), never let in unchecked."""
    grant = ring.grant(presented) if presented else None
    if grant is not None and grant.scope == "write" and grant.site is not None:
        return grant.site
    if not ring.loaded:
        raise DependencyUnavailable("postgresql", "write keys are not loaded yet; retry")
    if presented or ring.any_keys("write"):
        raise Unauthorized("a valid write key is required (Authorization: Bearer or ?key=)")
    return None


def cors_headers(allowed: tuple[str, ...], origin: str | None) -> dict[str, str]:
    """CORS answer headers for `origin`; none when it is not on the allow-list."""
    if not origin or not allowed:
        return {}
    if "*" in allowed:
        return {"Access-Control-Allow-Origin": "*"}
    if origin.rstrip("/") in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


def preflight_headers(allowed: tuple[str, ...], origin: str | None) -> dict[str, str]:
    base = cors_headers(allowed, origin)
    if not base:
        return {}
    return base | {
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": CORS_MAX_AGE_S,
    }
