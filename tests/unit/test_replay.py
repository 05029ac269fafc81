"""Replay's rules without I/O: a dead letter's stored document rebuilt into the record that
first brought its event, and the letters a call may choose."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.conversion import to_dict
from cloudevents.exceptions import GenericException
from cloudevents.http import from_http

from functions.core import replay
from functions.core.errors import InvalidArgument
from functions.core.events import ClickEvent, to_kafka

CLICK = ClickEvent(
    event_id="replay-1",
    user_id="user-7",
    event_type="click",
    page_url="/pricing",
    time_stamp=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    properties={"plan": "pro", "seats": 3},
)
# what Knative and the dispatcher add on the way to the dead-letter sink
DELIVERY = {
    "ce-knativeerrordest": "http://process/",
    "ce-knativeerrorcode": "400",
    "ce-knativeerrordata": base64.b64encode(b'{"errors": []}').decode(),
    "ce-knativekafkapartition": "2",
    "ce-knativekafkaoffset": "41",
    "ce-partitionkey": "user-7",
}


def stored(headers: dict[str, str], body: str | bytes) -> dict[str, Any]:
    """The document the dead-letter sink keeps for a binary-mode letter, as read back from
    PostgreSQL's jsonb (functions/process/dead_letters.py)."""
    document = to_dict(from_http(headers, body))
    if isinstance(document["data"], bytes):
        document["data"] = {"data_base64": base64.b64encode(document["data"]).decode()}
    loaded: dict[str, Any] = json.loads(json.dumps(document))
    return loaded


def http_headers(kafka_headers: dict[str, bytes]) -> dict[str, str]:
    """A Kafka binary-mode record's headers as the binary-mode HTTP request carries them."""
    return {
        ("ce-" + name[3:] if name.startswith("ce_") else name): value.decode()
        for name, value in kafka_headers.items()
    }


def test_json_data_comes_back_as_ingest_produced_it() -> None:
    original = to_kafka(CLICK)
    document = stored({**http_headers(original.headers), **DELIVERY}, original.value)

    rebuilt = replay.replay_message(document)

    assert rebuilt.headers == original.headers  # every delivery extension dropped
    assert rebuilt.key == original.key == "user-7"
    assert json.loads(rebuilt.value) == json.loads(original.value)


def test_base64_data_comes_back_byte_for_byte() -> None:
    raw = b"\xff\x00 not json \xfe"
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "binary-1",
        "ce-source": "/somewhere",
        "ce-type": "io.clickstream.event.v1",
        "ce-time": "2026-03-01T12:30:00Z",
        "content-type": "application/octet-stream",
    }
    document = stored({**headers, **DELIVERY}, raw)
    assert "data_base64" in document["data"]

    rebuilt = replay.replay_message(document)

    assert rebuilt.value == raw
    assert rebuilt.key is None  # no JSON data, no user_id
    assert rebuilt.headers == {
        "content-type": b"application/octet-stream",
        "ce_specversion": b"1.0",
        "ce_id": b"binary-1",
        "ce_source": b"/somewhere",
        "ce_type": b"io.clickstream.event.v1",
        "ce_time": b"2026-03-01T12:30:00Z",
    }


def test_json_kept_as_bytes_is_keyed_by_its_user_id() -> None:
    # the sink keeps the body's bytes when jsonb cannot hold them (a NUL in a string)
    raw = b'{"user_id": "user-9", "event_type": "click", "page_url": "/", "p": "\\u0000"}'
    original = to_kafka(CLICK)
    document = {
        **stored(http_headers(original.headers), original.value),
        "data": {"data_base64": base64.b64encode(raw).decode()},
    }

    rebuilt = replay.replay_message(document)

    assert rebuilt.value == raw
    assert rebuilt.key == "user-9"


def test_attributes_the_original_lacked_stay_absent() -> None:
    document = {"specversion": "1.0", "id": "bare", "source": "/s", "type": "t", "data": None}

    rebuilt = replay.replay_message(document)

    # the SDK would invent a time, and to_binary insists on a content type
    assert rebuilt.headers == {
        "ce_specversion": b"1.0",
        "ce_id": b"bare",
        "ce_source": b"/s",
        "ce_type": b"t",
    }
    assert rebuilt.value is None


def test_extensions_that_are_not_text_become_header_text() -> None:
    document = {
        "specversion": "1.0",
        "id": "typed",
        "source": "/s",
        "type": "t",
        "priority": 5,
        "sampled": True,
        "data": {"user_id": "u"},
    }

    headers = replay.replay_message(document).headers

    assert headers["ce_priority"] == b"5"
    assert headers["ce_sampled"] == b"true"


def test_json_data_shaped_like_the_base64_wrapper_stays_json() -> None:
    document = {"specversion": "1.0", "id": "x", "source": "/s", "type": "t"}
    data = {"data_base64": "not base64 at all!"}

    rebuilt = replay.replay_message({**document, "data": data})

    assert json.loads(rebuilt.value) == data


def test_a_letter_without_its_required_attributes_cannot_be_rebuilt() -> None:
    with pytest.raises(GenericException):
        replay.replay_message({"specversion": "1.0", "id": "x", "source": "/s", "data": {}})


def test_ids_are_deduplicated_in_id_order() -> None:
    chosen = replay.selection([9, 3, 9, 1], None, None, only_unreplayed=True)
    assert chosen == replay.Selection(ids=(1, 3, 9), only_unreplayed=True)
    assert chosen.field == "ids"


def test_a_range_holds_at_most_the_bound() -> None:
    chosen = replay.selection([], 5, 5 + replay.MAX_REPLAY - 1, only_unreplayed=False)
    assert (chosen.from_id, chosen.to_id, chosen.field) == (5, 5 + replay.MAX_REPLAY - 1, "from_id")
    assert len(replay.selection(list(range(1, replay.MAX_REPLAY + 1)), None, None, False).ids) == (
        replay.MAX_REPLAY
    )


@pytest.mark.parametrize(
    ("ids", "from_id", "to_id", "field"),
    [
        ([], None, None, "ids"),
        ([1], 1, 2, "ids"),
        ([1], None, 2, "ids"),
        ([0], None, None, "ids"),
        ([1, -4], None, None, "ids"),
        ([2**63], None, None, "ids"),
        (list(range(1, replay.MAX_REPLAY + 2)), None, None, "ids"),
        ([], 1, None, "to_id"),
        ([], None, 7, "from_id"),
        ([], 0, 7, "from_id"),
        ([], 8, 7, "to_id"),
        ([], 1, 1 + replay.MAX_REPLAY, "to_id"),
        ([], 2**63 - 1, 2**63, "to_id"),
    ],
)
def test_bad_selections_name_their_field(
    ids: list[int], from_id: int | None, to_id: int | None, field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        replay.selection(ids, from_id, to_id, only_unreplayed=False)
    assert caught.value.field == field
