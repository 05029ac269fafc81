"""Replay of dead letters, the rules without I/O: which letters a call may choose, and the
record that brings a letter's event back to the events topic (`replayer.py` does the I/O).

A replayed event keeps its id and `process` deduplicates on it, so replaying a letter twice
(or a letter whose event got through after all) counts its event once.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from cloudevents.http import CloudEvent
from cloudevents.kafka import KafkaMessage, to_binary

from functions.core.errors import InvalidArgument

# one call produces its letters in one batch and marks them in one statement
MAX_REPLAY = 10_000
MAX_ID = 2**63 - 1  # dead_letters.id is a bigserial
# attributes added on the way to the dead-letter sink, none of them the event's own:
# Knative's error extensions, KafkaSource's record position, the record key as the local
# dispatcher passes it
DELIVERY_EXTENSIONS = frozenset(
    {
        "knativeerrordest",
        "knativeerrorcode",
        "knativeerrordata",
        "knativekafkapartition",
        "knativekafkaoffset",
        "partitionkey",
    }
)


# The site of a dead letter (a SQL expression over `dead_letters`): the site its event's data
# names, `default` for JSON data naming none (the event contract's default), and NULL when
# the data cannot be read (not a JSON object, or kept as `data_base64` bytes, which may be
# any site's event): such a letter belongs to no one site, so only the admin of every site
# sees it. One definition for the listing and the replay, so a one-site admin replays
# exactly what it can list.
LETTER_SITE_SQL = """CASE
    WHEN jsonb_typeof(event->'data') <> 'object' OR event->'data' ? 'data_base64' THEN NULL
    WHEN NOT event->'data' ? 'site' THEN 'default'
    WHEN jsonb_typeof(event->'data'->'site') = 'string' THEN event->'data'->>'site'
END"""


@dataclass(frozen=True, slots=True)
class Selection:
    """Letters to replay, validated: `ids`, or else the inclusive range `from_id..to_id`;
    with `site`, only those of that site (`LETTER_SITE_SQL`)."""

    ids: tuple[int, ...] = ()
    from_id: int = 0
    to_id: int = 0
    only_unreplayed: bool = False
    site: str | None = None

    @property
    def field(self) -> str:
        """The argument that chose the letters, for errors about one of them."""
        return "ids" if self.ids else "from_id"


def selection(
    ids: Sequence[int],
    from_id: int | None,
    to_id: int | None,
    only_unreplayed: bool,
    site: str | None = None,
) -> Selection:
    """The letters chosen by explicit `ids` or by a range, at most MAX_REPLAY of them, of
    `site` only when given (a valid site name: `events.site_argument`)."""
    if ids and (from_id is not None or to_id is not None):
        raise InvalidArgument("ids", "give either ids or from_id and to_id, not both")
    if ids:
        if len(ids) > MAX_REPLAY:
            raise InvalidArgument("ids", f"must hold at most {MAX_REPLAY} ids")
        for index, value in enumerate(ids):
            if not 1 <= value <= MAX_ID:
                raise InvalidArgument("ids", f"must be ids from 1 up: ids[{index}] is {value}")
        return Selection(ids=tuple(sorted(set(ids))), only_unreplayed=only_unreplayed, site=site)
    if from_id is None and to_id is None:
        raise InvalidArgument("ids", "give the ids to replay, or from_id and to_id")
    if from_id is None:
        raise InvalidArgument("from_id", "is required with to_id")
    if to_id is None:
        raise InvalidArgument("to_id", "is required with from_id")
    if not 1 <= from_id <= MAX_ID:
        raise InvalidArgument("from_id", f"must be an id from 1 up, got {from_id}")
    if to_id < from_id:
        raise InvalidArgument("to_id", f"must not be below from_id ({from_id}), got {to_id}")
    if to_id - from_id >= MAX_REPLAY or to_id > MAX_ID:
        raise InvalidArgument(
            "to_id", f"must be below from_id + {MAX_REPLAY}: at most {MAX_REPLAY} ids a call"
        )
    return Selection(from_id=from_id, to_id=to_id, only_unreplayed=only_unreplayed, site=site)


def _payload(stored: Any) -> bytes | None:
    """The data's bytes: the original ones for `data_base64`, else its JSON."""
    if stored is None:
        return None
    if isinstance(stored, dict) and stored.keys() == {"data_base64"}:
        try:
            return base64.b64decode(stored["data_base64"], validate=True)
        except (binascii.Error, TypeError):
            pass  # not the sink's encoding: JSON data that happens to have that one key
    # the sink stored what the CloudEvents SDK decoded as JSON (any other body is base64)
    return msgspec.json.encode(stored)


def _user_id(payload: bytes | None) -> str | None:
    """The `user_id` of JSON object data, the events topic's record key."""
    if payload is None:
        return None
    try:
        data = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return None
    user_id = data.get("user_id") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, str) and user_id else None


def _attribute(value: Any) -> str | None:
    # a Kafka header holds text; a structured-mode letter may have kept a JSON number or flag
    return value if value is None or isinstance(value, str) else msgspec.json.encode(value).decode()


def replay_message(document: Mapping[str, Any]) -> KafkaMessage:
    """The record of a dead letter's original event, rebuilt from its stored document
    (`cloudevents.conversion.to_dict`, bytes data as `{"data_base64": ...}`): the Kafka
    binding's binary mode keyed by `user_id`, as ingest produces it (DESIGN.md "Kafka").

    Raises the SDK's `GenericException` when the document lacks a required attribute.
    """
    attributes: dict[str, Any] = {
        name: _attribute(value)
        for name, value in document.items()
        if name != "data" and name not in DELIVERY_EXTENSIONS
    }
    # the SDK invents a `time` when there is none, and `to_binary` reads `datacontenttype`
    # unconditionally: None keeps each off the record when the original had none
    attributes.setdefault("time", None)
    attributes.setdefault("datacontenttype", None)
    payload = _payload(document.get("data"))
    key = _user_id(payload)
    return to_binary(
        CloudEvent(attributes, payload), data_marshaller=lambda data: data, key_mapper=lambda _: key
    )
