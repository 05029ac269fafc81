"""The click event: one typed model holding every rule, and its CloudEvent/Kafka mappings."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from cloudevents.abstract import AnyCloudEvent
from cloudevents.http import CloudEvent
from cloudevents.kafka import KafkaMessage, to_binary

from functions.core.attributes import ATTRIBUTE_RULE, MAX_SOURCE_LENGTH, header_safe
from functions.core.errors import InvalidArgument, InvalidEvent, Problem

EVENT_TYPE = "io.clickstream.event.v1"
DEFAULT_SOURCE = "/clickstream/ingest"
MAX_FUTURE = timedelta(minutes=5)
MAX_PROPERTIES_BYTES = 4096

# enrichment values (functions/ingest/enrich.py keeps within these)
MAX_LABEL_LENGTH = 64
MAX_HOST_LENGTH = 253
MAX_UTM_LENGTH = 256
MAX_USER_AGENT_LENGTH = 2048

PageUrl = Annotated[
    str, msgspec.Meta(min_length=1, max_length=2048, pattern=r"^(https?://[^\s/]+[^\s]*|/[^\s]*)$")
]


Label = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_LABEL_LENGTH)]
# case-sensitive and free text, as Plausible's custom event names (`Outbound Link: Click`);
# control characters are refused with the other text fields' (`_TEXT_FIELDS`)
MAX_EVENT_TYPE_LENGTH = 120
EventType = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EVENT_TYPE_LENGTH)]
# a site (tenant) is named like a host: DESIGN.md, "The event"
DEFAULT_SITE = "default"
SITE_PATTERN = r"^[a-z0-9.-]{1,253}$"
Site = Annotated[str, msgspec.Meta(pattern=SITE_PATTERN)]
_SITE = re.compile(SITE_PATTERN)


def valid_site(name: str) -> bool:
    # fullmatch: `$` alone would let a final newline through
    return _SITE.fullmatch(name) is not None


def site_argument(value: str | None, field: str = "site") -> str:
    """A site named by a read (a query parameter, a proto field); empty or absent means
    `default`, so that calls from before sites keep working."""
    if not value:
        return DEFAULT_SITE
    if not valid_site(value):
        raise InvalidArgument(field, "must be 1-253 characters of a-z, 0-9, '.' and '-'")
    return value


Utm = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_UTM_LENGTH)]


class ClickEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A validated click; `event_id` is the idempotency key end to end."""

    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    event_type: EventType
    page_url: PageUrl
    time_stamp: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    referrer: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    session_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    properties: dict[str, Any] | None = None
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SOURCE_LENGTH)] = (
        DEFAULT_SOURCE
    )
    site: Site = DEFAULT_SITE
    # Enrichment: set by ingest only (`ENRICHMENT_FIELDS` are dropped from what a sender
    # sends), absent when unknown; process stores them as they come
    browser: Label | None = None
    os: Label | None = None
    device: Literal["desktop", "mobile", "tablet"] | None = None
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] | None = None  # ISO 3166-1
    referrer_host: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_HOST_LENGTH)] | None = (
        None
    )
    utm_source: Utm | None = None
    utm_medium: Utm | None = None
    utm_campaign: Utm | None = None


