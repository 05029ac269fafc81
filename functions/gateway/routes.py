"""REST routes over the AnalyticsService: argument parsing and JSON shapes (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.errors import InvalidArgument


def event_count_request(query: Mapping[str, str], body: bytes) -> pb.GetEventCountRequest:
    """The original contract: `user_id`/`page_url` from the query string or a JSON body."""
    fields: dict[str, object] = dict(query)
    if body.strip():
        try:
            document = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise InvalidArgument("body", "must be a JSON object") from None
        if not isinstance(document, dict):
            raise InvalidArgument("body", "must be a JSON object")
        fields = {**document, **fields}
    values = {}
    for name in ("user_id", "page_url"):
        value = fields.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidArgument(name, "is required (a non-empty string)")
        values[name] = value
    return pb.GetEventCountRequest(**values)


def event_count_json(response: pb.GetEventCountResponse) -> dict[str, object]:
    return {"user_id": response.user_id, "page_url": response.page_url, "count": response.count}
