"""The OpenAPI 3.1 document of the REST API, served at `/openapi.json`.

Written to match `api.py` and `routes.py`; tests run schemathesis against a live gateway with
it, so a drift between the two fails.
"""

from __future__ import annotations

from typing import Any

from functions.core.events import SITE_PATTERN
from functions.core.replay import MAX_ID, MAX_REPLAY
from functions.gateway.routes import MAX_LIMIT

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, description: str, schema: Schema) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


FROM = _query(
    "from",
    "Range start, RFC 3339 (default: `to` minus 24 h)",
    {"type": "string", "format": "date-time"},
)
TO = _query(
    "to", "Range end, exclusive, RFC 3339 (default: now)", {"type": "string", "format": "date-time"}
)
LIMIT = _query(
    "limit",
    "How many to list (default 10)",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
)
SITE = _query(
    "site",
    "The site read (default `default`)",
    {"type": "string", "pattern": SITE_PATTERN, "maxLength": 253},
)
TIME = {"type": "string", "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}
PAGE_COUNT = {
    "type": "object",
    "required": ["page_url", "count"],
    "properties": {"page_url": {"type": "string"}, "count": COUNT},
}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    text = {
        400: "A bad argument, named in `error.field`",
        401: "Tokens are configured and none this route takes was given"
        " (`Authorization: Bearer ...`)",
        403: "The token cannot read this site, or a route needs an admin token",
        503: "`query` or PostgreSQL cannot answer now",
    }
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


def _get(summary: str, parameters: list[Schema], answer: str) -> Schema:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": _json(_ref(answer), summary), **_errors(400, 401, 403, 503)},
        }
    }


EVENT_COUNT_BODY = {
    "type": "object",
    "required": ["user_id", "page_url"],
    "properties": {
        "user_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "page_url": {"type": "string", "minLength": 1, "maxLength": 2048},
    },
}
EVENT_COUNT = {
    "summary": "All-time count of one user's events on one page (the original API)",
    "parameters": [
        _query("user_id", "required here or in a JSON body", {"type": "string", "minLength": 1}),
        _query("page_url", "required here or in a JSON body", {"type": "string", "minLength": 1}),
        SITE,
    ],
    "responses": {
        "200": _json(_ref("EventCount"), "The count, 0 when never seen"),
        **_errors(400, 401, 403, 503),
    },
}

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
ONLY_UNREPLAYED = {"type": "boolean", "description": "skip letters replayed before"}
REPLAY = {
    "post": {
        "summary": "Produce dead letters' events into the events topic again, then mark them"
        " replayed (rows are kept). `process` deduplicates on the event id, so an event"
        f" replayed twice counts once. At most {MAX_REPLAY} letters a call.",
        "security": [{}, {"adminToken": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["ids"],
                                "additionalProperties": False,
                                "properties": {
                                    "ids": {
                                        "type": "array",
                                        "items": ID,
                                        "minItems": 1,
                                        "maxItems": MAX_REPLAY,
                                    },
                                    "only_unreplayed": ONLY_UNREPLAYED,
                                },
                            },
                            {
                                "type": "object",
                                "required": ["from_id", "to_id"],
                                "additionalProperties": False,
                                "description": "the letters from_id..to_id, both included;"
                                f" to_id below from_id + {MAX_REPLAY}",
                                "properties": {
                                    "from_id": ID,
                                    "to_id": ID,
                                    "only_unreplayed": ONLY_UNREPLAYED,
                                },
                            },
                        ]
                    }
                }
            },
        },
        "responses": {
            "200": _json(_ref("Replayed"), "How many letters were replayed"),
            **_errors(400, 401, 403, 503),
        },
    }
}

