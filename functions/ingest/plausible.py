"""Plausible's Events API (`POST /api/event`) decoded into clicks (no I/O here).

A request is one JSON object, whatever its content type (Plausible's tracker sends
`text/plain`), with Plausible's long field names or its tracker's short ones. `domain` names
the site (several, comma-separated: one event for each), `name` the event type, `url` the page
(its path; UTM tags are read from its query string), `props` the properties (an object, or
the tracker's JSON string), `revenue` two more properties (`revenue_amount`,
`revenue_currency`). `interactive` is checked and not kept: every event counts for bounces.

Plausible events carry no id, so the id is derived from the request: a hash of the site, the
cookieless visitor (site, address, User-Agent, the day's salt), every field sent and the
`REPEAT_WINDOW_S` window the request arrived in. A request retried within that window
yields the same id, which `process` stores once; the same visitor sending the very same event
twice within the window also counts once, and a retry that crosses into the next window
counts twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec

from functions.core.errors import InvalidEvent, Problem
from functions.core.events import NO_HINTS, ClickEvent, parse_event, valid_site
from functions.ingest.decode import Decoded, Enrich, VisitorIds
from functions.ingest.enrich import utm

SOURCE = "/plausible/api/event"
REPEAT_WINDOW_S = 10
MAX_DOMAINS = 10
SHORT_NAMES = {
    "n": "name",
    "u": "url",
    "d": "domain",
    "r": "referrer",
    "p": "props",
    "m": "props",  # the tracker's name for props before it was `p`
    "meta": "props",
    "$": "revenue",
    "i": "interactive",
    "h": "hashMode",
}
_SCALAR = str | int | float | bool


class Revenue(msgspec.Struct, forbid_unknown_fields=True):
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    amount: Annotated[float, msgspec.Meta(ge=0)] | Annotated[str, msgspec.Meta(max_length=32)]


def long_names(document: Mapping[str, Any]) -> dict[str, Any]:
    """The request with the tracker's short names spelled long (a long name wins)."""
    short = {SHORT_NAMES[k]: v for k, v in document.items() if k in SHORT_NAMES}
    return short | {k: v for k, v in document.items() if k not in SHORT_NAMES}


def _domains(value: object) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent([Problem("site", "required: `domain`, the site's name")])
    names = list(dict.fromkeys(name.strip().lower() for name in value.split(",")))
    if len(names) > MAX_DOMAINS:
        raise InvalidEvent([Problem("site", f"at most {MAX_DOMAINS} comma-separated domains")])
    bad = [name for name in names if not valid_site(name)]
    if bad:
        rule = "each domain must be 1-253 characters of a-z, 0-9, '.' and '-'"
        raise InvalidEvent([Problem("site", rule)])
    return names


def _page(url: object, hash_mode: object) -> str:
    """`url`'s path (and fragment, in the tracker's hash mode), as Plausible's `event:page`."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidEvent([Problem("page_url", "required: `url`, an absolute http(s) URL")])
    page = parts.path or "/"
    return f"{page}#{parts.fragment}" if hash_mode and parts.fragment else page


def _properties(props: object, revenue: object) -> dict[str, str] | None:
    """Plausible's props as text values (as it keeps them), and the revenue's two."""
    if isinstance(props, str):  # the tracker's `p` is the object JSON-encoded
        try:
            props = msgspec.json.decode(props)
        except msgspec.DecodeError:
            raise InvalidEvent([Problem("properties", "`props` must be a JSON object")]) from None
    if props is not None and not isinstance(props, dict):
        raise InvalidEvent([Problem("properties", "`props` must be a JSON object")])
    found: dict[str, str] = {}
    for key, value in (props or {}).items():
        if value is None:
            continue
        if not isinstance(value, _SCALAR):
            rule = "`props` values must be strings, numbers or booleans"
            raise InvalidEvent([Problem("properties", rule)])
        found[key] = str(value).lower() if isinstance(value, bool) else str(value)
    if revenue is not None:
        try:
            money = msgspec.convert(revenue, Revenue)
        except msgspec.ValidationError as error:
            rule = f"`revenue` must be {{currency, amount}}: {error}"
            raise InvalidEvent([Problem("revenue", rule)]) from None
        found |= {"revenue_amount": str(money.amount), "revenue_currency": money.currency}
    return found or None


def event_id(site: str, user_id: str, fields: Mapping[str, Any], received_at: datetime) -> str:
    """The id of a request's event for `site` (see the module's docstring)."""
    window = int(received_at.timestamp()) // REPEAT_WINDOW_S
    key = msgspec.json.encode([site, user_id, window, fields], order="sorted")
    return "pl-" + hashlib.blake2b(key, digest_size=16).hexdigest()


def decode(
    headers: Mapping[str, str],
    body: bytes,
    *,
    received_at: datetime,
    site: str | None,
    enrich: Enrich | None = None,
    visitors: VisitorIds | None = None,
) -> Decoded:
    """One Events API request as the clicks of its domains; any problem rejects it whole,
    as Plausible does. `site` (a write key's) replaces the domains."""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise InvalidEvent([Problem("$", f"malformed JSON: {error}")]) from None
    if not isinstance(document, dict):
        raise InvalidEvent([Problem("$", "must be a JSON object")])
    fields = long_names(document)
    sites = [site] if site is not None else _domains(fields.get("domain"))
    page = _page(fields.get("url"), fields.get("hashMode"))
    properties = _properties(fields.get("props"), fields.get("revenue"))
    if fields.get("interactive") is not None and not isinstance(fields["interactive"], bool):
        raise InvalidEvent([Problem("interactive", "`interactive` must be true or false")])
    decoded = Decoded()
    for name in sites:
        raw: dict[str, Any] = {
            "event_type": fields.get("name"),
            "page_url": page,
            "referrer": fields.get("referrer") or None,
            "properties": properties,
            "site": name,
            "source": SOURCE,
        }
        if visitors is not None:
            raw["user_id"] = visitors(name, NO_HINTS)
            raw["event_id"] = event_id(name, raw["user_id"], fields, received_at)
        click = parse_event(raw, received_at=received_at, site=name)
        if enrich is not None:
            enriched = enrich(click, NO_HINTS)
            if enriched is None:
                decoded.bots += 1
                continue
            click = _tagged(enriched, fields["url"])
        decoded.events.append(click)
    return decoded


def _tagged(click: ClickEvent, url: str) -> ClickEvent:
    """The UTM tags of the full URL (the page kept only its path)."""
    source, medium, campaign = utm(url)
    return msgspec.structs.replace(
        click, utm_source=source, utm_medium=medium, utm_campaign=campaign
    )
