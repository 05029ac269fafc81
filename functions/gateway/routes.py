"""REST routes over the AnalyticsService: argument parsing and JSON shapes (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import msgspec
from clickstream.analytics.v1 import analytics_pb2 as pb
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.datastructures import QueryParams

from functions.core import replay
from functions.core.errors import InvalidArgument
from functions.core.events import site_argument

MAX_LIMIT = 1000
BUCKETS = {"minute": pb.BUCKET_MINUTE, "hour": pb.BUCKET_HOUR}
BUCKET_NAMES = {pb.BUCKET_MINUTE: "minute", pb.BUCKET_HOUR: "hour"}
REPLAY_FIELDS = ("ids", "from_id", "to_id", "only_unreplayed")


def _json_object(body: bytes) -> dict[str, object]:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise InvalidArgument("body", "must be a JSON object") from None
    if not isinstance(document, dict):
        raise InvalidArgument("body", "must be a JSON object")
    return document


def site(query: Mapping[str, str]) -> str:
    """`site`: the site read (default `default`)."""
    return site_argument(query.get("site"))


def event_count_request(query: Mapping[str, str], body: bytes) -> pb.GetEventCountRequest:
    """The original contract: `user_id`/`page_url` from the query string or a JSON body."""
    fields: dict[str, object] = dict(query)
    if body.strip():
        fields = {**_json_object(body), **fields}
    values = {}
    for name in ("user_id", "page_url"):
        value = fields.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidArgument(name, "is required (a non-empty string)")
        values[name] = value
    # the site from the query string only: it is what a token is checked against
    return pb.GetEventCountRequest(**values, site=site(query))


def _moment(query: Mapping[str, str], name: str) -> Timestamp | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        # an unencoded `+` in a query string arrives as a space: `...T10:00:00 02:00`
        try:
            moment = datetime.fromisoformat(raw.replace(" ", "+"))
        except ValueError:
            raise InvalidArgument(name, "must be an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise InvalidArgument(name, "must be an RFC 3339 time with an offset (e.g. Z)")
    value = Timestamp()
    try:
        value.FromDatetime(moment)
    except (ValueError, OverflowError):
        raise InvalidArgument(name, "is out of range") from None
    return value


def time_range(query: Mapping[str, str]) -> pb.TimeRange:
    """`from`/`to` (RFC 3339); each missing one is left to the API's default (the last 24 h)."""
    answer = pb.TimeRange()
    start, end = _moment(query, "from"), _moment(query, "to")
    if start is not None:
        getattr(answer, "from").CopyFrom(start)
    if end is not None:
        answer.to.CopyFrom(end)
    return answer


def limit(query: Mapping[str, str]) -> int:
    """`limit`: default 10 (sent as 0), else an integer 1..1000."""
    raw = query.get("limit")
    if raw is None:
        return 0
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidArgument("limit", f"must be an integer between 1 and {MAX_LIMIT}")
    return int(raw)


def filters(query: QueryParams) -> list[str]:
    """`filter` (repeated): `<dimension>:<op>:<value>`, checked by `query`, which names
    `filter` when one is bad."""
    return query.getlist("filter")


def overview_request(query: QueryParams) -> pb.GetOverviewRequest:
    return pb.GetOverviewRequest(range=time_range(query), site=site(query), filters=filters(query))


def top_pages_request(query: QueryParams) -> pb.GetTopPagesRequest:
    return pb.GetTopPagesRequest(
        range=time_range(query), limit=limit(query), site=site(query), filters=filters(query)
    )


def time_series_request(query: QueryParams) -> pb.GetTimeSeriesRequest:
    bucket = query.get("bucket", "minute")
    if bucket not in BUCKETS:
        raise InvalidArgument("bucket", "must be minute or hour")
    request = pb.GetTimeSeriesRequest(
        range=time_range(query), bucket=BUCKETS[bucket], site=site(query), filters=filters(query)
    )
    if "page_url" in query:
        request.page_url = query["page_url"]
    return request


def user_activity_request(user_id: str, query: Mapping[str, str]) -> pb.GetUserActivityRequest:
    return pb.GetUserActivityRequest(
        user_id=user_id, range=time_range(query), limit=limit(query), site=site(query)
    )


def letters_site(query: Mapping[str, str]) -> str | None:
    """`site` of the dead-letter routes: the letters of that site only; absent, every
    letter (what only an admin token of every site may ask for)."""
    return site(query) if "site" in query else None


def dead_letters_request(query: Mapping[str, str]) -> pb.ListDeadLettersRequest:
    return pb.ListDeadLettersRequest(
        limit=limit(query), cursor=query.get("cursor", ""), site=letters_site(query)
    )


def _integer(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, "must be an integer")
    return value