DOCUMENT: Schema = {
    "openapi": "3.1.0",
    "info": {
        "title": "Clickstream analytics API",
        "version": "1.0.0",
        "description": "Click analytics over the events `process` stored. Ranges are half-open"
        " [from, to), widened to whole buckets; the answer carries the range read. A range"
        " spans at most 366 days.",
    },
    # a token is needed only where GATEWAY_READ_TOKENS or GATEWAY_ADMIN_TOKENS is set;
    # reports take either kind, admin routes an admin token
    "security": [{}, {"readToken": []}, {"adminToken": []}],
    "paths": {
        "/analytics/events": {
            "get": EVENT_COUNT,
            "post": {
                **EVENT_COUNT,
                "parameters": [SITE],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": EVENT_COUNT_BODY}},
                },
            },
        },
        "/api/v1/overview": _get(
            "Totals for a range: events, distinct users, events per minute, top page",
            [SITE, FROM, TO],
            "Overview",
        ),
        "/api/v1/pages/top": _get(
            "The most visited pages in a range, most first", [SITE, FROM, TO, LIMIT], "TopPages"
        ),
        "/api/v1/event-types": _get(
            "Events per event type in a range, most first",
            [SITE, FROM, TO, LIMIT],
            "EventTypes",
        ),
        "/api/v1/timeseries": _get(
            "Events per bucket over a range, every bucket present (zeros included)",
            [
                SITE,
                FROM,
                TO,
                _query("bucket", "Bucket size", {"type": "string", "enum": ["minute", "hour"]}),
                _query("page_url", "Only this page's events", {"type": "string", "minLength": 1}),
            ],
            "TimeSeries",
        ),
        "/api/v1/users/{user_id}/activity": _get(
            "One user's events in a range, per page, most first",
            [
                {
                    "name": "user_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 256},
                },
                SITE,
                FROM,
                TO,
                LIMIT,
            ],
            "UserActivity",
        ),
        "/api/v1/sites": _get("The sites the token may read, by name", [], "Sites"),
        "/api/v1/dead-letters": _get(
            "Dead letters, newest first, a page at a time",
            [LIMIT, _query("cursor", "`next` of the previous page", {"type": "string"})],
            "DeadLetters",
        ),
        "/api/v1/dead-letters/replay": REPLAY,
    },
    "components": {
        "securitySchemes": {
            "readToken": {"type": "http", "scheme": "bearer"},
            "adminToken": {"type": "http", "scheme": "bearer"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message", "field"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": ["string", "null"]},
                        },
                    }
                },
            },
            "EventCount": {
                "type": "object",
                "required": ["user_id", "page_url", "count"],
                "properties": {
                    "user_id": {"type": "string"},
                    "page_url": {"type": "string"},
                    "count": COUNT,
                },
            },
            "Overview": {
                "type": "object",
                "required": [
                    "from",
                    "to",
                    "total_events",
                    "distinct_users",
                    "events_per_minute",
                    "top_page",
                ],
                "properties": {
                    "from": TIME,
                    "to": TIME,
                    "total_events": COUNT,
                    "distinct_users": {
                        **COUNT,
                        "description": "exact under 2 h, else a"
                        " HyperLogLog estimate (0.81 % standard error)",
                    },
                    "events_per_minute": {"type": "number", "minimum": 0},
                    "top_page": {"oneOf": [PAGE_COUNT, {"type": "null"}]},
                },
            },
            "TopPages": {
                "type": "object",
                "required": ["from", "to", "pages"],
                "properties": {
                    "from": TIME,
                    "to": TIME,
                    "pages": {"type": "array", "items": PAGE_COUNT},
                },
            },
            "EventTypes": {
                "type": "object",
                "required": ["from", "to", "types"],
                "properties": {
                    "from": TIME,
                    "to": TIME,
                    "types": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["event_type", "count"],
                            "properties": {
                                "event_type": {"type": "string"},
                                "count": {"type": "integer", "minimum": 0},
                            },
                        },
                    },
                },
            },
            "TimeSeries": {
                "type": "object",
                "required": ["from", "to", "bucket", "points"],
                "properties": {
                    "from": TIME,
                    "to": TIME,
                    "bucket": {"type": "string", "enum": ["minute", "hour"]},
                    "points": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["t", "count"],
                            "properties": {"t": TIME, "count": COUNT},
                        },
                    },
                },
            },
            "UserActivity": {
                "type": "object",
                "required": ["user_id", "total", "pages"],
                "properties": {
                    "user_id": {"type": "string"},
                    "total": COUNT,
                    "pages": {"type": "array", "items": PAGE_COUNT},
                },
            },
            "DeadLetters": {
                "type": "object",
                "required": ["items", "next"],
                "properties": {
                    "items": {"type": "array", "items": _ref("DeadLetter")},
                    "next": {"type": ["string", "null"]},
                },
            },
            "DeadLetter": {
                "type": "object",
                "required": [
                    "id",
                    "event_id",
                    "event",
                    "knativeerrordest",
                    "knativeerrorcode",
                    "knativeerrordata",
                    "received_at",
                    "replayed_at",
                    "replay_count",
                ],
                "properties": {
                    "id": {"type": "integer"},
                    "event_id": {"type": ["string", "null"]},
                    "event": {"type": "object", "description": "the CloudEvent as received"},
                    "knativeerrordest": {"type": ["string", "null"]},
                    "knativeerrorcode": {"type": ["string", "null"]},
                    "knativeerrordata": {"type": ["string", "null"]},
                    "received_at": TIME,
                    "replayed_at": {
                        "type": ["string", "null"],
                        "format": "date-time",
                        "description": "the last replay; null: never replayed",
                    },
                    "replay_count": COUNT,
                },
            },
            "Sites": {
                "type": "object",
                "required": ["sites"],
                "properties": {
                    "sites": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "created"],
                            "properties": {"name": {"type": "string"}, "created": TIME},
                        },
                    }
                },
            },
            "Replayed": {
                "type": "object",
                "required": ["replayed"],
                "properties": {
                    "replayed": {
                        **COUNT,
                        "description": "letters produced and marked (ids not found are not"
                        " counted)",
                    }
                },
            },
        },
    },
}
