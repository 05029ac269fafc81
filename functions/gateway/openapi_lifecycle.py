"""The OpenAPI paths and schemas of the data lifecycle's routes (functions/gateway/export.py):
erasing a person and exporting raw events, both admin routes."""

from __future__ import annotations

from functions.gateway.export import MEDIA_TYPES
from functions.gateway.openapi_parts import FILTER, FROM, SITE, TO, Schema, content, errors, ref

ADMIN: list[Schema] = [{}, {"adminToken": []}]

LIFECYCLE_PATHS: Schema = {
    "/api/v1/users/{user_id}": {
        "delete": {
            "summary": "Erase one person of a site: their raw events, visits, per-page counts"
            " and dead letters, and every cached answer about them. The erasure is recorded"
            " (who, when, rows per table) under a keyed hash of the user id. Anonymous"
            " roll-ups and distinct-user sketches keep what they counted.",
            "security": ADMIN,
            "parameters": [
                {
                    "name": "user_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 256},
                },
                SITE,
            ],
            "responses": {
                "200": content(ref("Erasure"), "The erasure's record"),
                **errors(400, 401, 403, 503),
            },
        }
    },
    "/api/v1/export": {
        "get": {
            "summary": "The raw events of a range under the reports' filters, oldest first,"
            " streamed: NDJSON (one object per line, every field of ExportedEvent in"
            " proto/, absent ones null) or CSV (a header row, then RFC 4180 rows;"
            " an absent field empty)",
            "security": ADMIN,
            "parameters": [
                SITE,
                FROM,
                TO,
                FILTER,
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "description": "ndjson (default) or csv",
                    "schema": {"type": "string", "enum": list(MEDIA_TYPES)},
                },
            ],
            "responses": {
                "200": {
                    "description": "The events",
                    "content": {
                        MEDIA_TYPES["ndjson"]: {"schema": {"type": "string"}},
                        MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
                    },
                },
                **errors(400, 401, 403, 503),
            },
        }
    },
}

LIFECYCLE_SCHEMAS: Schema = {
    "Erasure": {
        "type": "object",
        "required": ["erasure_id", "erased_at", "removed"],
        "properties": {
            "erasure_id": {"type": "integer", "minimum": 1},
            "erased_at": {"type": "string", "format": "date-time"},
            "removed": {
                "type": "object",
                "description": "rows removed, by table",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
        },
    },
}
