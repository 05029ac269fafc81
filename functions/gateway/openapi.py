"""The OpenAPI 3.1 document of the REST API, served at `/openapi.json`.

Written to match `api.py`, `routes.py` and `report_routes.py`; tests run schemathesis against
a live gateway with it, so a drift between the two fails.
"""

from __future__ import annotations

from functions.core.replay import MAX_ID, MAX_REPLAY
from functions.gateway.openapi_lifecycle import LIFECYCLE_PATHS, LIFECYCLE_SCHEMAS
from functions.gateway.openapi_parts import (
    COUNT,
    FILTER,
    FROM,
    LIMIT,
    PAGE_COUNT,
    SITE,
    TIME,
    TO,
    Schema,
    content,
    errors,
    get,
    param,
    ref,
)
from functions.gateway.openapi_plausible import PLAUSIBLE_PATHS, PLAUSIBLE_SCHEMAS
from functions.gateway.openapi_reports import REPORT_PATHS, REPORT_SCHEMAS

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
        param("user_id", "required here or in a JSON body", {"type": "string", "minLength": 1}),
        param("page_url", "required here or in a JSON body", {"type": "string", "minLength": 1}),
        SITE,
    ],
    "responses": {
        "200": content(ref("EventCount"), "The count, 0 when never seen"),
        **errors(400, 401, 403, 503),
    },
}

LETTERS_SITE = param(
    "site",
    "Only this site's letters: those whose event names it (and, for `default`, those naming"
    " no site). Absent: every site's, letters whose site cannot be read included, which takes"
    " an admin token of every site; an admin token of one site names its own",
    SITE["schema"],
)
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
ONLY_UNREPLAYED = {"type": "boolean", "description": "skip letters replayed before"}
REPLAY = {
    "post": {
        "summary": "Produce dead letters' events into the events topic again, then mark them"
        " replayed (rows are kept). `process` deduplicates on the event id, so an event"
        f" replayed twice counts once. At most {MAX_REPLAY} letters a call. With `site`,"
        " the chosen letters of other sites are skipped and not counted.",
        "security": [{}, {"adminToken": []}],
        "parameters": [LETTERS_SITE],
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
            "200": content(ref("Replayed"), "How many letters were replayed"),
            **errors(400, 401, 403, 503),
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
    # reports take either kind, admin routes an admin token of their site or of every site
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
        "/api/v1/overview": get(
            "Totals for a range: events, distinct users, events per minute, top page",
            [SITE, FROM, TO, FILTER],
            "Overview",
        ),
        "/api/v1/pages/top": get(
            "The most visited pages in a range, most first",
            [SITE, FROM, TO, LIMIT, FILTER],
            "TopPages",
        ),
        "/api/v1/event-types": get(
            "Events per event type in a range, most first",
            [SITE, FROM, TO, LIMIT],
            "EventTypes",
        ),
        "/api/v1/timeseries": get(
            "Events per bucket over a range, every bucket present (zeros included)",
            [
                SITE,
                FROM,
                TO,
                param("bucket", "Bucket size", {"type": "string", "enum": ["minute", "hour"]}),
                param("page_url", "Only this page's events", {"type": "string", "minLength": 1}),
                FILTER,
            ],
            "TimeSeries",
        ),
        "/api/v1/users/{user_id}/activity": get(
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
        "/api/v1/sites": get("The sites the token may read, by name", [], "Sites"),
        "/api/v1/dead-letters": get(
            "Dead letters, newest first, a page at a time",
            [
                LETTERS_SITE,
                LIMIT,
                param("cursor", "`next` of the previous page", {"type": "string"}),
            ],
            "DeadLetters",
        ),
        "/api/v1/dead-letters/replay": REPLAY,
        **REPORT_PATHS,
        **PLAUSIBLE_PATHS,
        **LIFECYCLE_PATHS,
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
                    "items": {"type": "array", "items": ref("DeadLetter")},
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
            **REPORT_SCHEMAS,
            **PLAUSIBLE_SCHEMAS,
            **LIFECYCLE_SCHEMAS,
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