_FIELDS = msgspec.structs.fields(ClickEvent)
ENRICHMENT_FIELDS = (
    "browser",
    "os",
    "device",
    "country",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
# what a server-side sender may say about the client it reports for (`SenderHints`)
HINT_FIELDS = ("user_agent", "client_ip")
_NOT_SENT = frozenset((*ENRICHMENT_FIELDS, *HINT_FIELDS))
_encoder = msgspec.json.Encoder()


def _rule(error: msgspec.ValidationError) -> str:
    message = str(error)
    return message.split(" - at `", 1)[0]


# travel as CloudEvents attributes, that is HTTP headers between the dispatcher and process
_ATTRIBUTE_FIELDS = ("event_id", "source")
# control characters have no place in identifiers and URLs, and PostgreSQL cannot store NUL
_TEXT_FIELDS = (
    "site",  # its pattern's `$` would let a final newline through
    "user_id",
    "event_type",
    "page_url",
    "referrer",
    "session_id",
    "browser",
    "os",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHECKED_FIELDS = ("time_stamp", "properties", *_ATTRIBUTE_FIELDS, *_TEXT_FIELDS)


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _semantic_problems(values: Mapping[str, Any], received_at: datetime) -> list[tuple[str, str]]:
    """The rules a type cannot say, over the fields that converted (`_CHECKED_FIELDS`)."""
    problems = []
    for name in _ATTRIBUTE_FIELDS:
        text = values.get(name)
        if text is not None and not header_safe(text):
            problems.append((name, ATTRIBUTE_RULE))
    for name in _TEXT_FIELDS:
        text = values.get(name)
        if text is not None and _CONTROL.search(text):
            problems.append((name, "must not contain control characters"))
    stamp = values.get("time_stamp")
    if stamp is not None and stamp - received_at > MAX_FUTURE:
        problems.append(("time_stamp", "must not be more than 5 minutes in the future"))
    props = values.get("properties")
    if props is not None and len(_encoder.encode(props)) > MAX_PROPERTIES_BYTES:
        problems.append(("properties", f"must encode to at most {MAX_PROPERTIES_BYTES} bytes"))
    if props is not None and _holds_nul(props):
        problems.append(("properties", "must not contain NUL characters"))
    return problems


def parse_event(
    raw: object,
    *,
    received_at: datetime,
    index: int | None = None,
    site: str | None = None,
    renames: Mapping[str, str] | None = None,
) -> ClickEvent:
    """Validate one decoded JSON object, reporting every broken rule at once.

    `renames` maps model fields to the names the sender used (CloudEvents' `id`, `time`);
    `site`, when given (a write key's), replaces whatever the sender said.
    """
    if not isinstance(raw, dict):
        raise InvalidEvent([Problem("$", "must be a JSON object", index)])
    if site is not None:
        raw = {**raw, "site": site}
    try:  # fast path: the whole object in one C-level conversion
        event = msgspec.convert(raw, ClickEvent)
    except msgspec.ValidationError:
        # slow path: field by field, so the answer names every broken rule, not the first
        return _parse_fields(raw, received_at, index, renames or {})
    semantic = _semantic_problems(
        {name: getattr(event, name) for name in _CHECKED_FIELDS}, received_at
    )
    if semantic:
        rename = renames or {}
        raise InvalidEvent([Problem(rename.get(f, f), rule, index) for f, rule in semantic])
    if event.time_stamp is None:
        return msgspec.structs.replace(event, time_stamp=received_at)
    return event


def _parse_fields(
    raw: dict[str, Any],
    received_at: datetime,
    index: int | None,
    renames: Mapping[str, str],
) -> ClickEvent:
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for field in _FIELDS:
        name = renames.get(field.name, field.name)
        value = raw.get(field.name)
        if value is None:
            if field.required:
                problems.append(Problem(name, "required", index))
            continue
        try:
            values[field.name] = msgspec.convert(value, field.type)
        except msgspec.ValidationError as error:
            problems.append(Problem(name, _rule(error), index))
    problems += [
        Problem(renames.get(f, f), rule, index)
        for f, rule in _semantic_problems(values, received_at)
    ]
    if problems:
        raise InvalidEvent(problems)
    values.setdefault("time_stamp", received_at)
    return ClickEvent(**values)


@dataclass(frozen=True, slots=True)
class SenderHints:
    """What a server-side sender said about its own client in the event data, checked;
    ingest enriches with it instead of the request's, then it is dropped (never sent on)."""

    user_agent: str | None = None
    client_ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None


NO_HINTS = SenderHints()
_UserAgent = Annotated[str, msgspec.Meta(max_length=MAX_USER_AGENT_LENGTH)]


def sender_fields(
    raw: dict[str, Any], index: int | None = None
) -> tuple[dict[str, Any], SenderHints, list[Problem]]:
    """A sender's event without what it may not say: the enrichment fields (dropped) and the
    hints (taken out, checked); returns the rest, the hints and the hints' problems."""
    if _NOT_SENT.isdisjoint(raw):  # the usual event: nothing to take out
        return raw, NO_HINTS, []
    fields = {name: value for name, value in raw.items() if name not in _NOT_SENT}
    problems = []
    agent = raw.get("user_agent")
    if agent is not None:
        try:
            agent = msgspec.convert(agent, _UserAgent)
        except msgspec.ValidationError as error:
            problems.append(Problem("user_agent", _rule(error), index))
            agent = None
    address = raw.get("client_ip")
    if address is not None:
        try:  # the message would name the address: never repeated
            address = ipaddress.ip_address(address if isinstance(address, str) else "-")
        except ValueError:
            problems.append(Problem("client_ip", "must be an IPv4 or IPv6 address", index))
            address = None
    if agent is None and address is None:
        return fields, NO_HINTS, problems
    return fields, SenderHints(agent, address), problems


CE_RENAMES = {"event_id": "id", "time_stamp": "time", "source": "source"}


def cloudevent_fields(event: AnyCloudEvent, index: int | None = None) -> dict[str, Any]:
    """A click CloudEvent as the fields `parse_event` takes (with `renames=CE_RENAMES`)."""
    if event["type"] != EVENT_TYPE:
        raise InvalidEvent([Problem("type", f"must be {EVENT_TYPE}", index)])
    data = event.get_data()
    if isinstance(data, bytes | str):
        try:
            data = msgspec.json.decode(data)
        except msgspec.DecodeError:
            raise InvalidEvent([Problem("data", "must be a JSON object", index)]) from None
    if not isinstance(data, dict):
        raise InvalidEvent([Problem("data", "must be a JSON object", index)])
    return {
        **data,
        "event_id": event["id"],
        "time_stamp": event.get("time"),
        "source": event["source"],
    }


def from_cloudevent(
    event: AnyCloudEvent, *, received_at: datetime, index: int | None = None
) -> ClickEvent:
    """The click carried by a CloudEvent (`id` is the event id, `time` the timestamp)."""
    return parse_event(
        cloudevent_fields(event, index), received_at=received_at, index=index, renames=CE_RENAMES
    )


_OPTIONAL_DATA = ("referrer", "session_id", "properties", *ENRICHMENT_FIELDS)


def event_data(event: ClickEvent) -> dict[str, Any]:
    """The CloudEvent `data` of a click: every field but the ones CloudEvents carries itself."""
    data: dict[str, Any] = {
        "site": event.site,
        "user_id": event.user_id,
        "event_type": event.event_type,
        "page_url": event.page_url,
    }
    for name in _OPTIONAL_DATA:
        value = getattr(event, name)
        if value is not None:
            data[name] = value
    return data


def to_cloudevent(event: ClickEvent) -> CloudEvent:
    stamp = (event.time_stamp or datetime.now(UTC)).astimezone(UTC)
    attributes = {
        "id": event.event_id,
        "source": event.source,
        "type": EVENT_TYPE,
        "time": stamp.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
    }
    return CloudEvent(attributes, event_data(event))


def to_kafka(event: ClickEvent) -> KafkaMessage:
    """The Kafka protocol binding, binary mode, keyed by `user_id` (DESIGN.md: "Kafka")."""
    return to_binary(to_cloudevent(event), key_mapper=lambda _: event.user_id)
