"""Who may send: write keys (compared in constant time) and CORS for browser senders."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from functions.core.errors import ClickstreamError

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


def site_for(write_keys: Mapping[str, str], presented: str | None) -> str | None:
    """The site a valid key names (the CloudEvent `source`); None when keys are off.

    Every configured key is compared, so timing tells nothing about which one nearly matched.
    """
    if not write_keys:
        return None
    site = None
    candidate = (presented or "").encode()
    for key, key_site in write_keys.items():
        if hmac.compare_digest(candidate, key.encode()):
            site = key_site
    if site is None:
        raise Unauthorized("a valid write key is required (Authorization: Bearer or ?key=)")
    return site


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
