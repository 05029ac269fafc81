"""`GET /api/v1/export` and `DELETE /api/v1/users/{user_id}` (docs/lifecycle.md): argument
parsing, the export's two formats and who asked for an erasure (no I/O)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec
from clickstream.analytics.v1 import analytics_pb2 as pb
from starlette.datastructures import QueryParams

from functions.core.errors import InvalidArgument
from functions.gateway.routes import filters, site, time_range

Format = Literal["ndjson", "csv"]
MEDIA_TYPES: dict[Format, str] = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
# the exported fields, in ExportedEvent's order (the CSV's header)
FIELDS = tuple(field.name for field in pb.ExportedEvent.DESCRIPTOR.fields)
# the fields an event may lack (proto3 `optional`)
_OPTIONAL = frozenset(f.name for f in pb.ExportedEvent.DESCRIPTOR.fields if f.has_presence)
_encode = msgspec.json.Encoder().encode


def export_format(query: Mapping[str, str]) -> Format:
    """`format`: `ndjson` (the default) or `csv`."""
    asked = query.get("format", "ndjson")
    if asked == "csv":
        return "csv"
    if asked != "ndjson":
        raise InvalidArgument("format", "must be ndjson or csv")
    return "ndjson"


def export_request(query: QueryParams) -> pb.ExportEventsRequest:
    return pb.ExportEventsRequest(range=time_range(query), site=site(query), filters=filters(query))


def _values(event: pb.ExportedEvent) -> list[str | None]:
    """Each field's value: RFC 3339 for the time, None for an absent optional field."""
    values: list[str | None] = []
    for name in FIELDS:
        if name == "time_stamp":
            values.append(event.time_stamp.ToJsonString())
        elif name in _OPTIONAL and not event.HasField(name):
            values.append(None)
        else:
            values.append(getattr(event, name))
    return values


def header(kind: Format) -> bytes:
    """What the export starts with: the CSV's header row, nothing for NDJSON."""
    return _csv([list(FIELDS)]) if kind == "csv" else b""


def rows(kind: Format, events: Iterable[pb.ExportedEvent]) -> bytes:
    """`events` as NDJSON lines (one object per event, `properties_json` as given) or CSV
    rows (RFC 4180; an absent field empty)."""
    if kind == "csv":
        return _csv([["" if v is None else v for v in _values(e)] for e in events])
    return b"".join(_encode(dict(zip(FIELDS, _values(e), strict=True))) + b"\n" for e in events)


def _csv(lines: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    return out.getvalue().encode()


def erase_request(user_id: str, query: Mapping[str, str], actor: str) -> pb.EraseUserRequest:
    if not user_id:
        raise InvalidArgument("user_id", "is required")
    return pb.EraseUserRequest(site=site(query), user_id=user_id, actor=actor)


def actor(authorization: str) -> str:
    """Who asks, as an erasure records it: the first 16 hex digits of the token's SHA-256
    (what `site_keys.secret_hash` holds for a stored key), never the token."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "gateway, no token (every route open)"
    return f"gateway token sha256:{hashlib.sha256(token.strip().encode()).hexdigest()[:16]}"
