"""The body of `POST /api/v1/dead-letters/replay`: JSON types checked by the gateway, then the
replay rules `query` applies too, each broken rule naming its field."""

from __future__ import annotations

import pytest

from functions.core.errors import InvalidArgument
from functions.gateway.routes import replay_request


def test_ids() -> None:
    request = replay_request(b'{"ids": [4, 2, 4], "only_unreplayed": true}', None)
    assert list(request.ids) == [2, 4]
    assert request.only_unreplayed
    assert not request.HasField("from_id")
    assert not request.HasField("to_id")
    assert not request.HasField("site")  # every site's letters


def test_range() -> None:
    request = replay_request(b'{"from_id": 3, "to_id": 30, "ids": null}', None)
    assert (request.from_id, request.to_id) == (3, 30)
    assert request.HasField("from_id")
    assert not request.ids
    assert not request.only_unreplayed


@pytest.mark.parametrize("body", [b'{"ids": [7]}', b'{"from_id": 3, "to_id": 30}'])
def test_the_letters_of_one_site(body: bytes) -> None:
    request = replay_request(body, "shop.example")
    assert request.HasField("site")
    assert request.site == "shop.example"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"[1, 2]", "body"),
        (b"{not json", "body"),
        (b"{}", "ids"),
        (b'{"ids": 5}', "ids"),
        (b'{"ids": 0, "from_id": 1, "to_id": 2}', "ids"),
        (b'{"ids": [1, "2"]}', "ids"),
        (b'{"ids": [true]}', "ids"),
        (b'{"ids": [1], "to_id": 3}', "ids"),
        (b'{"from_id": 1.5, "to_id": 3}', "from_id"),
        (b'{"from_id": 1}', "to_id"),
        (b'{"from_id": 5, "to_id": 4}', "to_id"),
        (b'{"from_id": 1, "to_id": 10001}', "to_id"),
        (b'{"from_id": 1, "to_id": 99999999999999999999999}', "to_id"),
        (b'{"ids": [1], "only_unreplayed": "yes"}', "only_unreplayed"),
        (b'{"ids": [1], "id": 2}', "id"),
    ],
)
def test_bad_bodies_name_their_field(body: bytes, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        replay_request(body, None)
    assert caught.value.field == field
