"""Every request form ingest accepts, decoded into validated clicks (no I/O here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from cloudevents.exceptions import GenericException as CloudEventError
from cloudevents.http import from_dict, from_http

from functions.core.errors import ClickstreamError, InvalidEvent, Problem
from functions.core.events import ClickEvent, from_cloudevent, parse_event

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
    """The valid events of a request and the problems of the rejected ones."""

    events: list[ClickEvent] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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


Builder = Callable[[object, int | None], ClickEvent]


def _collect(items: list[object], indexed: bool, build: Builder) -> Decoded:
    decoded = Decoded()
    for position, item in enumerate(items):
        index = position if indexed else None
        try:
            decoded.events.append(build(item, index))
        except InvalidEvent as error:
            decoded.problems += error.problems
    return decoded


def decode(
    headers: Mapping[str, str], body: bytes, *, received_at: datetime, source: str | None
) -> Decoded:
    """Decode one ingest request body; raises for a request that is unusable as a whole.

    `headers` must have lower-case names. `source` overrides the sender's (write keys).
    """
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge("$", f"body must be at most {MAX_BODY_BYTES} bytes")
    kind = media_type(headers)

    def from_plain(item: object, index: int | None) -> ClickEvent:
        return parse_event(item, received_at=received_at, index=index, source=source)

    def from_ce_dict(item: object, index: int | None) -> ClickEvent:
        if not isinstance(item, dict):
            raise InvalidEvent([Problem("$", "must be a JSON object", index)])
        try:
            event = from_dict(item)
        except (CloudEventError, ValueError, TypeError) as error:
            raise InvalidEvent([Problem("$", f"not a CloudEvent: {error}", index)]) from None
        click = from_cloudevent(event, received_at=received_at, index=index)
        return click if source is None else msgspec.structs.replace(click, source=source)

    if "ce-specversion" in headers or kind == STRUCTURED:
        try:
            event = from_http(dict(headers), body)
        except (CloudEventError, ValueError, TypeError) as error:
            raise InvalidEvent([Problem("$", f"not a CloudEvent: {error}")]) from None
        click = from_cloudevent(event, received_at=received_at)
        return Decoded([click if source is None else msgspec.structs.replace(click, source=source)])
    if kind == BATCH:
        items, indexed = _items(_json(body), batch_only=True)
        return _collect(items, indexed, from_ce_dict)
    if kind in PLAIN:
        items, indexed = _items(_json(body), batch_only=False)
        return _collect(items, indexed, from_plain)
    raise UnsupportedMediaType(kind or "(none)")