def _optional_integer(document: Mapping[str, object], field: str) -> int | None:
    value = document.get(field)
    return None if value is None else _integer(field, value)


def replay_request(body: bytes, letters_of: str | None) -> pb.ReplayDeadLettersRequest:
    """`{"ids": [...]}` or `{"from_id": n, "to_id": m}`, either with `only_unreplayed`, of
    the site `letters_of` only when given (`letters_site`); checked here by the rules
    `query` applies too, so a bad body costs no call."""
    document = _json_object(body)
    for name in document:
        if name not in REPLAY_FIELDS:
            raise InvalidArgument(name, f"is not a field here: use {', '.join(REPLAY_FIELDS)}")
    ids = document.get("ids")
    if ids is None:
        ids = []
    if not isinstance(ids, list):
        raise InvalidArgument("ids", "must be an array of integers")
    only_unreplayed = document.get("only_unreplayed", False)
    if not isinstance(only_unreplayed, bool):
        raise InvalidArgument("only_unreplayed", "must be true or false")
    chosen = replay.selection(
        [_integer("ids", value) for value in ids],
        _optional_integer(document, "from_id"),
        _optional_integer(document, "to_id"),
        only_unreplayed,
        letters_of,
    )
    if chosen.ids:
        return pb.ReplayDeadLettersRequest(
            ids=chosen.ids, only_unreplayed=only_unreplayed, site=chosen.site
        )
    return pb.ReplayDeadLettersRequest(
        from_id=chosen.from_id,
        to_id=chosen.to_id,
        only_unreplayed=only_unreplayed,
        site=chosen.site,
    )


def _time(value: Timestamp) -> str:
    return value.ToJsonString()


def span(response: Message) -> dict[str, object]:
    """`from` and `to` of an answer that carries the range it read."""
    # getattr: `from` is a keyword, and `to` is not declared on the Message bound
    start, end = getattr(response, "from"), getattr(response, "to")  # noqa: B009
    return {"from": _time(start), "to": _time(end)}


def _pages(pages: list[pb.PageCount]) -> list[dict[str, object]]:
    return [{"page_url": p.page_url, "count": p.count} for p in pages]


def count_json(user_id: str, page_url: str, count: int) -> dict[str, object]:
    return {"user_id": user_id, "page_url": page_url, "count": count}


def overview_json(response: pb.GetOverviewResponse) -> dict[str, object]:
    top = response.top_page if response.HasField("top_page") else None
    return {
        "from": _time(getattr(response, "from")),
        "to": _time(response.to),
        "total_events": response.total_events,
        "distinct_users": response.distinct_users,
        "events_per_minute": response.events_per_minute,
        "top_page": None if top is None else {"page_url": top.page_url, "count": top.count},
    }


def event_types_request(query: Mapping[str, str]) -> pb.GetEventTypesRequest:
    return pb.GetEventTypesRequest(range=time_range(query), limit=limit(query), site=site(query))


def event_types_json(response: pb.GetEventTypesResponse) -> dict[str, object]:
    return {
        "from": _time(getattr(response, "from")),
        "to": _time(response.to),
        "types": [{"event_type": t.event_type, "count": t.count} for t in response.types],
    }


def top_pages_json(response: pb.GetTopPagesResponse) -> dict[str, object]:
    return {
        "from": _time(getattr(response, "from")),
        "to": _time(response.to),
        "pages": _pages(list(response.pages)),
    }


def time_series_json(response: pb.GetTimeSeriesResponse) -> dict[str, object]:
    return {
        "from": _time(getattr(response, "from")),
        "to": _time(response.to),
        "bucket": BUCKET_NAMES.get(response.bucket, "minute"),
        "points": [{"t": _time(p.t), "count": p.count} for p in response.points],
    }


def user_activity_json(response: pb.GetUserActivityResponse) -> dict[str, object]:
    return {
        "user_id": response.user_id,
        "total": response.total,
        "pages": _pages(list(response.pages)),
    }


def sites_json(sites: list[pb.Site]) -> dict[str, object]:
    return {"sites": [{"name": s.name, "created": _time(s.created)} for s in sites]}


def dead_letters_json(response: pb.ListDeadLettersResponse) -> dict[str, object]:
    return {
        "items": [
            {
                "id": item.id,
                "event_id": item.event_id or None,
                "event": msgspec.json.decode(item.event_json),
                "knativeerrordest": item.knativeerrordest or None,
                "knativeerrorcode": item.knativeerrorcode or None,
                "knativeerrordata": item.knativeerrordata or None,
                "received_at": _time(item.received_at),
                "replayed_at": _time(item.replayed_at) if item.HasField("replayed_at") else None,
                "replay_count": item.replay_count,
            }
            for item in response.items
        ],
        "next": response.next_cursor if response.HasField("next_cursor") else None,
    }
