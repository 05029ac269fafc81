"""Every request form ingest accepts, decoded into validated clicks (no I/O here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from cloudevents.exceptions import GenericException as CloudEventError
from cloudevents.http import from_dict, from_http

from functions.core.errors import ClickstreamError, InvalidEvent, Problem
from functions.core.events import (
    CE_RENAMES,
    DEFAULT_SITE,
    ClickEvent,
    SenderHints,
    cloudevent_fields,
    parse_event,
    sender_fields,
)

# an event with what its request and hints say (functions/ingest/enrich.py); None: a bot's
Enrich = Callable[[ClickEvent, SenderHints], ClickEvent | None]
# (site, hints) -> the cookieless user id of the request's client (functions/ingest/cookieless.py)
VisitorIds = Callable[[str, SenderHints], str]

MAX_BODY_BYTES = 1024 * 1024
MAX_EVENTS = 1000

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
PLAIN = ("application/json", "text/plain")


class UnsupportedMediaType(ClickstreamError, ValueError):
    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        super().__init__(f"unsupported content type {content_type!r}")


class PayloadTooLarge(ClickstreamError, ValueError):
    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


@dataclass(slots=True)
class Decoded:
    """The valid events of a request, the problems of the rejected ones, and how many
    valid ones came from bots (dropped)."""

    events: list[ClickEvent] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    bots: int = 0


def media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _json(body: bytes) -> object:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise InvalidEvent([Problem("$", f"malformed JSON: {error}")]) from None


def _items(document: object, *, batch_only: bool) -> tuple[list[object], bool]:
    """The events of a JSON document and whether it was an array (indexes are reported)."""
    if isinstance(document, list):
        if len(document) > MAX_EVENTS:
            raise PayloadTooLarge("$", f"at most {MAX_EVENTS} events per request")
        if not document:
            raise InvalidEvent([Problem("$", "must hold at least one event")])
        return document, True
    if batch_only:
        raise InvalidEvent([Problem("$", "a CloudEvents batch must be a JSON array")])
    return [document], False


Builder = Callable[[object, int | None], ClickEvent | None]


def _collect(items: list[object], indexed: bool, build: Builder) -> Decoded:
    decoded = Decoded()
    for position, item in enumerate(items):
        index = position if indexed else None
        try:
            click = build(item, index)
        except InvalidEvent as error:
            decoded.problems += error.problems
            continue
        if click is None:
            decoded.bots += 1
        else:
            decoded.events.append(click)
    return decoded


def event_site(fields: Mapping[str, object], site: str | None) -> str:
    """The site an event will belong to: the write key's, else its own, else the default
    (an invalid one fails validation later; its user id does not matter then)."""
    return site or str(fields.get("site") or DEFAULT_SITE)


def decode(
    headers: Mapping[str, str],
    body: bytes,
    *,
    received_at: datetime,
    site: str | None,
    enrich: Enrich | None = None,
    visitors: VisitorIds | None = None,
) -> Decoded:
    """Decode one ingest request body; raises for a request that is unusable as a whole.

    `headers` must have lower-case names. `site` overrides the sender's (a write key's).
    What only ingest may set (the enrichment fields) is dropped from what senders say;
    `enrich`, when given, sets it. `visitors`, when given, names the user of an event that
    names none (cookieless: the tracker's `data-cookieless` mode).
    """
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge("$", f"body must be at most {MAX_BODY_BYTES} bytes")
    kind = media_type(headers)

    def sent(
        raw: dict[str, object], index: int | None, renames: Mapping[str, str] | None
    ) -> ClickEvent | None:
        fields, hints, problems = sender_fields(raw, index)
        if visitors is not None and fields.get("user_id") is None:
            fields = {**fields, "user_id": visitors(event_site(fields, site), hints)}
        try:
            click = parse_event(
                fields, received_at=received_at, index=index, site=site, renames=renames
            )
        except InvalidEvent as error:
            raise InvalidEvent(problems + error.problems) from None
        if problems:
            raise InvalidEvent(problems)
        return click if enrich is None else enrich(click, hints)

    def from_plain(item: object, index: int | None) -> ClickEvent | None:
        if not isinstance(item, dict):
            raise InvalidEvent([Problem("$", "must be a JSON object", index)])
        return sent(item, index, None)

    def from_ce_dict(item: object, index: int | None) -> ClickEvent | None:
        if not isinstance(item, dict):
            raise InvalidEvent([Problem("$", "must be a JSON object", index)])
        try:
            event = from_dict(item)
        except (CloudEventError, ValueError, TypeError) as error:
            raise InvalidEvent([Problem("$", f"not a CloudEvent: {error}", index)]) from None
        return sent(cloudevent_fields(event, index), index, CE_RENAMES)

    if "ce-specversion" in headers or kind == STRUCTURED:
        try:
            event = from_http(dict(headers), body)
        except (CloudEventError, ValueError, TypeError) as error:
            raise InvalidEvent([Problem("$", f"not a CloudEvent: {error}")]) from None
        click = sent(cloudevent_fields(event), None, CE_RENAMES)
        return Decoded(bots=1) if click is None else Decoded([click])
    if kind == BATCH:
        items, indexed = _items(_json(body), batch_only=True)
        return _collect(items, indexed, from_ce_dict)
    if kind in PLAIN:
        items, indexed = _items(_json(body), batch_only=False)
        return _collect(items, indexed, from_plain)
    raise UnsupportedMediaType(kind or "(none)")
